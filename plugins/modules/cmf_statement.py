#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cmf_statement
short_description: A Flink SQL statement of Confluent Manager for Apache Flink (CMF) as desired state
version_added: 0.1.0
description:
  - Creates, stops, resumes, updates or deletes a CMF Statement (a Flink SQL statement that runs on a compute pool),
    then waits for its phase (C(RUNNING) or C(COMPLETED) for O(state=running), C(STOPPED) for O(state=stopped)).
  - A statement that goes C(FAILED) is an error carrying the statement's exceptions (the last ten, as CMF keeps them).
  - Only the options that are set are compared; server-set fields never count as a difference. The SQL text of a
    statement cannot change in CMF; a different O(statement) is an error unless O(recreate=true), which deletes the
    statement and creates it again (its state is lost, unless O(savepoint_name) or O(savepoint_path) is given for
    the resume of an existing one).
  - O(savepoint_name) or O(savepoint_path) resume a stopped statement from that savepoint (C(spec.startFromSavepoint)).
author:
  - flinkops maintainers (@flinkops)
extends_documentation_fragment:
  - flinkops.cookbook.cmf
options:
  environment:
    description: Name of the CMF environment of the statement.
    type: str
    required: true
  name:
    description: Name of the statement.
    type: str
    required: true
  state:
    description: C(running) (a stopped statement is resumed), C(stopped), or C(absent).
    type: str
    choices: [running, stopped, absent]
    default: running
  statement:
    description: The SQL text (C(spec.statement)). Required to create the statement.
    type: str
  compute_pool:
    description: The compute pool the statement runs on (C(spec.computePoolName)). Required to create the statement.
    type: str
  parallelism:
    description: Parallelism of the statement (C(spec.parallelism)).
    type: int
  properties:
    description: Session properties (C(spec.properties)), for example C(sql.current-catalog); merged key by key.
    type: dict
  flink_configuration:
    description: Flink configuration of the statement (C(spec.flinkConfiguration)); merged key by key, values sent as strings.
    type: dict
  savepoint_name:
    description: When the statement is resumed, start it from this savepoint resource.
    type: str
  savepoint_path:
    description: When the statement is resumed, start it from this savepoint path.
    type: str
  recreate:
    description: When O(statement) differs from the SQL CMF has, delete the statement and create it again.
    type: bool
    default: false
  wait:
    description: Wait for the statement's phase after a change.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for the phase.
    type: int
    default: 300
  fetch_exceptions:
    description: Return the statement's exceptions (C(exceptions)) even when it did not fail.
    type: bool
    default: false
  labels:
    description: Labels of the statement (C(metadata.labels)), merged key by key.
    type: dict
  annotations:
    description: Annotations of the statement (C(metadata.annotations)), merged key by key.
    type: dict
attributes:
  check_mode:
    support: full
    description: Reports what would change; writes nothing.
  diff_mode:
    support: full
    description: Shows the metadata and spec before and after.
notes:
  - Idempotent. A second run with the same options reports C(changed=false).
"""

EXAMPLES = r"""
- name: A continuous INSERT statement on the pool of the environment
  flinkops.cookbook.cmf_statement:
    url: https://cmf.example.com
    environment: production
    name: orders-enriched
    compute_pool: pool
    statement: INSERT INTO orders_enriched SELECT o.*, c.name FROM orders o JOIN customers c ON o.cid = c.id
    properties:
      sql.current-catalog: kafka-cat
      sql.current-database: main-kafka-cluster
    parallelism: 2

- name: Stop it (CMF takes a savepoint)
  flinkops.cookbook.cmf_statement:
    environment: production
    name: orders-enriched
    state: stopped
"""

RETURN = r"""
statement:
  description: The statement as CMF returns it after the run (null when absent).
  returned: always
  type: dict
phase:
  description: The statement's C(status.phase) after the run (C(PENDING), C(RUNNING), C(COMPLETED), C(STOPPED), C(FAILED)).
  returned: always
  type: str
  sample: RUNNING
outcome:
  description: What was done, one of C(none), C(created), C(updated), C(stopped), C(resumed), C(recreated), C(deleted).
  returned: always
  type: str
differences:
  description: The compared fields that differed (dotted spec paths).
  returned: when changed
  type: list
  elements: str
exceptions:
  description: The statement's exceptions (name, timestamp, message), newest first.
  returned: on failure, and with O(fetch_exceptions=true)
  type: list
  elements: dict
progress:
  description: Phases seen during the wait.
  returned: when there was a wait
  type: list
  elements: str
"""

import copy

from ansible_collections.flinkops.cookbook.plugins.module_utils.cmf_module import CmfModule, argument_spec
from ansible_collections.flinkops.cookbook.plugins.module_utils.cmf_ops import (
    Resource, converge, phase, plan_resource, resource_body, resource_view, stringify_configuration, user_metadata,
    wait_phase)
from ansible_collections.flinkops.cookbook.plugins.module_utils.cmf_rest import CmfError

FAILED_PHASES = ("FAILED", "FAILING")


def desired_spec(p):
    spec = {}
    for option, key in (("statement", "statement"), ("compute_pool", "computePoolName"), ("parallelism", "parallelism"),
                        ("properties", "properties")):
        if p[option] is not None:
            spec[key] = p[option]
    if spec.get("properties") is not None:
        spec["properties"] = stringify_configuration(spec["properties"])
    if p["flink_configuration"] is not None:
        spec["flinkConfiguration"] = stringify_configuration(p["flink_configuration"])
    if p["state"] != "absent":
        spec["stopped"] = p["state"] == "stopped"
    return spec


def exceptions_of(client, env, name):
    out = []
    for exc in client.statement_exceptions(env, name):
        out.append({"name": exc.get("name"), "timestamp": exc.get("timestamp"), "message": exc.get("message")})
    return out


def wait_for(cm, want):
    p = cm.params
    client = cm.client
    env, name = p["environment"], p["name"]
    phases = ("STOPPED",) if want == "stopped" else ("RUNNING", "COMPLETED")
    try:
        return wait_phase(lambda: client.get_statement(env, name), "statement %s in environment %s" % (name, env),
                          phases, FAILED_PHASES, p["wait_timeout"], report=cm.report)[0]
    except CmfError as exc:
        found = exceptions_of(client, env, name)
        exc.details["exceptions"] = found
        if found:
            raise CmfError("%s; exceptions: %s" % (exc, " | ".join(e["message"].strip().splitlines()[0]
                                                                   for e in found[:3] if e.get("message"))),
                           **exc.details)
        raise


def ensure_present(cm, current):
    p = cm.params
    client = cm.client
    env, name = p["environment"], p["name"]
    spec = desired_spec(p)
    if current is None and not (p["statement"] and p["compute_pool"]):
        raise CmfError("statement %s does not exist in environment %s: statement and compute_pool are required to "
                       "create it" % (name, env))
    found, new_spec, meta = plan_resource(current, spec, user_metadata(p["labels"], p["annotations"]))
    recreate = current is not None and "statement" in found
    if recreate and not p["recreate"]:
        raise CmfError("statement %s: CMF cannot change the SQL of a statement; set recreate=true to delete it and "
                       "create it again (nothing was changed)" % name)
    state_now = phase(current)
    restart_failed = current is not None and not found and p["state"] == "running" and state_now in FAILED_PHASES
    if current is not None and not found and not restart_failed:
        result = {"changed": False, "outcome": "none", "statement": current, "phase": state_now}
        if p["fetch_exceptions"]:
            result["exceptions"] = exceptions_of(client, env, name)
        return result
    was_stopped = bool((current or {}).get("spec", {}).get("stopped"))
    if recreate or current is None:
        new_spec = copy.deepcopy(spec)
        outcome = "recreated" if recreate else "created"
    elif p["state"] == "stopped" and not was_stopped:
        outcome = "stopped"
    elif p["state"] == "running" and (was_stopped or restart_failed):
        outcome = "resumed"
        if restart_failed:
            found = ["phase %s" % state_now]
            new_spec["stopped"] = False
        if p["savepoint_name"] or p["savepoint_path"]:
            start = {"savepointName": p["savepoint_name"]} if p["savepoint_name"] else {
                "initialSavepointPath": p["savepoint_path"]}
            new_spec["startFromSavepoint"] = start
    else:
        outcome = "updated"
    body = resource_body("Statement", name, new_spec, meta)
    result = {"changed": True, "outcome": outcome, "differences": found,
              "diff": {"before": resource_view(current), "after": resource_view(body)}}
    if cm.check_mode:
        result.update(statement=body, phase=state_now)
        return result
    if restart_failed:
        # a FAILED statement restarts through a stop and a resume
        client.update_statement(env, name, resource_body("Statement", name, dict(new_spec, stopped=True), meta))
    if recreate:
        client.delete_statement(env, name)
    if recreate or current is None:
        client.create_statement(env, body)
    else:
        client.update_statement(env, name, body)
    after = wait_for(cm, p["state"]) if p["wait"] else client.get_statement(env, name)
    result.update(statement=after, phase=phase(after))
    if p["fetch_exceptions"]:
        result["exceptions"] = exceptions_of(client, env, name)
    return result


def run(cm):
    client, env, name = cm.client, cm.params["environment"], cm.params["name"]
    statement = Resource("Statement", name, "statement", lambda: client.get_statement(env, name),
                         lambda body: client.create_statement(env, body),
                         lambda body: client.update_statement(env, name, body),
                         lambda: client.delete_statement(env, name), extra=lambda obj: {"phase": phase(obj)})
    return converge(cm, statement, lambda cm, _statement, current: ensure_present(cm, current))


def main():
    spec = argument_spec(
        environment=dict(type="str", required=True),
        name=dict(type="str", required=True),
        state=dict(type="str", default="running", choices=["running", "stopped", "absent"]),
        statement=dict(type="str"),
        compute_pool=dict(type="str"),
        parallelism=dict(type="int"),
        properties=dict(type="dict"),
        flink_configuration=dict(type="dict"),
        savepoint_name=dict(type="str"),
        savepoint_path=dict(type="str"),
        recreate=dict(type="bool", default=False),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=300),
        fetch_exceptions=dict(type="bool", default=False),
        labels=dict(type="dict"),
        annotations=dict(type="dict"),
    )
    CmfModule(spec, supports_check_mode=True, mutually_exclusive=[("savepoint_name", "savepoint_path")]).run(run)


if __name__ == "__main__":
    main()
