"""flink_ops.check_savepoint_uri and the job labels (encode_labels / decode_labels / job_spec)."""
from __future__ import annotations

import pytest

from ansible_collections.flinkops.cookbook.plugins.module_utils.flink_ops import (
    SPEC_LABEL, VERSION_LABEL, FlinkOpsError, check_savepoint_uri, decode_labels, encode_labels, job_spec)
from fake_flink import hex_id, parse_map

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
