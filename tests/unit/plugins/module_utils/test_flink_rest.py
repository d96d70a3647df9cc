"""Unit tests of module_utils/flink_rest.py: the client's calls, and every request checked against the
Flink REST contract (the OpenAPI specs under ../shared/specs/flink)."""
from __future__ import annotations

import inspect
import pytest
import re

from flink_contract import contract, ContractError, VERSIONS
from pathlib import Path

from ansible_collections.flinkops.cookbook.plugins.module_utils import flink_ops, flink_rest
from ansible_collections.flinkops.cookbook.plugins.module_utils._http import HttpError
from ansible_collections.flinkops.cookbook.plugins.module_utils.flink_rest import (
    FlinkRestClient, new_id, parse_version)

from fake_flink import BASE, connection_error, hex_id


# ================================================================================================
# flink_rest.FlinkRestClient: what each call sends (bodies, retry policy, version switches).
# ================================================================================================
JOB = hex_id(1)
TRIGGER = hex_id(2)
SAVEPOINT = "s3://savepoints/savepoint-0001"


@pytest.mark.parametrize("text, expected", [
    ("2.3.0", (2, 3, 0)), ("1.20", (1, 20, 0)), ("2.1-SNAPSHOT", (2, 1, 0)), ("", (0, 0, 0)), (None, (0, 0, 0)),
])
def test_parse_version(text, expected):
    assert parse_version(text) == expected


def test_new_id_is_32_hex():
    assert len(new_id()) == 32 and int(new_id(), 16) >= 0
    assert new_id() != new_id()


def test_from_params_builds_the_transport():
    client = FlinkRestClient.from_params({"endpoint": BASE + "/", "token": "t", "validate_certs": False,
                                          "request_timeout": 7, "retries": 1}, sleep=lambda s: None)
    assert client.http.base_url == BASE
    assert client.http.timeout == 7 and client.http.retries == 1
    assert client.http.session.verify is False
    assert client.http.session.headers["Authorization"] == "Bearer t"


def test_config_is_fetched_once(flink):
    client = flink.client()
    assert client.version == (2, 3, 0) and client.version_string == "2.3.0"
    assert len(flink.calls_to("GET", "/config")) == 1


def test_trigger_savepoint_body_and_retry(flink):
    flink.add_job(JOB)
    flink.on("POST", "/jobs/%s/savepoints" % JOB, connection_error(), {"request-id": TRIGGER})
    flink.client().trigger_savepoint(JOB, TRIGGER, "s3://savepoints", format_type="NATIVE")

    calls = flink.calls_to("POST", "/jobs/%s/savepoints" % JOB)
    assert len(calls) == 2, "a savepoint trigger carries its own id, so a lost answer is retried"
    assert calls[-1].body == {"cancel-job": False, "triggerId": TRIGGER, "formatType": "NATIVE",
                              "target-directory": "s3://savepoints"}


def test_stop_with_savepoint_body_never_drains_by_default(flink):
    flink.add_job(JOB)
    flink.client().stop_with_savepoint(JOB, TRIGGER, "s3://savepoints")
    assert flink.calls_to("POST", "/jobs/%s/stop" % JOB)[0].body == {
        "drain": False, "triggerId": TRIGGER, "formatType": "CANONICAL", "targetDirectory": "s3://savepoints"}


def test_stop_without_target_directory_omits_it(flink):
    flink.add_job(JOB)
    flink.client().stop_with_savepoint(JOB, TRIGGER, drain=True)
    body = flink.calls_to("POST", "/jobs/%s/stop" % JOB)[0].body
    assert "targetDirectory" not in body and body["drain"] is True


def test_cancel_is_a_patch_with_mode_cancel(flink):
    flink.add_job(JOB)
    flink.client().cancel(JOB)
    call = flink.calls_to("PATCH", "/jobs/%s" % JOB)[0]
    assert call.params == {"mode": "cancel"}
    assert flink.jobs[JOB]["state"] == "CANCELED"


def test_job_or_none_maps_404_to_none_and_raises_other_errors(flink):
    client = flink.client()
    assert client.job_or_none(JOB) is None
    flink.on("GET", "/jobs/%s" % JOB, (500, {"errors": ["boom"]}))
    with pytest.raises(HttpError, match="HTTP 500"):
        client.job_or_none(JOB)


@pytest.mark.parametrize("version, key", [("1.18.1", "restoreMode"), ("1.19.2", "restoreMode"),
                                          ("1.20.0", "claimMode"), ("2.0.0", "claimMode"), ("2.3.0", "claimMode")])
def test_run_jar_names_the_claim_mode_per_version(flink, version, key):
    flink.version = version
    flink.client().run_jar("x.jar", JOB, savepoint_path=SAVEPOINT, claim_mode="NO_CLAIM")
    body = flink.calls_to("POST", "/jars/x.jar/run")[0].body
    assert body[key] == "NO_CLAIM"
    assert ({"claimMode", "restoreMode"} - {key}).isdisjoint(body)


def test_run_jar_full_body(flink):
    flink.client().run_jar("x.jar", JOB, entry_class="com.example.Job", args=["--in", "a b"], parallelism="3",
                           savepoint_path=SAVEPOINT, allow_non_restored_state=True, claim_mode="CLAIM",
                           flink_configuration={"pipeline.name": "orders", "execution.checkpointing.interval": 10})
    assert flink.calls_to("POST", "/jars/x.jar/run")[0].body == {
        "jobId": JOB, "allowNonRestoredState": True, "entryClass": "com.example.Job",
        "programArgsList": ["--in", "a b"], "parallelism": 3, "savepointPath": SAVEPOINT, "claimMode": "CLAIM",
        "flinkConfiguration": {"pipeline.name": "orders", "execution.checkpointing.interval": "10"}}


def test_run_jar_minimal_body_has_no_savepoint_keys_and_asks_no_version(flink):
    flink.client().run_jar("x.jar", JOB, claim_mode="NO_CLAIM")
    assert flink.calls_to("POST", "/jars/x.jar/run")[0].body == {"jobId": JOB, "allowNonRestoredState": False}
    assert not flink.calls_to("GET", "/config")


def test_run_jar_is_not_retried(flink):
    flink.on("POST", "/jars/x.jar/run", connection_error(), {"jobid": JOB})
    with pytest.raises(HttpError):
        flink.client(retries=3).run_jar("x.jar", JOB)
    assert len(flink.calls_to("POST", "/jars/x.jar/run")) == 1


def test_upload_jar_returns_the_jar_id(flink, tmp_path):
    jar = tmp_path / "job.jar"
    jar.write_bytes(b"PK\x03\x04")
    flink.on("POST", "/jars/upload", {"filename": "/tmp/flink-web/flink-web-upload/1234_named.jar",
                                      "status": "success"})
    assert flink.client().upload_jar(str(jar), "named.jar") == "1234_named.jar"
    request = flink.calls_to("POST", "/jars/upload")[0].request
    assert request.headers["Content-Type"].startswith("multipart/form-data")
    assert b'name="jarfile"; filename="named.jar"' in request.body


def test_jobmanager_config_list_becomes_a_dict(flink):
    flink.jm_config = {"jobmanager.scheduler": "adaptive"}
    assert flink.client().jobmanager_config() == {"jobmanager.scheduler": "adaptive"}


@pytest.mark.parametrize("version, supported", [("1.17.2", False), ("1.18.0", True), ("2.3.0", True)])
def test_supports_resource_requirements(flink, version, supported):
    flink.version = version
    assert flink.client().supports_resource_requirements is supported


# ================================================================================================
# FlinkRestClient against the Flink REST OpenAPI specs of 1.18 ... 2.3.
#
# Every request the client can send is validated (path, method, query parameters and JSON
# body) with openapi-core against the spec of the Flink version the fake cluster reports,
# and the response fields the collection reads are looked up in the response schemas.
# ================================================================================================
CONTRACT_JOB = hex_id(1)
CONTRACT_TRIGGER = hex_id(2)
VERTEX = hex_id(3)
TASKMANAGER = hex_id(5)  # real ids look like "10.0.0.7:41234-a1b2c3"; the spec wants 32 hex
CONTRACT_SAVEPOINT = "s3://savepoints/savepoint-0001"
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
    "job_metrics": lambda c, tmp: c.job_metrics(CONTRACT_JOB, ["numRestarts"]),
    "jobs_overview": lambda c, tmp: c.jobs_overview(),
    "job": lambda c, tmp: c.job(CONTRACT_JOB),
    "job_or_none": lambda c, tmp: c.job_or_none(CONTRACT_JOB),
    "job_config": lambda c, tmp: c.job_config(CONTRACT_JOB),
    "job_checkpoints": lambda c, tmp: c.job_checkpoints(CONTRACT_JOB),
    "job_checkpoint_config": lambda c, tmp: c.job_checkpoint_config(CONTRACT_JOB),
    "job_exceptions": lambda c, tmp: c.job_exceptions(CONTRACT_JOB, max_exceptions=5),
    "vertex_backpressure": lambda c, tmp: c.vertex_backpressure(CONTRACT_JOB, VERTEX),
    "cancel": lambda c, tmp: c.cancel(CONTRACT_JOB),
    "resource_requirements": lambda c, tmp: c.resource_requirements(CONTRACT_JOB),
    "set_resource_requirements": lambda c, tmp: c.set_resource_requirements(
        CONTRACT_JOB, {VERTEX: {"parallelism": {"lowerBound": 1, "upperBound": 4}}}),
    "trigger_savepoint": lambda c, tmp: c.trigger_savepoint(CONTRACT_JOB, CONTRACT_TRIGGER, "s3://savepoints", "NATIVE"),
    "stop_with_savepoint": lambda c, tmp: c.stop_with_savepoint(CONTRACT_JOB, CONTRACT_TRIGGER, "s3://savepoints", drain=True),
    "savepoint_status": lambda c, tmp: c.savepoint_status(CONTRACT_JOB, CONTRACT_TRIGGER),
    "jars": lambda c, tmp: c.jars(),
    "upload_jar": _upload,
    "run_jar": lambda c, tmp: c.run_jar(
        "1234_job.jar", CONTRACT_JOB, entry_class="com.example.Job", args=["--a", "1"], parallelism=2,
        savepoint_path=CONTRACT_SAVEPOINT, allow_non_restored_state=True, claim_mode="NO_CLAIM",
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
    flink.add_job(CONTRACT_JOB)
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
    flink.add_job(CONTRACT_JOB)
    send(flink.client())
    return flink.calls_to(method, path)[-1]


@pytest.mark.parametrize("version", VERSIONS)
def test_trigger_savepoint_body_conforms(flink, version):
    call = _body(flink, version, lambda c: c.trigger_savepoint(CONTRACT_JOB, CONTRACT_TRIGGER, "s3://sp"), "POST",
                 "/jobs/%s/savepoints" % CONTRACT_JOB)
    contract(version).check_request(call.request)


@pytest.mark.parametrize("version", VERSIONS)
def test_stop_with_savepoint_body_conforms(flink, version):
    call = _body(flink, version, lambda c: c.stop_with_savepoint(CONTRACT_JOB, CONTRACT_TRIGGER, "s3://sp"), "POST",
                 "/jobs/%s/stop" % CONTRACT_JOB)
    contract(version).check_request(call.request)


@pytest.mark.parametrize("version", VERSIONS)
def test_set_resource_requirements_body_conforms(flink, version):
    requirements = {VERTEX: {"parallelism": {"lowerBound": 1, "upperBound": 4}},
                    hex_id(4): {"parallelism": {"lowerBound": 2, "upperBound": 2}}}
    call = _body(flink, version, lambda c: c.set_resource_requirements(CONTRACT_JOB, requirements), "PUT",
                 "/jobs/%s/resource-requirements" % CONTRACT_JOB)
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
        contract(version).check_body("POST", "/jars/x.jar/run", {"jobId": CONTRACT_JOB, "parallelism": "two"})


@pytest.mark.parametrize("version", ["1.18", "1.19"])
def test_claim_mode_is_unknown_before_1_20(version):
    with pytest.raises(ContractError, match="claimMode"):
        contract(version).check_body("POST", "/jars/x.jar/run", {"savepointPath": CONTRACT_SAVEPOINT, "claimMode": "CLAIM"})


def test_program_args_string_is_gone_in_2_3():
    contract("1.20").check_body("POST", "/jars/x.jar/run", {"programArgs": "--a 1"})
    with pytest.raises(ContractError, match="programArgs"):
        contract("2.3").check_body("POST", "/jars/x.jar/run", {"programArgs": "--a 1"})


def test_stop_body_uses_camel_case_target_directory():
    with pytest.raises(ContractError, match="target-directory"):
        contract("2.3").check_body("POST", "/jobs/%s/stop" % CONTRACT_JOB, {"target-directory": "s3://sp"})


def test_checker_rejects_a_malformed_trigger_id():
    with pytest.raises(ContractError):
        contract("2.3").check_body("POST", "/jobs/%s/savepoints" % CONTRACT_JOB, {"triggerId": "not-hex"})


def test_checker_rejects_an_unknown_path_and_a_wrong_method():
    with pytest.raises(ContractError, match="no path"):
        contract("2.3").operation("POST", "/jobs/%s/savepoint" % CONTRACT_JOB)
    with pytest.raises(ContractError, match="not for DELETE"):
        contract("2.3").operation("DELETE", "/jobs/%s" % CONTRACT_JOB)


def test_checker_rejects_a_bad_query_parameter():
    with pytest.raises(ContractError, match="mode"):
        contract("2.3").check_body("PATCH", "/jobs/%s" % CONTRACT_JOB, None, params={"mode": "kill"})


# -- a whole upgrade, request by request ----------------------------------------------------
@pytest.mark.parametrize("version", VERSIONS)
def test_every_request_of_an_upgrade_conforms(flink, fake_clocks, version):
    flink.version = FLINK_VERSION[version]
    old_spec = {"name": "orders", "jar_id": "1_old.jar", "version": "1", "args": ["--a"], "parallelism": 2}
    new_spec = dict(old_spec, jar_id="2_new.jar", version="2")
    flink.add_job(CONTRACT_JOB, spec_labels=flink_ops.encode_labels(old_spec))
    flink.jar_behaviour["2_new.jar"] = {"exceptions": [{"exceptionName": "java.lang.RuntimeException",
                                                        "stacktrace": "java.lang.RuntimeException: boom"}]}
    with pytest.raises(flink_ops.FlinkOpsError, match="rolled back"):
        flink_ops.redeploy_from_savepoint(flink.client(), CONTRACT_JOB, old_spec, new_spec, "s3://sp")
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
