"""Pure helpers of cmf_secret, cmf_statement, cmf_compute_pool and cmf_catalog."""
from __future__ import annotations

import pytest

from ansible_collections.flinkops.cookbook.plugins.module_utils.cmf_rest import CmfError
from ansible_collections.flinkops.cookbook.plugins.modules import cmf_catalog, cmf_compute_pool, cmf_secret, cmf_statement

SECRET = {"metadata": {"name": "creds", "labels": {"a": "1"}}, "spec": {}, "status": {"version": "3"}}


def secret_params(**kw):
    params = {"name": "creds", "data": {"password": "new"}, "update_secrets": False, "labels": None,
              "annotations": None}
    params.update(kw)
    return params


def test_secret_values_are_not_compared_without_update_secrets():
    found, body = cmf_secret.plan_secret(secret_params(), SECRET)
    assert found == [] and body["spec"] == {"data": {"password": "new"}}


def test_update_secrets_always_writes_the_values():
    found, _body = cmf_secret.plan_secret(secret_params(update_secrets=True), SECRET)
    assert found == ["data"]


def test_a_label_change_on_a_secret_needs_the_values():
    with pytest.raises(CmfError, match="needs data"):
        cmf_secret.plan_secret(secret_params(data=None, labels={"a": "2"}), SECRET)


def test_secret_views_mask_values():
    body = {"metadata": {"name": "creds"}, "spec": {"data": {"password": "s3cr3t"}}}
    assert cmf_secret.masked_view(body)["spec"] == {"data": {"password": cmf_secret.MASK}}
    assert cmf_secret.version(SECRET) == "3"


def stmt_params(**kw):
    params = {"statement": "SELECT 1", "compute_pool": "pool", "parallelism": None, "properties": {"n": 1},
              "flink_configuration": {"a.b": True}, "state": "running"}
    params.update(kw)
    return params


def test_statement_spec_strings_and_stopped():
    assert cmf_statement.desired_spec(stmt_params()) == {
        "statement": "SELECT 1", "computePoolName": "pool", "properties": {"n": "1"},
        "flinkConfiguration": {"a.b": "true"}, "stopped": False}
    assert cmf_statement.desired_spec(stmt_params(state="stopped"))["stopped"] is True
    assert "stopped" not in cmf_statement.desired_spec(stmt_params(state="absent"))


def test_compute_pool_spec():
    spec = cmf_compute_pool.desired_spec({"type": "SHARED", "pool_state": "SUSPENDED",
                                          "cluster_spec": {"flinkConfiguration": {"x": 1}}})
    assert spec == {"type": "SHARED", "state": "SUSPENDED", "clusterSpec": {"flinkConfiguration": {"x": "1"}}}


def test_catalog_and_database_specs():
    params = {"schema_registry": {"connection_config": {"schema.registry.url": "http://sr"},
                                  "connection_secret_id": None}}
    assert cmf_catalog.catalog_spec(params) == {"srInstance": {"connectionConfig": {"schema.registry.url": "http://sr"}}}
    db = {"name": "db", "connection_config": {"bootstrap.servers": "k:9092"}, "connection_secret_id": "kafka",
          "ddl_environments": ["env"]}
    assert cmf_catalog.database_spec(db) == {"kafkaCluster": {"connectionConfig": {"bootstrap.servers": "k:9092"},
                                                              "connectionSecretId": "kafka"},
                                             "ddlEnvironments": ["env"]}
