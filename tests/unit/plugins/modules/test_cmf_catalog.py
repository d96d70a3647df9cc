"""Unit tests of plugins/modules/cmf_catalog.py: the catalog and database specs."""
from __future__ import annotations

from ansible_collections.flinkops.cookbook.plugins.modules import cmf_catalog


def test_catalog_and_database_specs():
    params = {"schema_registry": {"connection_config": {"schema.registry.url": "http://sr"},
                                  "connection_secret_id": None}}
    assert cmf_catalog.catalog_spec(params) == {"srInstance": {"connectionConfig": {"schema.registry.url": "http://sr"}}}
    db = {"name": "db", "connection_config": {"bootstrap.servers": "k:9092"}, "connection_secret_id": "kafka",
          "ddl_environments": ["env"]}
    assert cmf_catalog.database_spec(db) == {"kafkaCluster": {"connectionConfig": {"bootstrap.servers": "k:9092"},
                                                              "connectionSecretId": "kafka"},
                                             "ddlEnvironments": ["env"]}
