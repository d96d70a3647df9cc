"""Unit tests of plugins/modules/cmf_compute_pool.py: the desired compute pool spec."""
from __future__ import annotations

from ansible_collections.flinkops.cookbook.plugins.modules import cmf_compute_pool


def test_compute_pool_spec():
    spec = cmf_compute_pool.desired_spec({"type": "SHARED", "pool_state": "SUSPENDED",
                                          "cluster_spec": {"flinkConfiguration": {"x": 1}}})
    assert spec == {"type": "SHARED", "state": "SUSPENDED", "clusterSpec": {"flinkConfiguration": {"x": "1"}}}
