"""playbooks/dr_failback.yml on Confluent Cloud with real ``ansible-playbook`` runs against the
contract-checked fake: ``--check`` writes nothing; the run stops the DR statements, waits for the
primary to catch up, reverses the topics over the bidirectional link and resumes the primary's
statements; a second run changes nothing; a primary that has not caught up rolls back by itself (the
DR statements run again, nothing is reversed)."""
from __future__ import annotations

import json

import pytest

from tests.integration.ansible_run import run_playbook
from tests.integration.ccloud_support import KEYS
from tests.support.fake_confluent_cloud import FakeConfluentCloud

pytestmark = pytest.mark.integration

LINK = "dr-primary"
DR_STATEMENT, PRIMARY_STATEMENT = "orders-enrichment-v1", "orders-enrichment-primary"


@pytest.fixture
def after_failover(tmp_path):
    with FakeConfluentCloud(auth=KEYS, start_delay=0.2, stop_delay=0.2) as cc:
        # DR serves; the primary is back and mirrors the DR topics over the bidirectional link
        cc.add_link("lkc-dr", LINK, remote_cluster_id="lkc-primary", link_mode="BIDIRECTIONAL")
        cc.add_link("lkc-primary", LINK, remote_cluster_id="lkc-dr", link_mode="BIDIRECTIONAL",
                    topics={"orders": {}, "payments": {}})
        cc.post_statement(cc.organization_id, cc.environment_id,
                          {"name": DR_STATEMENT, "spec": {"statement": "INSERT INTO a SELECT * FROM orders"}})
        cc.post_statement(cc.organization_id, cc.environment_id,
                          {"name": PRIMARY_STATEMENT, "spec": {"statement": "INSERT INTO a SELECT * FROM orders",
                                                               "stopped": True}})
        env = {"FLINKOPS_CCLOUD_URL": cc.url, "FLINKOPS_CCLOUD_ORG": cc.organization_id,
               "FLINKOPS_LOCAL_DIR": str(tmp_path),
               "KAFKA_API_KEY": KEYS["kafka"][0], "KAFKA_API_SECRET": KEYS["kafka"][1],
               "FLINK_API_KEY": KEYS["flink"][0], "FLINK_API_SECRET": KEYS["flink"][1]}
        yield cc, env, tmp_path


def test_check_mode_then_failback_then_a_second_run_changes_nothing(after_failover):
    cc, env, tmp = after_failover
    checked = run_playbook("dr_failback.yml", "ccloud_local", extra_env=env, check=True)
    assert checked.rc == 0, checked.stdout[-3000:]
    assert cc.writes() == []
    assert checked.task("Check mode | what would change")["msg"]["topics_to_reverse_on_the_primary"] == [
        "orders", "payments"]

    res = run_playbook("dr_failback.yml", "ccloud_local", extra_env=env)
    assert res.rc == 0, res.stdout[-3000:]
    assert cc.statement(DR_STATEMENT)["status"]["phase"] == "STOPPED"
    assert cc.statement(PRIMARY_STATEMENT)["status"]["phase"] == "RUNNING"
    assert cc.mirror("lkc-primary", LINK, "orders") is None          # writable on the primary
    assert cc.mirror("lkc-dr", LINK, "orders")["mirror_status"] == "ACTIVE"  # a mirror again on DR
    assert json.loads((tmp / "kafka-bootstrap.json").read_text())["active"] == "primary"
    stop = [e for e in cc.writes("flink") if e["method"] == "PATCH" and e["path"].endswith(DR_STATEMENT)][0]
    reverse = [e for e in cc.writes("kafka") if e["path"].endswith(":reverse-and-start-mirror")][0]
    assert stop["time"] < reverse["time"], "DR stops writing before the topics are reversed"

    writes = len(cc.writes())
    again = run_playbook("dr_failback.yml", "ccloud_local", extra_env=env)
    assert again.rc == 0 and again.changed_count() == 0, again
    assert len(cc.writes()) == writes


def test_a_primary_that_has_not_caught_up_rolls_back_and_dr_keeps_serving(after_failover):
    cc, env, _tmp = after_failover
    cc.set_lag("lkc-primary", LINK, "orders", 40)
    res = run_playbook("dr_failback.yml", "ccloud_local", {"ccloud_resync_checks": 1}, extra_env=env)
    assert res.rc != 0
    msg = res.task("Rollback | fail the run, naming the step")["msg"]
    assert "the primary has caught up" in msg and "The DR statements run again; nothing was reversed." in msg
    assert cc.statement(DR_STATEMENT)["status"]["phase"] in ("PENDING", "RUNNING")
    assert not [e for e in cc.writes("kafka") if "reverse" in e["path"]]
    assert cc.mirror("lkc-primary", LINK, "orders")["mirror_status"] == "ACTIVE"
