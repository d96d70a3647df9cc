"""flink_job_scale.preflight and in_place_support (RELIABILITY B16)."""
from __future__ import annotations

import pytest

from ansible_collections.flinkops.cookbook.plugins.module_utils.flink_ops import FlinkOpsError
from ansible_collections.flinkops.cookbook.plugins.modules.flink_job_scale import in_place_support, preflight


def job(*max_parallelisms):
    return {"vertices": [{"id": "v%d" % i, "parallelism": 2, "maxParallelism": m}
                         for i, m in enumerate(max_parallelisms)]}


# -- preflight --------------------------------------------------------------------------
def test_target_above_the_smallest_vertex_max_parallelism_is_refused():
    with pytest.raises(FlinkOpsError, match="exceeds the job's max parallelism 8") as info:
        preflight(job(128, 8), 9, None)
    assert info.value.details["max_parallelism"] == 8


def test_target_equal_to_max_parallelism_is_fine():
    assert preflight(job(128, 8), 8, None) is None


def test_vertices_without_max_parallelism_do_not_limit():
    assert preflight({"vertices": [{"id": "v", "parallelism": 2}]}, 64, None) is None


def test_target_above_source_partitions_is_refused():
    with pytest.raises(FlinkOpsError, match="exceeds the source's 6 partitions"):
        preflight(job(128), 8, 6)


def test_target_within_source_partitions_is_fine():
    assert preflight(job(128), 6, 6) is None


# -- in_place_support -------------------------------------------------------------------
def test_flink_1_17_has_no_resource_requirements_api(flink):
    flink.version = "1.17.2"
    flink.jm_config = {"jobmanager.scheduler": "adaptive"}
    supported, reason = in_place_support(flink.client())
    assert supported is False
    assert "1.17.2" in reason and "1.18" in reason


def test_default_scheduler_cannot_rescale_in_place(flink):
    flink.jm_config = {"jobmanager.scheduler": "default"}
    supported, reason = in_place_support(flink.client())
    assert supported is False
    assert reason == "jobmanager.scheduler is default, not adaptive"


def test_unset_scheduler_counts_as_default(flink):
    flink.jm_config = {}
    assert in_place_support(flink.client())[0] is False


def test_flink_2_3_with_the_adaptive_scheduler_rescales_in_place(flink):
    flink.version = "2.3.0"
    flink.jm_config = {"jobmanager.scheduler": "adaptive"}
    assert in_place_support(flink.client()) == (True, None)


def test_scheduler_name_is_case_insensitive(flink):
    flink.jm_config = {"jobmanager.scheduler": "Adaptive"}
    assert in_place_support(flink.client()) == (True, None)
