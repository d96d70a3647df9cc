"""suspend_resume_job.yml run as a user runs it (`-l local`) against a real Flink:
suspend = stop with a savepoint (recorded), resume = the declared job from the latest savepoint."""
from __future__ import annotations

import json

import pytest

from tests.integration.ansible_run import run_playbook
from tests.integration.local_inventory import JOB, job_decl

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def test_suspend_resume_second_runs_and_failed_resume(local_env):
    api, env, base = local_env["api"], local_env["env"], local_env["dir"]
    suspend = {"action": "suspend", "job": JOB}
    resume = {"action": "resume", "job": JOB}

    res = run_playbook("suspend_resume_job.yml", "local", suspend, env)
    assert res.rc == 0, res.stdout[-3000:]
    assert api.active_jobs(JOB) == []
    (manifest,) = sorted((base / "manifests" / "local-flink").glob("suspend-*.json"))
    (entry,) = json.loads(manifest.read_text())["savepoints"]
    assert entry["job"] == JOB and entry["job_id"] == local_env["v1_job"]
    again = run_playbook("suspend_resume_job.yml", "local", suspend, env)
    assert again.rc == 0 and again.changed_count() == 0, again

    # a resume that cannot start is cancelled, the job stays stopped, its savepoint kept
    bad = run_playbook("suspend_resume_job.yml", "local",
                       dict(resume, flink_jobs=job_decl(base, "failing.jar", "3.0.0")), env)
    assert bad.rc != 0 and "resume of %s failed" % JOB in bad.stdout
    assert api.active_jobs(JOB) == []

    res = run_playbook("suspend_resume_job.yml", "local", resume, env)
    assert res.rc == 0, res.stdout[-3000:]
    (job,) = api.active_jobs(JOB)
    assert job["state"] == "RUNNING" and api.restored_path(job["jid"]) == entry["savepoint"]
    again = run_playbook("suspend_resume_job.yml", "local", resume, env)
    assert again.rc == 0 and again.changed_count() == 0, again
