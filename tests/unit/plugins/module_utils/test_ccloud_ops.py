"""ccloud_ops against the contract-checked fake: statements as desired state (waits, FAILED and DEGRADED
with their exceptions, immutable SQL refused early, Confluent's replace paths) and compute pools."""
from __future__ import annotations

import pytest

from ansible_collections.flinkops.cookbook.plugins.module_utils._errors import ConfluentError
from ansible_collections.flinkops.cookbook.plugins.module_utils._http import HttpError
from ansible_collections.flinkops.cookbook.plugins.module_utils.ccloud_ops import ensure_pool, ensure_statement

SQL = "INSERT INTO orders_enriched SELECT * FROM orders WHERE amount > 0"


def want(**kw):
    p = {"name": "orders-v1", "state": "running", "statement": SQL, "compute_pool_id": None, "principal": None,
         "properties": None, "replaces": None, "carry_over_offsets": True, "allow_degraded": False, "wait": True,
         "wait_timeout": 10}
    p.update(kw)
    return p


def test_create_waits_for_running_and_a_second_run_changes_nothing(cc, sql):
    pool = cc.add_pool("p")
    result = ensure_statement(sql, want(compute_pool_id=pool, properties={"sql.current-database": "lkc-dr"}))
    assert result["changed"] and result["path"] == "created" and result["phase"] == "RUNNING"
    writes = len(cc.writes())
    again = ensure_statement(sql, want(compute_pool_id=pool, properties={"sql.current-database": "lkc-dr"}))
    assert not again["changed"] and again["path"] == "none" and len(cc.writes()) == writes


def test_check_mode_writes_nothing_and_says_the_path(cc, sql):
    result = ensure_statement(sql, want(), check_mode=True)
    assert result["changed"] and result["path"] == "created" and cc.writes() == []


def test_created_stopped_then_resumed_then_stopped_then_absent(cc, sql):
    assert ensure_statement(sql, want(state="stopped"))["phase"] == "STOPPED"
    assert ensure_statement(sql, want())["path"] == "resumed"
    assert cc.statement("orders-v1")["status"]["phase"] == "RUNNING"
    assert ensure_statement(sql, want(state="stopped"))["path"] == "stopped"
    assert ensure_statement(sql, want(state="absent"))["path"] == "deleted"
    assert cc.statement("orders-v1") is None
    assert not ensure_statement(sql, want(state="absent"))["changed"]


def test_a_sql_change_under_the_same_name_is_refused_before_anything_changes(cc, sql):
    ensure_statement(sql, want())
    writes = len(cc.writes())
    with pytest.raises(ConfluentError, match="cannot change statement .*set replaces: orders-v1.*nothing was changed"):
        ensure_statement(sql, want(statement=SQL.replace("> 0", ">= 0")))
    assert len(cc.writes()) == writes


def test_a_stateless_statement_is_replaced_by_carrying_over_its_offsets(cc, sql):
    ensure_statement(sql, want())
    result = ensure_statement(sql, want(name="orders-v2", replaces="orders-v1", statement=SQL.replace("> 0", ">= 0")))
    assert result["path"] == "carry_over_offsets" and result["phase"] == "RUNNING" and result["replaced"] == "orders-v1"
    new = cc.statement("orders-v2")
    assert new["spec"]["properties"]["sql.tables.initial-offset-from"] == "orders-v1"
    assert new["_carried_from"] == "orders-v1"
    assert cc.statement("orders-v1")["status"]["phase"] == "STOPPED"


def test_a_stateful_statement_is_stopped_first_then_replaced(cc, sql):
    agg = "INSERT INTO totals SELECT customer, SUM(amount) FROM orders GROUP BY customer"
    ensure_statement(sql, want(statement=agg))
    result = ensure_statement(sql, want(name="orders-v2", replaces="orders-v1", statement=agg + " HAVING SUM(amount) > 0"))
    assert result["path"] == "stop_then_create" and result["phase"] == "RUNNING"
    assert "sql.tables.initial-offset-from" not in cc.statement("orders-v2")["spec"]["properties"]
    stop = [e for e in cc.writes("flink") if e["method"] == "PATCH"][0]
    create = [e for e in cc.writes("flink") if e["method"] == "POST"][-1]
    assert stop["time"] < create["time"]


def test_failed_and_degraded_end_the_wait_with_the_exceptions(cc, sql):
    cc.inject("statement_failed", statement="orders-v1", message="org.apache.flink.table.api.ValidationException: "
                                                                 "Table 'orders' does not exist")
    with pytest.raises(ConfluentError, match="orders-v1 is FAILED.*Table 'orders' does not exist") as info:
        ensure_statement(sql, want())
    assert info.value.details["exceptions"][0]["name"] == "org.apache.flink.table.api.ValidationException"
    cc.inject("statement_degraded", statement="orders-v2", message="java.lang.RuntimeException: sink backpressure")
    ensure_statement(sql, want(name="orders-v2"))  # RUNNING first
    import time
    time.sleep(0.1)
    with pytest.raises(ConfluentError, match="orders-v2 is DEGRADED.*sink backpressure"):
        ensure_statement(sql, want(name="orders-v2"))
    assert not ensure_statement(sql, want(name="orders-v2", allow_degraded=True))["changed"]


def test_moving_to_another_pool_stops_moves_and_resumes(cc, sql):
    first, second = cc.add_pool("a"), cc.add_pool("b")
    ensure_statement(sql, want(compute_pool_id=first))
    result = ensure_statement(sql, want(compute_pool_id=second))
    assert result["path"] == "moved_compute_pool" and result["phase"] == "RUNNING"
    assert cc.statement("orders-v1")["spec"]["compute_pool_id"] == second


def pool(**kw):
    p = {"pool_id": None, "display_name": "dr-pool", "cloud": "AWS", "region": "us-west-2", "max_cfu": 10,
         "state": "present", "wait": True, "wait_timeout": 10}
    p.update(kw)
    return p


def test_pool_create_waits_for_provisioned_raise_cfu_and_second_runs_change_nothing(cc, pools):
    created = ensure_pool(pools, pool())
    assert created["outcome"] == "created" and created["pool"]["phase"] == "PROVISIONED"
    assert not ensure_pool(pools, pool())["changed"]
    checked = ensure_pool(pools, pool(max_cfu=20), check_mode=True)
    assert checked["changed"] and checked["diff"]["after"]["max_cfu"] == 20
    assert cc.pools[created["pool"]["id"]]["spec"]["max_cfu"] == 10
    raised = ensure_pool(pools, pool(max_cfu=20))
    assert raised["differences"] == ["max_cfu"] and raised["pool"]["max_cfu"] == 20
    assert raised["pool"]["phase"] == "PROVISIONED"
    assert not ensure_pool(pools, pool(max_cfu=20))["changed"]
    with pytest.raises(ConfluentError, match="region cannot change"):
        ensure_pool(pools, pool(region="eu-west-1"))
    assert ensure_pool(pools, pool(state="absent"))["outcome"] == "deleted"
    assert cc.pools == {}


def test_a_cfu_the_service_does_not_offer_is_its_400(cc, pools):
    ensure_pool(pools, pool())
    with pytest.raises(HttpError) as info:
        ensure_pool(pools, pool(max_cfu=15))
    assert info.value.status == 400 and "max_cfu must be one of 5, 10, 20, 30, 40, 50" in str(info.value)
