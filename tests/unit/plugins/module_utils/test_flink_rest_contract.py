"""FlinkRestClient against the Flink REST OpenAPI specs of 1.18 ... 2.3.

Every request the client can send is validated (path, method, query parameters and JSON
body) with openapi-core against the spec of the Flink version the fake cluster reports,
and the response fields the collection reads are looked up in the response schemas.
"""
from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from ansible_collections.flinkops.cookbook.plugins.module_utils import flink_ops, flink_rest
from ansible_collections.flinkops.cookbook.plugins.module_utils._http import HttpError
from ansible_collections.flinkops.cookbook.plugins.module_utils.flink_rest import FlinkRestClient
from fake_flink import hex_id
from flink_contract import VERSIONS, ContractError, contract

JOB = hex_id(1)
TRIGGER = hex_id(2)
VERTEX = hex_id(3)
TASKMANAGER = hex_id(5)  # real ids look like "10.0.0.7:41234-a1b2c3"; the spec wants 32 hex
SAVEPOINT = "s3://savepoints/savepoint-0001"
FLINK_VERSION = {"1.18": "1.18.1", "1.19": "1.19.1", "1.20": "1.20.1", "2.0": "2.0.0", "2.1": "2.1.0",
                 "2.2": "2.2.0", "2.3": "2.3.0"}


def _upload(client, tmp_path):
    jar = tmp_path / "job.jar"
    jar.write_bytes(b"PK\x03\x04")
    client.upload_jar(str(jar))


# One entry per public client method that talks to Flink (checked by the next test).
CLIENT_CALLS = {
    "config": lambda c, tmp: c.config(),
    "overview": lambda c, tmp: c.overview(),
    "jobmanager_config": lambda c, tmp: c.jobmanager_config(),
    "taskmanagers": lambda c, tmp: c.taskmanagers(),
    "taskmanager_metrics": lambda c, tmp: c.taskmanager_metrics(TASKMANAGER, ["Status.JVM.CPU.Load", "x"]),
    "taskmanager_metric_ids": lambda c, tmp: c.taskmanager_metric_ids(TASKMANAGER),
    "job_metrics": lambda c, tmp: c.job_metrics(JOB, ["numRestarts"]),
    "jobs_overview": lambda c, tmp: c.jobs_overview(),
    "job": lambda c, tmp: c.job(JOB),
    "job_or_none": lambda c, tmp: c.job_or_none(JOB),
    "job_config": lambda c, tmp: c.job_config(JOB),
    "job_checkpoints": lambda c, tmp: c.job_checkpoints(JOB),
    "job_checkpoint_config": lambda c, tmp: c.job_checkpoint_config(JOB),
    "job_exceptions": lambda c, tmp: c.job_exceptions(JOB, max_exceptions=5),
    "vertex_backpressure": lambda c, tmp: c.vertex_backpressure(JOB, VERTEX),
    "cancel": lambda c, tmp: c.cancel(JOB),
    "resource_requirements": lambda c, tmp: c.resource_requirements(JOB),
    "set_resource_requirements": lambda c, tmp: c.set_resource_requirements(
        JOB, {VERTEX: {"parallelism": {"lowerBound": 1, "upperBound": 4}}}),
    "trigger_savepoint": lambda c, tmp: c.trigger_savepoint(JOB, TRIGGER, "s3://savepoints", "NATIVE"),
    "stop_with_savepoint": lambda c, tmp: c.stop_with_savepoint(JOB, TRIGGER, "s3://savepoints", drain=True),
    "savepoint_status": lambda c, tmp: c.savepoint_status(JOB, TRIGGER),
    "jars": lambda c, tmp: c.jars(),
    "upload_jar": _upload,
    "delete_jar": lambda c, tmp: c.delete_jar("1234_job.jar"),
    "run_jar": lambda c, tmp: c.run_jar(
        "1234_job.jar", JOB, entry_class="com.example.Job", args=["--a", "1"], parallelism=2,
        savepoint_path=SAVEPOINT, allow_non_restored_state=True, claim_mode="NO_CLAIM",
        flink_configuration={"pipeline.name": "orders"}),
}


def test_every_client_method_is_covered_by_the_contract_tests():
    methods = set(name for name, value in vars(FlinkRestClient).items()
                  if inspect.isfunction(value) and not name.startswith("_"))
    assert methods == set(CLIENT_CALLS), "add new FlinkRestClient methods to CLIENT_CALLS"


def test_every_path_in_the_client_source_exists_in_every_spec():
    source = Path(flink_rest.__file__).read_text()
    calls = re.findall(r'self\.http\.(get|post|put|patch|delete)\(\s*"([^"]+)"', source)
    assert len(calls) >= 20, "the source scan found too few calls: %r" % calls
    for version in VERSIONS:
        spec = contract(version)
        for method, template in calls:
            spec.operation(method.upper(), template.replace("%s", "x"))  # raises ContractError


def _record(flink, name, tmp_path):
    flink.add_job(JOB)
    before = len(flink.calls)
    try:
        CLIENT_CALLS[name](flink.client(), tmp_path)
    except HttpError:
        pass  # the fake has no canned answer for some calls: only the request matters here
    return flink.calls[before:]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", sorted(CLIENT_CALLS))
def test_every_request_conforms_to_the_spec(flink, tmp_path, version, name):
    flink.version = FLINK_VERSION[version]
    spec = contract(version)
    calls = _record(flink, name, tmp_path)
    assert calls, "%s sent nothing" % name
    for call in calls:
        # /jars/upload is multipart (the spec wrongly says application/x-java-archive).
        spec.check_request(call.request, body=call.path != "/jars/upload")


# -- request bodies, per version -----------------------------------------------------------
def _body(flink, version, send, method, path):
    flink.version = FLINK_VERSION[version]
    flink.add_job(JOB)
    send(flink.client())
    return flink.calls_to(method, path)[-1]


@pytest.mark.parametrize("version", VERSIONS)
def test_trigger_savepoint_body_conforms(flink, version):
    call = _body(flink, version, lambda c: c.trigger_savepoint(JOB, TRIGGER, "s3://sp"), "POST",
                 "/jobs/%s/savepoints" % JOB)
    contract(version).check_request(call.request)


@pytest.mark.parametrize("version", VERSIONS)
def test_stop_with_savepoint_body_conforms(flink, version):
    call = _body(flink, version, lambda c: c.stop_with_savepoint(JOB, TRIGGER, "s3://sp"), "POST",
                 "/jobs/%s/stop" % JOB)
    contract(version).check_request(call.request)


@pytest.mark.parametrize("version", VERSIONS)
def test_set_resource_requirements_body_conforms(flink, version):
    requirements = {VERTEX: {"parallelism": {"lowerBound": 1, "upperBound": 4}},
                    hex_id(4): {"parallelism": {"lowerBound": 2, "upperBound": 2}}}
    call = _body(flink, version, lambda c: c.set_resource_requirements(JOB, requirements), "PUT",
                 "/jobs/%s/resource-requirements" % JOB)
    contract(version).check_request(call.request)


@pytest.mark.parametrize("version, mode_key", [(v, "restoreMode" if v in ("1.18", "1.19") else "claimMode")
                                               for v in VERSIONS])
def test_run_jar_body_with_savepoint_conforms(flink, version, mode_key):
    call = _body(flink, version, lambda c: CLIENT_CALLS["run_jar"](c, None), "POST", "/jars/1234_job.jar/run")
    assert call.body[mode_key] == "NO_CLAIM"
    contract(version).check_request(call.request)


# -- the checker can fail ------------------------------------------------------------------
@pytest.mark.parametrize("version", VERSIONS)
def test_checker_rejects_a_wrong_type(version):
    with pytest.raises(ContractError, match="parallelism|integer"):
        contract(version).check_body("POST", "/jars/x.jar/run", {"jobId": JOB, "parallelism": "two"})


@pytest.mark.parametrize("version", ["1.18", "1.19"])
def test_claim_mode_is_unknown_before_1_20(version):
    with pytest.raises(ContractError, match="claimMode"):
        contract(version).check_body("POST", "/jars/x.jar/run", {"savepointPath": SAVEPOINT, "claimMode": "CLAIM"})


def test_program_args_string_is_gone_in_2_3():
    contract("1.20").check_body("POST", "/jars/x.jar/run", {"programArgs": "--a 1"})
    with pytest.raises(ContractError, match="programArgs"):
        contract("2.3").check_body("POST", "/jars/x.jar/run", {"programArgs": "--a 1"})


def test_stop_body_uses_camel_case_target_directory():
    with pytest.raises(ContractError, match="target-directory"):
        contract("2.3").check_body("POST", "/jobs/%s/stop" % JOB, {"target-directory": "s3://sp"})


def test_checker_rejects_a_malformed_trigger_id():
    with pytest.raises(ContractError):
        contract("2.3").check_body("POST", "/jobs/%s/savepoints" % JOB, {"triggerId": "not-hex"})


def test_checker_rejects_an_unknown_path_and_a_wrong_method():
    with pytest.raises(ContractError, match="no path"):
        contract("2.3").operation("POST", "/jobs/%s/savepoint" % JOB)
    with pytest.raises(ContractError, match="not for DELETE"):
        contract("2.3").operation("DELETE", "/jobs/%s" % JOB)


def test_checker_rejects_a_bad_query_parameter():
    with pytest.raises(ContractError, match="mode"):
        contract("2.3").check_body("PATCH", "/jobs/%s" % JOB, None, params={"mode": "kill"})


# -- a whole upgrade, request by request ----------------------------------------------------
@pytest.mark.parametrize("version", VERSIONS)
def test_every_request_of_an_upgrade_conforms(flink, fake_clocks, version):
    flink.version = FLINK_VERSION[version]
    old_spec = {"name": "orders", "jar_id": "1_old.jar", "version": "1", "args": ["--a"], "parallelism": 2}
    new_spec = dict(old_spec, jar_id="2_new.jar", version="2")
    flink.add_job(JOB, spec_labels=flink_ops.encode_labels(old_spec))
    flink.jar_behaviour["2_new.jar"] = {"exceptions": [{"exceptionName": "java.lang.RuntimeException",
                                                        "stacktrace": "java.lang.RuntimeException: boom"}]}
    with pytest.raises(flink_ops.FlinkOpsError, match="rolled back"):
        flink_ops.redeploy_from_savepoint(flink.client(), JOB, old_spec, new_spec, "s3://sp")
    spec = contract(version)
    assert len(flink.calls) > 8
    for call in flink.calls:
        spec.check_request(call.request)


# -- response fields the collection reads ---------------------------------------------------
FIELDS_READ = [
    ("GET", "/config", ["flink-version"]),
    ("GET", "/overview", ["slots-available"]),
    ("GET", "/overview", ["slots-total"]),
    ("GET", "/overview", ["taskmanagers"]),
    ("GET", "/jobmanager/config", ["[]", "key"]),
    ("GET", "/jobmanager/config", ["[]", "value"]),
    ("GET", "/taskmanagers", ["taskmanagers"]),
    ("GET", "/jobs/overview", ["jobs", "[]", "jid"]),
    ("GET", "/jobs/overview", ["jobs", "[]", "name"]),
    ("GET", "/jobs/overview", ["jobs", "[]", "state"]),
    ("GET", "/jobs/overview", ["jobs", "[]", "start-time"]),
    ("GET", "/jobs/{jobid}", ["state"]),
    ("GET", "/jobs/{jobid}", ["vertices", "[]", "id"]),
    ("GET", "/jobs/{jobid}", ["vertices", "[]", "status"]),
    ("GET", "/jobs/{jobid}", ["vertices", "[]", "parallelism"]),
    ("GET", "/jobs/{jobid}", ["vertices", "[]", "maxParallelism"]),
    ("GET", "/jobs/{jobid}/checkpoints", ["counts", "completed"]),
    ("GET", "/jobs/{jobid}/checkpoints", ["latest", "restored", "external_path"]),
    ("GET", "/jobs/{jobid}/checkpoints", ["latest", "completed", "external_path"]),
    ("GET", "/jobs/{jobid}/checkpoints", ["history", "[]", "id"]),
    ("GET", "/jobs/{jobid}/checkpoints", ["history", "[]", "is_savepoint"]),
    ("GET", "/jobs/{jobid}/checkpoints", ["history", "[]", "status"]),
    ("GET", "/jobs/{jobid}/checkpoints", ["history", "[]", "trigger_timestamp"]),
    ("GET", "/jobs/{jobid}/checkpoints", ["history", "[]", "external_path"]),
    ("GET", "/jobs/{jobid}/checkpoints", ["history", "[]", "num_acknowledged_subtasks"]),
    ("GET", "/jobs/{jobid}/checkpoints", ["history", "[]", "num_subtasks"]),
    ("GET", "/jobs/{jobid}/checkpoints", ["history", "[]", "checkpointed_size"]),
    ("GET", "/jobs/{jobid}/checkpoints", ["history", "[]", "state_size"]),
    ("GET", "/jobs/{jobid}/checkpoints/config", ["externalization", "enabled"]),
    ("GET", "/jobs/{jobid}/checkpoints/config", ["externalization", "delete_on_cancellation"]),
    ("GET", "/jobs/{jobid}/exceptions", ["exceptionHistory", "entries", "[]", "exceptionName"]),
    ("GET", "/jobs/{jobid}/exceptions", ["exceptionHistory", "entries", "[]", "stacktrace"]),
    ("GET", "/jobs/{jobid}/exceptions", ["exceptionHistory", "entries", "[]", "taskName"]),
    ("GET", "/jobs/{jobid}/exceptions", ["exceptionHistory", "entries", "[]", "timestamp"]),
    ("GET", "/jobs/{jobid}/exceptions", ["exceptionHistory", "entries", "[]", "concurrentExceptions", "[]",
                                         "stacktrace"]),
    ("GET", "/jobs/{jobid}/savepoints/{triggerid}", ["status", "id"]),
    ("GET", "/jobs/{jobid}/savepoints/{triggerid}", ["operation", "location"]),
    ("GET", "/jobs/{jobid}/savepoints/{triggerid}", ["operation", "failure-cause"]),
    ("GET", "/jobs/{jobid}/resource-requirements", ["*", "parallelism", "lowerBound"]),
    ("GET", "/jobs/{jobid}/resource-requirements", ["*", "parallelism", "upperBound"]),
    ("GET", "/jars", ["files", "[]", "id"]),
    ("GET", "/jars", ["files", "[]", "name"]),
    ("POST", "/jars/upload", ["filename"]),
    ("POST", "/jars/{jarid}/run", ["jobid"]),
    # diagnostics (flink_metrics_info)
    ("GET", "/jobs/{jobid}/checkpoints", ["history", "[]", "failure_message"]),
    ("GET", "/jobs/{jobid}/checkpoints", ["history", "[]", "failure_timestamp"]),
    ("GET", "/jobs/{jobid}/checkpoints", ["history", "[]", "end_to_end_duration"]),
    ("GET", "/jobs/{jobid}/checkpoints", ["latest", "failed", "failure_message"]),
    ("GET", "/jobs/{jobid}/checkpoints", ["summary", "end_to_end_duration", "avg"]),
    ("GET", "/jobs/{jobid}/checkpoints", ["summary", "end_to_end_duration", "max"]),
    ("GET", "/jobs/{jobid}/checkpoints", ["counts", "failed"]),
    ("GET", "/jobs/{jobid}/checkpoints/config", ["interval"]),
    ("GET", "/jobs/{jobid}/checkpoints/config", ["timeout"]),
    ("GET", "/jobs/{jobid}/checkpoints/config", ["min_pause"]),
    ("GET", "/jobs/{jobid}/checkpoints/config", ["unaligned_checkpoints"]),
    ("GET", "/jobs/{jobid}/checkpoints/config", ["tolerable_failed_checkpoints"]),
    ("GET", "/jobs/{jobid}/checkpoints/config", ["checkpoint_storage"]),
    ("GET", "/jobs/{jobid}/vertices/{vertexid}/backpressure", ["status"]),
    ("GET", "/jobs/{jobid}/vertices/{vertexid}/backpressure", ["backpressureLevel"]),
    ("GET", "/jobs/{jobid}/vertices/{vertexid}/backpressure", ["subtasks", "[]", "ratio"]),
    ("GET", "/jobs/{jobid}/vertices/{vertexid}/backpressure", ["subtasks", "[]", "busyRatio"]),
    ("GET", "/taskmanagers", ["taskmanagers", "[]", "slotsNumber"]),
    ("GET", "/taskmanagers", ["taskmanagers", "[]", "freeSlots"]),
]

# The fallback of flink_ops.latest_root_exception: a deprecated field, removed in 2.0.
FIELDS_READ_BEFORE_2_0 = [("GET", "/jobs/{jobid}/exceptions", ["root-exception"])]

# Written by hand-made Jackson serializers, so the generated specs get them wrong; the names
# below are the ones Flink really sends (JobConfigInfo.Serializer, SerializedThrowableSerializer).
CUSTOM_SERIALIZED = [
    ("GET", "/jobs/{jobid}/config", ["execution-config", "user-config"]),
    ("GET", "/jobs/{jobid}/savepoints/{triggerid}", ["operation", "failure-cause", "stack-trace"]),
    ("GET", "/jobs/{jobid}/savepoints/{triggerid}", ["operation", "failure-cause", "class"]),
]


@pytest.mark.parametrize("version", VERSIONS)
def test_response_fields_read_by_the_collection_exist(version):
    spec = contract(version)
    fields = FIELDS_READ + (FIELDS_READ_BEFORE_2_0 if version.startswith("1.") else [])
    missing = [(m, t, "/".join(f)) for m, t, f in fields if not spec.has_field(m, t, f)]
    assert missing == []


def test_field_lookup_can_fail():
    assert not contract("2.3").has_field("GET", "/jobs/{jobid}", ["vertices", "[]", "max-parallelism"])


@pytest.mark.parametrize("method, template, field", CUSTOM_SERIALIZED)
def test_known_spec_gaps_are_still_gaps(method, template, field):
    """If a newer spec documents these fields, move them to FIELDS_READ."""
    assert not contract("2.3").has_field(method, template, field)
