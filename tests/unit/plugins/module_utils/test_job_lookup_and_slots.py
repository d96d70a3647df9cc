"""flink_ops.find_active_job / require_active_job / check_slots / job_parallelism."""
from __future__ import annotations

import pytest

from ansible_collections.flinkops.cookbook.plugins.module_utils.flink_ops import (
    FlinkOpsError, check_slots, find_active_job, job_parallelism, require_active_job)
from fake_flink import hex_id

A, B, C = hex_id(0xA), hex_id(0xB), hex_id(0xC)


def test_two_active_jobs_with_one_name_is_an_error_naming_both(flink):
    flink.add_job(A, name="orders", state="RUNNING")
    flink.add_job(B, name="orders", state="RESTARTING")
    with pytest.raises(FlinkOpsError, match="pass job_id") as info:
        find_active_job(flink.client(), name="orders")
    assert A in str(info.value) and B in str(info.value)
    assert len(info.value.details["jobs"]) == 2


def test_terminal_jobs_are_ignored(flink):
    flink.add_job(A, name="orders", state="FINISHED")
    flink.add_job(B, name="orders", state="CANCELED")
    flink.add_job(C, name="orders", state="RUNNING")
    assert find_active_job(flink.client(), name="orders")["jid"] == C


def test_no_active_job_is_none(flink):
    flink.add_job(A, name="orders", state="FAILED")
    flink.add_job(B, name="payments", state="RUNNING")
    assert find_active_job(flink.client(), name="orders") is None


def test_find_by_job_id(flink):
    flink.add_job(A, name="orders")
    flink.add_job(B, name="orders", state="CANCELED")
    assert find_active_job(flink.client(), job_id=A)["jid"] == A
    assert find_active_job(flink.client(), job_id=B) is None


@pytest.mark.parametrize("job_id", ["1234", "A" * 32, "g" * 32, "a" * 33])
def test_bad_job_id_format_is_rejected_before_any_call(flink, job_id):
    with pytest.raises(FlinkOpsError, match="32-character hexadecimal"):
        find_active_job(flink.client(), job_id=job_id)
    assert flink.calls == []


def test_require_active_job_lists_the_known_jobs(flink):
    flink.add_job(A, name="payments", state="RUNNING")
    with pytest.raises(FlinkOpsError, match=r"no active job named 'orders'.*payments \(RUNNING\)"):
        require_active_job(flink.client(), name="orders")


def test_check_slots_refuses_when_too_few_are_free(flink):
    flink.slots = {"slots-total": 4, "slots-available": 1, "taskmanagers": 1}
    with pytest.raises(FlinkOpsError, match="needs 3 slots but only 2 are free") as info:
        check_slots(flink.client(), needed=3, freed=1)
    assert info.value.details == {"slots_needed": 3, "slots_available": 2}


def test_check_slots_counts_the_slots_the_current_job_frees(flink):
    flink.slots = {"slots-total": 4, "slots-available": 0, "taskmanagers": 1}
    assert check_slots(flink.client(), needed=2, freed=2) == 2


def test_job_parallelism_is_the_largest_vertex():
    assert job_parallelism({"vertices": [{"parallelism": 2}, {"parallelism": 5}]}) == 5
    assert job_parallelism({"vertices": []}) == 0
