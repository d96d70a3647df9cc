"""flink_job.differences: when does a running job count as a different spec?"""
from __future__ import annotations

import pytest

from ansible_collections.flinkops.cookbook.plugins.modules.flink_job import COMPARED, differences

RUNNING = {"name": "orders", "version": "1.0.0", "jar_sha256": "ab" * 32, "jar_id": "1_orders.jar",
           "jar_name": "abab-orders.jar", "entry_class": "com.example.Orders", "args": ["--topic", "orders"],
           "parallelism": 2, "flink_configuration": {"pipeline.name": "orders"}}


def test_same_spec_has_no_differences():
    assert differences(RUNNING, dict(RUNNING)) == []


@pytest.mark.parametrize("key, value", [
    ("args", ["--topic", "orders-v2"]),
    ("version", "1.1.0"),
    ("jar_sha256", "cd" * 32),
    ("entry_class", "com.example.OrdersV2"),
    ("parallelism", 4),
    ("flink_configuration", {"pipeline.name": "orders", "state.backend.type": "rocksdb"}),
])
def test_a_changed_key_is_listed(key, value):
    assert differences(RUNNING, dict(RUNNING, **{key: value})) == [key]


def test_several_changes_are_listed_in_a_stable_order():
    desired = dict(RUNNING, jar_sha256="cd" * 32, version="2.0.0", args=[])
    assert differences(RUNNING, desired) == ["jar_sha256", "version", "args"]


def test_unset_desired_values_are_not_compared():
    desired = dict(RUNNING, parallelism=None, version=None, entry_class=None, flink_configuration={})
    assert differences(RUNNING, desired) == []


def test_removing_all_args_is_a_change():
    assert differences(RUNNING, dict(RUNNING, args=[])) == ["args"]


def test_jar_id_and_name_are_not_compared():
    """The same jar content uploaded again gets a new id: that is not a new version."""
    assert "jar_id" not in COMPARED and "jar_name" not in COMPARED
    assert differences(RUNNING, dict(RUNNING, jar_id="9_orders.jar", jar_name="other")) == []


def test_a_job_without_labels_always_differs():
    assert differences(None, dict(RUNNING)) != []
