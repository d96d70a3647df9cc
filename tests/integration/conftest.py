"""Fixtures of the playbook integration tests: the `local` inventory pointed at a real cluster."""
from __future__ import annotations

import pathlib
import shutil

import pytest

from tests.integration.ansible_run import FlinkApi, run_playbook
from tests.integration.local_inventory import JOB


@pytest.fixture
def local_env(flink_cluster, test_jars, tmp_path):
    """The `local` inventory pointed at the test cluster, with v1 deployed by deploy_job.yml."""
    api = FlinkApi(flink_cluster.rest_url)
    api.cancel_all()
    jars = tmp_path / "jars"
    jars.mkdir()
    for key in ("v1", "v2", "failing"):
        shutil.copy(test_jars[key], jars / pathlib.Path(test_jars[key]).name)
    env = {"FLINKOPS_LOCAL_REST_URL": flink_cluster.rest_url, "FLINKOPS_LOCAL_DIR": str(tmp_path),
           "FLINKOPS_VALIDATION_SECONDS": "8"}
    res = run_playbook("deploy_job.yml", "local", {"local_job_version": "1.0.0"}, env)
    assert res.rc == 0, res.stdout[-3000:]
    jobs = api.active_jobs(JOB)
    assert len(jobs) == 1
    yield {"api": api, "env": env, "dir": tmp_path, "v1_job": jobs[0]["jid"]}
    api.cancel_all()
