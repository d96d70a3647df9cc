"""playbooks/dr_failover.yml (cookbook 000 §3.2, active/passive) on Confluent Cloud, with real
``ansible-playbook`` runs against the contract-checked fake Confluent Cloud (Kafka REST, Flink SQL,
compute pools): it fails over the mirror topics (a FAILED one too), starts the DR statements,
switches the bootstrap and validates RUNNING and the consumers' lag shrinking; a second run changes
nothing; ``--check`` writes nothing; it refuses above the RPO bound unless forced; a re-run after a
partial failure finishes the rest without touching what is done."""
from __future__ import annotations

import json

import pytest

from tests.integration.ansible_run import run_playbook, start_playbook
from tests.integration.ccloud_support import KEYS
from tests.support.fake_confluent_cloud import FakeConfluentCloud

pytestmark = pytest.mark.integration

LINK = "primary-to-dr"
STATEMENT = "orders-enrichment-v1"


@pytest.fixture
def dr(tmp_path):
    with FakeConfluentCloud(auth=KEYS, start_delay=0.2, stop_delay=0.2) as cc:
        cc.add_cluster("lkc-primary")
        cc.add_link("lkc-dr", LINK, source_cluster_id="lkc-primary",
                    topics={"orders": {"lag": 5}, "payments": {}, "refunds": {"status": "FAILED", "lag": 2}})
        cc.add_consumer_group("lkc-dr", "orders-enrichment", {"orders": [300, 200, 100]}, drain=20.0,
                              consumer_statement=STATEMENT)
        pool = cc.add_pool("dr-pool")
        env = {"FLINKOPS_CCLOUD_URL": cc.url, "FLINKOPS_CCLOUD_ORG": cc.organization_id, "FLINKOPS_CCLOUD_POOL": pool,
               "FLINKOPS_LOCAL_DIR": str(tmp_path),
               "KAFKA_API_KEY": KEYS["kafka"][0], "KAFKA_API_SECRET": KEYS["kafka"][1],
               "FLINK_API_KEY": KEYS["flink"][0], "FLINK_API_SECRET": KEYS["flink"][1],
               "CONFLUENT_CLOUD_API_KEY": KEYS["cloud"][0], "CONFLUENT_CLOUD_API_SECRET": KEYS["cloud"][1]}
        yield cc, env, tmp_path


def failover_posts(cc):
    return [e for e in cc.writes("kafka") if e["path"].endswith("mirrors:failover")]


def test_check_mode_then_failover_then_second_run_changes_nothing(dr):
    cc, env, tmp = dr
    checked = run_playbook("dr_failover.yml", "ccloud_local", extra_env=env, check=True)
    assert checked.rc == 0, checked.stdout[-3000:]
    assert cc.writes() == [], "check mode must write nothing"
    plan = checked.task("Check mode | what would change")["msg"]
    assert plan["mirror_topics_to_fail_over"] == ["orders", "payments", "refunds"]
    assert not (tmp / "kafka-bootstrap.json").exists()

    res = run_playbook("dr_failover.yml", "ccloud_local", extra_env=env)
    assert res.rc == 0, res.stdout[-3000:]
    report = res.task("Validation | report")["msg"]
    assert report["failed_over"] == ["orders", "payments", "refunds"]
    assert report["lag_at_switch"] == {"orders": 5, "payments": 0, "refunds": 2}
    for topic in ("orders", "payments", "refunds"):      # the FAILED mirror too
        assert cc.mirror("lkc-dr", LINK, topic)["mirror_status"] == "STOPPED"
    assert cc.statement(STATEMENT)["status"]["phase"] == "RUNNING"
    assert cc.statement(STATEMENT)["spec"]["compute_pool_id"] == env["FLINKOPS_CCLOUD_POOL"]
    first, last = res.task("Validation | the consumers' lag on the DR cluster, first reading"), \
        res.task("Validation | the consumers' lag shrinks (or is zero)")
    assert last["total_lag"] < first["total_lag"]
    assert json.loads((tmp / "kafka-bootstrap.json").read_text())["active"] == "dr"

    writes = len(cc.writes())
    again = run_playbook("dr_failover.yml", "ccloud_local", extra_env=env)
    assert again.rc == 0, again.stdout[-3000:]
    assert again.changed_count() == 0, again
    assert len(cc.writes()) == writes, "a second run must send no write"


def test_refuses_above_the_rpo_bound_unless_forced(dr):
    cc, env, _tmp = dr
    cc.set_lag("lkc-dr", LINK, "orders", 5000)
    res = run_playbook("dr_failover.yml", "ccloud_local", extra_env=env)
    assert res.rc != 0
    failed = res.task("Preconditions | every mirror topic to switch lags at most the RPO bound (a dry run of the failover)")
    assert "orders lags 5000" in failed["msg"] and "max_lag=1000" in failed["msg"], failed["msg"]
    assert cc.writes() == []
    assert cc.mirror("lkc-dr", LINK, "orders")["mirror_status"] == "ACTIVE"

    forced = run_playbook("dr_failover.yml", "ccloud_local", {"force": True}, extra_env=env)
    assert forced.rc == 0, forced.stdout[-3000:]
    assert cc.mirror("lkc-dr", LINK, "orders")["mirror_status"] == "STOPPED"
    assert forced.task("Validation | report")["msg"]["lag_at_switch"]["orders"] == 5000


def test_rerun_after_a_partial_failure_finishes_the_rest_only(dr):
    cc, env, _tmp = dr
    cc.inject("promote_fails", topic="payments",
              message="Topic 'payments' could not be failed over: NOT_LEADER_OR_FOLLOWER")
    res = run_playbook("dr_failover.yml", "ccloud_local", extra_env=env)
    assert res.rc != 0
    final = res.task("Rollback | fail the run, naming the step")
    assert "NOT_LEADER_OR_FOLLOWER" in final["msg"] and "fail over the mirror topics" in final["msg"]
    assert cc.mirror("lkc-dr", LINK, "orders")["mirror_status"] == "STOPPED"
    assert cc.mirror("lkc-dr", LINK, "payments")["mirror_status"] == "ACTIVE"
    assert cc.statement(STATEMENT) is None, "the statements start only after every topic is failed over"

    again = run_playbook("dr_failover.yml", "ccloud_local", extra_env=env)
    assert again.rc == 0, again.stdout[-3000:]
    posts = failover_posts(cc)
    assert [p["body"]["mirror_topic_names"] for p in posts] == [["orders", "payments", "refunds"], ["payments"]]
    assert again.task("Validation | report")["msg"]["already_failed_over"] == ["orders", "refunds"]
    assert cc.mirror("lkc-dr", LINK, "payments")["mirror_status"] == "STOPPED"
    assert cc.statement(STATEMENT)["status"]["phase"] == "RUNNING"


def test_two_failovers_at_once_start_each_dr_statement_once_and_both_end_failed_over(dr):
    cc, env, tmp = dr
    runs = [start_playbook("dr_failover.yml", env, log=tmp / ("run%d.log" % i), limit="ccloud_local") for i in (1, 2)]
    codes = [run.wait(300) for run in runs]
    logs = [(tmp / ("run%d.log" % i)).read_text() for i in (1, 2)]
    assert 0 in codes, logs[0][-3000:] + logs[1][-3000:]
    for code, log in zip(codes, logs):
        # the other run found the work done or in progress, or failed naming what it met; never a second statement
        assert code == 0 or "already exists" in log or "409" in log, log[-3000:]
    for topic in ("orders", "payments", "refunds"):
        assert cc.mirror("lkc-dr", LINK, topic)["mirror_status"] == "STOPPED"
    assert cc.statement(STATEMENT)["status"]["phase"] == "RUNNING"
    creates = [e for e in cc.writes("flink") if e["method"] == "POST" and e["path"].endswith("/statements")]
    made = [e for e in creates if (e["body"] or {}).get("name") == STATEMENT and e["status"] < 300]
    assert creates and len(made) == 1, creates
    assert json.loads((tmp / "kafka-bootstrap.json").read_text())["active"] == "dr"

    again = run_playbook("dr_failover.yml", "ccloud_local", extra_env=env)
    assert again.rc == 0 and again.changed_count() == 0, again.stdout[-3000:]
