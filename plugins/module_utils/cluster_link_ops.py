# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""FOR INTERNAL COLLECTION USE ONLY.

The rules of a cluster-link failover (cookbook 000 §3.2), on ``kafka_rest.KafkaRestClient``:

* RPO: a mirror topic's lag is the sum of its partitions' ``mirror_lags[].lag`` (messages the
  DR cluster has not copied yet). A failover or promote is refused, before anything is
  changed, when a topic to switch lags more than ``max_lag`` (unless ``force``); a run must say
  one of the two;
* a topic whose mirror is already STOPPED is done (``changed: false``); PENDING_STOPPED is
  under way (waited for, not sent again); every other state is switched, FAILED included
  (``failover`` stops a FAILED mirror; ``promote`` needs the source and refuses it, as Confluent
  does);
* the switch is one POST for the topics left; its answer is per topic; then the mirror states
  are polled (``_wait.wait_until``) until every switched topic is STOPPED (writable);
* a reverse (``reverse-and-start-mirror`` / ``reverse-and-pause-mirror``) acts on topics that are
  mirrors here; a topic that is no longer a mirror of the link here is done;
* the report has one entry per topic: action, result, status before and after, lag at the switch.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.flinkops.cookbook.plugins.module_utils._errors import ConfluentError, ConfluentTimeout
from ansible_collections.flinkops.cookbook.plugins.module_utils._wait import wait_until

DONE = "STOPPED"
UNDER_WAY = ("PENDING_STOPPED",)
REVERSE = ("reverse-and-start-mirror", "reverse-and-pause-mirror")
POLL_INTERVAL = 0.5  # first poll interval of the wait (grows to 5 s)


def topic_lag(mirror):
    return sum(int(p.get("lag") or 0) for p in (mirror.get("mirror_lags") or []))


def max_partition_lag(mirror):
    return max([int(p.get("lag") or 0) for p in (mirror.get("mirror_lags") or [])] or [0])


def mirror_view(mirror):
    return {
        "topic": mirror.get("mirror_topic_name"),
        "source_topic": mirror.get("source_topic_name"),
        "link": mirror.get("link_name"),
        "status": mirror.get("mirror_status"),
        "lag": topic_lag(mirror),
        "max_partition_lag": max_partition_lag(mirror),
        "partitions": mirror.get("num_partitions"),
        "state_time_ms": mirror.get("state_time_ms"),
        "error": mirror.get("mirror_topic_error"),
    }


def plan(mirrors, topics, action, max_lag, force, where):
    """(entries by topic, topics to switch, topics under way). Raises before any change."""
    by_name = dict((m.get("mirror_topic_name"), m) for m in mirrors)
    wanted = list(topics) if topics else sorted(by_name)
    reverse = action in REVERSE
    missing = [t for t in wanted if t not in by_name]
    if missing and not reverse:
        raise ConfluentError("%s: %s %s not a mirror topic of the link (its mirror topics: %s); nothing was changed" % (
            where, ", ".join(missing), "is" if len(missing) == 1 else "are", ", ".join(sorted(by_name)) or "none"))
    if not wanted:
        if reverse:  # every topic already reversed: nothing is a mirror here any more
            return {}, [], []
        raise ConfluentError("%s: the link has no mirror topics; nothing to %s" % (where, action))
    entries, act, pending = {}, [], []
    for topic in wanted:
        mirror = by_name.get(topic)
        if mirror is None:  # reverse: no longer a mirror here
            entries[topic] = {"topic": topic, "action": action, "result": "already_done", "status_before": None,
                              "status_after": None, "lag_at_switch": None, "error": None}
            continue
        status = mirror.get("mirror_status")
        entry = {"topic": topic, "action": action, "status_before": status, "status_after": status,
                 "lag_at_switch": topic_lag(mirror), "error": None}
        if not reverse and status == DONE:
            entry["result"] = "already_done"
        elif not reverse and status in UNDER_WAY:
            entry["result"] = "under_way"
            pending.append(topic)
        else:
            entry["result"] = "to_switch"
            act.append(topic)
        entries[topic] = entry
    if action != "pause" and not force:
        if max_lag is None:
            raise ConfluentError("%s: set max_lag (the RPO bound: messages a mirror topic may lag at the switch) or "
                                 "force=true; nothing was changed" % where)
        above = [t for t in act if entries[t]["lag_at_switch"] > max_lag]
        if above:
            raise ConfluentError(
                "%s: mirror lag above the RPO bound max_lag=%s: %s; nothing was changed (wait for the link to catch up, "
                "or set force=true to accept losing those messages)" % (
                    where, max_lag, ", ".join("%s lags %s" % (t, entries[t]["lag_at_switch"]) for t in above)),
                topics=[entries[t] for t in wanted], refused=above)
    return entries, act, pending


def switch(client, link, topics=None, action="failover", max_lag=None, force=False, wait=True, timeout=300,
           check_mode=False, report=None, interval=None):
    where = "link %s on cluster %s" % (link, client.cluster_id)
    if client.get_link(link) is None:
        raise ConfluentError("%s: there is no such cluster link on the cluster; nothing was changed" % where)
    mirrors = client.list_mirrors(link)
    entries, act, pending = plan(mirrors, topics, action, max_lag, force, where)
    order = list(entries)
    result = {"changed": bool(act), "link": link, "cluster_id": client.cluster_id, "action": action}
    if check_mode or not act:
        for topic in act:
            entries[topic]["result"] = "would_switch"
        result["topics"] = [entries[t] for t in order]
        result["switched"] = []
        return result
    failed = {}
    for item in client.alter_mirrors(link, action, act):
        topic = item.get("mirror_topic_name")
        if topic not in entries:
            continue
        if item.get("error_code"):
            message = item.get("error_message") or "error %s" % item.get("error_code")
            # lost a race with another run: the mirror is already stopped
            if "already stopped" in message.lower():
                entries[topic]["result"] = "already_done"
            else:
                failed[topic] = message
                entries[topic].update(result="failed", error=message)
        else:
            entries[topic]["result"] = "switched"
            if item.get("mirror_lags") is not None:
                entries[topic]["lag_at_switch"] = sum(int(p.get("lag") or 0) for p in item["mirror_lags"])
    waiting = [t for t in act + pending if t not in failed]
    if wait and waiting and action not in ("pause", "resume"):
        _wait_stopped(client, link, waiting, entries, action, timeout, report, interval or POLL_INTERVAL, where)
    else:
        _refresh(client, link, entries)
    result["topics"] = [entries[t] for t in order]
    result["switched"] = [t for t in order if entries[t]["result"] == "switched"]
    if failed:
        raise ConfluentError("%s: %s failed for %s; the other topics: %s" % (
            where, action, "; ".join("%s: %s" % (t, m) for t, m in sorted(failed.items())),
            ", ".join("%s %s" % (t, entries[t]["result"]) for t in order if t not in failed) or "none"),
            changed=bool(result["switched"]), topics=result["topics"], failed_topics=sorted(failed))
    return result


def _refresh(client, link, entries):
    by_name = dict((m.get("mirror_topic_name"), m) for m in client.list_mirrors(link))
    for topic, entry in entries.items():
        mirror = by_name.get(topic)
        entry["status_after"] = mirror.get("mirror_status") if mirror else None
    return by_name


def _wait_stopped(client, link, topics, entries, action, timeout, report, interval, where):
    reverse = action in REVERSE

    def read():
        return _refresh(client, link, entries)

    def done(by_name):
        for topic in topics:
            mirror = by_name.get(topic)
            if reverse:
                if mirror is not None and mirror.get("mirror_status") not in ("STOPPED",):
                    return False
            elif mirror is None or mirror.get("mirror_status") != DONE:
                return False
        return True

    def state(by_name):
        return ", ".join("%s %s" % (t, (by_name.get(t) or {}).get("mirror_status", "not a mirror")) for t in topics)

    def timed_out(by_name, seen):
        return ConfluentTimeout("%s: the mirror topics did not all reach STOPPED within %ss: %s" % (
            where, timeout, state(by_name)), topics=[entries[t] for t in entries])

    wait_until(read, done, timeout=timeout, what="%s %s" % (where, action), state=state, report=report,
               timed_out=timed_out, interval=interval, max_interval=5)


def link_view(link):
    return {
        "name": link.get("link_name"),
        "id": link.get("cluster_link_id"),
        "state": link.get("link_state"),
        "error": link.get("link_error"),
        "error_message": link.get("link_error_message"),
        "source_cluster_id": link.get("source_cluster_id"),
        "destination_cluster_id": link.get("destination_cluster_id"),
        "remote_cluster_id": link.get("remote_cluster_id"),
        "topic_names": link.get("topic_names") or [],
    }


def group_lags(client, group):
    """One consumer group's lag: total, max, and per topic partition."""
    rows = client.consumer_group_lags(group)
    partitions = [{"topic": r.get("topic_name"), "partition": r.get("partition_id"),
                   "current_offset": r.get("current_offset"), "log_end_offset": r.get("log_end_offset"),
                   "lag": r.get("lag"), "consumer_id": r.get("consumer_id"), "client_id": r.get("client_id")}
                  for r in rows]
    partitions.sort(key=lambda r: (r["topic"] or "", r["partition"] or 0))
    lags = [int(r["lag"] or 0) for r in partitions]
    return {"group": group, "total_lag": sum(lags), "max_lag": max(lags or [0]), "partitions": partitions}
