"""module_utils/storage_probe.py: a real write, read back and delete, against a tmp directory and
against a real moto S3 server on 127.0.0.1 (tests/unit/plugins/conftest.py starts it once per session)."""
from __future__ import annotations

import os
import pathlib

import pytest

from ansible_collections.flinkops.cookbook.plugins.module_utils import storage_probe
from ansible_collections.flinkops.cookbook.plugins.module_utils.storage_probe import ProbeError, parse_uri, probe
from tests.unit.plugins.conftest import DUMMY_S3, free_port


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
def test_s3_probe_round_trip_leaves_nothing(moto_url, s3):
    result = probe("s3://flink-state/checkpoints/orders", s3_options=dict(DUMMY_S3, endpoint_url=moto_url))
    assert result["backend"] == "s3"
    assert result["object"].startswith("s3://flink-state/checkpoints/orders/" + storage_probe.PROBE_PREFIX)
    assert set(result["latency_ms"]) == {"write", "read", "delete", "verify_deleted", "total"}
    assert s3.list_objects_v2(Bucket="flink-state").get("KeyCount") == 0


def test_s3a_scheme_and_bucket_root(moto_url, s3):
    result = probe("s3a://flink-state", s3_options=dict(DUMMY_S3, endpoint_url=moto_url, path_style=True))
    assert result["object"].startswith("s3://flink-state/" + storage_probe.PROBE_PREFIX)
    assert s3.list_objects_v2(Bucket="flink-state").get("KeyCount") == 0


def test_missing_bucket_fails_at_write_with_the_store_answer(moto_url):
    uri = "s3://no-such-bucket/checkpoints"
    with pytest.raises(ProbeError) as err:
        probe(uri, s3_options=dict(DUMMY_S3, endpoint_url=moto_url))
    assert err.value.step == "write" and err.value.uri == uri
    assert "NoSuchBucket" in err.value.cause and "404" in err.value.cause


def test_unreachable_endpoint_fails_at_write(moto_url):
    dead = "http://127.0.0.1:%d" % free_port()
    with pytest.raises(ProbeError) as err:
        probe("s3://flink-state/cp", s3_options=dict(DUMMY_S3, endpoint_url=dead, timeout=1))
    assert err.value.step == "write"
    assert "EndpointConnectionError" in err.value.cause or "Could not connect" in err.value.cause
