"""flink_storage_probe: a real write, read back and delete, against a tmp directory and against
a real moto S3 server on 127.0.0.1 (started per module, stopped in teardown)."""
from __future__ import annotations

import json
import os
import pathlib
import socket
import subprocess
import sys
import time

import pytest

from ansible.module_utils.testing import patch_module_args
from ansible_collections.flinkops.cookbook.plugins.module_utils import storage_probe
from ansible_collections.flinkops.cookbook.plugins.module_utils.storage_probe import ProbeError, parse_uri, probe
from ansible_collections.flinkops.cookbook.plugins.modules import flink_storage_probe

boto3 = pytest.importorskip("boto3")
DUMMY = {"access_key": "testing", "secret_key": "testing", "region": "us-east-1"}


def leftovers(directory):
    return [p.name for p in pathlib.Path(directory).iterdir() if p.name.startswith(storage_probe.PROBE_PREFIX)]


# -- URIs --------------------------------------------------------------------------------------
@pytest.mark.parametrize("uri, expected", [
    ("s3://bucket/checkpoints", ("s3", "bucket", "checkpoints")),
    ("s3a://bucket/a/b/", ("s3a", "bucket", "a/b")),
    ("s3://bucket", ("s3", "bucket", "")),
    ("file:///data/cp", ("file", "/data/cp", "")),
    ("file:/data/cp", ("file", "/data/cp", "")),          # the form Flink reports
    ("file://localhost/data/cp", ("file", "/data/cp", "")),
    ("/data/cp/", ("file", "/data/cp", "")),
])
def test_uris_are_parsed(uri, expected):
    assert parse_uri(uri) == expected


@pytest.mark.parametrize("uri, words", [
    ("checkpoints", "not an absolute path"),
    ("file://relative/dir", "absolute path"),
    ("s3:///no-bucket", "needs a bucket"),
    ("hdfs://nn/cp", "not supported"),
])
def test_bad_uris_fail_at_parse(uri, words):
    with pytest.raises(ProbeError, match=words) as err:
        parse_uri(uri)
    assert err.value.step == "parse"


# -- file:// -----------------------------------------------------------------------------------
def test_file_probe_writes_reads_deletes_and_leaves_nothing(tmp_path):
    result = probe("file://%s" % tmp_path, size=4096)
    assert result["backend"] == "file" and result["bytes"] == 4096
    assert set(result["latency_ms"]) == {"write", "read", "delete", "verify_deleted", "total"}
    assert all(v >= 0 for v in result["latency_ms"].values())
    assert result["object"].startswith(str(tmp_path) + "/" + storage_probe.PROBE_PREFIX)
    assert leftovers(tmp_path) == []


def test_plain_absolute_path_and_flink_form_work(tmp_path):
    assert probe(str(tmp_path))["backend"] == "file"
    assert probe("file:%s" % tmp_path)["backend"] == "file"
    assert leftovers(tmp_path) == []


def test_unwritable_path_names_uri_step_and_cause(tmp_path):
    # Root ignores permission bits: a directory below a regular file is unwritable for everyone.
    blocker = tmp_path / "afile"
    blocker.write_text("not a directory")
    uri = "file://%s/checkpoints" % blocker
    with pytest.raises(ProbeError) as err:
        probe(uri)
    assert err.value.uri == uri and err.value.step == "write"
    assert "does not exist" in err.value.cause or "Not a directory" in err.value.cause
    assert str(err.value).startswith("storage probe of %s failed at step 'write'" % uri)


def test_a_file_instead_of_a_directory_is_named(tmp_path):
    blocker = tmp_path / "cps"
    blocker.write_text("x")
    with pytest.raises(ProbeError, match="is not a directory") as err:
        probe("file://%s" % blocker)
    assert err.value.step == "write"


def test_read_only_directory_fails_at_write_for_a_non_root_user(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only directories")
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o500)
    with pytest.raises(ProbeError, match="PermissionError") as err:
        probe(str(ro))
    assert err.value.step == "write"


def test_a_corrupted_read_is_reported_and_the_object_still_deleted(tmp_path, monkeypatch):
    real_open = open

    def corrupting_open(path, mode="r", *args, **kwargs):
        handle = real_open(path, mode, *args, **kwargs)
        if "r" in mode and str(path).startswith(str(tmp_path)):
            handle.read = lambda *a: b"garbage"
        return handle

    monkeypatch.setattr("builtins.open", corrupting_open)
    with pytest.raises(ProbeError, match="differ") as err:
        probe(str(tmp_path))
    assert err.value.step == "read"
    assert leftovers(tmp_path) == []


# -- S3 against a real moto server ------------------------------------------------------------
def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def moto_url():
    binary = pathlib.Path(sys.executable).with_name("moto_server")
    if not binary.exists():
        pytest.skip("moto_server is not installed in this venv (pip install 'moto[server]')")
    port = _free_port()
    proc = subprocess.Popen([str(binary), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("moto_server did not start on port %d" % port)
                time.sleep(0.1)
        yield "http://127.0.0.1:%d" % port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def s3(moto_url):
    client = boto3.client("s3", endpoint_url=moto_url, aws_access_key_id="testing",
                          aws_secret_access_key="testing", region_name="us-east-1")
    client.create_bucket(Bucket="flink-state")
    yield client
    for obj in client.list_objects_v2(Bucket="flink-state").get("Contents", []):
        client.delete_object(Bucket="flink-state", Key=obj["Key"])
    client.delete_bucket(Bucket="flink-state")


def test_s3_probe_round_trip_leaves_nothing(moto_url, s3):
    result = probe("s3://flink-state/checkpoints/orders", s3_options=dict(DUMMY, endpoint_url=moto_url))
    assert result["backend"] == "s3"
    assert result["object"].startswith("s3://flink-state/checkpoints/orders/" + storage_probe.PROBE_PREFIX)
    assert set(result["latency_ms"]) == {"write", "read", "delete", "verify_deleted", "total"}
    assert s3.list_objects_v2(Bucket="flink-state").get("KeyCount") == 0


def test_s3a_scheme_and_bucket_root(moto_url, s3):
    result = probe("s3a://flink-state", s3_options=dict(DUMMY, endpoint_url=moto_url, path_style=True))
    assert result["object"].startswith("s3://flink-state/" + storage_probe.PROBE_PREFIX)
    assert s3.list_objects_v2(Bucket="flink-state").get("KeyCount") == 0


def test_missing_bucket_fails_at_write_with_the_store_answer(moto_url):
    uri = "s3://no-such-bucket/checkpoints"
    with pytest.raises(ProbeError) as err:
        probe(uri, s3_options=dict(DUMMY, endpoint_url=moto_url))
    assert err.value.step == "write" and err.value.uri == uri
    assert "NoSuchBucket" in err.value.cause and "404" in err.value.cause


def test_unreachable_endpoint_fails_at_write(moto_url):
    dead = "http://127.0.0.1:%d" % _free_port()
    with pytest.raises(ProbeError) as err:
        probe("s3://flink-state/cp", s3_options=dict(DUMMY, endpoint_url=dead, timeout=1))
    assert err.value.step == "write"
    assert "EndpointConnectionError" in err.value.cause or "Could not connect" in err.value.cause


# -- the module ---------------------------------------------------------------------------------
@pytest.fixture
def run_module(capsys):
    """Run flink_storage_probe.main() in-process; return (failed, result dict)."""
    def run(args, check_mode=False):
        if check_mode:
            args = dict(args, _ansible_check_mode=True)
        capsys.readouterr()
        with patch_module_args(args):
            with pytest.raises(SystemExit) as exit_info:
                flink_storage_probe.main()
        out = capsys.readouterr().out
        return exit_info.value.code != 0, json.loads(out[out.index("{"):])
    return run


def test_module_probe_is_not_a_change(run_module, tmp_path):
    failed, result = run_module({"uri": "file://%s" % tmp_path})
    assert not failed and result["changed"] is False
    assert "wrote, read back and deleted 1024 bytes" in result["msg"]
    assert leftovers(tmp_path) == []


def test_module_check_mode_writes_nothing(run_module, monkeypatch):
    monkeypatch.setattr(storage_probe, "probe", lambda *a, **k: pytest.fail("check mode must not probe"))
    failed, result = run_module({"uri": "s3://flink-state/cp"}, check_mode=True)
    assert not failed and result["changed"] is False
    assert result["object"] == "s3://flink-state/cp/%s<random>" % storage_probe.PROBE_PREFIX
    assert result["steps"][0].startswith("write 1024 bytes")


def test_module_failure_names_uri_step_and_cause(run_module, tmp_path):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    uri = "file://%s/sub" % blocker
    failed, result = run_module({"uri": uri})
    assert failed and result["changed"] is False
    assert result["uri"] == uri and result["step"] == "write" and result["cause"]
    assert uri in result["msg"] and "write" in result["msg"]


def test_module_reads_aws_credentials_from_the_environment(run_module, moto_url, s3, monkeypatch):
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_REGION", "us-east-1"), ("AWS_ENDPOINT_URL_S3", moto_url)):
        monkeypatch.setenv(name, value)
    failed, result = run_module({"uri": "s3://flink-state/checkpoints"})
    assert not failed, result
    assert result["backend"] == "s3" and "testing" not in json.dumps(result)


def test_secrets_are_no_log():
    spec = flink_storage_probe.argument_spec()
    assert all(spec[k]["no_log"] for k in ("access_key", "secret_key", "session_token"))
