"""Unit tests of module_utils/flink_ops.py: input checks and labels, job lookup and slots, savepoints,
wait_running, submission, redeploy_from_savepoint with rollback, and the journaled/resumed upgrade.

Code that builds its own clocks (redeploy_from_savepoint, cancel_and_wait) runs under ``fake_clocks``:
every wait runs on fake time and nothing sleeps."""
from __future__ import annotations

import json
import pytest
import re
import requests

from ansible_collections.flinkops.cookbook.plugins.module_utils._http import HttpError
from ansible_collections.flinkops.cookbook.plugins.module_utils._journal import Journal
from ansible_collections.flinkops.cookbook.plugins.module_utils._wait import Clock
from ansible_collections.flinkops.cookbook.plugins.module_utils.flink_ops import (
    cancel_and_wait, check_savepoint_uri, check_slots, decode_labels, encode_labels, fenced_id, find_active_job,
    FlinkOpsError, job_parallelism, job_spec, last_cancel_checkpoint, last_state_refusal, last_stop_savepoint, latest_root_exception,
    plan_resume, redeploy_from_checkpoint, redeploy_from_savepoint, require_active_job, savepoint_format, SavepointTimeout, spec_digest, SPEC_LABEL,
    state_backend_class, submit_job, take_savepoint, VERSION_LABEL, wait_running, wait_savepoint)

from fake_flink import connection_error, hex_id, parse_map


# ================================================================================================
# flink_ops.check_savepoint_uri and the job labels (encode_labels / decode_labels / job_spec).
# ================================================================================================
SPEC = {"name": "orders", "version": "1.4.0", "jar_sha256": "ab" * 32, "jar_id": "1234_orders.jar",
        "entry_class": "com.example.Orders", "args": ["--topic", "orders"], "parallelism": 2,
        "flink_configuration": {"pipeline.name": "orders", "state.backend.type": "rocksdb"}}


# -- check_savepoint_uri ----------------------------------------------------------------
@pytest.mark.parametrize("path", ["savepoints", "./sp", "sp/dir"])
def test_relative_path_is_rejected_even_on_shared_fs(path):
    with pytest.raises(FlinkOpsError, match="relative path"):
        check_savepoint_uri(path, shared_fs=True)


@pytest.mark.parametrize("path", ["file:///x", "/x"])
def test_local_file_is_rejected_without_shared_fs(path):
    with pytest.raises(FlinkOpsError, match="local filesystem") as info:
        check_savepoint_uri(path, what="target_directory")
    assert str(info.value).startswith("target_directory")
    assert info.value.details["path"] == path


@pytest.mark.parametrize("path", ["file:///x", "/x"])
def test_local_file_is_accepted_with_shared_fs(path):
    assert check_savepoint_uri(path, shared_fs=True) == path


@pytest.mark.parametrize("path", ["s3://b/p", "S3A://b/p", "gs://b/p", "hdfs://nn:8020/sp", "abfss://c@a.dfs/p"])
def test_distributed_stores_are_accepted(path):
    assert check_savepoint_uri(path) == path


@pytest.mark.parametrize("path", ["file:relative", "s3:bucket/p"])
def test_uri_without_absolute_path_is_rejected(path):
    with pytest.raises(FlinkOpsError, match="not an absolute URI"):
        check_savepoint_uri(path, shared_fs=True)


def test_none_passes_and_whitespace_is_stripped():
    assert check_savepoint_uri(None) is None
    assert check_savepoint_uri("  s3://b/p \n") == "s3://b/p"


@pytest.mark.parametrize("path", ["file:/shared/sp/savepoint-1a2b3c-4d5e6f", "hdfs:/flink/sp"])
def test_flinks_own_single_slash_form_is_understood(path):
    """Flink reports locations as scheme:/path; they must be usable as savepoint_path."""
    assert check_savepoint_uri(path, shared_fs=True) == path
    if path.startswith("file:"):
        with pytest.raises(FlinkOpsError, match="local filesystem"):
            check_savepoint_uri(path)
    else:
        assert check_savepoint_uri(path) == path


# -- labels -----------------------------------------------------------------------------
def test_labels_round_trip_through_flinks_map_syntax():
    """Flink parses pipeline.global-job-parameters as k:v,k:v and shows it as user-config."""
    user_config = parse_map(encode_labels(SPEC))
    assert decode_labels(user_config) == SPEC
    assert user_config[VERSION_LABEL] == "1.4.0"


def test_label_version_cannot_break_the_map_syntax():
    text = encode_labels(dict(SPEC, version="1.0, beta:2"))
    assert parse_map(text)[VERSION_LABEL] == "1.0__beta_2"
    assert set(parse_map(text)) == {VERSION_LABEL, SPEC_LABEL}


def test_label_version_falls_back_to_the_jar_digest():
    spec = dict(SPEC)
    del spec["version"]
    assert parse_map(encode_labels(spec))[VERSION_LABEL] == "ab" * 6


def test_labels_do_not_depend_on_key_order():
    assert encode_labels(SPEC) == encode_labels(dict(reversed(list(SPEC.items()))))


@pytest.mark.parametrize("user_config", [
    None, {}, {"env": "prod", "topic": "orders"}, {SPEC_LABEL: "%%% not base64"}, {SPEC_LABEL: "bm90IGpzb24="},
])
def test_decode_of_foreign_user_config_is_none(user_config):
    assert decode_labels(user_config) is None


def test_job_spec_reads_the_labels_from_the_job_config(flink):
    job = hex_id(1)
    flink.add_job(job, spec_labels=encode_labels(SPEC))
    assert job_spec(flink.client(), job) == SPEC


def test_job_spec_of_a_foreign_job_is_none(flink):
    job = hex_id(1)
    flink.add_job(job, spec_labels="env:prod")
    assert job_spec(flink.client(), job) is None


class _InitializingJob:
    """A job whose config has no execution-config for its first ``initializing`` reads (Flink's answer
    while the job is still being initialized)."""

    def __init__(self, initializing, user_config):
        self.reads, self.initializing, self.user_config = 0, initializing, user_config

    def job_config(self, job_id):
        self.reads += 1
        if self.reads <= self.initializing:
            return {"jid": job_id, "name": "orders"}
        return {"jid": job_id, "name": "orders", "execution-config": {"user-config": self.user_config}}


def _fake_clock(timeout):
    t = [0.0]
    return Clock(timeout, interval=0.2, max_interval=1.0, sleep=lambda s: t.__setitem__(0, t[0] + s), now=lambda: t[0])


def test_job_spec_of_a_job_still_initializing_is_read_again_until_it_has_its_config():
    client = _InitializingJob(3, parse_map(encode_labels(SPEC)))
    assert job_spec(client, hex_id(1), clock=_fake_clock(15)) == SPEC
    assert client.reads == 4, "read again while Flink answered without execution-config"


def test_job_spec_of_a_job_that_never_shows_its_config_is_none_after_the_settle_time():
    client = _InitializingJob(10 ** 6, {})
    assert job_spec(client, hex_id(1), clock=_fake_clock(15)) is None
    assert 10 < client.reads < 100


# ================================================================================================
# flink_ops.find_active_job / require_active_job / check_slots / job_parallelism.
# ================================================================================================
A, B, C = hex_id(0xA), hex_id(0xB), hex_id(0xC)


def test_two_active_jobs_with_one_name_is_an_error_naming_both(flink):
    flink.add_job(A, name="orders", state="RUNNING")
    flink.add_job(B, name="orders", state="RESTARTING")
    with pytest.raises(FlinkOpsError, match="pass job_id") as info:
        find_active_job(flink.client(), name="orders")
    assert A in str(info.value) and B in str(info.value)
    assert len(info.value.details["jobs"]) == 2


def test_terminal_jobs_are_ignored(flink):
    flink.add_job(A, name="orders", state="FINISHED")
    flink.add_job(B, name="orders", state="CANCELED")
    flink.add_job(C, name="orders", state="RUNNING")
    assert find_active_job(flink.client(), name="orders")["jid"] == C


def test_no_active_job_is_none(flink):
    flink.add_job(A, name="orders", state="FAILED")
    flink.add_job(B, name="payments", state="RUNNING")
    assert find_active_job(flink.client(), name="orders") is None


def test_find_by_job_id(flink):
    flink.add_job(A, name="orders")
    flink.add_job(B, name="orders", state="CANCELED")
    assert find_active_job(flink.client(), job_id=A)["jid"] == A
    assert find_active_job(flink.client(), job_id=B) is None


@pytest.mark.parametrize("job_id", ["1234", "A" * 32, "g" * 32, "a" * 33])
def test_bad_job_id_format_is_rejected_before_any_call(flink, job_id):
    with pytest.raises(FlinkOpsError, match="32-character hexadecimal"):
        find_active_job(flink.client(), job_id=job_id)
    assert flink.calls == []


def test_require_active_job_lists_the_known_jobs(flink):
    flink.add_job(A, name="payments", state="RUNNING")
    with pytest.raises(FlinkOpsError, match=r"no active job named 'orders'.*payments \(RUNNING\)"):
        require_active_job(flink.client(), name="orders")


def test_check_slots_refuses_when_too_few_are_free(flink):
    flink.slots = {"slots-total": 4, "slots-available": 1, "taskmanagers": 1}
    with pytest.raises(FlinkOpsError, match="needs 3 slots but only 2 are free") as info:
        check_slots(flink.client(), needed=3, freed=1)
    assert info.value.details == {"slots_needed": 3, "slots_available": 2}


def test_check_slots_counts_the_slots_the_current_job_frees(flink):
    flink.slots = {"slots-total": 4, "slots-available": 0, "taskmanagers": 1}
    assert check_slots(flink.client(), needed=2, freed=2) == 2


def test_job_parallelism_is_the_largest_vertex():
    assert job_parallelism({"vertices": [{"parallelism": 2}, {"parallelism": 5}]}) == 5
    assert job_parallelism({"vertices": []}) == 0


# ================================================================================================
# flink_ops.wait_savepoint and take_savepoint.
# ================================================================================================
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


# -- savepoint_format ------------------------------------------------------------------
def running_backend(flink, backend):
    flink.add_job(JOB)
    flink.on("GET", "/jobs/%s/checkpoints/config" % JOB, {"state_backend": backend, "checkpoint_storage": "x"})


@pytest.mark.parametrize("value, name", [
    ("rocksdb", "EmbeddedRocksDBStateBackend"), ("HashMap", "HashMapStateBackend"), ("forst", "ForStStateBackend"),
    ("org.apache.flink.contrib.streaming.state.EmbeddedRocksDBStateBackendFactory", "EmbeddedRocksDBStateBackend"),
    ("EmbeddedRocksDBStateBackend", "EmbeddedRocksDBStateBackend"), (None, None), ("", None)])
def test_state_backend_names_are_read_as_the_class_flink_reports(value, name):
    assert state_backend_class(value) == name


def test_native_when_the_new_spec_keeps_the_state_backend(flink):
    running_backend(flink, "EmbeddedRocksDBStateBackend")
    fmt, reason = savepoint_format(flink.client(), JOB, {"flink_configuration": {"state.backend.type": "rocksdb"}})
    assert (fmt, reason) == ("NATIVE", "the state backend stays EmbeddedRocksDBStateBackend: NATIVE, faster to "
                                       "write and to restore")
    assert not flink.calls_to("GET", "/jobmanager/config"), "the spec says it: the cluster is not asked"


def test_canonical_when_the_new_spec_changes_the_state_backend(flink):
    running_backend(flink, "HashMapStateBackend")
    fmt, reason = savepoint_format(flink.client(), JOB, {"flink_configuration": {"state.backend.type": "rocksdb"}})
    assert fmt == "CANONICAL"
    assert reason.startswith("the state backend changes from HashMapStateBackend to EmbeddedRocksDBStateBackend")


def test_without_a_backend_in_the_spec_the_cluster_and_then_flinks_default_decide(flink):
    running_backend(flink, "EmbeddedRocksDBStateBackend")
    flink.jm_config["state.backend.type"] = "rocksdb"
    assert savepoint_format(flink.client(), JOB, {"flink_configuration": {}})[0] == "NATIVE"
    del flink.jm_config["state.backend.type"]
    # Flink's default is hashmap: a rocksdb job whose new spec drops the setting changes backend
    assert savepoint_format(flink.client(), JOB, {})[0] == "CANONICAL"


def test_canonical_when_the_running_backend_cannot_be_read_and_as_asked(flink):
    flink.add_job(JOB)  # no /checkpoints/config: 404
    assert savepoint_format(flink.client(), JOB, {}) == (
        "CANONICAL", "the running job's state backend is unknown: CANONICAL, which any state backend restores")
    assert savepoint_format(flink.client(), JOB, {}, "NATIVE") == ("NATIVE", "asked for (format_type=NATIVE)")
    running_backend(flink, "HashMapStateBackend")
    flink.on("GET", "/jobmanager/config", (500, {"errors": ["boom"]}))
    assert savepoint_format(flink.client(), JOB, {})[0] == "CANONICAL"


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


# ================================================================================================
# flink_ops.wait_running: what counts as "started".
# ================================================================================================
RUNNING_JOB = hex_id(1)
SAVEPOINT = "s3://sp/savepoint-1"
RUNNING_BOOM = {"exceptionName": "java.lang.IllegalStateException", "taskName": "Source: orders (1/2)",
                "timestamp": 1700000000000,
                "stacktrace": "java.lang.IllegalStateException: state schema changed\n\tat com.example.Op.open(Op.java:9)\n"}


def details(state, vertex_states):
    return {"jid": RUNNING_JOB, "name": "orders", "state": state,
            "vertices": [{"id": hex_id(0xA00 + i), "status": s, "parallelism": 2} for i, s in enumerate(vertex_states)]}


def test_running_with_all_vertices_and_the_expected_restore_is_ok(flink, clock):
    flink.add_job(RUNNING_JOB, restored=SAVEPOINT, completed=1, parallelism=3)
    result = wait_running(flink.client(), RUNNING_JOB, expected_restore=SAVEPOINT, require_checkpoint=True,
                          clock=clock(60))
    assert result == {"job_id": RUNNING_JOB, "state": "RUNNING", "states": ["RUNNING"], "restored_from": SAVEPOINT,
                      "completed_checkpoints": 1, "parallelism": 3}


def test_waits_until_every_vertex_runs(flink, clock):
    flink.add_job(RUNNING_JOB)
    flink.on("GET", "/jobs/" + RUNNING_JOB, details("CREATED", ["CREATED", "CREATED"]),
             details("RUNNING", ["RUNNING", "DEPLOYING"]), details("RUNNING", ["RUNNING", "RUNNING"]))
    reports = []
    result = wait_running(flink.client(), RUNNING_JOB, report=reports.append, clock=clock(60))
    assert result["states"] == ["CREATED", "RUNNING"]
    assert len(flink.calls_to("GET", "/jobs/" + RUNNING_JOB)) == 3
    assert reports == ["job %s: CREATED" % RUNNING_JOB, "job %s: RUNNING" % RUNNING_JOB]


def test_an_exception_history_entry_fails_the_start_with_the_root_exception(flink, clock):
    flink.add_job(RUNNING_JOB, restored=SAVEPOINT, exceptions=[RUNNING_BOOM])
    with pytest.raises(FlinkOpsError, match="state schema changed") as info:
        wait_running(flink.client(), RUNNING_JOB, expected_restore=SAVEPOINT, clock=clock(60))
    assert info.value.details["root_exception"]["name"] == "java.lang.IllegalStateException"
    assert "Op.java" not in str(info.value)


def test_restarting_job_with_an_exception_fails_fast(flink, clock):
    flink.add_job(RUNNING_JOB, state="RESTARTING", exceptions=[RUNNING_BOOM])
    with pytest.raises(FlinkOpsError, match="RESTARTING"):
        wait_running(flink.client(), RUNNING_JOB, clock=clock(60))
    assert len(flink.calls_to("GET", "/jobs/" + RUNNING_JOB)) == 1


@pytest.mark.parametrize("state", ["FAILED", "CANCELED", "FINISHED"])
def test_a_terminal_state_is_an_error(flink, clock, state):
    flink.add_job(RUNNING_JOB, state=state, exceptions=[RUNNING_BOOM])
    with pytest.raises(FlinkOpsError, match="ended %s while starting: .*state schema changed" % state) as info:
        wait_running(flink.client(), RUNNING_JOB, clock=clock(60))
    assert info.value.details["states"] == [state]


def test_restored_from_another_savepoint_is_an_error(flink, clock):
    flink.add_job(RUNNING_JOB, restored="s3://sp/savepoint-OTHER")
    with pytest.raises(FlinkOpsError, match="restored from s3://sp/savepoint-OTHER, not from %s" % SAVEPOINT):
        wait_running(flink.client(), RUNNING_JOB, expected_restore=SAVEPOINT, clock=clock(60))


@pytest.mark.parametrize("reported, expected", [
    ("file:/tmp/sp/savepoint-1", "file:///tmp/sp/savepoint-1"),
    ("file:/tmp/sp/savepoint-1", "/tmp/sp/savepoint-1/"),
    ("s3://b/sp/savepoint-1/", "s3://b/sp/savepoint-1"),
])
def test_equivalent_spellings_of_the_restore_path_are_accepted(flink, clock, reported, expected):
    flink.add_job(RUNNING_JOB, restored=reported)
    assert wait_running(flink.client(), RUNNING_JOB, expected_restore=expected, clock=clock(60))["restored_from"] == reported


def test_waits_for_a_completed_checkpoint_when_required(flink, fake_time):
    flink.add_job(RUNNING_JOB)
    flink.on("GET", "/jobs/%s/checkpoints" % RUNNING_JOB, {"counts": {"completed": 0}}, {"counts": {"completed": 0}},
             {"counts": {"completed": 2}})
    result = wait_running(flink.client(), RUNNING_JOB, require_checkpoint=True, clock=fake_time.clock(60))
    assert result["completed_checkpoints"] == 2
    assert len(fake_time.sleeps) == 2


def test_timeout_names_the_states_seen(flink, fake_time):
    flink.add_job(RUNNING_JOB, state="INITIALIZING")
    with pytest.raises(FlinkOpsError, match=r"was not RUNNING within 10s \(states seen: INITIALIZING\)"):
        wait_running(flink.client(), RUNNING_JOB, 10, clock=fake_time.clock(10, interval=1))
    assert sum(fake_time.sleeps) == 10


def test_an_unknown_job_is_waited_for_not_failed(flink, fake_time):
    flink.on("GET", "/jobs/" + RUNNING_JOB, (404, {"errors": ["not found"]}))
    with pytest.raises(FlinkOpsError, match="UNKNOWN"):
        wait_running(flink.client(), RUNNING_JOB, 3, clock=fake_time.clock(3))


def test_latest_root_exception_falls_back_to_the_legacy_field(flink):
    flink.on("GET", "/jobs/%s/exceptions" % RUNNING_JOB, {"root-exception": "java.lang.Exception: old style\n\tat x.y(z)"})
    assert latest_root_exception(flink.client(), RUNNING_JOB) == {"name": None, "message": "java.lang.Exception: old style"}


def test_recovery_suppressed_reports_the_task_failure_behind_it(flink):
    suppressed = {"exceptionName": "org.apache.flink.runtime.JobException",
                  "stacktrace": "org.apache.flink.runtime.JobException: Recovery is suppressed by "
                                "NoRestartBackoffTimeStrategy\n\tat x.y(z)", "concurrentExceptions": [RUNNING_BOOM]}
    flink.add_job(RUNNING_JOB, exceptions=[suppressed])
    root = latest_root_exception(flink.client(), RUNNING_JOB)
    assert root["name"] == "java.lang.IllegalStateException"
    assert root["message"] == "java.lang.IllegalStateException: state schema changed"


def test_cancel_and_wait_cancels_a_running_job_and_leaves_a_finished_one(flink, fake_clocks):
    flink.add_job(RUNNING_JOB)
    cancel_and_wait(flink.client(), RUNNING_JOB)
    assert flink.jobs[RUNNING_JOB]["state"] == "CANCELED"
    cancel_and_wait(flink.client(), RUNNING_JOB)
    assert len(flink.calls_to("PATCH", "/jobs/" + RUNNING_JOB)) == 1


# ================================================================================================
# flink_ops.submit_job: client-chosen job id, labels, lost answers.
# ================================================================================================
SUBMIT_SPEC = {"name": "orders", "version": "2.0.0", "jar_sha256": "cd" * 32, "jar_name": "cdcd-orders.jar",
               "jar_id": "1234_orders.jar", "entry_class": "com.example.Orders", "args": ["--topic", "orders"],
               "parallelism": 2, "flink_configuration": {"pipeline.name": "orders"}}
RUN = "/jars/1234_orders.jar/run"


def posted(flink):
    calls = flink.calls_to("POST", RUN)
    assert len(calls) == 1, "exactly one submission"
    return calls[0].body


def test_body_carries_the_job_id_and_the_labels(flink):
    job_id, concurrent = submit_job(flink.client(), SUBMIT_SPEC, savepoint_path="s3://sp/savepoint-1")
    assert concurrent is False
    body = posted(flink)

    assert re.match(r"^[0-9a-f]{32}$", job_id) and body["jobId"] == job_id
    labels = parse_map(body["flinkConfiguration"]["pipeline.global-job-parameters"])
    decoded = decode_labels(labels)
    assert decoded.pop("flink_version") == flink.client().version_string != "", "the Flink version it started on"
    assert decoded == SUBMIT_SPEC
    assert labels["flinkops.version"] == "2.0.0"
    assert body["flinkConfiguration"]["pipeline.name"] == "orders"
    assert body["savepointPath"] == "s3://sp/savepoint-1" and body["claimMode"] == "NO_CLAIM"
    assert body["programArgsList"] == ["--topic", "orders"] and body["parallelism"] == 2


def test_labels_leave_out_unset_and_unknown_keys(flink):
    submit_job(flink.client(), {"jar_id": "1234_orders.jar", "name": "orders", "parallelism": None,
                                "secret_sauce": "x"})
    labels = parse_map(posted(flink)["flinkConfiguration"]["pipeline.global-job-parameters"])
    assert decode_labels(labels) == {"jar_id": "1234_orders.jar", "name": "orders",
                                     "flink_version": flink.client().version_string}


def test_each_submission_gets_a_new_job_id(flink):
    assert submit_job(flink.client(), SUBMIT_SPEC)[0] != submit_job(flink.client(), SUBMIT_SPEC)[0]


def test_a_duplicate_refused_by_flink_is_a_concurrent_runs_job(flink):
    """Two runs with one fenced job id: Flink refuses the second submission; that job is the other run's."""
    job_id = "ab" * 16
    flink.add_job(job_id, name="orders")
    flink.on("POST", RUN, (400, {"errors": ["org.apache.flink.runtime.client.DuplicateJobSubmissionException: "
                                            "Job has already been submitted."]}))
    assert submit_job(flink.client(), SUBMIT_SPEC, job_id=job_id) == (job_id, True)
    posted(flink)


@pytest.mark.parametrize("lost", [connection_error(), requests.exceptions.ReadTimeout("read timed out")])
def test_lost_answer_is_reconciled_by_looking_the_job_up_not_by_posting_again(flink, lost):
    """B10: the POST reached Flink, the answer did not."""
    def accepted_but_answer_lost(call):
        flink.add_job(call.body["jobId"], name="orders")
        return lost

    flink.on("POST", RUN, accepted_but_answer_lost)
    job_id, concurrent = submit_job(flink.client(retries=3), SUBMIT_SPEC)

    assert job_id == posted(flink)["jobId"] and concurrent is False
    assert [c.path for c in flink.calls_to("GET", "/jobs/.*")] == ["/jobs/" + job_id]


def test_lost_answer_for_a_job_that_does_not_exist_is_posted_once_more_with_the_same_id(flink):
    flink.on("POST", RUN, connection_error())
    with pytest.raises(HttpError) as info:
        submit_job(flink.client(retries=3), SUBMIT_SPEC, reconcile_timeout=0.3)
    assert info.value.status is None
    calls = flink.calls_to("POST", RUN)
    assert len(calls) == 2 and calls[0].body["jobId"] == calls[1].body["jobId"], "one retry, same job id"


def test_an_http_error_answer_is_raised_without_a_lookup(flink):
    flink.on("POST", RUN, (400, {"errors": ["org.apache.flink.client.program.ProgramInvocationException: "
                                            "The main method caused an error: no topic"]}))
    with pytest.raises(HttpError, match="no topic"):
        submit_job(flink.client(), SUBMIT_SPEC)
    assert not flink.calls_to("GET", "/jobs/.*")


def test_users_own_global_job_parameters_are_kept(flink):
    spec = dict(SUBMIT_SPEC, flink_configuration={"pipeline.global-job-parameters": "env:prod,region:eu"})
    submit_job(flink.client(), spec)
    params = parse_map(posted(flink)["flinkConfiguration"]["pipeline.global-job-parameters"])
    assert params.get("env") == "prod" and params.get("region") == "eu"
    assert decode_labels(params)["jar_id"] == SUBMIT_SPEC["jar_id"]


def test_a_submission_cut_by_a_leader_change_is_looked_up_not_rolled_back(flink):
    """Flink answers 400 'Error while waiting for job to be initialized' when the JobManager loses
    leadership mid-submission; with HA the new leader recovers the job: it is the submitted job."""
    def cut(call):
        flink.add_job(call.body["jobId"], name="orders")
        return (400, {"errors": ["org.apache.flink.client.program.ProgramInvocationException: The main method "
                                 "caused an error: Failed to execute job 'orders'. Caused by: "
                                 "java.lang.RuntimeException: Error while waiting for job to be initialized"]})

    flink.on("POST", RUN, cut)
    job_id, concurrent = submit_job(flink.client(), SUBMIT_SPEC, reconcile_timeout=0.5)
    assert job_id == posted(flink)["jobId"] and concurrent is False


# ================================================================================================
# flink_ops.redeploy_from_savepoint: stop with savepoint, start, verify, roll back.
#
# redeploy_from_savepoint builds its own Clocks, so these tests use ``fake_clocks``: every
# wait runs on fake time and nothing sleeps.
# ================================================================================================
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


# ================================================================================================
# _journal.Journal and the journaled/resumed redeploy_from_savepoint.
# ================================================================================================
JOURNAL_OLD = hex_id(0x0A1)
JOURNAL_OLD_SPEC = {"name": "orders", "version": "1", "jar_id": "1_orders-v1.jar", "parallelism": 2}
JOURNAL_NEW_SPEC = dict(JOURNAL_OLD_SPEC, version="2", jar_id="2_orders-v2.jar")


@pytest.fixture
def journal_cluster(flink, fake_clocks):
    flink.add_job(JOURNAL_OLD, name="orders", spec_labels=encode_labels(JOURNAL_OLD_SPEC))
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


def test_each_step_is_recorded_before_it_is_taken(journal_cluster, tmp_path):
    path = tmp_path / "j.json"
    journal = Journal(str(path))
    seen = {}

    def snapshot(call):
        if path.exists():
            seen.setdefault(call.method + " " + call.path, json.loads(path.read_text()))

    journal_cluster.before_request = snapshot
    redeploy_from_savepoint(journal_cluster.client(), JOURNAL_OLD, JOURNAL_OLD_SPEC, JOURNAL_NEW_SPEC, target_directory="s3://sp", journal=journal)
    stop = seen["POST /jobs/%s/stop" % JOURNAL_OLD]
    (stop_call,) = journal_cluster.calls_to("POST", "/jobs/%s/stop" % JOURNAL_OLD)
    assert stop["trigger_id"] == stop_call.body["triggerId"], "trigger id persisted before the stop"
    run = seen["POST /jars/%s/run" % JOURNAL_NEW_SPEC["jar_id"]]
    (run_call,) = journal_cluster.calls_to("POST", "/jars/%s/run" % JOURNAL_NEW_SPEC["jar_id"])
    assert run["new_job_id"] == run_call.body["jobId"], "job id persisted before the submit"
    assert run["savepoint"] == run_call.body["savepointPath"]
    assert run["previous_spec"] == JOURNAL_OLD_SPEC


def test_resume_from_a_recorded_savepoint_takes_no_second_savepoint(journal_cluster):
    result = redeploy_from_savepoint(journal_cluster.client(), JOURNAL_OLD, JOURNAL_OLD_SPEC, JOURNAL_NEW_SPEC,
                                     resume={"savepoint": "s3://sp/savepoint-0a1-1"})
    assert journal_cluster.calls_to("POST", "/jobs/%s/stop" % JOURNAL_OLD) == []
    assert journal_cluster.calls_to("POST", "/jobs/%s/savepoints" % JOURNAL_OLD) == []
    (run,) = journal_cluster.calls_to("POST", "/jars/%s/run" % JOURNAL_NEW_SPEC["jar_id"])
    assert run.body["savepointPath"] == "s3://sp/savepoint-0a1-1"
    assert result["restored_from"] == "s3://sp/savepoint-0a1-1"


# -- plan_resume: what the next run does at each point a crashed run may have stopped -----------
def _pending(**fields):
    return dict({"job": "orders", "operation": "upgrade", "old_job_id": JOURNAL_OLD, "previous_spec": JOURNAL_OLD_SPEC,
                 "spec": JOURNAL_NEW_SPEC, "savepoint_asked": 0}, **fields)


def test_trigger_recorded_and_job_still_running_with_the_savepoint_pending_waits_for_it(journal_cluster):
    client = journal_cluster.client()
    trigger = "cd" * 16
    journal_cluster.triggers[trigger] = {"job": JOURNAL_OLD, "stop": True, "body": {}}
    journal_cluster.savepoint_result[trigger] = {"status": {"id": "IN_PROGRESS"}}
    plan = plan_resume(client, _pending(phase="savepoint", trigger_id=trigger), {"jid": JOURNAL_OLD})
    assert plan["action"] == "resume" and plan["resume"] == {"trigger_id": trigger}


def test_trigger_gone_while_the_old_job_runs_again_clears_the_journal(journal_cluster):
    """Repro: a trigger lost in a leader failover left a journal no re-run could clear."""
    plan = plan_resume(journal_cluster.client(), _pending(phase="savepoint", trigger_id="ee" * 16), {"jid": JOURNAL_OLD})
    assert plan["action"] == "none" and "gone" in plan["reason"]


def test_old_job_finished_before_the_location_was_recorded_resumes_from_the_trigger(journal_cluster):
    """Repro: killed the moment the old job FINISHED, the journal held the trigger id only."""
    trigger = "cd" * 16
    journal_cluster.triggers[trigger] = {"job": JOURNAL_OLD, "stop": True, "body": {}}
    journal_cluster.savepoint_result[trigger] = {"status": {"id": "COMPLETED"},
                                                 "operation": {"location": "s3://sp/savepoint-0a1-cd"}}
    journal_cluster.jobs[JOURNAL_OLD]["state"] = "FINISHED"
    plan = plan_resume(journal_cluster.client(), _pending(phase="savepoint", trigger_id=trigger), None)
    assert plan["action"] == "resume"
    assert plan["resume"]["savepoint"] == "s3://sp/savepoint-0a1-cd" and not plan["resume"]["submitted"]
    result = redeploy_from_savepoint(journal_cluster.client(), JOURNAL_OLD, JOURNAL_OLD_SPEC, JOURNAL_NEW_SPEC, resume=plan["resume"])
    assert result["restored_from"] == "s3://sp/savepoint-0a1-cd"
    assert journal_cluster.calls_to("POST", "/jobs/%s/stop" % JOURNAL_OLD) == [], "no second savepoint"


def test_a_submitted_new_job_is_verified_not_cancelled(journal_cluster):
    new = hex_id(0x0B2)
    journal_cluster.jobs[JOURNAL_OLD]["state"] = "FINISHED"
    journal_cluster.add_job(new, name="orders", spec_labels=encode_labels(JOURNAL_NEW_SPEC), restored="s3://sp/savepoint-0a1-1")
    pending = _pending(phase="submit", savepoint="s3://sp/savepoint-0a1-1", new_job_id=new)
    plan = plan_resume(journal_cluster.client(), pending, {"jid": new})
    assert plan["resume"] == {"savepoint": "s3://sp/savepoint-0a1-1", "trigger_id": None, "new_job_id": new,
                              "submitted": True}
    result = redeploy_from_savepoint(journal_cluster.client(), JOURNAL_OLD, JOURNAL_OLD_SPEC, JOURNAL_NEW_SPEC, resume=plan["resume"])
    assert result["job_id"] == new
    assert journal_cluster.calls_to("PATCH", "/jobs/.*") == [] and journal_cluster.calls_to("POST", "/jars/.*/run") == []


def test_a_missed_validation_window_is_returned_for_validation(journal_cluster):
    new = hex_id(0x0B2)
    journal_cluster.add_job(new, name="orders", spec_labels=encode_labels(JOURNAL_NEW_SPEC))
    plan = plan_resume(journal_cluster.client(), _pending(phase="validate", savepoint="s3://sp/1", new_job_id=new),
                       {"jid": new})
    assert plan["action"] == "validate" and plan["job_id"] == new and plan["savepoint"] == "s3://sp/1"


def test_job_down_with_no_savepoint_names_the_latest_retained_checkpoint(journal_cluster):
    journal_cluster.jobs[JOURNAL_OLD]["state"] = "CANCELED"
    with pytest.raises(FlinkOpsError, match="no savepoint of it exists"):
        plan_resume(journal_cluster.client(), _pending(phase="savepoint", trigger_id="ee" * 16), None)


def test_fenced_ids_are_the_same_for_the_same_operation_and_differ_otherwise():
    assert fenced_id("run", JOURNAL_OLD, "s3://sp/1", spec_digest(JOURNAL_NEW_SPEC)) == \
        fenced_id("run", JOURNAL_OLD, "s3://sp/1", spec_digest(dict(JOURNAL_NEW_SPEC, jar_id="9_other-upload.jar")))
    assert fenced_id("run", JOURNAL_OLD, "s3://sp/1", spec_digest(JOURNAL_NEW_SPEC)) != \
        fenced_id("run", JOURNAL_OLD, "s3://sp/2", spec_digest(JOURNAL_NEW_SPEC))


def test_two_runs_of_one_upgrade_take_one_savepoint(journal_cluster):
    """The second run's fenced trigger id is the first one's: it joins it instead of stopping again."""
    first = take_savepoint(journal_cluster.client(), JOURNAL_OLD, "s3://sp", stop=True, fence=spec_digest(JOURNAL_NEW_SPEC))
    journal_cluster.jobs[JOURNAL_OLD]["state"] = "RUNNING"  # as seen by a run that looked before the stop took effect
    second = take_savepoint(journal_cluster.client(), JOURNAL_OLD, "s3://sp", stop=True, fence=spec_digest(JOURNAL_NEW_SPEC))
    assert second["trigger_id"] == first["trigger_id"] and second["joined"] and not first["joined"]
    assert second["location"] == first["location"]
    assert len(journal_cluster.calls_to("POST", "/jobs/%s/stop" % JOURNAL_OLD)) == 1


# -- last_stop_savepoint: a job stopped a moment ago is started from its savepoint, not empty -----
def _ended(journal_cluster, jid, state, end, savepoint_id=None, checkpoint_id=None):
    job = journal_cluster.add_job(jid, name="orders", state=state)
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
def test_no_stop_savepoint_means_nothing_to_start_from(flink, fake_clocks, state, savepoint_id, checkpoint_id):
    _ended(flink, hex_id(2), state, end=20, savepoint_id=savepoint_id, checkpoint_id=checkpoint_id)
    assert last_stop_savepoint(flink.client(), "orders") is None


def test_a_stop_savepoint_the_cached_statistics_show_late_is_still_found(flink, fake_clocks):
    """Repro (CI, two upgrades from two controllers): the job was FINISHED by the other run's stop, but the
    REST API's cached checkpoint statistics did not show the savepoint yet, so the job was started empty."""
    job = _ended(flink, hex_id(2), "FINISHED", end=20, savepoint_id=8, checkpoint_id=7)
    shown = dict(job["latest"])
    job["latest"] = {"savepoint": None, "completed": shown["completed"]}  # as cached before the stop
    reads = []

    def statistics(call, jid):
        reads.append(jid)
        latest = shown if len(reads) >= 3 else job["latest"]
        return {"counts": {"completed": 7}, "history": [], "latest": dict({"restored": None, "failed": None}, **latest)}

    flink.on("GET", "/jobs/([0-9a-f]{32})/checkpoints", statistics)
    assert last_stop_savepoint(flink.client(), "orders") == (hex_id(2), "s3://sp/savepoint-8")
    assert len(reads) == 3


# ================================================================================================
# The last-state upgrade: last_state_refusal, redeploy_from_checkpoint, and its resume.
# ================================================================================================
RETAINED = {"externalization": {"enabled": True, "delete_on_cancellation": False},
            "state_backend": "EmbeddedRocksDBStateBackend"}
ROCKSDB = {"state.backend.type": "rocksdb"}
LS_OLD_SPEC = dict(OLD_SPEC, flink_version="2.3.0", flink_configuration=dict(OLD_SPEC["flink_configuration"], **ROCKSDB))
LS_NEW_SPEC = dict(LS_OLD_SPEC, version="2", jar_id="2_orders-v2.jar")
CHK = "s3://checkpoints/%s/chk-7" % OLD


@pytest.fixture
def last_state(flink, fake_clocks):
    """A RUNNING job on RocksDB whose checkpoints are retained on cancel, with chk-7 completed."""
    flink.add_job(OLD, name="orders", spec_labels=encode_labels(LS_OLD_SPEC))
    flink.jobs[OLD]["latest"] = {"completed": {"id": 7, "external_path": CHK}}
    flink.checkpoint_config = dict(RETAINED)
    flink.on("GET", "/jobs/([0-9a-f]{32})/checkpoints/config", lambda call, jid: flink.checkpoint_config)
    return flink


def test_last_state_is_allowed_for_a_retained_checkpoint_on_the_same_backend_and_flink_version(last_state):
    assert last_state_refusal(last_state.client(), OLD, LS_OLD_SPEC, LS_NEW_SPEC) is None


@pytest.mark.parametrize("change, expected", [
    ({"externalization": {"enabled": False}}, "externalized checkpoints are off"),
    ({"externalization": {"enabled": True, "delete_on_cancellation": True}}, "deleted when it is cancelled"),
    ({"state_backend": "HashMapStateBackend"}, "state backend changes from HashMapStateBackend to "
                                               "EmbeddedRocksDBStateBackend"),
])
def test_last_state_is_refused_when_the_checkpoint_would_not_carry_the_state(last_state, change, expected):
    last_state.checkpoint_config.update(change)
    refusal = last_state_refusal(last_state.client(), OLD, LS_OLD_SPEC, LS_NEW_SPEC)
    assert refusal and expected in refusal, refusal


def test_last_state_is_refused_without_a_completed_checkpoint(last_state):
    last_state.jobs[OLD]["latest"] = {"completed": None}
    assert "no completed checkpoint" in last_state_refusal(last_state.client(), OLD, LS_OLD_SPEC, LS_NEW_SPEC)


def test_last_state_is_refused_when_the_flink_version_changed_or_is_unknown(last_state):
    """RELIABILITY B15: a checkpoint is not guaranteed restorable by another Flink version."""
    refusal = last_state_refusal(last_state.client(), OLD, dict(LS_OLD_SPEC, flink_version="1.20.1"), LS_NEW_SPEC)
    assert "started on Flink 1.20.1 and the cluster runs Flink 2.3.0" in refusal
    unknown = dict(LS_OLD_SPEC)
    unknown.pop("flink_version")
    assert "Flink version it was started on is unknown" in last_state_refusal(
        last_state.client(), OLD, unknown, LS_NEW_SPEC)


def test_last_state_cancels_and_starts_from_the_retained_checkpoint_without_a_savepoint(last_state, tmp_path):
    path = tmp_path / "j.json"
    journal = Journal(str(path))
    seen = {}
    last_state.before_request = lambda call: path.exists() and seen.setdefault(
        call.method + " " + call.path, json.loads(path.read_text()))
    result = redeploy_from_checkpoint(last_state.client(), OLD, LS_OLD_SPEC, LS_NEW_SPEC, journal=journal)

    assert last_state.calls_to("POST", "/jobs/.*/stop") == [] and last_state.calls_to("POST", "/jobs/.*/savepoints") == []
    (cancel,) = last_state.calls_to("PATCH", "/jobs/" + OLD)
    assert cancel.params == {"mode": "cancel"}
    (run,) = runs(last_state, LS_NEW_SPEC)
    assert run.body["savepointPath"] == CHK and run.body["claimMode"] == "NO_CLAIM"
    assert result["restored_from"] == CHK and result["job_id"] == run.body["jobId"]
    assert result["checkpoint"]["location"] == CHK and result["checkpoint"]["id"] == 7
    before_cancel = seen["PATCH /jobs/%s" % OLD]
    assert before_cancel["phase"] == "cancel" and before_cancel["mode"] == "last-state", "recorded before the cancel"
    before_run = seen["POST /jars/%s/run" % LS_NEW_SPEC["jar_id"]]
    assert before_run["savepoint"] == CHK and before_run["new_job_id"] == run.body["jobId"]
    assert journal.data["phase"] == "validate"


def test_a_last_state_new_version_that_fails_is_rolled_back_from_the_same_checkpoint(last_state):
    last_state.jar_behaviour[LS_NEW_SPEC["jar_id"]] = {"exceptions": [BOOM]}
    with pytest.raises(FlinkOpsError, match="from checkpoint " + re.escape(CHK)) as info:
        redeploy_from_checkpoint(last_state.client(), OLD, LS_OLD_SPEC, LS_NEW_SPEC)
    (rollback,) = runs(last_state, LS_OLD_SPEC)
    assert rollback.body["savepointPath"] == CHK
    assert info.value.details["rolled_back"]["ok"] is True
    assert info.value.details["checkpoint"]["location"] == CHK
    assert last_state.jobs[rollback.body["jobId"]]["state"] == "RUNNING"


def _ls_pending(**fields):
    return dict({"job": "orders", "operation": "upgrade", "mode": "last-state", "phase": "cancel", "old_job_id": OLD,
                 "previous_spec": LS_OLD_SPEC, "spec": LS_NEW_SPEC}, **fields)


def test_a_run_killed_after_the_cancel_is_resumed_from_the_retained_checkpoint(last_state):
    last_state.jobs[OLD]["state"] = "CANCELED"
    plan = plan_resume(last_state.client(), _ls_pending(), None)
    assert plan["action"] == "resume" and plan["mode"] == "last-state"
    assert plan["resume"]["savepoint"] == CHK and not plan["resume"]["submitted"]
    result = redeploy_from_checkpoint(last_state.client(), OLD, LS_OLD_SPEC, LS_NEW_SPEC, resume=plan["resume"])
    assert result["restored_from"] == CHK and last_state.calls_to("PATCH", ".*") == []


def test_a_run_killed_while_the_cancel_was_under_way_waits_for_it_then_resumes(last_state):
    last_state.jobs[OLD]["state"] = "CANCELLING"
    last_state.jobs[OLD]["lookup_faults"] = []
    cancelling, cancelled = ({"jid": OLD, "name": "orders", "state": state, "vertices": []}
                             for state in ("CANCELLING", "CANCELED"))
    last_state.on("GET", "/jobs/" + OLD, cancelling, cancelled)
    plan = plan_resume(last_state.client(), _ls_pending(), {"jid": OLD, "state": "CANCELLING"})
    assert plan["action"] == "resume" and plan["resume"]["savepoint"] == CHK


def test_a_run_killed_before_the_cancel_took_effect_is_abandoned_and_the_job_untouched(last_state):
    plan = plan_resume(last_state.client(), _ls_pending(), {"jid": OLD, "state": "RUNNING"})
    assert plan["action"] == "none" and "never took effect" in plan["reason"]
    assert last_state.calls_to("PATCH", ".*") == []


def test_a_cancelled_job_with_a_retained_checkpoint_is_found_for_a_concurrent_last_state_run(last_state):
    """Run A cancelled the job and has not submitted yet; run B (another controller, no journal) finds the
    checkpoint and, starting from it under the same fenced id, makes the same job as A."""
    last_state.jobs[OLD].update(state="CANCELED")
    assert last_cancel_checkpoint(last_state.client(), "orders") == (OLD, CHK)
    a = redeploy_from_checkpoint(last_state.client(), OLD, LS_OLD_SPEC, LS_NEW_SPEC, resume={"savepoint": CHK})
    b = redeploy_from_checkpoint(last_state.client(), OLD, LS_OLD_SPEC, dict(LS_NEW_SPEC, jar_id="3_other-upload.jar"),
                                 resume={"savepoint": CHK})
    # one job id, whatever id each run's jar upload got: Flink refuses the second submission as a duplicate
    # (test_a_duplicate_refused_by_flink_is_a_concurrent_runs_job), which makes it the other run's job
    assert a["job_id"] == b["job_id"]


def test_a_job_that_finished_or_failed_is_no_cancelled_predecessor(last_state):
    for state in ("FINISHED", "FAILED", "RUNNING"):
        last_state.jobs[OLD]["state"] = state
        assert last_cancel_checkpoint(last_state.client(), "orders") is None, state
    last_state.jobs[OLD].update(state="CANCELED", latest={"completed": None})
    assert last_cancel_checkpoint(last_state.client(), "orders") is None, "no retained checkpoint: nothing to start from"


def test_a_killed_last_state_run_whose_old_job_is_gone_resumes_from_the_checkpoint_recorded_before_the_cancel(
        last_state, tmp_path):
    journal = Journal(str(tmp_path / "j.json"))
    redeploy_from_checkpoint(last_state.client(), OLD, LS_OLD_SPEC, LS_NEW_SPEC, journal=journal)
    assert journal.data["checkpoint_before_cancel"] == CHK, "recorded with phase cancel"
    del last_state.jobs[OLD]  # the JobManager restarted without HA: the cancelled job's history is gone
    plan = plan_resume(last_state.client(), _ls_pending(checkpoint_before_cancel=CHK), None)
    assert plan["action"] == "resume" and plan["resume"]["savepoint"] == CHK
