"""cluster_link_ops against the contract-checked fake: the RPO bound, failover of every state (FAILED
too), idempotence, check mode, per-topic results, a partial failure and its re-run, the wait."""
from __future__ import annotations

import pytest

from ansible_collections.flinkops.cookbook.plugins.module_utils._errors import ConfluentError, ConfluentTimeout
from ansible_collections.flinkops.cookbook.plugins.module_utils._http import HttpError
from ansible_collections.flinkops.cookbook.plugins.module_utils.cluster_link_ops import group_lags, switch

LINK = "primary-to-dr"


@pytest.fixture
def link(cc):
    cc.add_link("lkc-dr", LINK, source_cluster_id="lkc-pri",
                topics={"orders": {"lag": 7}, "payments": {}, "refunds": {"status": "FAILED", "lag": 1}})
    return cc


def statuses(cc):
    return dict((t, cc.mirror("lkc-dr", LINK, t)["mirror_status"]) for t in ("orders", "payments", "refunds"))


def test_failover_switches_every_topic_a_failed_one_too_waits_for_stopped_and_reports_each(link, kafka):
    result = switch(kafka, LINK, max_lag=10)
    assert result["changed"] and result["switched"] == ["orders", "payments", "refunds"]
    by_topic = dict((t["topic"], t) for t in result["topics"])
    assert by_topic["refunds"]["status_before"] == "FAILED" and by_topic["refunds"]["status_after"] == "STOPPED"
    assert by_topic["orders"]["lag_at_switch"] == 7
    assert statuses(link) == {"orders": "STOPPED", "payments": "STOPPED", "refunds": "STOPPED"}
    again = switch(kafka, LINK, max_lag=10)
    assert not again["changed"] and [t["result"] for t in again["topics"]] == ["already_done"] * 3
    assert len([e for e in link.writes() if e["path"].endswith(":failover")]) == 1


def test_above_the_rpo_bound_nothing_changes_unless_forced(link, kafka):
    with pytest.raises(ConfluentError, match="orders lags 7.*nothing was changed") as info:
        switch(kafka, LINK, max_lag=5)
    assert info.value.details["refused"] == ["orders"] and link.writes() == []
    with pytest.raises(ConfluentError, match="set max_lag .* or force=true"):
        switch(kafka, LINK)
    assert switch(kafka, LINK, max_lag=5, force=True)["switched"] == ["orders", "payments", "refunds"]


def test_check_mode_reads_applies_the_bound_and_writes_nothing(link, kafka):
    result = switch(kafka, LINK, topics=["payments"], max_lag=0, check_mode=True)
    assert result["changed"] and result["topics"][0]["result"] == "would_switch"
    assert link.writes() == [] and statuses(link)["payments"] == "ACTIVE"


def test_unknown_topic_or_link_is_refused_naming_it(link, kafka):
    with pytest.raises(ConfluentError, match="invoices is not a mirror topic of the link .*orders, payments, refunds"):
        switch(kafka, LINK, topics=["orders", "invoices"], force=True)
    with pytest.raises(ConfluentError, match="link nope on cluster lkc-dr: there is no such cluster link"):
        switch(kafka, "nope", force=True)
    assert link.writes() == []


def test_partial_failure_names_the_topic_and_the_rerun_switches_only_what_is_left(link, kafka):
    link.inject("promote_fails", topic="payments", message="Topic 'payments': NOT_LEADER_OR_FOLLOWER")
    with pytest.raises(ConfluentError, match="payments: Topic 'payments': NOT_LEADER_OR_FOLLOWER") as info:
        switch(kafka, LINK, max_lag=10)
    assert info.value.details["failed_topics"] == ["payments"] and info.value.details["changed"] is True
    assert statuses(link) == {"orders": "STOPPED", "payments": "ACTIVE", "refunds": "STOPPED"}
    result = switch(kafka, LINK, max_lag=10)
    assert result["switched"] == ["payments"]
    posts = [e["body"]["mirror_topic_names"] for e in link.writes() if e["path"].endswith(":failover")]
    assert posts == [["orders", "payments", "refunds"], ["payments"]]


def test_promote_needs_the_source_and_no_lag(link, kafka):
    with pytest.raises(ConfluentError) as info:
        switch(kafka, LINK, action="promote", max_lag=10)
    text = str(info.value)
    assert "mirror lag is 7" in text and "use failover" in text
    assert statuses(link)["payments"] == "STOPPED"  # the one that could be promoted was


def test_a_5xx_on_the_switch_is_not_sent_again(link, kafka):
    link.inject("status", status=503, method="POST", path=":failover$")
    with pytest.raises(HttpError) as info:
        switch(kafka, LINK, max_lag=10)
    assert info.value.status == 503
    assert len([e for e in link.log if e["path"].endswith(":failover")]) == 1
    assert statuses(link)["orders"] == "ACTIVE"


def test_a_wait_that_runs_out_says_where_each_topic_is(link, kafka):
    link.stop_delay = 30
    with pytest.raises(ConfluentTimeout, match="orders PENDING_STOPPED"):
        switch(kafka, LINK, topics=["orders"], max_lag=10, timeout=0.2)


def test_reverse_needs_a_bidirectional_link_and_moves_the_mirror_to_the_remote(cc, kafka):
    cc.add_cluster("lkc-pri")
    cc.add_link("lkc-pri", "bidi", remote_cluster_id="lkc-dr", link_mode="BIDIRECTIONAL")
    cc.add_link("lkc-dr", "bidi", remote_cluster_id="lkc-pri", link_mode="BIDIRECTIONAL", topics={"orders": {}})
    result = switch(kafka, "bidi", action="reverse-and-start-mirror", max_lag=0)
    assert result["switched"] == ["orders"]
    assert cc.mirror("lkc-pri", "bidi", "orders")["mirror_status"] == "ACTIVE"
    assert cc.mirror("lkc-dr", "bidi", "orders") is None
    again = switch(kafka, "bidi", topics=["orders"], action="reverse-and-start-mirror", max_lag=0)
    assert not again["changed"] and again["topics"][0]["result"] == "already_done"


def test_consumer_group_lag_per_partition(cc, kafka):
    cc.add_consumer_group("lkc-dr", "g1", {"orders": [5, 0, 2], "payments": [1]})
    lags = group_lags(kafka, "g1")
    assert lags["total_lag"] == 8 and lags["max_lag"] == 5
    assert [(p["topic"], p["partition"], p["lag"]) for p in lags["partitions"]] == [
        ("orders", 0, 5), ("orders", 1, 0), ("orders", 2, 2), ("payments", 0, 1)]
