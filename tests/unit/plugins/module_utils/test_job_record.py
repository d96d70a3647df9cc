"""module_utils/job_record.py: one job view for every backend.

The record of a Flink job (``flink_job_info``'s ``describe_job`` on the fake Flink) and of a CMF
application (``cmf_application_info`` against the contract-checked fake CMF) have the same keys, the
same snapshot and exception shapes, and the same types, so the recipes' common tasks read either.
"""
from __future__ import annotations

import time

import pytest

from ansible_collections.flinkops.cookbook.plugins.module_utils import job_record
from ansible_collections.flinkops.cookbook.plugins.module_utils._http import HttpClient
from ansible_collections.flinkops.cookbook.plugins.module_utils.cmf_rest import CmfRestClient
from ansible_collections.flinkops.cookbook.plugins.modules import cmf_application_info, flink_job_info
from fake_flink import hex_id
from tests.support.fake_cmf import FakeCMF, spec_path

A = hex_id(0xA)
FLINK_JOB = {
    "id": A, "name": "orders", "state": "RUNNING", "start_time": 1700000000000, "duration_ms": 5, "parallelism": 2,
    "vertices": [], "version": "1.4.2", "spec": {"version": "1.4.2"},
    "checkpoints": {
        "counts": {"completed": 3, "failed": 1},
        "latest_completed": {"id": 7, "status": "COMPLETED", "external_path": "file:/cp/chk-7",
                             "trigger_timestamp": 1700000005000, "latest_ack_timestamp": 1700000005100,
                             "is_savepoint": False},
        "latest_failed": {"id": 6, "status": "FAILED", "trigger_timestamp": 1700000004000,
                          "failure_message": "Checkpoint expired before completing."},
        "latest_savepoint": {"id": 5, "status": "COMPLETED", "external_path": "file:/sp/savepoint-5",
                             "trigger_timestamp": 1700000003000, "is_savepoint": True},
        "restored": {"id": 4, "external_path": "file:/sp/savepoint-4", "is_savepoint": True,
                     "restore_timestamp": 1700000000500}},
    "exceptions": [{"name": "java.lang.IllegalStateException", "task": "map (1/2)", "timestamp": 1700000004500,
                    "message": "java.lang.IllegalStateException: bad record\n\tat x.y(Z.java:1)"}],
}


def test_a_flink_job_becomes_a_record():
    rec = job_record.from_flink_job(FLINK_JOB)
    assert sorted(rec) == sorted(job_record.RECORD_KEYS)
    assert rec["platform"] == "flink" and rec["id"] == A and rec["state"] == "RUNNING"
    assert rec["version"] == "1.4.2" and rec["parallelism"] == 2 and rec["start_time"] == 1700000000000
    assert rec["restored_from"] == "file:/sp/savepoint-4"
    assert rec["latest_completed"] == {"kind": "checkpoint", "id": "7", "path": "file:/cp/chk-7",
                                       "timestamp": 1700000005100, "message": None}
    assert rec["latest_failed"]["message"] == "Checkpoint expired before completing."
    assert rec["latest_savepoint"]["kind"] == "savepoint" and rec["latest_savepoint"]["path"] == "file:/sp/savepoint-5"
    assert rec["exceptions"] == [{"timestamp": 1700000004500, "name": "java.lang.IllegalStateException",
                                  "message": FLINK_JOB["exceptions"][0]["message"], "task": "map (1/2)"}]
    assert rec["raw"] is FLINK_JOB


def test_a_job_never_checkpointed_has_null_snapshots():
    rec = job_record.from_flink_job({"id": A, "name": "x", "state": "CREATED", "checkpoints": {}, "exceptions": []})
    assert rec["latest_completed"] is None and rec["latest_failed"] is None and rec["restored_from"] is None
    assert rec["exceptions"] == []


def test_only_record_keys_are_accepted():
    with pytest.raises(ValueError, match="not job record keys: colour"):
        job_record.record("flink", colour="red")


@pytest.mark.parametrize("value, expected", [
    (None, None), ("", None), (True, None), (1700000000000, 1700000000000), ("1700000000000", 1700000000000),
    ("2023-11-14T22:13:20Z", 1700000000000), ("2023-11-14T22:13:20.250Z", 1700000000250),
    ("2023-11-14T22:13:20+00:00", 1700000000000), ("not a time", None)])
def test_times_are_epoch_milliseconds(value, expected):
    assert job_record._ms(value) == expected


def _event(kind, stamp, message, instance=None, data=None):
    meta = {"name": "e-%s" % stamp, "creationTimestamp": stamp}
    if instance:
        meta["flinkApplicationInstance"] = instance
    status = {"type": kind, "message": message}
    if data:
        status["data"] = data
    return {"metadata": meta, "status": status}


def test_a_cmf_application_becomes_a_record():
    app = {"metadata": {"name": "orders", "labels": {"flinkops.io/version": "2.0.0"}},
           "spec": {"job": {"parallelism": "3"}},
           "status": {"jobStatus": {"jobId": "f" * 32, "state": "RUNNING", "startTime": "1700000000000"}}}
    savepoints = [
        {"metadata": {"name": "old"}, "status": {"state": "COMPLETED", "path": "s3://sp/old",
                                                 "resultTimestamp": "2023-11-14T22:00:00Z"}},
        {"metadata": {"name": "new"}, "status": {"state": "COMPLETED", "path": "s3://sp/new",
                                                 "resultTimestamp": "2023-11-14T22:30:00Z"}},
        {"metadata": {"name": "bad"}, "status": {"state": "FAILED", "error": "Checkpoint expired",
                                                 "resultTimestamp": "2023-11-14T22:20:00Z"}},
        {"metadata": {"name": "pending"}, "status": {"state": "PENDING"}}]
    events = [
        _event("JOB_EXCEPTION", "2023-11-14T21:00:00Z", "java.lang.OutOfMemoryError: Java heap space", "i-old"),
        _event("JOB_STATUS", "2023-11-14T22:14:00Z", "Job status changed from CREATED to RUNNING", "i-now"),
        _event("JOB_EXCEPTION", "2023-11-14T22:15:00Z", "boom", "i-now",
               data={"exceptionString": "java.lang.IllegalStateException: bad record\n\tat x\n\tat y\n\tat z"}),
        _event("JOB_EXCEPTION", "2023-11-14T22:16:00Z", "java.io.IOException: sink down", "i-now")]
    rec = job_record.from_cmf_application(app, restored_from="s3://sp/old", savepoints=savepoints, events=events,
                                          instance="i-now")
    assert sorted(rec) == sorted(job_record.RECORD_KEYS)
    assert rec["platform"] == "cmf" and rec["id"] == "f" * 32 and rec["version"] == "2.0.0"
    assert rec["parallelism"] == 3 and rec["start_time"] == 1700000000000 and rec["restored_from"] == "s3://sp/old"
    assert rec["latest_completed"] == {"kind": "savepoint", "id": "new", "path": "s3://sp/new",
                                       "timestamp": 1700001000000, "message": None}
    assert rec["latest_savepoint"] == rec["latest_completed"]
    assert rec["latest_failed"]["id"] == "bad" and rec["latest_failed"]["message"] == "Checkpoint expired"
    assert [(e["name"], e["timestamp"]) for e in rec["exceptions"]] == [
        ("java.io.IOException", 1700000160000), ("java.lang.IllegalStateException", 1700000100000)]
    assert rec["exceptions"][1]["message"] == "java.lang.IllegalStateException: bad record\n\tat x\n\tat y"


def test_a_cmf_application_without_savepoint_api_uses_the_job_status():
    app = {"metadata": {"name": "orders"}, "spec": {"job": {}},
           "status": {"jobStatus": {"state": "RUNNING", "savepointInfo": {
               "lastSavepoint": {"location": "s3://sp/x", "timeStamp": 1700000000000}}}}}
    rec = job_record.from_cmf_application(app, savepoints=None, events=None)
    assert rec["latest_completed"] == {"kind": "savepoint", "id": None, "path": "s3://sp/x",
                                       "timestamp": 1700000000000, "message": None}
    assert rec["version"] is None and rec["parallelism"] is None and rec["exceptions"] == []


# -- the same shape on both backends, from the modules' own code ------------------------------------
def _shape(value):
    if isinstance(value, dict):
        return dict((k, _shape(v)) for k, v in value.items())
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__


@pytest.mark.skipif(not spec_path("2.3").is_file(), reason="the shared CMF specs are not checked out")
def test_the_record_has_the_same_shape_on_flink_and_cmf(flink):
    flink.add_job(A, name="orders", state="RUNNING", completed=2,
                  restored="file:/sp/savepoint-1",
                  exceptions=[{"exceptionName": "java.lang.IllegalStateException", "timestamp": 1700000004500,
                               "taskName": "map", "stacktrace": "java.lang.IllegalStateException: bad\n\tat x"}])
    flink.jobs[A]["latest"] = {
        "completed": {"id": 3, "status": "COMPLETED", "external_path": "file:/cp/chk-3", "is_savepoint": False,
                      "trigger_timestamp": 1700000005000, "latest_ack_timestamp": 1700000005100},
        "failed": {"id": 2, "status": "FAILED", "trigger_timestamp": 1700000004000, "failure_message": "expired"}}
    (overview,) = [j for j in flink.client().jobs_overview() if j["jid"] == A]
    flink_rec = flink_job_info.from_flink_job(flink_job_info.describe_job(flink.client(), overview, 3))

    flink.rsps.add_passthru("http://127.0.0.1")  # the fake CMF is real HTTP on loopback
    with FakeCMF(start_delay=0.05, savepoint_delay=0.05) as cmf:
        client = CmfRestClient(HttpClient(cmf.url, retries=0, sleep=lambda s: None))
        client.apply_environment({"name": "prod-env", "kubernetesNamespace": "flink"})
        client.apply_application("prod-env", {
            "apiVersion": "cmf.confluent.io/v1", "kind": "FlinkApplication",
            "metadata": {"name": "orders", "labels": {"flinkops.io/version": "2.0.0"}},
            "spec": {"image": "registry.example.com/orders:2.0.0", "flinkVersion": "v1_19",
                     "job": {"jarURI": "local:///opt/flink/usrlib/orders.jar", "parallelism": 2, "state": "running",
                             "upgradeMode": "savepoint", "initialSavepointPath": "s3://sp/savepoint-1"}}})
        deadline = time.time() + 10
        while (client.get_application("prod-env", "orders")["status"]["jobStatus"]["state"] != "RUNNING"
               and time.time() < deadline):
            time.sleep(0.05)
        cmf.inject("savepoint_failed", app="orders", error="Checkpoint expired before completing")
        client.create_app_savepoint("prod-env", "orders", "failed-one")
        client.create_app_savepoint("prod-env", "orders", "good-one")
        time.sleep(0.2)
        app = client.get_application("prod-env", "orders")
        view = cmf_application_info.view(client, "prod-env", app, False)
        cmf_rec = cmf_application_info.record_of(client, "prod-env", view)

    assert flink_rec["platform"] == "flink" and cmf_rec["platform"] == "cmf"
    for rec in (flink_rec, cmf_rec):
        assert sorted(rec) == sorted(job_record.RECORD_KEYS)
        assert rec["latest_completed"] is not None, rec
        for key in ("latest_completed", "latest_failed", "latest_savepoint"):
            assert rec[key] is None or sorted(rec[key]) == sorted(job_record.SNAPSHOT_KEYS), (rec["platform"], key, rec[key])
        for exc in rec["exceptions"]:
            assert sorted(exc) == sorted(job_record.EXCEPTION_KEYS)
    assert cmf_rec["latest_failed"]["message"] == "Checkpoint expired before completing"
    assert cmf_rec["restored_from"] == "s3://sp/savepoint-1" and flink_rec["restored_from"] == "file:/sp/savepoint-1"
    scalar = ("name", "id", "state", "version", "parallelism", "start_time", "restored_from")
    known = [k for k in scalar if flink_rec[k] is not None and cmf_rec[k] is not None]
    assert len(known) >= 5, known  # the fake Flink's job has no start-time nor version label
    assert dict((k, _shape(flink_rec[k])) for k in known) == dict((k, _shape(cmf_rec[k])) for k in known)
    assert isinstance(cmf_rec["start_time"], int) and isinstance(cmf_rec["version"], str)
    assert _shape(flink_rec["latest_completed"]) == _shape(cmf_rec["latest_completed"])


# -- FKO: the same shape, from the module's own code against the fake Kubernetes API -----------------
def test_a_flink_deployment_becomes_a_record_of_the_same_shape_as_a_flink_job():
    from kubernetes.dynamic.exceptions import NotFoundError  # noqa: F401  (the client is real)
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.service import K8sService
    from ansible_collections.flinkops.cookbook.plugins.module_utils.fko_k8s import FkoClient
    from ansible_collections.flinkops.cookbook.plugins.modules import fko_deployment_info
    from tests.support.fake_kubernetes import FakeKubernetes

    with FakeKubernetes(step_delay=0.05, stable_delay=0.05, savepoint_delay=0.05) as fake:
        k8s = get_api_client(host=fake.url, api_key="t")
        client = FkoClient(k8s, K8sService(k8s, None), "default")
        client.create("FlinkDeployment", {
            "apiVersion": "flink.apache.org/v1beta1", "kind": "FlinkDeployment",
            "metadata": {"name": "orders", "labels": {"flinkops.io/version": "2.0.0"}},
            "spec": {"image": "registry.example.com/orders:2.0.0", "flinkVersion": "v1_20",
                     "flinkConfiguration": {"state.savepoints.dir": "s3://sp"},
                     "jobManager": {"resource": {"memory": "1024m", "cpu": 1}},
                     "taskManager": {"resource": {"memory": "1024m", "cpu": 1}},
                     "job": {"jarURI": "local:///opt/flink/usrlib/orders.jar", "parallelism": 2, "state": "running",
                             "upgradeMode": "savepoint", "initialSavepointPath": "s3://sp/savepoint-1"}}})
        deadline = time.time() + 10
        while ((client.get("FlinkDeployment", "orders").get("status") or {}).get("lifecycleState") != "STABLE"
               and time.time() < deadline):
            time.sleep(0.02)
        fake.inject("snapshot_fails", name="failed-", error="Checkpoint expired before completing")
        for name in ("failed-one", "good-one"):
            client.create("FlinkStateSnapshot", {
                "apiVersion": "flink.apache.org/v1beta1", "kind": "FlinkStateSnapshot", "metadata": {"name": name},
                "spec": {"jobReference": {"kind": "FlinkDeployment", "name": "orders"}, "savepoint": {}}})
        while (len([s for s in client.list("FlinkStateSnapshot") if (s.get("status") or {}).get("state")
                    in ("COMPLETED", "FAILED")]) < 2 and time.time() < deadline):
            time.sleep(0.02)
        view, rec = fko_deployment_info.describe(client, client.get("FlinkDeployment", "orders"))

    flink_rec = job_record.from_flink_job(FLINK_JOB)
    assert rec["platform"] == "fko" and sorted(rec) == sorted(job_record.RECORD_KEYS)
    assert rec["state"] == "RUNNING" and rec["version"] == "2.0.0" and rec["parallelism"] == 2
    assert rec["restored_from"] == "s3://sp/savepoint-1" and view["lifecycle_state"] == "STABLE"
    assert rec["latest_failed"]["message"] == "Checkpoint expired before completing"
    assert rec["latest_savepoint"]["id"] == "good-one" and rec["latest_savepoint"]["path"].startswith("s3://sp/")
    for key in ("latest_completed", "latest_failed", "latest_savepoint"):
        assert sorted(rec[key]) == sorted(job_record.SNAPSHOT_KEYS)
        assert _shape(rec[key]) == _shape(flink_rec["latest_completed"]) or key == "latest_failed"
    scalar = ("name", "id", "state", "version", "parallelism", "start_time", "restored_from")
    assert dict((k, _shape(rec[k])) for k in scalar) == dict((k, _shape(flink_rec[k])) for k in scalar)


def test_a_flink_deployment_without_snapshots_uses_the_operators_last_savepoint_and_error():
    fd = {"metadata": {"name": "orders"}, "spec": {"job": {}},
          "status": {"error": '{"type": "x", "message": "org.apache.flink.util.FlinkRuntimeException: no slots"}',
                     "jobStatus": {"state": "RESTARTING", "upgradeSavepointPath": "s3://sp/savepoint-9",
                                   "updateTime": "1700000001000",
                                   "savepointInfo": {"lastSavepoint": {"location": "s3://sp/savepoint-9",
                                                                       "timeStamp": 1700000000000}}}}}
    rec = job_record.from_fko_deployment(fd)
    assert rec["restored_from"] == "s3://sp/savepoint-9"
    assert rec["latest_savepoint"] == {"kind": "savepoint", "id": None, "path": "s3://sp/savepoint-9",
                                       "timestamp": 1700000000000, "message": None}
    assert rec["exceptions"] == [{"timestamp": 1700000001000, "name": "org.apache.flink.util.FlinkRuntimeException",
                                  "message": "org.apache.flink.util.FlinkRuntimeException: no slots", "task": None}]
    assert rec["latest_failed"] is None and rec["version"] is None and rec["parallelism"] is None


def test_a_flink_deployment_with_taskmanager_replicas_runs_at_replicas_times_slots():
    # FKO ignores spec.job.parallelism once spec.taskManager.replicas is set ("Job parallelism setting is
    # ignored as TaskManager replicas are set"): the job runs at replicas x taskmanager.numberOfTaskSlots
    fd = {"metadata": {"name": "orders"},
          "spec": {"flinkConfiguration": {"taskmanager.numberOfTaskSlots": "2"}, "taskManager": {"replicas": 3},
                   "job": {"parallelism": 2}}, "status": {"jobStatus": {"state": "RUNNING"}}}
    assert job_record.from_fko_deployment(fd)["parallelism"] == 6
    del fd["spec"]["flinkConfiguration"]
    assert job_record.from_fko_deployment(fd)["parallelism"] == 3
    del fd["spec"]["taskManager"]["replicas"]
    assert job_record.from_fko_deployment(fd)["parallelism"] == 2
