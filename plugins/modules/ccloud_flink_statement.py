#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ccloud_flink_statement
short_description: A Confluent Cloud for Apache Flink SQL statement as desired state
version_added: 0.1.0
description:
  - Creates, stops, resumes, moves or deletes a statement of the regional Flink SQL API
    (C(/sql/v1/organizations/{org}/environments/{env}/statements)), then waits for its phase
    (C(RUNNING) or C(COMPLETED) for O(state=running), C(STOPPED) for O(state=stopped)).
  - A statement that goes C(FAILED), C(FAILING) or (unless O(allow_degraded)) C(DEGRADED) is an error carrying the
    statement's exceptions.
  - The SQL (C(spec.statement)), the principal and the properties of a statement cannot change in Confluent Cloud. A
    different O(statement) under an existing O(name) is refused at once (nothing changed). The documented way is a
    new statement (a new O(name)) that O(replaces) the old one. When the old statement is stateless (the service
    reports it append-only, with no upsert columns) and O(carry_over_offsets=true), the new statement carries over its
    offsets (C(sql.tables.initial-offset-from)), then the old one is stopped and the new one starts where it stopped.
    Otherwise the old one is stopped first, then the new one is created and rebuilds its state from its sources.
    C(path) says which was taken.
  - A change of O(compute_pool_id) stops the statement, moves it, then brings it to O(state).
author:
  - flinkops maintainers (@flinkops)
extends_documentation_fragment:
  - flinkops.cookbook.confluent_cloud
options:
  name:
    description: Name of the statement (unique in the environment; lower case letters, digits, C(-) and C(.)).
    type: str
    required: true
  state:
    description: C(running) (a stopped statement is resumed), C(stopped) (created stopped when new), or C(absent).
    type: str
    choices: [running, stopped, absent]
    default: running
  statement:
    description: The SQL text. Required to create the statement.
    type: str
  compute_pool_id:
    description: The compute pool (C(lfcp-...)) it runs on. The environment's default pool when omitted.
    type: str
  principal:
    description: The service account (C(sa-...)) or user it runs as.
    type: str
  properties:
    description: Statement properties (C(sql.current-catalog), C(sql.current-database), ...), values sent as strings.
    type: dict
  replaces:
    description:
      - The statement this one replaces (a new version of its SQL). Used only when O(name) does not exist yet.
    type: str
  carry_over_offsets:
    description:
      - With O(replaces), carry over the offsets of a stateless old statement (Confluent's carry-over offsets). A
        stateful one is always stopped first.
    type: bool
    default: true
  allow_degraded:
    description: Count C(DEGRADED) as running instead of as a failure.
    type: bool
    default: false
  wait:
    description: Wait for the statement's phase after a change.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for a phase.
    type: int
    default: 300
attributes:
  check_mode:
    support: full
    description: Reports what would change and the path it would take; writes nothing.
  diff_mode:
    support: full
    description: The statement (SQL, pool, properties, stopped, phase) before and after.
notes:
  - Idempotent. A second run with the same options reports C(changed=false).
"""

EXAMPLES = r"""
- name: A continuous INSERT on a pool of the DR region
  flinkops.cookbook.ccloud_flink_statement:
    flink_url: https://flink.us-west-2.aws.confluent.cloud
    organization_id: 11111111-2222-3333-4444-555555555555
    environment_id: env-dr01
    name: orders-enriched-v1
    statement: INSERT INTO orders_enriched SELECT * FROM orders WHERE amount > 0
    compute_pool_id: lfcp-dr01
    principal: sa-flink-dr
    properties:
      sql.current-catalog: dr-env
      sql.current-database: lkc-dr123

- name: A new version of its SQL, carrying over the offsets
  flinkops.cookbook.ccloud_flink_statement:
    name: orders-enriched-v2
    replaces: orders-enriched-v1
    statement: INSERT INTO orders_enriched SELECT * FROM orders WHERE amount >= 0
    compute_pool_id: lfcp-dr01
"""

RETURN = r"""
statement:
  description: The statement as the API returns it after the run (null when absent).
  returned: always
  type: dict
phase:
  description: The statement's C(status.phase) after the run.
  returned: always
  type: str
  sample: RUNNING
path:
  description:
    - What was done, one of C(none), C(created), C(carry_over_offsets), C(stop_then_create), C(stopped), C(resumed),
      C(moved_compute_pool), C(deleted).
  returned: always
  type: str
replaced:
  description: The statement that was replaced, with O(replaces).
  returned: when a statement was replaced
  type: str
exceptions:
  description: The statement's exceptions (name, timestamp, message), newest first.
  returned: on failure
  type: list
  elements: dict
"""

from ansible_collections.flinkops.cookbook.plugins.module_utils.ccloud_ops import ensure_statement
from ansible_collections.flinkops.cookbook.plugins.module_utils.ccloud_sql_rest import StatementClient
from ansible_collections.flinkops.cookbook.plugins.module_utils.confluent_api import ConfluentModule, argument_spec


class Module(ConfluentModule):
    CLIENT = StatementClient
    API_KEY = "flink"


def run(cm):
    return ensure_statement(cm.client, cm.params, check_mode=cm.check_mode, report=cm.report)


def main():
    spec = argument_spec(
        name=dict(type="str", required=True),
        state=dict(type="str", default="running", choices=["running", "stopped", "absent"]),
        statement=dict(type="str"),
        compute_pool_id=dict(type="str"),
        principal=dict(type="str"),
        properties=dict(type="dict"),
        replaces=dict(type="str"),
        carry_over_offsets=dict(type="bool", default=True),
        allow_degraded=dict(type="bool", default=False),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=300),
    )
    Module(spec, supports_check_mode=True).run(run)


if __name__ == "__main__":
    main()
