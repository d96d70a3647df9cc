"""flink_ops.Journal and the journaled/resumed redeploy_from_savepoint (RELIABILITY A3, C2.1)."""
from __future__ import annotations

import json

import pytest

from ansible_collections.flinkops.cookbook.plugins.module_utils.flink_ops import (
    Journal, encode_labels, redeploy_from_savepoint)
from fake_flink import hex_id

OLD = hex_id(0x0A1)
OLD_SPEC = {"name": "orders", "version": "1", "jar_id": "1_orders-v1.jar", "parallelism": 2}
NEW_SPEC = dict(OLD_SPEC, version="2", jar_id="2_orders-v2.jar")


@pytest.fixture
def cluster(flink, fake_clocks):
    flink.add_job(OLD, name="orders", spec_labels=encode_labels(OLD_SPEC))
    return flink


def test_journal_round_trip_and_clear(tmp_path):
    path = tmp_path / "deep" / "orders.json"
    journal = Journal(str(path))
    assert journal.data is None
    journal.record(job="orders", phase="savepoint")
    journal.record(trigger_id="ab" * 16)
    again = Journal(str(path))
    assert again.data["job"] == "orders" and again.data["trigger_id"] == "ab" * 16
    assert not (tmp_path / "deep" / "orders.json.tmp").exists(), "written through a temp file and renamed"
    again.clear()
    assert not path.exists() and Journal(str(path)).data is None


def test_each_step_is_recorded_before_it_is_taken(cluster, tmp_path):
    path = tmp_path / "j.json"
    journal = Journal(str(path))
    seen = {}

    def snapshot(call):
        if path.exists():
            seen.setdefault(call.method + " " + call.path, json.loads(path.read_text()))

    cluster.before_request = snapshot
    redeploy_from_savepoint(cluster.client(), OLD, OLD_SPEC, NEW_SPEC, target_directory="s3://sp", journal=journal)
    stop = seen["POST /jobs/%s/stop" % OLD]
    (stop_call,) = cluster.calls_to("POST", "/jobs/%s/stop" % OLD)
    assert stop["trigger_id"] == stop_call.body["triggerId"], "trigger id persisted before the stop"
    run = seen["POST /jars/%s/run" % NEW_SPEC["jar_id"]]
    (run_call,) = cluster.calls_to("POST", "/jars/%s/run" % NEW_SPEC["jar_id"])
    assert run["new_job_id"] == run_call.body["jobId"], "job id persisted before the submit"
    assert run["savepoint"] == run_call.body["savepointPath"]
    assert run["previous_spec"] == OLD_SPEC


def test_resume_from_a_recorded_savepoint_takes_no_second_savepoint(cluster):
    result = redeploy_from_savepoint(cluster.client(), OLD, OLD_SPEC, NEW_SPEC,
                                     resume={"savepoint": "s3://sp/savepoint-0a1-1"})
    assert cluster.calls_to("POST", "/jobs/%s/stop" % OLD) == []
    assert cluster.calls_to("POST", "/jobs/%s/savepoints" % OLD) == []
    (run,) = cluster.calls_to("POST", "/jars/%s/run" % NEW_SPEC["jar_id"])
    assert run.body["savepointPath"] == "s3://sp/savepoint-0a1-1"
    assert result["restored_from"] == "s3://sp/savepoint-0a1-1"
