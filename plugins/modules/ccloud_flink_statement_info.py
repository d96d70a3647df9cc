#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ccloud_flink_statement_info
short_description: Confluent Cloud for Apache Flink SQL statements, their phases and exceptions
version_added: 0.1.0
description:
  - Reads the statements of an environment (all, the ones of O(compute_pool_id), or O(names)) with their phase,
    detail, SQL, pool, latest offsets and, with O(exceptions=true), their exceptions.
  - C(phases) groups them by phase; C(missing) lists the O(names) that do not exist.
author:
  - flinkops maintainers (@flinkops)
extends_documentation_fragment:
  - flinkops.cookbook.confluent_cloud
options:
  names:
    description: Only these statements.
    type: list
    elements: str
  compute_pool_id:
    description: Only the statements of this compute pool.
    type: str
  exceptions:
    description: Also read each statement's exceptions.
    type: bool
    default: false
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
- name: Are the DR statements running?
  flinkops.cookbook.ccloud_flink_statement_info:
    names: [orders-enriched-v1]
  register: dr_statements
"""

RETURN = r"""
statements:
  description: One entry per statement (C(name), C(statement), C(compute_pool_id), C(principal), C(properties),
    C(stopped), C(phase), C(detail), C(latest_offsets), C(is_append_only), and C(exceptions) when asked).
  returned: always
  type: list
  elements: dict
phases:
  description: Statement names per phase.
  returned: always
  type: dict
missing:
  description: The O(names) that do not exist.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.flinkops.cookbook.plugins.module_utils.ccloud_ops import exceptions_of, statement_view
from ansible_collections.flinkops.cookbook.plugins.module_utils.ccloud_sql_rest import StatementClient
from ansible_collections.flinkops.cookbook.plugins.module_utils.confluent_api import ConfluentModule, argument_spec


class Module(ConfluentModule):
    CLIENT = StatementClient
    API_KEY = "flink"


def run(cm):
    client, p = cm.client, cm.params
    missing = []
    if p["names"]:
        found = []
        for name in p["names"]:
            obj = client.get_statement(name)
            if obj is None:
                missing.append(name)
            else:
                found.append(obj)
    else:
        found = client.list_statements(compute_pool_id=p["compute_pool_id"])
    out, phases = [], {}
    for obj in found:
        view = statement_view(obj)
        if p["exceptions"]:
            view["exceptions"] = exceptions_of(client, view["name"])
        out.append(view)
        phases.setdefault(view["phase"], []).append(view["name"])
    return {"changed": False, "statements": out, "phases": phases, "missing": missing}


def main():
    spec = argument_spec(names=dict(type="list", elements="str"), compute_pool_id=dict(type="str"),
                         exceptions=dict(type="bool", default=False))
    Module(spec, supports_check_mode=True).run(run)


if __name__ == "__main__":
    main()
