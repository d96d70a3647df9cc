"""playbooks/backfill.yml run as a user runs it (`-l local`) against a real Flink."""
from __future__ import annotations

import json

import pytest

from tests.integration.ansible_run import run_playbook
from tests.integration.local_inventory import JOB

pytestmark = [pytest.mark.slow, pytest.mark.integration]
NAME = f"{JOB}-backfill-t1"


def backfill_vars(*extra):
    return {"backfill_from": JOB, "backfill_id": "t1",
            "backfill_args": ["--name", NAME, "--count", "300", "--rate", "100", *extra]}


def test_backfill_runs_beside_production_finishes_and_is_recorded(local_env):
    api, env, base = local_env["api"], local_env["env"], local_env["dir"]
    res = run_playbook("backfill.yml", "local", backfill_vars(), env)
    assert res.rc == 0, res.stdout[-3000:]
    finished = [j for j in api.get("/jobs/overview")["jobs"] if j["name"] == NAME]
    assert [j["state"] for j in finished] == ["FINISHED"]
    assert api.active_jobs(NAME) == [], "the backfill job is gone when done"
    assert [j["jid"] for j in api.active_jobs(JOB)] == [local_env["v1_job"]], "production untouched"
    record = json.loads((base / "manifests" / "local-flink" / f"backfill-{NAME}.json").read_text())
    assert record["final_state"] == "FINISHED" and record["job_id"] == finished[0]["jid"]

    again = run_playbook("backfill.yml", "local", backfill_vars(), env)
    assert again.rc == 0 and again.changed_count() == 0
    assert len([j for j in api.get("/jobs/overview")["jobs"] if j["name"] == NAME]) == 1, "not run twice"


def test_failing_backfill_is_removed_and_production_untouched(local_env):
    api, env, base = local_env["api"], local_env["env"], local_env["dir"]
    failing = backfill_vars("--fail-after-ms", "400")
    failing["backfill_args"][2:4] = ["--count", "100000"]  # far more than one attempt gets through
    res = run_playbook("backfill.yml", "local", failing, env)
    assert res.rc != 0
    assert "failing after 400 ms on purpose" in res.stdout
    assert api.active_jobs(NAME) == []
    assert [j["jid"] for j in api.active_jobs(JOB)] == [local_env["v1_job"]]
    assert api.job(local_env["v1_job"])["state"] == "RUNNING"
    assert not (base / "manifests" / "local-flink" / f"backfill-{NAME}.json").exists()


def test_backfill_without_a_start_position_is_refused(local_env):
    api, env = local_env["api"], local_env["env"]
    res = run_playbook("backfill.yml", "local", {"backfill_from": JOB, "backfill_id": "t2"}, env)
    assert res.rc != 0 and "start position" in res.stdout
    assert [j["jid"] for j in api.active_jobs()] == [local_env["v1_job"]]
