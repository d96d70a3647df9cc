"""flink_rest.FlinkRestClient: what each call sends (bodies, retry policy, version switches)."""
from __future__ import annotations

import pytest

from ansible_collections.flinkops.cookbook.plugins.module_utils._http import HttpError
from ansible_collections.flinkops.cookbook.plugins.module_utils.flink_rest import (
    FlinkRestClient, new_id, parse_version)
from fake_flink import BASE, connection_error, hex_id

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
