"""Fixtures of the Confluent Cloud client and rules tests: the contract-checked fake Confluent Cloud
(tests/support/fake_confluent_cloud.py) on 127.0.0.1, short waits, and the real clients pointed at it."""
from __future__ import annotations

import pytest

from ansible_collections.flinkops.cookbook.plugins.module_utils import ccloud_ops, cluster_link_ops
from ansible_collections.flinkops.cookbook.plugins.module_utils.ccloud_rest import ComputePoolClient
from ansible_collections.flinkops.cookbook.plugins.module_utils.ccloud_sql_rest import StatementClient
from ansible_collections.flinkops.cookbook.plugins.module_utils.kafka_rest import KafkaRestClient
from tests.support.fake_confluent_cloud import FakeConfluentCloud

CC_KEYS = {"kafka": ("kk", "ks"), "flink": ("fk", "fs"), "cloud": ("ck", "cs")}


@pytest.fixture
def cc(monkeypatch):
    monkeypatch.setattr(ccloud_ops, "POLL_INTERVAL", 0.03)
    monkeypatch.setattr(cluster_link_ops, "POLL_INTERVAL", 0.03)
    with FakeConfluentCloud(auth=CC_KEYS, start_delay=0.05, stop_delay=0.05, pool_delay=0.05) as fake:
        yield fake


@pytest.fixture
def kafka(cc):
    return KafkaRestClient.from_params(cc.module_params(), sleep=lambda s: None)


@pytest.fixture
def sql(cc):
    return StatementClient.from_params(cc.module_params(), sleep=lambda s: None)


@pytest.fixture
def pools(cc):
    return ComputePoolClient.from_params(cc.module_params(), sleep=lambda s: None)
