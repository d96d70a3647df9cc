#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ccloud_compute_pool_info
short_description: The Confluent Cloud for Apache Flink compute pools of an environment, their CFU and phase
version_added: 0.1.0
description:
  - Lists the compute pools of O(environment_id) (or of O(region)), or reads one (O(pool_id)), with the maximum and
    current CFU and the phase.
author:
  - flinkops maintainers (@flinkops)
extends_documentation_fragment:
  - flinkops.cookbook.confluent_cloud
options:
  pool_id:
    description: Only this pool. One that does not exist is an error.
    type: str
  region:
    description: Only the pools of this region.
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
- name: The pools of the DR environment
  flinkops.cookbook.ccloud_compute_pool_info:
    environment_id: env-dr01
  register: pools
"""

RETURN = r"""
pools:
  description: One entry per pool, C(id), C(display_name), C(cloud), C(region), C(max_cfu), C(phase), C(current_cfu).
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.flinkops.cookbook.plugins.module_utils._errors import ConfluentError
from ansible_collections.flinkops.cookbook.plugins.module_utils.ccloud_ops import pool_view
from ansible_collections.flinkops.cookbook.plugins.module_utils.ccloud_rest import ComputePoolClient
from ansible_collections.flinkops.cookbook.plugins.module_utils.confluent_api import ConfluentModule, argument_spec


class Module(ConfluentModule):
    CLIENT = ComputePoolClient
    API_KEY = "cloud"


def run(cm):
    client, p = cm.client, cm.params
    if p["pool_id"]:
        one = client.get_pool(p["pool_id"])
        if one is None:
            raise ConfluentError("compute pool %s does not exist in environment %s"
                                 % (p["pool_id"], client.environment_id))
        pools = [one]
    else:
        pools = client.list_pools(region=p["region"])
    return {"changed": False, "pools": [pool_view(x) for x in pools]}


def main():
    Module(argument_spec(pool_id=dict(type="str"), region=dict(type="str")), supports_check_mode=True).run(run)


if __name__ == "__main__":
    main()
