"""flink_ops.redeploy_from_savepoint: stop with savepoint, start, verify, roll back.

redeploy_from_savepoint builds its own Clocks, so these tests use ``fake_clocks``: every
wait runs on fake time and nothing sleeps.
"""
from __future__ import annotations

import pytest
import requests

from ansible_collections.flinkops.cookbook.plugins.module_utils.flink_ops import (
    FlinkOpsError, SavepointTimeout, encode_labels, redeploy_from_savepoint)
from fake_flink import hex_id

OLD = hex_id(0x01D)
OLD_SPEC = {"name": "orders", "version": "1", "jar_id": "1_orders-v1.jar", "args": ["--topic", "orders"],
            "parallelism": 2, "flink_configuration": {"pipeline.name": "orders"}}
NEW_SPEC = dict(OLD_SPEC, version="2", jar_id="2_orders-v2.jar")
BOOM = {"exceptionName": "java.lang.IllegalStateException", "taskName": "Map (1/2)", "timestamp": 1,
        "stacktrace": "java.lang.IllegalStateException: incompatible state\n\tat com.example.Op.open(Op.java:9)"}


@pytest.fixture
def cluster(flink, fake_clocks):
    flink.add_job(OLD, name="orders", spec_labels=encode_labels(OLD_SPEC))
    return flink


def redeploy(flink, **kwargs):
    kwargs.setdefault("target_directory", "s3://savepoints")
    return redeploy_from_savepoint(flink.client(), OLD, OLD_SPEC, NEW_SPEC, **kwargs)


def stop_location(flink):
    (stop,) = flink.calls_to("POST", "/jobs/%s/stop" % OLD)
    return flink.savepoint_result[stop.body["triggerId"]]["operation"]["location"]


def runs(flink, spec):
    return flink.calls_to("POST", "/jars/%s/run" % spec["jar_id"])


# -- (c) happy path -------------------------------------------------------------------------
def test_upgrade_starts_the_new_spec_from_the_stop_savepoint(cluster):
    result = redeploy(cluster)
    location = stop_location(cluster)

    (run,) = runs(cluster, NEW_SPEC)
    assert run.body["savepointPath"] == location
    assert result["restored_from"] == location
    assert result["job_id"] == run.body["jobId"] and result["previous_job_id"] == OLD
    assert result["savepoint"]["location"] == location and result["savepoint"]["stopped"] is True
    assert cluster.jobs[OLD]["state"] == "FINISHED"
    assert cluster.jobs[result["job_id"]]["state"] == "RUNNING"


def test_upgrade_never_drains(cluster):
    """B13: drain would fire end-of-input timers and emit final windows before the restart."""
    redeploy(cluster)
    bodies = [c.body for c in cluster.calls if c.body]
    assert cluster.calls_to("POST", "/jobs/%s/stop" % OLD)[0].body["drain"] is False
    assert not any(b.get("drain") for b in bodies)


def test_upgrade_waits_for_a_checkpoint_of_the_new_job(cluster, fake_clocks):
    cluster.jar_behaviour[NEW_SPEC["jar_id"]] = {"completed": 0}
    with pytest.raises(FlinkOpsError, match="with a completed checkpoint"):
        redeploy(cluster, start_timeout=5)


# -- (a) the savepoint fails: nothing else happens ------------------------------------------
def test_failed_savepoint_leaves_the_job_alone(cluster):
    cluster.on("GET", "/jobs/%s/savepoints/.*" % OLD, {"status": {"id": "COMPLETED"}, "operation": {
        "failure-cause": {"class": "org.apache.flink.runtime.checkpoint.CheckpointException",
                          "stack-trace": "org.apache.flink.runtime.checkpoint.CheckpointException: "
                                         "Task Map (1/2) failed.\n\tat x.y(z)"}}})
    with pytest.raises(FlinkOpsError, match="Task Map \\(1/2\\) failed"):
        redeploy(cluster)
    assert not cluster.calls_to("POST", "/jars/.*/run")
    assert not cluster.calls_to("PATCH", ".*")


def test_savepoint_timeout_leaves_the_job_alone(cluster):
    cluster.on("GET", "/jobs/%s/savepoints/.*" % OLD, {"status": {"id": "IN_PROGRESS"}})
    with pytest.raises(SavepointTimeout):
        redeploy(cluster, savepoint_timeout=5)
    assert not cluster.calls_to("POST", "/jars/.*/run")
    assert not cluster.calls_to("PATCH", ".*")


# -- (b) the new version does not start: roll back ------------------------------------------
def test_failing_new_job_is_cancelled_and_the_old_spec_restarted_from_the_same_savepoint(cluster):
    cluster.jar_behaviour[NEW_SPEC["jar_id"]] = {"exceptions": [BOOM]}
    with pytest.raises(FlinkOpsError, match="rolled back") as info:
        redeploy(cluster)
    location = stop_location(cluster)
    new_job = runs(cluster, NEW_SPEC)[0].body["jobId"]

    assert "incompatible state" in str(info.value)
    assert cluster.calls_to("PATCH", "/jobs/" + new_job)[0].params == {"mode": "cancel"}
    assert cluster.jobs[new_job]["state"] == "CANCELED"
    (rollback,) = runs(cluster, OLD_SPEC)
    assert rollback.body["savepointPath"] == location
    rolled_back = info.value.details["rolled_back"]
    assert rolled_back["ok"] is True and rolled_back["job_id"] == rollback.body["jobId"]
    assert info.value.details["failed_job_id"] == new_job
    assert cluster.jobs[rollback.body["jobId"]]["state"] == "RUNNING"


def test_new_job_cancelled_before_the_old_one_starts(cluster):
    cluster.jar_behaviour[NEW_SPEC["jar_id"]] = {"exceptions": [BOOM]}
    with pytest.raises(FlinkOpsError):
        redeploy(cluster)
    order = [c.method for c in cluster.calls if c.method in ("PATCH", "POST") and "/stop" not in c.path]
    assert order == ["POST", "PATCH", "POST"]


def test_new_job_that_fails_outright_is_rolled_back_without_a_cancel(cluster):
    cluster.jar_behaviour[NEW_SPEC["jar_id"]] = {"state": "FAILED", "exceptions": [BOOM]}
    with pytest.raises(FlinkOpsError, match="ended FAILED.*rolled back"):
        redeploy(cluster)
    assert not cluster.calls_to("PATCH", ".*")
    assert len(runs(cluster, OLD_SPEC)) == 1


def test_rejected_submission_is_rolled_back(cluster):
    cluster.on("POST", "/jars/%s/run" % NEW_SPEC["jar_id"], (400, {"errors": ["jar has no main class"]}))
    with pytest.raises(FlinkOpsError, match="jar has no main class.*rolled back") as info:
        redeploy(cluster)
    assert info.value.details["http"]["status"] == 400
    assert runs(cluster, OLD_SPEC)[0].body["savepointPath"] == stop_location(cluster)


def test_previous_job_without_a_spec_is_not_restarted_but_its_savepoint_reported(cluster):
    cluster.jar_behaviour[NEW_SPEC["jar_id"]] = {"exceptions": [BOOM]}
    with pytest.raises(FlinkOpsError, match="cannot be restarted automatically") as info:
        redeploy_from_savepoint(cluster.client(), OLD, None, NEW_SPEC, "s3://savepoints")
    assert stop_location(cluster) in str(info.value)
    assert info.value.details["rolled_back"]["ok"] is False
    assert not runs(cluster, OLD_SPEC)


def test_failed_rollback_is_reported_with_the_savepoint(cluster):
    cluster.jar_behaviour[NEW_SPEC["jar_id"]] = {"exceptions": [BOOM]}
    cluster.jar_behaviour[OLD_SPEC["jar_id"]] = {"state": "FAILED"}
    with pytest.raises(FlinkOpsError, match="rollback to the previous version FAILED") as info:
        redeploy(cluster)
    assert stop_location(cluster) in str(info.value)
    assert info.value.details["rolled_back"]["ok"] is False


def test_lost_submission_answer_never_leaves_two_jobs_running(cluster):
    def accepted_late(call):
        job = cluster.add_job(call.body["jobId"], name="orders", restored=call.body["savepointPath"])
        job["lookup_faults"] = [(404, {"errors": ["Job not found"]})]  # the Dispatcher is still busy with it
        return requests.exceptions.ReadTimeout("read timed out")

    cluster.on("POST", "/jars/%s/run" % NEW_SPEC["jar_id"], accepted_late)
    result = redeploy(cluster)  # reconciled by job id: the accepted job is verified, not cancelled
    running = [j["jid"] for j in cluster.jobs.values() if j["state"] == "RUNNING"]
    assert running == [result["job_id"]], "jobs running from the same savepoint: %s" % running
    assert runs(cluster, OLD_SPEC) == [], "a job whose submission answer was lost is not rolled back"
    assert len([c for c in cluster.calls if c.method == "POST" and c.path.endswith("/run")]) == 1


def test_a_broken_answer_while_verifying_is_retried_not_fatal(cluster):
    # A connection broken mid-answer on a GET is a transport error: retried, and the upgrade goes on.
    broken = requests.exceptions.ChunkedEncodingError("Connection broken: IncompleteRead(0 bytes read)")
    cluster.jar_behaviour[NEW_SPEC["jar_id"]] = {"lookup_faults": [broken]}
    result = redeploy(cluster)
    assert result["restored_from"] == result["savepoint"]["location"]
    assert runs(cluster, OLD_SPEC) == [], "no rollback for a healed transport error"
