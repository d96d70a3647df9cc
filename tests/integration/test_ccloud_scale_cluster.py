"""playbooks/scale_cluster.yml on Confluent Cloud (cookbook 000 §1.2, "adjust max CFU per compute
pool"), through the seam, with real ``ansible-playbook`` runs against the contract-checked fake:
check mode writes nothing, the run raises the pool's max CFU and the statements on it keep running,
a second run changes nothing, and a lower max CFU is refused unless allowed."""
from __future__ import annotations

import pytest

from tests.integration.ansible_run import run_playbook
from tests.integration.ccloud_support import KEYS
from tests.support.fake_confluent_cloud import FakeConfluentCloud

pytestmark = pytest.mark.integration


@pytest.fixture
def pool_env(tmp_path):
    with FakeConfluentCloud(auth=KEYS, pool_delay=0.3) as cc:
        pool = cc.add_pool("dr-pool", max_cfu=10, region="us-west-2")
        cc.post_statement(cc.organization_id, cc.environment_id,
                          {"name": "orders-enrichment-v1", "spec": {"statement": "INSERT INTO a SELECT * FROM b",
                                                                    "compute_pool_id": pool}})
        env = {"FLINKOPS_CCLOUD_URL": cc.url, "FLINKOPS_CCLOUD_ORG": cc.organization_id, "FLINKOPS_CCLOUD_POOL": pool,
               "FLINKOPS_LOCAL_DIR": str(tmp_path),
               "FLINK_API_KEY": KEYS["flink"][0], "FLINK_API_SECRET": KEYS["flink"][1],
               "CONFLUENT_CLOUD_API_KEY": KEYS["cloud"][0], "CONFLUENT_CLOUD_API_SECRET": KEYS["cloud"][1]}
        yield cc, pool, env


def test_raise_the_max_cfu_check_mode_first_and_a_second_run_changes_nothing(pool_env):
    cc, pool, env = pool_env
    checked = run_playbook("scale_cluster.yml", "ccloud_local", extra_env=env, check=True)
    assert checked.rc == 0, checked.stdout[-3000:]
    assert cc.writes() == [] and cc.pools[pool]["spec"]["max_cfu"] == 10
    res = run_playbook("scale_cluster.yml", "ccloud_local", extra_env=env)
    assert res.rc == 0, res.stdout[-3000:]
    assert cc.pools[pool]["spec"]["max_cfu"] == 20 and cc.pools[pool]["status"]["phase"] == "PROVISIONED"
    report = res.task("Validation | report")["msg"]
    assert report["max_cfu"] == "10 -> 20" and report["statements"] == {"RUNNING": ["orders-enrichment-v1"]}
    writes = len(cc.writes())
    again = run_playbook("scale_cluster.yml", "ccloud_local", extra_env=env)
    assert again.rc == 0 and again.changed_count() == 0, again
    assert len(cc.writes()) == writes


def test_a_lower_max_cfu_is_refused_before_anything_changes(pool_env):
    cc, pool, env = pool_env
    res = run_playbook("scale_cluster.yml", "ccloud_local", {"max_cfu": 5}, extra_env=env)
    assert res.rc != 0
    msg = res.task("Preconditions | the pool exists, is PROVISIONED and only grows unless allowed")["msg"]
    assert "max CFU 10 -> 5" in msg and "allow_scale_down" in msg
    assert cc.writes() == [] and cc.pools[pool]["spec"]["max_cfu"] == 10


def test_a_statement_that_degrades_after_the_change_puts_the_previous_max_cfu_back(pool_env):
    cc, pool, env = pool_env
    with cc.lock:
        cc.statements["orders-enrichment-v1"]["status"].update(phase="DEGRADED", detail="backpressure")
    res = run_playbook("scale_cluster.yml", "ccloud_local", extra_env=env)
    assert res.rc != 0
    msg = res.task("Rollback | fail the run, naming the step")["msg"]
    assert "Validation | the statements on the pool still run" in msg and "back at 10" in msg
    assert res.task("Rollback | put the previous max CFU back")["changed"]
    patches = [e["body"]["spec"]["max_cfu"] for e in cc.writes("cloud") if e["method"] == "PATCH"]
    assert patches == [20, 10] and cc.pools[pool]["spec"]["max_cfu"] == 10
