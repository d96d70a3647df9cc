"""flinkops.cookbook.job_record_health: findings and health from a job record, on any backend."""
from __future__ import annotations

from ansible_collections.flinkops.cookbook.plugins.filter.job_record_health import FilterModule, job_record_health
from ansible_collections.flinkops.cookbook.plugins.module_utils.job_record import exception, record, snapshot

NOW = 1700000000000


def rec(**fields):
    fields.setdefault("state", "RUNNING")
    fields.setdefault("latest_completed", snapshot("savepoint", "a", "s3://sp/a", NOW - 60000))
    return record("cmf", name="orders", id="f" * 32, **fields)


def codes(health):
    return [f["code"] for f in health["findings"]]


def test_a_running_job_with_a_fresh_snapshot_is_ok():
    health = job_record_health(rec(), NOW)
    assert health["health"] == "ok" and health["findings"] == [] and health["platform"] == "cmf"


def test_a_restart_loop_is_critical_and_older_exceptions_a_warning():
    loop = [exception(NOW - i * 10000, "java.lang.NullPointerException", "npe") for i in range(3)]
    health = job_record_health(rec(exceptions=loop), NOW)
    assert health["health"] == "critical" and codes(health) == ["restart_loop"] and health["exceptions_in_window"] == 3
    old = [exception(NOW - 3600 * 1000, "java.io.IOException", "io")]
    assert codes(job_record_health(rec(exceptions=old), NOW)) == ["exceptions"]


def test_states_failed_snapshots_and_missing_or_old_ones():
    assert job_record_health(rec(state="FAILED"), NOW)["health"] == "critical"
    assert job_record_health(rec(state="SUSPENDED"), NOW)["health"] == "info"
    assert job_record_health(rec(state="CREATED"), NOW)["health"] == "warning"
    failed = snapshot("savepoint", "b", None, NOW - 1000, "Checkpoint expired")
    health = job_record_health(rec(latest_failed=failed), NOW)
    assert codes(health) == ["snapshot_failing"] and health["findings"][0]["evidence"] == "Checkpoint expired"
    assert codes(job_record_health(rec(latest_completed=None), NOW)) == ["no_snapshot"]
    old = snapshot("checkpoint", "7", "file:/cp/7", NOW - 2 * 86400 * 1000)
    assert codes(job_record_health(rec(latest_completed=old), NOW)) == ["snapshot_old"]
    assert job_record_health(rec(latest_completed=old), NOW, max_age_seconds=0)["findings"] == []
    assert FilterModule().filters()["job_record_health"] is job_record_health
