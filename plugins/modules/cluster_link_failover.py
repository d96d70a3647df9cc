#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cluster_link_failover
short_description: Fail over, promote or reverse the mirror topics of a Kafka cluster link, within an RPO bound
version_added: 0.1.0
description:
  - For a cluster link on the DR (destination) cluster, reads each mirror topic's state and lag (the sum of its
    partitions' mirror lag), refuses unless every topic to switch lags at most O(max_lag) messages (the RPO bound),
    or O(force=true), then switches the chosen mirror topics (all of the link by default) in one request, and waits
    until each is writable (mirror status C(STOPPED)).
  - C(failover) works from any mirror state, a mirror that is already C(FAILED) or C(SOURCE_UNAVAILABLE) included (the
    primary region is gone). C(promote) first syncs with the source, so it needs the source reachable and no lag.
  - Idempotent. A topic already C(STOPPED) is reported C(already_done) and not sent again; a topic in
    C(PENDING_STOPPED) is waited for. A re-run after a partial failure switches only the topics that are left.
  - C(reverse-and-start-mirror) and C(reverse-and-pause-mirror) (failback, on a bidirectional link) make the mirror
    topic here a regular topic and its remote counterpart a mirror. These two are the Confluent Cloud paths; the
    Confluent Platform spec names them differently (unverified), so they are not used for Confluent Platform.
  - Nothing is changed when the bound is exceeded, when a topic is not a mirror of the link, or in check mode.
author:
  - flinkops maintainers (@flinkops)
extends_documentation_fragment:
  - flinkops.cookbook.confluent_cloud
options:
  link:
    description: Name of the cluster link on the cluster O(kafka_cluster_id).
    type: str
    required: true
  topics:
    description: The mirror topics to switch. All mirror topics of the link when omitted.
    type: list
    elements: str
  action:
    description: What to do with each mirror topic.
    type: str
    choices: [failover, promote, reverse-and-start-mirror, reverse-and-pause-mirror]
    default: failover
  max_lag:
    description:
      - The RPO bound, in messages. A topic to switch that lags more is refused (nothing changes). Required unless
        O(force=true).
    type: int
  force:
    description: Switch whatever the lag (accept losing the messages not mirrored yet).
    type: bool
    default: false
  wait:
    description: Wait until every switched topic is C(STOPPED).
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait.
    type: int
    default: 300
attributes:
  check_mode:
    support: full
    description: Reads the states and lags, applies the RPO bound, reports C(would_switch); writes nothing.
  diff_mode:
    support: full
    description: The mirror status of each topic before and after.
notes:
  - Idempotent. A second run reports C(changed=false).
"""

EXAMPLES = r"""
- name: Fail over every mirror topic of the DR link, if none lags more than 1000 messages
  flinkops.cookbook.cluster_link_failover:
    kafka_url: https://pkc-dr.us-west-2.aws.confluent.cloud:443
    kafka_cluster_id: lkc-dr123
    link: primary-to-dr
    max_lag: 1000

- name: The primary region is gone; fail over what is left, whatever the lag
  flinkops.cookbook.cluster_link_failover:
    link: primary-to-dr
    topics: [orders, payments]
    force: true
"""

RETURN = r"""
topics:
  description: One entry per topic.
  returned: always
  type: list
  elements: dict
  contains:
    topic:
      description: The mirror topic.
      type: str
    action:
      description: The action asked.
      type: str
    result:
      description: C(switched), C(already_done), C(under_way), C(would_switch) (check mode) or C(failed).
      type: str
    status_before:
      description: The mirror status before the run.
      type: str
    status_after:
      description: The mirror status after the run.
      type: str
    lag_at_switch:
      description: Messages the topic lagged when it was switched.
      type: int
    error:
      description: The server's message for a topic that failed.
      type: str
switched:
  description: The topics this run switched.
  returned: always
  type: list
  elements: str
link:
  description: The link.
  returned: always
  type: str
cluster_id:
  description: The cluster.
  returned: always
  type: str
action:
  description: The action.
  returned: always
  type: str
"""

from ansible_collections.flinkops.cookbook.plugins.module_utils.cluster_link_ops import switch
from ansible_collections.flinkops.cookbook.plugins.module_utils.confluent_api import ConfluentModule, argument_spec
from ansible_collections.flinkops.cookbook.plugins.module_utils.kafka_rest import KafkaRestClient


class Module(ConfluentModule):
    CLIENT = KafkaRestClient
    API_KEY = "kafka"


def run(cm):
    p = cm.params
    result = switch(cm.client, p["link"], topics=p["topics"], action=p["action"], max_lag=p["max_lag"],
                    force=p["force"], wait=p["wait"], timeout=p["wait_timeout"], check_mode=cm.check_mode,
                    report=cm.report)
    result["diff"] = {"before": dict((t["topic"], t["status_before"]) for t in result["topics"]),
                      "after": dict((t["topic"], "STOPPED" if t["result"] == "would_switch" else t["status_after"])
                                    for t in result["topics"])}
    return result


def main():
    spec = argument_spec(
        link=dict(type="str", required=True),
        topics=dict(type="list", elements="str"),
        action=dict(type="str", default="failover",
                    choices=["failover", "promote", "reverse-and-start-mirror", "reverse-and-pause-mirror"]),
        max_lag=dict(type="int"),
        force=dict(type="bool", default=False),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=300),
    )
    Module(spec, supports_check_mode=True).run(run)


if __name__ == "__main__":
    main()
