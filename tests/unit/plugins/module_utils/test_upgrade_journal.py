"""_journal.Journal and the journaled/resumed redeploy_from_savepoint (RELIABILITY A3, C2.1)."""
from __future__ import annotations

import json

import pytest

from ansible_collections.flinkops.cookbook.plugins.module_utils._journal import Journal
from ansible_collections.flinkops.cookbook.plugins.module_utils.flink_ops import (
    FlinkOpsError, encode_labels, fenced_id, last_stop_savepoint, plan_resume, redeploy_from_savepoint, spec_digest,
    take_savepoint)
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
    assert not list((tmp_path / "deep").glob("*.tmp")), "written through a temp file and renamed"
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


# -- plan_resume: what the next run does at each point a crashed run may have stopped -----------
def _pending(**fields):
    return dict({"job": "orders", "operation": "upgrade", "old_job_id": OLD, "previous_spec": OLD_SPEC,
                 "spec": NEW_SPEC, "savepoint_asked": 0}, **fields)


def test_trigger_recorded_and_job_still_running_with_the_savepoint_pending_waits_for_it(cluster):
    client = cluster.client()
    trigger = "cd" * 16
    cluster.triggers[trigger] = {"job": OLD, "stop": True, "body": {}}
    cluster.savepoint_result[trigger] = {"status": {"id": "IN_PROGRESS"}}
    plan = plan_resume(client, _pending(phase="savepoint", trigger_id=trigger), {"jid": OLD})
    assert plan["action"] == "resume" and plan["resume"] == {"trigger_id": trigger}


def test_trigger_gone_while_the_old_job_runs_again_clears_the_journal(cluster):
    """Repro: a trigger lost in a leader failover left a journal no re-run could clear."""
    plan = plan_resume(cluster.client(), _pending(phase="savepoint", trigger_id="ee" * 16), {"jid": OLD})
    assert plan["action"] == "none" and "gone" in plan["reason"]


def test_old_job_finished_before_the_location_was_recorded_resumes_from_the_trigger(cluster):
    """Repro: killed the moment the old job FINISHED, the journal held the trigger id only."""
    trigger = "cd" * 16
    cluster.triggers[trigger] = {"job": OLD, "stop": True, "body": {}}
    cluster.savepoint_result[trigger] = {"status": {"id": "COMPLETED"},
                                         "operation": {"location": "s3://sp/savepoint-0a1-cd"}}
    cluster.jobs[OLD]["state"] = "FINISHED"
    plan = plan_resume(cluster.client(), _pending(phase="savepoint", trigger_id=trigger), None)
    assert plan["action"] == "resume"
    assert plan["resume"]["savepoint"] == "s3://sp/savepoint-0a1-cd" and not plan["resume"]["submitted"]
    result = redeploy_from_savepoint(cluster.client(), OLD, OLD_SPEC, NEW_SPEC, resume=plan["resume"])
    assert result["restored_from"] == "s3://sp/savepoint-0a1-cd"
    assert cluster.calls_to("POST", "/jobs/%s/stop" % OLD) == [], "no second savepoint"


def test_a_submitted_new_job_is_verified_not_cancelled(cluster):
    new = hex_id(0x0B2)
    cluster.jobs[OLD]["state"] = "FINISHED"
    cluster.add_job(new, name="orders", spec_labels=encode_labels(NEW_SPEC), restored="s3://sp/savepoint-0a1-1")
    pending = _pending(phase="submit", savepoint="s3://sp/savepoint-0a1-1", new_job_id=new)
    plan = plan_resume(cluster.client(), pending, {"jid": new})
    assert plan["resume"] == {"savepoint": "s3://sp/savepoint-0a1-1", "trigger_id": None, "new_job_id": new,
                              "submitted": True}
    result = redeploy_from_savepoint(cluster.client(), OLD, OLD_SPEC, NEW_SPEC, resume=plan["resume"])
    assert result["job_id"] == new
    assert cluster.calls_to("PATCH", "/jobs/.*") == [] and cluster.calls_to("POST", "/jars/.*/run") == []


def test_a_missed_validation_window_is_returned_for_validation(cluster):
    new = hex_id(0x0B2)
    cluster.add_job(new, name="orders", spec_labels=encode_labels(NEW_SPEC))
    plan = plan_resume(cluster.client(), _pending(phase="validate", savepoint="s3://sp/1", new_job_id=new),
                       {"jid": new})
    assert plan["action"] == "validate" and plan["job_id"] == new and plan["savepoint"] == "s3://sp/1"


def test_job_down_with_no_savepoint_names_the_latest_retained_checkpoint(cluster):
    cluster.jobs[OLD]["state"] = "CANCELED"
    with pytest.raises(FlinkOpsError, match="no savepoint of it exists"):
        plan_resume(cluster.client(), _pending(phase="savepoint", trigger_id="ee" * 16), None)


def test_fenced_ids_are_the_same_for_the_same_operation_and_differ_otherwise():
    assert fenced_id("run", OLD, "s3://sp/1", spec_digest(NEW_SPEC)) == \
        fenced_id("run", OLD, "s3://sp/1", spec_digest(dict(NEW_SPEC, jar_id="9_other-upload.jar")))
    assert fenced_id("run", OLD, "s3://sp/1", spec_digest(NEW_SPEC)) != \
        fenced_id("run", OLD, "s3://sp/2", spec_digest(NEW_SPEC))


def test_two_runs_of_one_upgrade_take_one_savepoint(cluster):
    """The second run's fenced trigger id is the first one's: it joins it instead of stopping again."""
    first = take_savepoint(cluster.client(), OLD, "s3://sp", stop=True, fence=spec_digest(NEW_SPEC))
    cluster.jobs[OLD]["state"] = "RUNNING"  # as seen by a run that looked before the stop took effect
    second = take_savepoint(cluster.client(), OLD, "s3://sp", stop=True, fence=spec_digest(NEW_SPEC))
    assert second["trigger_id"] == first["trigger_id"] and second["joined"] and not first["joined"]
    assert second["location"] == first["location"]
    assert len(cluster.calls_to("POST", "/jobs/%s/stop" % OLD)) == 1


# -- last_stop_savepoint: a job stopped a moment ago is started from its savepoint, not empty -----
def _ended(cluster, jid, state, end, savepoint_id=None, checkpoint_id=None):
    job = cluster.add_job(jid, name="orders", state=state)
    job["end-time"] = end
    job["latest"] = {
        "savepoint": {"id": savepoint_id, "external_path": "s3://sp/savepoint-%d" % savepoint_id}
        if savepoint_id else None,
        "completed": {"id": checkpoint_id, "external_path": "s3://cp/chk-%d" % checkpoint_id} if checkpoint_id else None}
    return job


def test_the_newest_job_stopped_with_a_savepoint_gives_that_savepoint(flink):
    _ended(flink, hex_id(1), "FINISHED", end=10, savepoint_id=3, checkpoint_id=2)
    _ended(flink, hex_id(2), "FINISHED", end=20, savepoint_id=8, checkpoint_id=7)
    assert last_stop_savepoint(flink.client(), "orders") == (hex_id(2), "s3://sp/savepoint-8")


@pytest.mark.parametrize("state, savepoint_id, checkpoint_id", [
    ("CANCELED", 8, 7),   # cancelled: its state is not in a stop savepoint
    ("FINISHED", 5, 7),   # checkpoints after the savepoint: it was a backup, not the stop
    ("FINISHED", None, 7),
])
def test_no_stop_savepoint_means_nothing_to_start_from(flink, state, savepoint_id, checkpoint_id):
    _ended(flink, hex_id(2), state, end=20, savepoint_id=savepoint_id, checkpoint_id=checkpoint_id)
    assert last_stop_savepoint(flink.client(), "orders") is None
