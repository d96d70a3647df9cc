#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ccloud_compute_pool
short_description: A Confluent Cloud for Apache Flink compute pool as desired state (max CFU)
version_added: 0.1.0
description:
  - Creates a compute pool (C(/fcpm/v2/compute-pools)) in the environment O(environment_id), changes its maximum CFU
    (cookbook 000 §1.2, "adjust max CFU per compute pool") or display name, or deletes it, and waits until it is
    C(PROVISIONED).
  - The pool is found by O(pool_id), else by O(display_name) in the environment (two pools of that name are an
    error naming both ids). Its cloud and region cannot change.
author:
  - flinkops maintainers (@flinkops)
extends_documentation_fragment:
  - flinkops.cookbook.confluent_cloud
options:
  pool_id:
    description: The pool id (C(lfcp-...)). Confluent Cloud chooses it at creation; a pool is created by O(display_name).
    type: str
  display_name:
    description: The pool's display name.
    type: str
  cloud:
    description: C(AWS), C(GCP) or C(AZURE). Required to create.
    type: str
  region:
    description: The cloud region, for example C(us-east-1). Required to create.
    type: str
  max_cfu:
    description: Maximum Confluent Flink Units of the pool (Confluent Cloud accepts 5, 10, 20, 30, 40 or 50).
    type: int
  state:
    description: C(present) or C(absent).
    type: str
    choices: [present, absent]
    default: present
  wait:
    description: Wait until the pool is C(PROVISIONED).
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait.
    type: int
    default: 600
attributes:
  check_mode:
    support: full
    description: Reports what would change; writes nothing.
  diff_mode:
    support: full
    description: The pool (name, cloud, region, max CFU, phase) before and after.
notes:
  - Idempotent. A second run with the same options reports C(changed=false).
"""

EXAMPLES = r"""
- name: Raise the DR pool to 20 CFU
  flinkops.cookbook.ccloud_compute_pool:
    environment_id: env-dr01
    display_name: dr-pool
    max_cfu: 20
"""

RETURN = r"""
pool:
  description: C(id), C(display_name), C(cloud), C(region), C(max_cfu), C(phase), C(current_cfu) after the run.
  returned: always
  type: dict
outcome:
  description: C(none), C(created), C(updated) or C(deleted).
  returned: always
  type: str
differences:
  description: The fields that changed.
  returned: when updated
  type: list
  elements: str
"""

from ansible_collections.flinkops.cookbook.plugins.module_utils.ccloud_ops import ensure_pool
from ansible_collections.flinkops.cookbook.plugins.module_utils.ccloud_rest import ComputePoolClient
from ansible_collections.flinkops.cookbook.plugins.module_utils.confluent_api import ConfluentModule, argument_spec


class Module(ConfluentModule):
    CLIENT = ComputePoolClient
    API_KEY = "cloud"


def run(cm):
    return ensure_pool(cm.client, cm.params, check_mode=cm.check_mode, report=cm.report)


def main():
    spec = argument_spec(
        pool_id=dict(type="str"),
        display_name=dict(type="str"),
        cloud=dict(type="str"),
        region=dict(type="str"),
        max_cfu=dict(type="int"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=600),
    )
    Module(spec, supports_check_mode=True, required_one_of=[("pool_id", "display_name")]).run(run)


if __name__ == "__main__":
    main()
