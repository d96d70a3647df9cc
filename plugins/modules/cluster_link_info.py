#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cluster_link_info
short_description: The cluster links of a Kafka cluster, their mirror topics, states and lag
version_added: 0.1.0
description:
  - Lists the cluster links of the cluster O(kafka_cluster_id) (or one, O(link)) through Kafka REST v3, with each
    link's state and error, and each mirror topic's status and lag (total and per partition maximum).
  - C(max_lag) is the largest topic lag; compare it with the RPO bound before a failover.
author:
  - flinkops maintainers (@flinkops)
extends_documentation_fragment:
  - flinkops.cookbook.confluent_cloud
options:
  link:
    description: Only this link. A link that does not exist is an error naming it.
    type: str
  mirror_status:
    description: Only the mirror topics in this status (for example C(ACTIVE), C(FAILED), C(STOPPED)).
    type: str
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
- name: Read the DR link
  flinkops.cookbook.cluster_link_info:
    kafka_cluster_id: lkc-dr123
    link: primary-to-dr
  register: dr_link
"""

RETURN = r"""
links:
  description: The links, each with C(name), C(id), C(state), C(error), C(error_message), C(source_cluster_id),
    C(remote_cluster_id), C(topic_names) and C(mirrors) (C(topic), C(source_topic), C(status), C(lag),
    C(max_partition_lag), C(partitions), C(state_time_ms), C(error)).
  returned: always
  type: list
  elements: dict
mirrors:
  description: The mirror topics of all the links returned, as in C(links[].mirrors).
  returned: always
  type: list
  elements: dict
max_lag:
  description: The largest lag (messages) of a mirror topic returned.
  returned: always
  type: int
statuses:
  description: Mirror topics per status.
  returned: always
  type: dict
"""

from ansible_collections.flinkops.cookbook.plugins.module_utils._errors import ConfluentError
from ansible_collections.flinkops.cookbook.plugins.module_utils.cluster_link_ops import link_view, mirror_view
from ansible_collections.flinkops.cookbook.plugins.module_utils.confluent_api import ConfluentModule, argument_spec
from ansible_collections.flinkops.cookbook.plugins.module_utils.kafka_rest import KafkaRestClient


class Module(ConfluentModule):
    CLIENT = KafkaRestClient
    API_KEY = "kafka"


def run(cm):
    client, p = cm.client, cm.params
    if p["link"]:
        one = client.get_link(p["link"])
        if one is None:
            raise ConfluentError("cluster link %s does not exist on cluster %s" % (p["link"], client.cluster_id))
        links = [one]
    else:
        links = client.list_links()
    out, mirrors = [], []
    for link in links:
        view = link_view(link)
        view["mirrors"] = [mirror_view(m) for m in client.list_mirrors(view["name"], status=p["mirror_status"])]
        mirrors.extend(view["mirrors"])
        out.append(view)
    statuses = {}
    for m in mirrors:
        statuses.setdefault(m["status"], []).append(m["topic"])
    return {"changed": False, "links": out, "mirrors": mirrors, "statuses": statuses,
            "max_lag": max([m["lag"] for m in mirrors] or [0])}


def main():
    spec = argument_spec(link=dict(type="str"), mirror_status=dict(type="str"))
    Module(spec, supports_check_mode=True).run(run)


if __name__ == "__main__":
    main()
