"""The Confluent Cloud modules through real ``ansible-playbook`` runs against the contract-checked
fake (tests/support/fake_confluent_cloud.py): connection settings once for the action group
``flinkops.cookbook.confluent_cloud``; check mode and diff write nothing; a first run converges; a
second run changes nothing and sends no write; the secrets never appear in the output; an injected
failure is reported with the resource, the status and the server's message."""
from __future__ import annotations

import json

import pytest

from tests.integration.ccloud_support import KEYS, run, t
from tests.support.fake_confluent_cloud import FakeConfluentCloud

pytestmark = pytest.mark.integration

SQL = "INSERT INTO orders_enriched SELECT * FROM orders WHERE amount > 0"
LINK = "primary-to-dr"


@pytest.fixture
def cc():
    with FakeConfluentCloud(auth=KEYS, start_delay=0.2, stop_delay=0.2, pool_delay=0.2) as fake:
        fake.add_link("lkc-dr", LINK, source_cluster_id="lkc-primary",
                      topics={"orders": {"lag": 3}, "refunds": {"status": "FAILED"}})
        fake.add_consumer_group("lkc-dr", "orders-enrichment", {"orders": [4, 1]})
        yield fake


def converge_tasks(pool_cfu=10):
    return [
        t("pool", "ccloud_compute_pool", display_name="dr-pool", cloud="AWS", region="us-west-2", max_cfu=pool_cfu),
        t("statement", "ccloud_flink_statement", name="orders-v1", statement=SQL,
          compute_pool_id="{{ lookup('ansible.builtin.env', 'CC_POOL') }}",
          properties={"sql.current-database": "lkc-dr"}),
        t("failover", "cluster_link_failover", link=LINK, max_lag=10),
        t("links", "cluster_link_info", link=LINK),
        t("lag", "kafka_consumer_group_info", groups=["orders-enrichment"]),
        t("statements", "ccloud_flink_statement_info", names=["orders-v1", "nope"]),
        t("pools", "ccloud_compute_pool_info"),
    ]


def test_check_mode_first_run_second_run_and_no_secret_in_the_output(cc):
    pool = cc.add_pool("dr-pool", max_cfu=5, region="us-west-2")
    env = {"CC_POOL": pool}
    # the info modules only read: check mode and the second run need only the three that write
    checked = run(cc, converge_tasks()[:3], check=True, diff=True, extra_env=env)
    assert checked.rc == 0, checked.stdout[-3000:]
    assert cc.writes() == [], "check mode must write nothing"
    assert checked.task("pool")["changed"] and checked.task("pool")["diff"]["after"]["max_cfu"] == 10
    assert checked.task("statement")["path"] == "created"
    assert [x["result"] for x in checked.task("failover")["topics"]] == ["would_switch", "would_switch"]

    first = run(cc, converge_tasks(), diff=True, extra_env=env)
    assert first.rc == 0, first.stdout[-3000:]
    assert first.task("pool")["outcome"] == "updated" and cc.pools[pool]["spec"]["max_cfu"] == 10
    assert first.task("pool")["pool"]["phase"] == "PROVISIONED"
    assert first.task("statement")["phase"] == "RUNNING" and cc.statement("orders-v1")["spec"]["compute_pool_id"] == pool
    assert first.task("failover")["switched"] == ["orders", "refunds"]
    assert first.task("links")["statuses"] == {"STOPPED": ["orders", "refunds"]}
    assert first.task("lag")["groups"][0]["total_lag"] == 5
    assert first.task("statements")["phases"] == {"RUNNING": ["orders-v1"]} and first.task("statements")["missing"] == ["nope"]
    assert [p["id"] for p in first.task("pools")["pools"]] == [pool]
    for secret in (KEYS["kafka"][1], KEYS["flink"][1], KEYS["cloud"][1]):
        assert secret not in first.stdout and secret not in first.stderr

    writes = len(cc.writes())
    second = run(cc, converge_tasks()[:3], extra_env=env)
    assert second.rc == 0, second.stdout[-3000:]
    assert second.changed_count() == 0, second
    assert len(cc.writes()) == writes


def test_failures_name_the_resource_the_status_and_the_servers_message(cc):
    cc.inject("status", status=500, method="POST", path="/statements$",
              message="Internal error: the gateway is restarting")
    cc.set_lag("lkc-dr", LINK, "orders", 50)
    tasks = [dict(t("statement", "ccloud_flink_statement", name="orders-v1", statement=SQL), ignore_errors=True),
             dict(t("failover", "cluster_link_failover", link=LINK, max_lag=10), ignore_errors=True),
             t("created", "ccloud_flink_statement", name="orders-v1", statement=SQL),
             dict(t("sql change", "ccloud_flink_statement", name="orders-v1", statement=SQL + " AND amount < 9"),
                  ignore_errors=True)]
    res = run(cc, tasks)
    assert res.rc == 0, res.stdout[-3000:]
    msg = res.task("statement")["msg"]
    assert res.task("statement")["failed"] and "Confluent Cloud Flink SQL API" in msg and "/statements" in msg
    assert "HTTP 500" in msg and "the gateway is restarting" in msg
    assert res.task("failover")["failed"] and "orders lags 50" in res.task("failover")["msg"]
    assert cc.writes("kafka") == []
    assert res.task("sql change")["failed"] and "set replaces: orders-v1" in res.task("sql change")["msg"]
    assert cc.statement("orders-v1")["spec"]["statement"] == SQL


def test_a_new_sql_version_replaces_the_old_and_says_the_path(cc):
    tasks = [t("v1", "ccloud_flink_statement", name="orders-v1", statement=SQL),
             t("v2", "ccloud_flink_statement", name="orders-v2", replaces="orders-v1",
               statement=SQL.replace("> 0", ">= 0"))]
    res = run(cc, tasks, diff=True)
    assert res.rc == 0, res.stdout[-3000:]
    assert res.task("v2")["path"] == "carry_over_offsets" and res.task("v2")["phase"] == "RUNNING"
    assert cc.statement("orders-v1")["status"]["phase"] == "STOPPED"
    assert json.dumps(res.task("v2")["diff"]["after"]).count("orders-v2") == 1
