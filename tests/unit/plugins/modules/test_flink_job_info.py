"""flink_job_info.run: which jobs it reads (name, job_id, names)."""
from __future__ import annotations

from types import SimpleNamespace

from ansible_collections.flinkops.cookbook.plugins.modules.flink_job_info import run

from fake_flink import hex_id


def params(**overrides):
    return dict({"name": None, "job_id": None, "names": None, "active_only": True, "max_exceptions": 3}, **overrides)


def test_names_reads_only_the_named_jobs_and_no_other(flink):
    for index, name in enumerate(("orders", "payments", "audit")):
        flink.add_job(hex_id(0x100 + index), name=name)
    result = run(SimpleNamespace(params=params(names=["orders", "audit", "absent"]), client=flink.client()))
    assert sorted(j["name"] for j in result["jobs"]) == ["audit", "orders"]
    assert sorted(r["name"] for r in result["records"]) == ["audit", "orders"]
    assert not flink.calls_to("GET", "/jobs/%s/checkpoints" % hex_id(0x101)), "the job outside the list is not read"


def test_without_a_filter_every_active_job_is_read(flink):
    flink.add_job(hex_id(0x100), name="orders")
    flink.add_job(hex_id(0x101), name="payments", state="CANCELED")
    result = run(SimpleNamespace(params=params(), client=flink.client()))
    assert [j["name"] for j in result["jobs"]] == ["orders"]
