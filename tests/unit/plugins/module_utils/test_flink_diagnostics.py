"""flink_diagnostics and flink_metrics_info: checkpoint health, failure causes, state trend,
backpressure polling, TaskManager heap/GC and the diagnosis, against the scripted Flink; every
request is checked against the Flink REST contract."""
from __future__ import annotations

import pytest

from ansible_collections.flinkops.cookbook.plugins.module_utils import flink_diagnostics as diag
from fake_flink import hex_id
from flink_contract import VERSIONS, contract

JOB = hex_id(1)
TM = hex_id(5)
IO_FAILURE = "An Exception occurred while triggering the checkpoint. IO-problem detected."
EXPIRED = "Checkpoint expired before completing."
CONFIG = {"mode": "exactly_once", "interval": 10000, "timeout": 60000, "min_pause": 0, "max_concurrent": 1,
          "externalization": {"enabled": True, "delete_on_cancellation": False},
          "state_backend": "HashMapStateBackend", "checkpoint_storage": "FileSystemCheckpointStorage",
          "unaligned_checkpoints": False, "tolerable_failed_checkpoints": 5}


def completed(cid, size=1000, duration=100):
    return {"className": "completed", "id": cid, "status": "COMPLETED", "is_savepoint": False,
            "trigger_timestamp": 1000 * cid, "end_to_end_duration": duration, "state_size": size,
            "checkpointed_size": size, "external_path": "file:/data/cp/%s/chk-%d" % (JOB, cid)}


def failed(cid, message=IO_FAILURE):
    return {"className": "failed", "id": cid, "status": "FAILED", "is_savepoint": False,
            "trigger_timestamp": 1000 * cid, "failure_timestamp": 1000 * cid + 3, "failure_message": message,
            "end_to_end_duration": 3, "state_size": 0}


def stats(history, counts=None, summary=None):
    newest_first = sorted(history, key=lambda h: -h["id"])
    done = [h for h in newest_first if h["status"] == "COMPLETED"]
    bad = [h for h in newest_first if h["status"] == "FAILED"]
    return {"counts": counts or {"completed": len(done), "failed": len(bad), "total": len(history)},
            "history": newest_first, "summary": summary or {},
            "latest": {"completed": done[0] if done else None, "failed": bad[0] if bad else None}}


# -- pure functions -------------------------------------------------------------------------------
@pytest.mark.parametrize("message, category", [
    (IO_FAILURE, "storage"),
    (EXPIRED, "timeout"),
    ("Checkpoint was declined (tasks not ready)", "tasks_not_running"),
    ("Not all required tasks are currently running.", "tasks_not_running"),
    ("com.esotericsoftware.kryo.KryoException: Buffer overflow", "serialization"),
    ("java.lang.IllegalStateException: sink refused the snapshot", "operator"),
    ("java.io.IOException: Mkdirs failed to create file:/cp/chk-3", "storage"),
    ("AccessDenied (HTTP 403): Access Denied", "storage"),
    (None, "operator"),
])
def test_failure_messages_are_classified(message, category):
    assert diag.classify_cause(message) == category


@pytest.mark.parametrize("path, expected", [
    ("file:/data/cp/%s/chk-14" % JOB, "file:/data/cp"),
    ("s3://bucket/flink/cp/%s/chk-1/" % JOB, "s3://bucket/flink/cp"),
    ("file:/data/savepoints/savepoint-0a1b2c-0123456789ab", None),
    (None, None),
])
def test_storage_uri_is_derived_from_the_checkpoint_path(path, expected):
    assert diag.storage_uri_from_path(path, JOB) == expected


def test_storage_uri_of_another_job_is_not_taken():
    assert diag.storage_uri_from_path("file:/data/cp/%s/chk-1" % hex_id(9), JOB) is None


def test_metric_values_parse_numbers():
    assert diag.metric_values([{"id": "a", "value": "3"}, {"id": "b", "value": "0.5"},
                               {"id": "c", "value": "x"}]) == {"a": 3, "b": 0.5, "c": "x"}


# -- checkpoint health -----------------------------------------------------------------------------
def test_failures_counted_at_the_trigger_without_a_record_are_told_apart():
    # Flink counts a checkpoint that fails before it is created (tasks not all RUNNING yet) in
    # counts.failed, with no history entry and no latest.failed: the report said "failed 1" beside
    # "Latest failed: none".
    cp = diag.checkpoint_health(stats([completed(2), completed(3)],
                                      counts={"completed": 2, "failed": 1, "total": 3}), CONFIG, JOB)
    assert cp["latest_failed"] is None
    assert cp["failed_at_trigger"] == 1


def test_with_a_latest_failed_checkpoint_the_unrecorded_split_is_unknown():
    # Failures beyond the retained history may be older ones: no claim is made.
    cp = diag.checkpoint_health(stats([completed(8), failed(9)],
                                      counts={"completed": 8, "failed": 3, "total": 11}), CONFIG, JOB)
    assert cp["latest_failed"]["id"] == 9
    assert cp["failed_at_trigger"] is None


def test_history_is_oldest_first_with_status_duration_and_size_and_no_savepoint():
    savepoint = dict(completed(4), is_savepoint=True)
    cp = diag.checkpoint_health(stats([failed(3), completed(2, size=10, duration=40), savepoint, completed(5)]),
                                CONFIG, JOB)
    assert [(h["id"], h["status"], h["end_to_end_duration"]) for h in cp["history"]] == [
        (2, "COMPLETED", 40), (3, "FAILED", 3), (5, "COMPLETED", 100)]
    assert cp["history"][0]["state_size"] == 10


def test_persistent_storage_failures_are_counted_grouped_and_critical():
    history = [completed(1), completed(2)] + [failed(i) for i in range(3, 9)]
    cp = diag.checkpoint_health(stats(history), CONFIG, JOB)
    assert cp["consecutive_failures"] == 6
    assert cp["failure_causes"] == [{"message": IO_FAILURE, "category": "storage", "count": 6,
                                     "last_timestamp": 8003}]
    assert [f["id"] for f in cp["failures"]] == [8, 7, 6, 5, 4, 3]
    assert cp["storage_uri"] == "file:/data/cp"
    assert cp["config"]["interval_ms"] == 10000 and cp["config"]["tolerable_failed"] == 5
    findings = diag.job_findings({"state": "RUNNING", "checkpoints": cp, "restarts": 0})
    assert findings[0]["code"] == "checkpoint_storage" and findings[0]["severity"] == "critical"
    assert "file:/data/cp" in findings[0]["recommendation"]
    assert diag.health_of(findings) == "critical"


def test_failures_followed_by_a_completed_checkpoint_are_recovered_not_critical():
    history = [failed(1), failed(2), completed(3)]
    cp = diag.checkpoint_health(stats(history), CONFIG, JOB)
    assert cp["consecutive_failures"] == 0
    findings = diag.job_findings({"state": "RUNNING", "checkpoints": cp})
    assert [f["code"] for f in findings] == ["checkpoint_storage"]
    assert findings[0]["severity"] == "warning" and "recovered" in findings[0]["title"]


def test_expired_checkpoints_recommend_a_longer_timeout_and_unaligned_checkpoints():
    history = [completed(1, duration=50000)] + [failed(i, EXPIRED) for i in range(2, 5)]
    cp = diag.checkpoint_health(stats(history, summary={"end_to_end_duration": {"avg": 50000, "max": 59000}}),
                                CONFIG, JOB)
    assert cp["duration_vs_timeout"] == pytest.approx(0.98)
    assert cp["duration_vs_interval"] == 5.0
    codes = {f["code"]: f for f in diag.job_findings({"state": "RUNNING", "checkpoints": cp})}
    timeout = codes["checkpoint_timeout"]
    assert timeout["severity"] == "critical"
    assert "execution.checkpointing.timeout" in timeout["recommendation"]
    assert "execution.checkpointing.unaligned.enabled: true" in timeout["recommendation"]
    assert "execution.checkpointing.interval" in codes["checkpoint_interval"]["recommendation"]


def test_unaligned_is_not_recommended_when_already_on():
    conf = dict(CONFIG, unaligned_checkpoints=True)
    cp = diag.checkpoint_health(stats([failed(1, EXPIRED)]), conf, JOB)
    rec = [f for f in diag.job_findings({"checkpoints": cp}) if f["code"] == "checkpoint_timeout"][0]
    assert "unaligned" not in rec["recommendation"]


def test_state_growth_recommends_ttl():
    history = [completed(i, size=1000 * i) for i in range(1, 6)]
    cp = diag.checkpoint_health(stats(history), CONFIG, JOB)
    trend = cp["state_size"]
    assert [s["state_size"] for s in trend["samples"]] == [1000, 2000, 3000, 4000, 5000]
    assert trend["growth_pct"] == 400.0 and trend["trend"] == "growing"
    growth = [f for f in diag.job_findings({"checkpoints": cp}) if f["code"] == "state_growth"][0]
    assert "TTL" in growth["recommendation"]


def test_stable_state_and_healthy_checkpoints_have_no_findings():
    history = [completed(i, size=1000) for i in range(1, 6)]
    cp = diag.checkpoint_health(stats(history), CONFIG, JOB)
    assert cp["state_size"]["trend"] == "stable"
    findings = diag.job_findings({"state": "RUNNING", "checkpoints": cp, "restarts": 0,
                                  "backpressure": {"level": "ok", "vertices": []}})
    assert findings == [] and diag.health_of(findings) == "ok"


def test_declined_at_start_is_only_info():
    history = [failed(1, "Not all required tasks are currently running."), completed(2), completed(3)]
    cp = diag.checkpoint_health(stats(history), CONFIG, JOB)
    findings = diag.job_findings({"state": "RUNNING", "checkpoints": cp})
    assert [(f["code"], f["severity"]) for f in findings] == [("checkpoint_tasks_not_running", "info")]
    assert diag.health_of(findings) == "ok"


def test_disabled_checkpointing_is_reported():
    cp = diag.checkpoint_health(stats([]), dict(CONFIG, interval=9223372036854775807), JOB)
    assert cp["config"]["enabled"] is False and cp["duration_vs_interval"] is None
    assert [f["code"] for f in diag.job_findings({"checkpoints": cp})] == ["checkpointing_disabled"]


def test_backpressure_and_restarts_are_findings():
    cp = diag.checkpoint_health(stats([completed(1)]), CONFIG, JOB)
    vertices = [{"name": "map", "level": "high"}, {"name": "sink", "level": "ok"}]
    job = {"state": "RUNNING", "checkpoints": cp, "restarts": 4,
           "backpressure": {"level": "high", "vertices": vertices}}
    codes = {f["code"]: f for f in diag.job_findings(job)}
    assert codes["backpressure"]["severity"] == "critical" and "map" in codes["backpressure"]["evidence"]
    assert "flink_job_scale" in codes["backpressure"]["recommendation"]
    assert codes["restarts"]["title"] == "The job restarted 4 times"


# -- against the scripted Flink --------------------------------------------------------------------
def script_cluster(flink, history, backpressure_answers, restarts="0"):
    flink.add_job(JOB, name="orders")
    flink.on("GET", "/jobs/%s/checkpoints" % JOB, stats(history))
    flink.on("GET", "/jobs/%s/checkpoints/config" % JOB, CONFIG)
    flink.on("GET", "/jobs/%s/metrics" % JOB, [{"id": "numRestarts", "value": restarts}])
    for vertex in flink.jobs[JOB]["vertices"]:
        flink.on("GET", "/jobs/%s/vertices/%s/backpressure" % (JOB, vertex["id"]), *backpressure_answers)
    flink.on("GET", "/taskmanagers", {"taskmanagers": [{"id": TM, "slotsNumber": 4, "freeSlots": 2}]})
    gc_ids = ["Status.JVM.GarbageCollector.G1_Young_Generation.Count",
              "Status.JVM.GarbageCollector.G1_Young_Generation.Time",
              "Status.JVM.GarbageCollector.G1_Young_Generation.TimeMsPerSecond",
              "Status.JVM.GarbageCollector.G1_Old_Generation.Count",
              "Status.JVM.GarbageCollector.G1_Old_Generation.Time",
              "Status.JVM.GarbageCollector.All.Count", "Status.JVM.GarbageCollector.All.Time"]

    def tm_metrics(call, tm_id):
        if "get" not in call.params:
            return [{"id": i} for i in gc_ids + list(diag.HEAP_METRICS) + ["Status.JVM.CPU.Load"]]
        values = {"Status.JVM.Memory.Heap.Used": "150000000", "Status.JVM.Memory.Heap.Committed": "160000000",
                  "Status.JVM.Memory.Heap.Max": "160000000",
                  "Status.JVM.GarbageCollector.G1_Young_Generation.Count": "9",
                  "Status.JVM.GarbageCollector.G1_Young_Generation.Time": "71",
                  "Status.JVM.GarbageCollector.G1_Old_Generation.Count": "1",
                  "Status.JVM.GarbageCollector.G1_Old_Generation.Time": "20",
                  "Status.JVM.GarbageCollector.All.Count": "10", "Status.JVM.GarbageCollector.All.Time": "91"}
        return [{"id": i, "value": values[i]} for i in call.params["get"].split(",")]

    flink.on("GET", "/taskmanagers/([^/]+)/metrics", tm_metrics)


BP_PENDING = {"status": "deprecated", "backpressureLevel": "ok", "subtasks": []}
BP_HIGH = {"status": "ok", "backpressureLevel": "high", "backpressure-level": "high", "end-timestamp": 5,
           "subtasks": [{"subtask": 0, "ratio": 0.9, "busyRatio": 0.1, "idleRatio": 0.0},
                        {"subtask": 1, "ratio": 0.7, "busyRatio": 0.2, "idleRatio": 0.1}]}


def test_describe_job_polls_backpressure_until_the_sample_is_fresh(flink, fake_time):
    script_cluster(flink, [completed(1), completed(2)], [BP_PENDING, BP_PENDING, BP_HIGH], restarts="2")
    job = diag.describe_job(flink.client(), {"jid": JOB}, backpressure_timeout=30,
                            sleep=fake_time.sleep, now=fake_time.now)
    assert job["restarts"] == 2 and job["name"] == "orders"
    assert job["backpressure"]["level"] == "high"
    first = job["backpressure"]["vertices"][0]
    assert first["status"] == "ok" and first["max_ratio"] == 0.9 and first["subtasks"] == 2
    assert len(flink.calls_to("GET", "/jobs/%s/vertices/[0-9a-f]+/backpressure" % JOB)) == 6
    assert fake_time.sleeps, "it waited between polls"
    assert job["health"] == "critical"
    assert flink.calls_to("GET", "/jobs/%s/metrics" % JOB)[0].params == {"get": "numRestarts"}


def test_a_ratio_flink_writes_as_nan_is_no_value_not_a_crash(flink, fake_time):
    # Flink's REST mapper writes a ratio it cannot compute as the string "NaN"; a health report on
    # real Flink 2.3 failed with "type str doesn't define __round__ method".
    nan = {"status": "ok", "backpressureLevel": "ok", "backpressure-level": "ok", "end-timestamp": 5,
           "subtasks": [{"subtask": 0, "ratio": 0.0, "busyRatio": "NaN", "idleRatio": 1.0},
                        {"subtask": 1, "ratio": 0.05, "busyRatio": "NaN", "idleRatio": "0.5"}]}
    script_cluster(flink, [completed(1)], [nan])
    job = diag.describe_job(flink.client(), {"jid": JOB}, backpressure_timeout=3,
                            sleep=fake_time.sleep, now=fake_time.now)
    first = job["backpressure"]["vertices"][0]
    assert (first["max_ratio"], first["max_busy_ratio"], first["max_idle_ratio"]) == (0.05, None, 1.0)
    assert job["backpressure"]["level"] == "ok"


def test_backpressure_that_never_gets_fresh_is_unknown_not_an_error(flink, fake_time):
    script_cluster(flink, [completed(1)], [BP_PENDING])
    job = diag.describe_job(flink.client(), {"jid": JOB}, backpressure_timeout=3,
                            sleep=fake_time.sleep, now=fake_time.now)
    assert job["backpressure"]["level"] == "unknown"
    assert all(v["level"] == "unknown" for v in job["backpressure"]["vertices"])
    assert fake_time.current - 1700000000.0 < 6


def test_taskmanager_heap_gc_and_slots(flink):
    script_cluster(flink, [], [BP_HIGH])
    client = flink.client()
    tm = diag.taskmanager_health(client, client.taskmanagers()[0])
    assert tm["heap_used"] == 150000000 and tm["heap_max"] == 160000000 and tm["heap_used_pct"] == 93.8
    assert tm["gc"] == [{"name": "G1_Old_Generation", "count": 1, "time_ms": 20},
                        {"name": "G1_Young_Generation", "count": 9, "time_ms": 71}]
    assert tm["gc_count"] == 10 and tm["gc_time_ms"] == 91
    assert (tm["slots_total"], tm["slots_free"]) == (4, 2)
    assert [f["code"] for f in tm["findings"]] == ["heap_pressure"]
    asked = flink.calls_to("GET", "/taskmanagers/%s/metrics" % TM)[-1].params["get"].split(",")
    assert "Status.JVM.GarbageCollector.G1_Young_Generation.TimeMsPerSecond" not in asked


def test_gc_totals_are_summed_without_the_all_aggregate():
    assert diag.gc_metric_names(["Status.JVM.GarbageCollector.PS_Scavenge.Count", "Status.JVM.CPU.Load",
                                 "Status.JVM.GarbageCollector.PS_Scavenge.TimeMsPerSecond"]) == [
        "Status.JVM.GarbageCollector.PS_Scavenge.Count"]


@pytest.mark.parametrize("version", VERSIONS)
def test_every_diagnostics_request_conforms_to_the_spec(flink, fake_time, version):
    flink.version = {"1.18": "1.18.1", "1.19": "1.19.1", "1.20": "1.20.1", "2.0": "2.0.0", "2.1": "2.1.0",
                     "2.2": "2.2.0", "2.3": "2.3.0"}[version]
    script_cluster(flink, [completed(1), failed(2)], [BP_PENDING, BP_HIGH])
    client = flink.client()
    diag.describe_job(client, {"jid": JOB}, sleep=fake_time.sleep, now=fake_time.now)
    diag.taskmanager_health(client, client.taskmanagers()[0])
    spec = contract(version)
    assert len(flink.calls) >= 8
    for call in flink.calls:
        spec.check_request(call.request)


def test_backpressure_500_of_a_new_job_is_retried(flink, fake_time):
    error = (500, {"errors": ["Internal server error.", "java.util.NoSuchElementException: No value present"]})
    script_cluster(flink, [completed(1)], [error, BP_HIGH])
    job = diag.describe_job(flink.client(), {"jid": JOB}, backpressure_timeout=10,
                            sleep=fake_time.sleep, now=fake_time.now)
    assert [v["level"] for v in job["backpressure"]["vertices"]] == ["high", "high"]


def test_backpressure_500_until_the_timeout_is_reported_per_vertex(flink, fake_time):
    error = (500, {"errors": ["Internal server error.", "java.util.NoSuchElementException: No value present"]})
    script_cluster(flink, [completed(1)], [error])
    job = diag.describe_job(flink.client(), {"jid": JOB}, backpressure_timeout=2,
                            sleep=fake_time.sleep, now=fake_time.now)
    vertex = job["backpressure"]["vertices"][0]
    assert vertex["level"] == "unknown" and "NoSuchElementException" in vertex["error"]
    assert job["backpressure"]["level"] == "unknown"
