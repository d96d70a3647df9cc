"""Proves the local Flink harness: submit the v1 test job over REST, see it checkpoint."""
from __future__ import annotations

import time

import pytest
import requests

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def _wait(predicate, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.parametrize("cluster_fixture", ["flink_cluster", "adaptive_flink_cluster"])
def test_v1_runs_and_checkpoints(request, cluster_fixture, test_jars):
    flink = request.getfixturevalue(cluster_fixture)
    url = flink.rest_url
    # a session cluster: an earlier test file on this worker may have loaded it, and under
    # load a TaskManager can miss heartbeats and re-register; ready means all slots reported
    assert flink.wait_ready(timeout=120)["slots-total"] == 4

    with open(test_jars["v1"], "rb") as f:
        resp = requests.post(url + "/jars/upload", files={"jarfile": ("stateful-v1.jar", f)}, timeout=60)
    resp.raise_for_status()
    jar_id = resp.json()["filename"].rsplit("/", 1)[-1]

    resp = requests.post(f"{url}/jars/{jar_id}/run", timeout=60, json={
        "programArgsList": ["--name", "harness-v1"],
        "parallelism": 2,
        "flinkConfiguration": {"pipeline.global-job-parameters": "flinkops.version:1.0.0"},
    })
    resp.raise_for_status()
    job_id = resp.json()["jobid"]
    try:
        def job():
            return requests.get(f"{url}/jobs/{job_id}", timeout=10).json()

        _wait(lambda: job()["state"] == "RUNNING", what="RUNNING")

        def checkpoints():
            return requests.get(f"{url}/jobs/{job_id}/checkpoints", timeout=10).json()

        _wait(lambda: checkpoints()["counts"]["completed"] > 0, what="a completed checkpoint")
        latest = checkpoints()["latest"]["completed"]
        assert latest["external_path"].startswith("file:" + str(flink.checkpoint_dir))

        config = requests.get(f"{url}/jobs/{job_id}/config", timeout=10).json()
        assert config["name"] == "harness-v1"
        assert config["execution-config"]["user-config"] == {"flinkops.version": "1.0.0"}
    finally:
        requests.patch(f"{url}/jobs/{job_id}", params={"mode": "cancel"}, timeout=10)
    _wait(lambda: job()["state"] == "CANCELED", what="CANCELED")
