"""playbooks/backfill.yml run as a user runs it (`-l local`) against a real Flink."""
from __future__ import annotations

import json

import pytest

from tests.integration.ansible_run import run_playbook, start_playbook, wait_for
from tests.integration.local_inventory import JOB
from tests.support.crash import crash

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


def runs_of(api, name):
    return [j for j in api.get("/jobs/overview")["jobs"] if j["name"] == name]


def drill_vars(backfill_id):
    """A backfill of its own id: Flink keeps the ended backfills of the other tests in its history."""
    name = f"{JOB}-backfill-{backfill_id}"
    return name, {"backfill_from": JOB, "backfill_id": backfill_id,
                  "backfill_args": ["--name", name, "--count", "300", "--rate", "100"]}


@pytest.mark.parametrize("kill_at", ["running", "finished"])
def test_a_backfill_killed_before_its_record_is_followed_to_its_end_by_the_next_run_not_run_twice(local_env, kill_at):
    """Killed while the backfill job runs, or once it FINISHED but before the run recorded it (Flink
    keeps the ended job in its history): the next run follows that job and records it. Before the
    journal, a kill after FINISHED made the next run submit the range a second time."""
    api, env, base = local_env["api"], local_env["env"], local_env["dir"]
    name, extra = drill_vars("killed-" + kill_at)
    manifests = base / "manifests" / "local-flink"
    record, journal = manifests / f"backfill-{name}.json", manifests / f"backfill-{name}.journal.json"
    reached = {"running": lambda: journal.exists() and [j["state"] for j in runs_of(api, name)] == ["RUNNING"],
               "finished": lambda: [j["state"] for j in runs_of(api, name)] == ["FINISHED"]}[kill_at]
    # 300 records at 100/s: about 3 s of running, then FINISHED; the run polls it every 5 s
    proc = start_playbook("backfill.yml", env, extra, log=base / "first.log")
    try:
        got_there = wait_for(reached, proc, 180)
    finally:
        crash(proc)
    assert got_there, (base / "first.log").read_text()[-3000:]
    assert not record.exists(), "killed before the record, as the drill means"

    again = run_playbook("backfill.yml", "local", extra, env)
    assert again.rc == 0, again.stdout[-3000:]
    runs = runs_of(api, name)
    assert [j["state"] for j in runs] == ["FINISHED"], "one run of the backfill, not two: %s" % runs
    done = json.loads(record.read_text())
    assert done["final_state"] == "FINISHED" and done["job_id"] == runs[0]["jid"]
    assert not journal.exists()
    assert [j["jid"] for j in api.active_jobs(JOB)] == [local_env["v1_job"]], "production untouched"


def test_a_journaled_backfill_flink_no_longer_knows_is_not_started_again(local_env):
    """The journal of a killed run names a backfill job Flink has forgotten (its history expired, or the
    cluster was replaced): the run refuses to submit the range again, says why, and keeps the journal."""
    api, env, base = local_env["api"], local_env["env"], local_env["dir"]
    name, extra = drill_vars("forgotten")
    journal = base / "manifests" / "local-flink" / f"backfill-{name}.journal.json"
    journal.parent.mkdir(parents=True, exist_ok=True)
    journal.write_text(json.dumps({"backfill": name, "from": JOB, "args": [], "job_id": "0123456789abcdef0123456789abcdef"}))
    res = run_playbook("backfill.yml", "local", extra, env)
    assert res.rc != 0
    assert "was started by a run that was killed before it recorded the outcome" in res.stdout
    assert "It is not started again" in res.stdout and str(journal) in res.stdout
    assert runs_of(api, name) == [] and journal.exists()
    assert [j["jid"] for j in api.active_jobs(JOB)] == [local_env["v1_job"]]
