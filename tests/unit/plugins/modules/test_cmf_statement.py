"""Unit tests of plugins/modules/cmf_statement.py: the desired statement spec."""
from __future__ import annotations

from ansible_collections.flinkops.cookbook.plugins.modules import cmf_statement


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
