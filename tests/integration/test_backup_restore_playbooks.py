"""backup_state.yml and restore_state.yml run as a user runs them (`-l local`) against a real Flink."""
from __future__ import annotations

import json
import pathlib

import pytest

from tests.integration.ansible_run import run_playbook
from tests.integration.local_inventory import JOB, running_version

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def manifests(base):
    return sorted((base / "manifests" / "local-flink").glob("backup-*.json"))


def test_backup_records_a_savepoint_and_a_rerun_reuses_it(local_env):
    api, env, base = local_env["api"], local_env["env"], local_env["dir"]
    res = run_playbook("backup_state.yml", "local", None, env)
    assert res.rc == 0, res.stdout[-3000:]
    (manifest,) = manifests(base)
    (entry,) = json.loads(manifest.read_text())["savepoints"]
    assert entry["job"] == JOB and entry["job_id"] == local_env["v1_job"] and entry["version"] == "1.0.0"
    assert (pathlib.Path(entry["savepoint"][len("file:"):]) / "_metadata").is_file()
    assert api.job(local_env["v1_job"])["state"] == "RUNNING", "a backup does not stop the job"

    again = run_playbook("backup_state.yml", "local", None, env)
    assert again.rc == 0 and again.changed_count() == 0, again
    assert len(manifests(base)) == 1


def test_restore_from_the_latest_backup_after_the_job_is_lost(local_env):
    api, env, base = local_env["api"], local_env["env"], local_env["dir"]
    assert run_playbook("backup_state.yml", "local", None, env).rc == 0
    (entry,) = json.loads(manifests(base)[0].read_text())["savepoints"]
    api.cancel_all()  # the job is lost

    res = run_playbook("restore_state.yml", "local", {"restore_job": JOB}, env)
    assert res.rc == 0, res.stdout[-3000:]
    jobs = api.active_jobs(JOB)
    assert len(jobs) == 1 and jobs[0]["state"] == "RUNNING"
    assert api.restored_path(jobs[0]["jid"]) == entry["savepoint"]
    assert running_version(api, jobs[0]["jid"]) == "2.0.0", "the declared version, with the backed-up state"

    again = run_playbook("restore_state.yml", "local", {"restore_job": JOB}, env)
    assert again.rc == 0 and again.changed_count() == 0
    assert [j["jid"] for j in api.active_jobs(JOB)] == [jobs[0]["jid"]]


def test_restore_refuses_to_replace_a_running_job_and_bad_paths(local_env):
    api, env, base = local_env["api"], local_env["env"], local_env["dir"]
    assert run_playbook("backup_state.yml", "local", None, env).rc == 0
    res = run_playbook("restore_state.yml", "local", {"restore_job": JOB}, env)
    assert res.rc != 0 and "restore_replace_running=true" in res.stdout
    bad = run_playbook("restore_state.yml", "local", {"restore_job": JOB, "restore_savepoint": "savepoints/x"}, env)
    assert bad.rc != 0 and "no usable savepoint" in bad.stdout
    missing = run_playbook("restore_state.yml", "local", {"restore_job": JOB,
                                                          "restore_savepoint": f"file://{base}/nope"}, env)
    assert missing.rc != 0
    assert [j["jid"] for j in api.active_jobs(JOB)] == [local_env["v1_job"]], "nothing was changed"


def test_restore_replacing_a_running_job_takes_a_savepoint_first(local_env):
    api, env, base = local_env["api"], local_env["env"], local_env["dir"]
    assert run_playbook("backup_state.yml", "local", None, env).rc == 0
    (entry,) = json.loads(manifests(base)[0].read_text())["savepoints"]
    res = run_playbook("restore_state.yml", "local", {"restore_job": JOB, "restore_replace_running": True}, env)
    assert res.rc == 0, res.stdout[-3000:]
    jobs = api.active_jobs(JOB)
    assert len(jobs) == 1 and jobs[0]["jid"] != local_env["v1_job"]
    assert api.restored_path(jobs[0]["jid"]) == entry["savepoint"]
    assert api.job(local_env["v1_job"])["state"] == "FINISHED", "stopped with a savepoint, not cancelled"
    stop = res.task("Procedure | stop the running job with a savepoint (kept for the rollback)")
    assert (pathlib.Path(stop["savepoint"]["location"][len("file:"):]) / "_metadata").is_file()
