"""flink_metrics_info.run: selection of jobs, slots, TaskManagers, and bad input."""
from __future__ import annotations

import pytest

from ansible_collections.flinkops.cookbook.plugins.module_utils.flink_ops import FlinkOpsError
from ansible_collections.flinkops.cookbook.plugins.modules import flink_metrics_info
from fake_flink import hex_id

JOB, OTHER = hex_id(1), hex_id(2)


class FakeModule(object):
    def __init__(self, client, **params):
        self.client = client
        self.params = dict(name=None, job_id=None, active_only=True, backpressure=False,
                           backpressure_timeout=0, taskmanagers=False)
        self.params.update(params)


@pytest.fixture
def cluster(flink):
    flink.add_job(JOB, name="orders")
    flink.add_job(OTHER, name="payments", state="CANCELED")
    for jid in (JOB, OTHER):
        flink.on("GET", "/jobs/%s/checkpoints/config" % jid, {"interval": 1000, "timeout": 600000})
        flink.on("GET", "/jobs/%s/metrics" % jid, [{"id": "numRestarts", "value": "1"}])
    flink.on("GET", "/taskmanagers", {"taskmanagers": [{"id": "tm-1", "slotsNumber": 4, "freeSlots": 2}]})
    flink.on("GET", "/taskmanagers/tm-1/metrics", [])
    flink.slots = {"slots-total": 4, "slots-available": 2, "taskmanagers": 1}
    return flink


def test_active_jobs_slots_and_nothing_changed(cluster):
    result = flink_metrics_info.run(FakeModule(cluster.client()))
    assert result["changed"] is False
    assert [j["name"] for j in result["jobs"]] == ["orders"]
    assert result["jobs"][0]["restarts"] == 1
    assert result["slots"] == {"total": 4, "available": 2, "used": 2}
    assert "taskmanagers" not in result
    assert all(c.method == "GET" for c in cluster.calls), "read-only"


def test_taskmanagers_on_request(cluster):
    result = flink_metrics_info.run(FakeModule(cluster.client(), taskmanagers=True, active_only=False))
    assert [j["name"] for j in result["jobs"]] == ["orders", "payments"]
    assert result["taskmanagers"][0]["id"] == "tm-1" and result["taskmanagers"][0]["heap_used"] is None


def test_bad_job_id_is_refused(cluster):
    with pytest.raises(FlinkOpsError, match="32-character"):
        flink_metrics_info.run(FakeModule(cluster.client(), job_id="orders"))
