"""flink_ops.wait_savepoint and take_savepoint (RELIABILITY B3, B9)."""
from __future__ import annotations

import pytest

from ansible_collections.flinkops.cookbook.plugins.module_utils._http import HttpError
from ansible_collections.flinkops.cookbook.plugins.module_utils.flink_ops import (
    FlinkOpsError, SavepointTimeout, take_savepoint, wait_savepoint)
from fake_flink import hex_id

JOB = hex_id(1)
TRIGGER = hex_id(2)
STATUS = "/jobs/%s/savepoints/%s" % (JOB, TRIGGER)
CHECKPOINTS = "/jobs/%s/checkpoints" % JOB
SINCE_MS = 1700000000000

IN_PROGRESS = {"status": {"id": "IN_PROGRESS"}}


def completed(location=None, cause=None):
    operation = {}
    if location:
        operation["location"] = location
    if cause:
        operation["failure-cause"] = cause
    return {"status": {"id": "COMPLETED"}, "operation": operation}


def java_cause(text):
    return {"class": text.split(":")[0], "stack-trace": text + "\n\tat org.apache.flink.Foo.bar(Foo.java:1)\n",
            "serialized-throwable": "rO0AB..."}


def pending(acknowledged, subtasks=4, checkpoint_id=7):
    return {"className": "in_progress", "id": checkpoint_id, "status": "IN_PROGRESS", "is_savepoint": True,
            "num_acknowledged_subtasks": acknowledged, "num_subtasks": subtasks, "checkpointed_size": 1024}


# -- wait_savepoint ---------------------------------------------------------------------
def test_in_progress_then_completed_returns_the_location(flink, clock):
    flink.on("GET", STATUS, IN_PROGRESS, completed("s3://sp/savepoint-1"))
    location, _samples = wait_savepoint(flink.client(), JOB, TRIGGER, 60, clock=clock(60))
    assert location == "s3://sp/savepoint-1"
    assert len(flink.calls_to("GET", STATUS)) == 2


def test_completed_with_failure_cause_is_an_error_with_the_cause(flink, clock):
    cause = java_cause("org.apache.flink.runtime.checkpoint.CheckpointException: Checkpoint expired before completing.")
    flink.on("GET", STATUS, completed(cause=cause))
    with pytest.raises(FlinkOpsError, match="Checkpoint expired before completing") as info:
        wait_savepoint(flink.client(), JOB, TRIGGER, 60, clock=clock(60))
    assert not isinstance(info.value, SavepointTimeout)
    assert info.value.details["trigger_id"] == TRIGGER
    assert "Foo.java" not in str(info.value)


def test_job_failed_while_stopping_after_the_savepoint_returns_it(flink, clock):
    """B3: Flink completes the operation with a failure cause that names the savepoint."""
    cause = java_cause(
        "org.apache.flink.runtime.scheduler.stopwithsavepoint.StopWithSavepointStoppingException: A savepoint "
        "has been created at: file:/tmp/sp/savepoint-abc, but the corresponding job %s failed during stopping. "
        "The savepoint is consistent, but might have uncommitted transactions." % JOB)
    flink.on("GET", STATUS, completed(cause=cause))
    location, _samples = wait_savepoint(flink.client(), JOB, TRIGGER, 60, stop=True, clock=clock(60))
    assert location == "file:/tmp/sp/savepoint-abc"


def test_the_stopping_message_is_not_trusted_for_a_plain_savepoint(flink, clock):
    cause = java_cause("java.lang.Exception: A savepoint has been created at: file:/tmp/sp/savepoint-abc, but ...")
    flink.on("GET", STATUS, completed(cause=cause))
    with pytest.raises(FlinkOpsError):
        wait_savepoint(flink.client(), JOB, TRIGGER, 60, stop=False, clock=clock(60))


def test_lost_trigger_is_reconciled_from_the_checkpoint_history(flink, clock):
    """B9: the status answers 404 (JobManager failover), yet the savepoint completed."""
    flink.on("GET", STATUS, (404, {"errors": ["There is no savepoint operation with triggerId=%s" % TRIGGER]}))
    flink.on("GET", CHECKPOINTS, {"history": [
        {"className": "completed", "id": 9, "status": "COMPLETED", "is_savepoint": False,
         "trigger_timestamp": SINCE_MS + 10, "external_path": "s3://cp/chk-9"},
        {"className": "completed", "id": 8, "status": "COMPLETED", "is_savepoint": True,
         "trigger_timestamp": SINCE_MS + 5, "external_path": "s3://sp/savepoint-8"},
        {"className": "completed", "id": 2, "status": "COMPLETED", "is_savepoint": True,
         "trigger_timestamp": SINCE_MS - 60000, "external_path": "s3://sp/savepoint-old"},
    ]})
    location, _samples = wait_savepoint(flink.client(), JOB, TRIGGER, 60, clock=clock(60), since_ms=SINCE_MS)
    assert location == "s3://sp/savepoint-8"


def test_lost_trigger_with_only_older_savepoints_is_an_error(flink, clock):
    flink.on("GET", STATUS, (404, {"errors": ["unknown trigger"]}))
    flink.on("GET", CHECKPOINTS, {"history": [
        {"className": "completed", "id": 2, "status": "COMPLETED", "is_savepoint": True,
         "trigger_timestamp": SINCE_MS - 60000, "external_path": "s3://sp/savepoint-old"}]})
    with pytest.raises(FlinkOpsError, match="unknown to the JobManager") as info:
        wait_savepoint(flink.client(), JOB, TRIGGER, 60, clock=clock(60), since_ms=SINCE_MS)
    assert TRIGGER in str(info.value)


def test_lost_trigger_without_history_is_an_error(flink, clock):
    flink.on("GET", STATUS, (404, {"errors": ["unknown trigger"]}))
    flink.on("GET", CHECKPOINTS, (404, {"errors": ["job gone"]}))
    with pytest.raises(FlinkOpsError, match="no savepoint completed since"):
        wait_savepoint(flink.client(), JOB, TRIGGER, 60, clock=clock(60), since_ms=SINCE_MS)


def test_other_status_errors_are_raised_as_they_are(flink, clock):
    flink.on("GET", STATUS, (500, {"errors": ["boom"]}))
    with pytest.raises(HttpError, match="HTTP 500"):
        wait_savepoint(flink.client(), JOB, TRIGGER, 60, clock=clock(60))


def test_never_completing_is_a_timeout_naming_the_trigger(flink, fake_time):
    flink.on("GET", STATUS, IN_PROGRESS)
    with pytest.raises(SavepointTimeout) as info:
        wait_savepoint(flink.client(), JOB, TRIGGER, 30, clock=fake_time.clock(30, interval=5))
    assert "trigger_id=%s" % TRIGGER in str(info.value)
    assert info.value.details["trigger_id"] == TRIGGER
    assert sum(fake_time.sleeps) >= 30
    assert not flink.calls_to("POST", ".*") and not flink.calls_to("PATCH", ".*"), "a timeout never escalates"


def test_progress_is_sampled_from_in_progress_history_entries(flink, clock):
    flink.add_job(JOB)
    flink.on("GET", STATUS, IN_PROGRESS, IN_PROGRESS, IN_PROGRESS, completed("s3://sp/savepoint-7"))
    flink.on("GET", CHECKPOINTS, {"history": [pending(1)]}, {"history": [pending(1)]}, {"history": [pending(3)]})
    reports = []
    location, samples = wait_savepoint(flink.client(), JOB, TRIGGER, 60, report=reports.append, clock=clock(60))

    assert location == "s3://sp/savepoint-7"
    assert [s["acknowledged"] for s in samples] == [1, 3], "unchanged progress is recorded once"
    assert samples[0] == dict(samples[0], id=7, subtasks=4, bytes=1024)
    assert len(reports) == 2 and "1/4 subtasks" in reports[0]


# -- take_savepoint ---------------------------------------------------------------------
def test_take_savepoint_polls_the_trigger_id_it_sent(flink, clock):
    flink.add_job(JOB)
    result = take_savepoint(flink.client(), JOB, "s3://sp", clock=clock(60))

    posted = flink.calls_to("POST", "/jobs/%s/savepoints" % JOB)
    assert len(posted) == 1
    trigger_id = posted[0].body["triggerId"]
    assert [c.path for c in flink.calls_to("GET", "/jobs/%s/savepoints/.*" % JOB)] == [
        "/jobs/%s/savepoints/%s" % (JOB, trigger_id)]
    assert result["trigger_id"] == trigger_id
    assert result["location"] == flink.savepoint_result[trigger_id]["operation"]["location"]
    assert result["stopped"] is False


def test_take_savepoint_with_a_trigger_id_resumes_without_posting(flink, clock):
    flink.add_job(JOB)
    flink.on("GET", STATUS, completed("s3://sp/savepoint-resumed"))
    result = take_savepoint(flink.client(), JOB, trigger_id=TRIGGER, clock=clock(60))

    assert result["location"] == "s3://sp/savepoint-resumed"
    assert not flink.calls_to("POST", ".*")


def test_take_savepoint_with_stop_uses_the_stop_endpoint(flink, clock):
    flink.add_job(JOB)
    result = take_savepoint(flink.client(), JOB, "s3://sp", stop=True, clock=clock(60))

    assert not flink.calls_to("POST", "/jobs/%s/savepoints" % JOB)
    body = flink.calls_to("POST", "/jobs/%s/stop" % JOB)[0].body
    assert body["drain"] is False and body["triggerId"] == result["trigger_id"]
    assert result["stopped"] is True
