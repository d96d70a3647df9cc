"""flink_ops.wait_running: what counts as "started" (RELIABILITY B4-B6)."""
from __future__ import annotations

import pytest

from ansible_collections.flinkops.cookbook.plugins.module_utils.flink_ops import (
    FlinkOpsError, cancel_and_wait, latest_root_exception, wait_running)
from fake_flink import hex_id

JOB = hex_id(1)
SAVEPOINT = "s3://sp/savepoint-1"
BOOM = {"exceptionName": "java.lang.IllegalStateException", "taskName": "Source: orders (1/2)",
        "timestamp": 1700000000000,
        "stacktrace": "java.lang.IllegalStateException: state schema changed\n\tat com.example.Op.open(Op.java:9)\n"}


def details(state, vertex_states):
    return {"jid": JOB, "name": "orders", "state": state,
            "vertices": [{"id": hex_id(0xA00 + i), "status": s, "parallelism": 2} for i, s in enumerate(vertex_states)]}


def test_running_with_all_vertices_and_the_expected_restore_is_ok(flink, clock):
    flink.add_job(JOB, restored=SAVEPOINT, completed=1, parallelism=3)
    result = wait_running(flink.client(), JOB, expected_restore=SAVEPOINT, require_checkpoint=True,
                          clock=clock(60))
    assert result == {"job_id": JOB, "state": "RUNNING", "states": ["RUNNING"], "restored_from": SAVEPOINT,
                      "completed_checkpoints": 1, "parallelism": 3}


def test_waits_until_every_vertex_runs(flink, clock):
    flink.add_job(JOB)
    flink.on("GET", "/jobs/" + JOB, details("CREATED", ["CREATED", "CREATED"]),
             details("RUNNING", ["RUNNING", "DEPLOYING"]), details("RUNNING", ["RUNNING", "RUNNING"]))
    reports = []
    result = wait_running(flink.client(), JOB, report=reports.append, clock=clock(60))
    assert result["states"] == ["CREATED", "RUNNING"]
    assert len(flink.calls_to("GET", "/jobs/" + JOB)) == 3
    assert reports == ["job %s: CREATED" % JOB, "job %s: RUNNING" % JOB]


def test_an_exception_history_entry_fails_the_start_with_the_root_exception(flink, clock):
    flink.add_job(JOB, restored=SAVEPOINT, exceptions=[BOOM])
    with pytest.raises(FlinkOpsError, match="state schema changed") as info:
        wait_running(flink.client(), JOB, expected_restore=SAVEPOINT, clock=clock(60))
    assert info.value.details["root_exception"]["name"] == "java.lang.IllegalStateException"
    assert "Op.java" not in str(info.value)


def test_restarting_job_with_an_exception_fails_fast(flink, clock):
    flink.add_job(JOB, state="RESTARTING", exceptions=[BOOM])
    with pytest.raises(FlinkOpsError, match="RESTARTING"):
        wait_running(flink.client(), JOB, clock=clock(60))
    assert len(flink.calls_to("GET", "/jobs/" + JOB)) == 1


@pytest.mark.parametrize("state", ["FAILED", "CANCELED", "FINISHED"])
def test_a_terminal_state_is_an_error(flink, clock, state):
    flink.add_job(JOB, state=state, exceptions=[BOOM])
    with pytest.raises(FlinkOpsError, match="ended %s while starting: .*state schema changed" % state) as info:
        wait_running(flink.client(), JOB, clock=clock(60))
    assert info.value.details["states"] == [state]


def test_restored_from_another_savepoint_is_an_error(flink, clock):
    flink.add_job(JOB, restored="s3://sp/savepoint-OTHER")
    with pytest.raises(FlinkOpsError, match="restored from s3://sp/savepoint-OTHER, not from %s" % SAVEPOINT):
        wait_running(flink.client(), JOB, expected_restore=SAVEPOINT, clock=clock(60))


@pytest.mark.parametrize("reported, expected", [
    ("file:/tmp/sp/savepoint-1", "file:///tmp/sp/savepoint-1"),
    ("file:/tmp/sp/savepoint-1", "/tmp/sp/savepoint-1/"),
    ("s3://b/sp/savepoint-1/", "s3://b/sp/savepoint-1"),
])
def test_equivalent_spellings_of_the_restore_path_are_accepted(flink, clock, reported, expected):
    flink.add_job(JOB, restored=reported)
    assert wait_running(flink.client(), JOB, expected_restore=expected, clock=clock(60))["restored_from"] == reported


def test_waits_for_a_completed_checkpoint_when_required(flink, fake_time):
    flink.add_job(JOB)
    flink.on("GET", "/jobs/%s/checkpoints" % JOB, {"counts": {"completed": 0}}, {"counts": {"completed": 0}},
             {"counts": {"completed": 2}})
    result = wait_running(flink.client(), JOB, require_checkpoint=True, clock=fake_time.clock(60))
    assert result["completed_checkpoints"] == 2
    assert len(fake_time.sleeps) == 2


def test_timeout_names_the_states_seen(flink, fake_time):
    flink.add_job(JOB, state="INITIALIZING")
    with pytest.raises(FlinkOpsError, match=r"was not RUNNING within 10s \(states seen: INITIALIZING\)"):
        wait_running(flink.client(), JOB, 10, clock=fake_time.clock(10, interval=1))
    assert sum(fake_time.sleeps) == 10


def test_an_unknown_job_is_waited_for_not_failed(flink, fake_time):
    flink.on("GET", "/jobs/" + JOB, (404, {"errors": ["not found"]}))
    with pytest.raises(FlinkOpsError, match="UNKNOWN"):
        wait_running(flink.client(), JOB, 3, clock=fake_time.clock(3))


def test_latest_root_exception_falls_back_to_the_legacy_field(flink):
    flink.on("GET", "/jobs/%s/exceptions" % JOB, {"root-exception": "java.lang.Exception: old style\n\tat x.y(z)"})
    assert latest_root_exception(flink.client(), JOB) == {"name": None, "message": "java.lang.Exception: old style"}


def test_recovery_suppressed_reports_the_task_failure_behind_it(flink):
    suppressed = {"exceptionName": "org.apache.flink.runtime.JobException",
                  "stacktrace": "org.apache.flink.runtime.JobException: Recovery is suppressed by "
                                "NoRestartBackoffTimeStrategy\n\tat x.y(z)", "concurrentExceptions": [BOOM]}
    flink.add_job(JOB, exceptions=[suppressed])
    root = latest_root_exception(flink.client(), JOB)
    assert root["name"] == "java.lang.IllegalStateException"
    assert root["message"] == "java.lang.IllegalStateException: state schema changed"


def test_cancel_and_wait_cancels_a_running_job_and_leaves_a_finished_one(flink, fake_clocks):
    flink.add_job(JOB)
    cancel_and_wait(flink.client(), JOB)
    assert flink.jobs[JOB]["state"] == "CANCELED"
    cancel_and_wait(flink.client(), JOB)
    assert len(flink.calls_to("PATCH", "/jobs/" + JOB)) == 1
