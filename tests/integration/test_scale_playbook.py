"""playbooks/scale_job.yml run as a user runs it (`-l local`) against a real Flink."""
from __future__ import annotations

import pytest

from tests.integration.ansible_run import run_playbook
from tests.integration.local_inventory import JOB, job_decl, running_version

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def declared(base, parallelism, **extra):
    decl = job_decl(base, "stateful-v1.jar", "1.0.0")
    decl[0].update(parallelism=parallelism, **extra)
    return {"flink_jobs": decl}


def test_scale_to_the_declared_parallelism_then_nothing_to_do(local_env):
    api, env, base = local_env["api"], local_env["env"], local_env["dir"]
    res = run_playbook("scale_job.yml", "local", declared(base, 3, source_partitions=8), env)
    assert res.rc == 0, res.stdout[-3000:]
    jobs = api.active_jobs(JOB)
    assert len(jobs) == 1 and api.vertex_parallelism(jobs[0]["jid"]) == [3, 3]
    assert running_version(api, jobs[0]["jid"]) == "1.0.0"
    # default scheduler: through a savepoint, state restored from it
    assert jobs[0]["jid"] != local_env["v1_job"]
    assert "savepoint-" in api.restored_path(jobs[0]["jid"])

    again = run_playbook("scale_job.yml", "local", declared(base, 3, source_partitions=8), env)
    assert again.rc == 0 and again.changed_count() == 0
    upgrade = run_playbook("upgrade_job.yml", "local", declared(base, 3), env)
    assert upgrade.rc == 0 and upgrade.changed_count() == 0, "upgrade_job.yml agrees the job is as declared"


def test_more_parallelism_than_source_partitions_is_refused_before_touching_the_job(local_env):
    api, env, base = local_env["api"], local_env["env"], local_env["dir"]
    res = run_playbook("scale_job.yml", "local", declared(base, 4, source_partitions=3), env)
    assert res.rc != 0
    assert "source partitions 3" in res.stdout and "Nothing was changed" in res.stdout
    assert [j["jid"] for j in api.active_jobs(JOB)] == [local_env["v1_job"]]
    assert api.vertex_parallelism(local_env["v1_job"]) == [2, 2]


def test_more_parallelism_than_free_slots_is_refused_before_touching_the_job(local_env):
    api, env, base = local_env["api"], local_env["env"], local_env["dir"]
    res = run_playbook("scale_job.yml", "local", declared(base, 7), env)
    assert res.rc != 0
    assert "slots usable 4" in res.stdout
    assert [j["jid"] for j in api.active_jobs(JOB)] == [local_env["v1_job"]]
    assert api.vertex_parallelism(local_env["v1_job"]) == [2, 2]
