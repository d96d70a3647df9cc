"""playbooks/dr_active_active_check.yml on Confluent Cloud with real ``ansible-playbook`` runs against the
contract-checked fake: a setup as cookbook 000 §3.2 (active/active) wants it passes, in check mode too, and
reads only; each departure from it (an output topic mirrored into the other region, a statement whose SQL
differs or that is not RUNNING, a declared statement missing) is named in one failure and in the report."""
from __future__ import annotations

import pytest

from tests.integration.ansible_run import run_playbook
from tests.integration.ccloud_support import KEYS
from tests.support.fake_confluent_cloud import FakeConfluentCloud

pytestmark = pytest.mark.integration

SQL = "INSERT INTO orders_enriched SELECT * FROM orders WHERE amount > 0"
DR, PRIMARY = "orders-enrichment-v1", "orders-enrichment-primary"
CHECK = "Validation | both regions run the same statements and mirror only input topics"


@pytest.fixture
def regions(tmp_path):
    with FakeConfluentCloud(auth=KEYS, start_delay=0.1, stop_delay=0.1) as cc:
        # each region mirrors the other's input topic; both run the enrichment
        cc.add_link("lkc-dr", "primary-to-dr", source_cluster_id="lkc-primary", topics={"orders": {"lag": 3}})
        cc.add_link("lkc-primary", "dr-to-primary", source_cluster_id="lkc-dr", topics={"orders_dr": {}})
        cc.post_statement(cc.organization_id, cc.environment_id, {"name": DR, "spec": {"statement": SQL}})
        cc.post_statement(cc.organization_id, cc.environment_id,
                          {"name": PRIMARY, "spec": {"statement": "INSERT INTO orders_enriched\n  SELECT * FROM orders "
                                                                  "WHERE amount > 0"}})
        env = {"FLINKOPS_CCLOUD_URL": cc.url, "FLINKOPS_CCLOUD_ORG": cc.organization_id,
               "FLINKOPS_LOCAL_DIR": str(tmp_path),
               "KAFKA_API_KEY": KEYS["kafka"][0], "KAFKA_API_SECRET": KEYS["kafka"][1],
               "FLINK_API_KEY": KEYS["flink"][0], "FLINK_API_SECRET": KEYS["flink"][1]}
        extra = {"ccloud_primary_environment_id": cc.environment_id, "flinkops_report_dir": str(tmp_path / "reports")}
        yield cc, env, extra, tmp_path


def check(regions, check_mode=False, **more):
    _cc, env, extra, _tmp = regions
    return run_playbook("dr_active_active_check.yml", "ccloud_local", dict(extra, **more), extra_env=env,
                        check=check_mode)


def report(tmp):
    (path,) = list((tmp / "reports" / "local-ccloud").glob("active-active-*.md"))
    return path.read_text()


def test_a_setup_as_the_recipe_wants_it_passes_reading_only_in_check_mode_and_for_real(regions):
    cc, _env, _extra, tmp = regions
    for check_mode in (True, False):
        res = check(regions, check_mode=check_mode)
        assert res.rc == 0, res.stdout[-3000:]
        assert res.changed_count() == 0
        said = res.task(CHECK)["msg"]
        assert "1 statement(s) RUNNING with the same SQL in both regions" in said, said
        assert "2 mirror topic(s), none of them an output topic (orders_enriched)" in said, said
    assert cc.writes() == []
    text = report(tmp)  # the real run's: check mode writes no file
    for line in ("**OK**", "| %s | RUNNING | %s | RUNNING |" % (DR, PRIMARY), "| this region | lkc-dr | primary-to-dr | orders |"):
        assert line in text, text


def test_an_output_topic_mirrored_and_statements_that_differ_are_each_named(regions):
    cc, _env, _extra, tmp = regions
    cc.add_mirror("lkc-primary", "dr-to-primary", "orders_enriched")
    cc.post_statement(cc.organization_id, cc.environment_id, {"name": "payments-v1", "spec": {
        "statement": "INSERT INTO payments_scored SELECT * FROM payments", "stopped": True}})
    jobs = [{"name": DR, "confluent_cloud": {"statement": SQL}},
            {"name": "payments-v1", "confluent_cloud": {"statement": "INSERT INTO payments_scored SELECT * FROM payments"}},
            {"name": "fraud-v1", "confluent_cloud": {"statement": "INSERT INTO fraud SELECT * FROM payments"}}]
    res = check(regions, flink_jobs=jobs)
    assert res.rc != 0
    msg = res.task(CHECK)["msg"]
    for finding in ("statement fraud-v1 is declared for this region and does not exist in it",
                    "statement payments-v1 has no statement with the same SQL in the other region (%s)" % PRIMARY,
                    "statement payments-v1 is STOPPED, not RUNNING",
                    "cluster link dr-to-primary into lkc-primary (the other region) mirrors orders_enriched, an output "
                    "topic of the statements: replicate only input topics"):
        assert finding in msg, msg
    assert msg.rstrip().endswith("Nothing was changed.")
    assert "orders " not in msg.split("mirrors", 1)[-1].split(",")[0], "the input topic is not a finding"
    text = report(tmp)
    assert "**4 finding(s)**" in text and "| the other region | lkc-primary | dr-to-primary | orders_enriched |" in text
    assert "**output topic mirrored**" in text
    assert cc.writes() == []


def test_the_other_region_must_be_declared(regions):
    cc, env, _extra, _tmp = regions
    # the ccloud_local inventory names a primary environment: an inventory that gives none
    res = run_playbook("dr_active_active_check.yml", "ccloud_local", {"ccloud_primary_environment_id": ""},
                       extra_env=env)
    assert res.rc != 0
    assert "set ccloud_primary_statements, ccloud_primary_environment_id" in res.stdout, res.stdout[-3000:]
    assert cc.log == [], "refused before any request"
