"""The contract-checked fake Confluent Cloud (tests/support/fake_confluent_cloud.py): a client no one
here wrote (``confluent-sql``, Confluent's DB-API driver) works against its statements API unchanged;
the fake rejects what the contracts reject; its transitions and injected failures behave as documented."""
from __future__ import annotations

import time

import confluent_sql
import pytest
import requests

from tests.support.fake_confluent_cloud import FakeConfluentCloud


@pytest.fixture(scope="module")
def cc():
    with FakeConfluentCloud(auth={"flink": ("fk", "fs"), "kafka": ("kk", "ks")}, start_delay=0.2) as fake:
        fake.add_link("lkc-dr", "dr-link", source_cluster_id="lkc-pri",
                      topics={"orders": {"lag": 4}, "payments": {}, "refunds": {"status": "FAILED"}})
        yield fake


def test_confluent_sql_driver_runs_a_statement_against_the_fake_unchanged(cc):
    pool = cc.add_pool("sql-pool")
    conn = confluent_sql.connect(flink_api_key="fk", flink_api_secret="fs", environment_id=cc.environment_id,
                                 organization_id=cc.organization_id, compute_pool_id=pool, endpoint=cc.url,
                                 result_page_fetch_pause_millis=20)
    try:
        cur = conn.cursor()
        cur.execute("SELECT 42 AS answer, 'dr' AS region")
        rows = cur.fetchall()
        assert [tuple(r) for r in rows] == [(42, "dr")]
        assert [c[0] for c in cur.description] == ["answer", "region"]
    finally:
        conn.close()
    # what the driver did, as the fake saw it: create, poll, results (followed metadata.next)
    calls = [(e["method"], e["path"].rsplit("/", 1)[-1]) for e in cc.log if e["api"] == "flink"]
    assert ("POST", "statements") in calls
    assert sum(1 for m, p in calls if m == "GET" and p == "results") >= 1
    created = [s for s in cc.statements.values() if s["spec"]["statement"].startswith("SELECT 42")]
    assert created and created[0]["status"]["phase"] == "COMPLETED"
    assert created[0]["spec"]["compute_pool_id"] == pool


def test_wrong_credentials_are_refused_with_the_apis_error_shape(cc):
    r = requests.get(cc.url + "/kafka/v3/clusters/lkc-dr/links", auth=("kk", "wrong"), timeout=5)
    assert r.status_code == 401 and r.json()["error_code"] == 40101
    base = "%s/sql/v1/organizations/%s/environments/%s/statements" % (cc.url, cc.organization_id, cc.environment_id)
    r = requests.get(base, timeout=5)
    assert r.status_code == 401 and r.json()["errors"][0]["status"] == "401"


def test_a_request_the_contract_rejects_is_a_400(cc):
    base = "%s/sql/v1/organizations/%s/environments/%s/statements" % (cc.url, cc.organization_id, cc.environment_id)
    r = requests.post(base, json={"name": "x", "spec": {"statement": 7}}, auth=("fk", "fs"), timeout=5)
    assert r.status_code == 400 and "statement" in r.json()["errors"][0]["detail"]
    r = requests.post(cc.url + "/fcpm/v2/compute-pools", json={"spec": {"display_name": "p"}}, timeout=5)
    assert r.status_code == 400


def test_mirror_failover_goes_pending_stopped_then_stopped_and_promote_needs_zero_lag(cc):
    url = cc.url + "/kafka/v3/clusters/lkc-dr/links/dr-link/mirrors"
    r = requests.post(url + ":promote", json={"mirror_topic_names": ["orders", "refunds"]}, auth=("kk", "ks"),
                      timeout=5)
    errors = dict((d["mirror_topic_name"], d["error_message"]) for d in r.json()["data"])
    assert "mirror lag is 4" in errors["orders"] and "use failover" in errors["refunds"]
    r = requests.post(url + ":failover", json={"mirror_topic_names": ["refunds"]}, auth=("kk", "ks"), timeout=5)
    assert r.json()["data"][0]["error_code"] is None
    assert cc.mirror("lkc-dr", "dr-link", "refunds")["mirror_status"] == "PENDING_STOPPED"
    time.sleep(cc.stop_delay + 0.1)
    assert cc.mirror("lkc-dr", "dr-link", "refunds")["mirror_status"] == "STOPPED"
    r = requests.post(url + ":failover", json={"mirror_topic_names": ["refunds"]}, auth=("kk", "ks"), timeout=5)
    assert "already stopped" in r.json()["data"][0]["error_message"]


def test_injected_429_carries_retry_after_and_the_kafka_html_body(cc):
    cc.inject("status", status=429, path="/links$", retry_after=3)
    r = requests.get(cc.url + "/kafka/v3/clusters/lkc-dr/links", auth=("kk", "ks"), timeout=5)
    assert r.status_code == 429 and r.headers["Retry-After"] == "3" and "Too Many Requests" in r.text
    r = requests.get(cc.url + "/kafka/v3/clusters/lkc-dr/links", auth=("kk", "ks"), timeout=5)
    assert r.status_code == 200 and r.json()["data"][0]["link_name"] == "dr-link"


def test_no_contract_violation_was_recorded(cc):
    assert cc.violations == []
