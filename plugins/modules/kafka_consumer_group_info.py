#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: kafka_consumer_group_info
short_description: Consumer-group lag per group and partition, through Kafka REST v3
version_added: 0.1.0
description:
  - Reads the lag of the consumer groups of the cluster O(kafka_cluster_id) (or of O(groups)), the total, the
    largest partition lag, and per topic partition the current offset, the log end offset and the lag.
  - Used to validate a failover (consumers catch up on the DR cluster) and a backfill.
author:
  - flinkops maintainers (@flinkops)
extends_documentation_fragment:
  - flinkops.cookbook.confluent_cloud
options:
  groups:
    description: The consumer groups. All groups of the cluster when omitted. A group that does not exist is an error.
    type: list
    elements: str
attributes:
  check_mode:
    support: full
    description: Reads only.
  diff_mode:
    support: none
    description: Reads only; there is nothing to compare.
notes:
  - Reads only; never reports a change.
"""

EXAMPLES = r"""
- name: Lag of the consumers of the DR cluster
  flinkops.cookbook.kafka_consumer_group_info:
    kafka_cluster_id: lkc-dr123
    groups: [orders-enrichment]
  register: lag
"""

RETURN = r"""
groups:
  description: One entry per group, C(group), C(total_lag), C(max_lag) and C(partitions) (C(topic), C(partition),
    C(current_offset), C(log_end_offset), C(lag), C(consumer_id), C(client_id)).
  returned: always
  type: list
  elements: dict
total_lag:
  description: The sum of the groups' lag.
  returned: always
  type: int
"""

from ansible_collections.flinkops.cookbook.plugins.module_utils._errors import ConfluentError
from ansible_collections.flinkops.cookbook.plugins.module_utils._http import HttpError
from ansible_collections.flinkops.cookbook.plugins.module_utils.cluster_link_ops import group_lags
from ansible_collections.flinkops.cookbook.plugins.module_utils.confluent_api import ConfluentModule, argument_spec
from ansible_collections.flinkops.cookbook.plugins.module_utils.kafka_rest import KafkaRestClient


class Module(ConfluentModule):
    CLIENT = KafkaRestClient
    API_KEY = "kafka"


def run(cm):
    client = cm.client
    names = cm.params["groups"] or [g.get("consumer_group_id") for g in client.list_consumer_groups()]
    out = []
    for name in names:
        try:
            out.append(group_lags(client, name))
        except HttpError as exc:
            if exc.status == 404:
                raise ConfluentError("consumer group %s does not exist on cluster %s (%s)" % (
                    name, client.cluster_id, exc.server_message))
            raise
    return {"changed": False, "groups": out, "total_lag": sum(g["total_lag"] for g in out)}


def main():
    Module(argument_spec(groups=dict(type="list", elements="str")), supports_check_mode=True).run(run)


if __name__ == "__main__":
    main()
