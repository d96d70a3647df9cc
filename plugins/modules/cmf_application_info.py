#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cmf_application_info
short_description: Read FlinkApplications of Confluent Manager for Apache Flink (CMF)
version_added: 0.1.0
description:
  - Returns one FlinkApplication of a CMF environment by name, or all of them, with the job state, the current
    instance (the spec CMF deployed, and the savepoint it started from) and, on request, the latest events.
author:
  - flinkops maintainers (@flinkops)
extends_documentation_fragment:
  - flinkops.cookbook.cmf
options:
  environment:
    description: Name of the CMF environment.
    type: str
    required: true
  name:
    description: Name of one application. When unset, every application of the environment is returned.
    type: str
  events:
    description: Also return each application's latest events.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Read-only.
  diff_mode:
    support: none
    description: Read-only.
"""

EXAMPLES = r"""
- name: Read one application before changing it
  flinkops.cookbook.cmf_application_info:
    url: https://cmf.example.com
    environment: production
    name: orders-enrichment
    events: true
  register: before
"""

RETURN = r"""
applications:
  description: The applications found (empty when O(name) does not exist).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Application name.
      type: str
    job_state:
      description: The job state CMF reports (C(CREATED), C(RUNNING), C(SUSPENDED), C(FAILED), ...).
      type: str
    job_id:
      description: Flink job id of the current deployment.
      type: str
    spec:
      description: The application spec as stored by CMF (camelCase, as given to CMF).
      type: dict
    restored_from:
      description: The savepoint path the current instance started from (null when it started empty).
      type: str
    instance:
      description: Name of the current instance (one per deployment of a spec).
      type: str
    events:
      description: The latest events (time, type, message), with O(events=true).
      type: list
      elements: str
    application:
      description: The FlinkApplication as CMF returns it.
      type: dict
records:
  description:
    - The same applications as RV(applications), as job records, the one job view every backend returns (see
      C(docs/backends.md)); M(flinkops.cookbook.flink_job_info) returns the same shape.
    - The evidence is the application's job status, its savepoints (CMF 2.1 and newer) and its events.
  returned: always
  type: list
  elements: dict
  version_added: 0.1.0
  contains:
    platform:
      description: The backend, C(cmf).
      type: str
    name:
      description: Application name.
      type: str
    id:
      description: Flink job id of the current deployment.
      type: str
    state:
      description: The job state CMF reports.
      type: str
    version:
      description: The C(flinkops.io/version) label, or null.
      type: str
    parallelism:
      description: C(spec.job.parallelism).
      type: int
    start_time:
      description: Start of the current job in epoch milliseconds, or null.
      type: int
    restored_from:
      description: The savepoint path the current instance started from, or null.
      type: str
    latest_completed:
      description: The latest COMPLETED savepoint (C(kind), C(id) its name, C(path), C(timestamp), C(message)), or null.
      type: dict
    latest_failed:
      description: The latest FAILED savepoint, with CMF's error as C(message), or null.
      type: dict
    latest_savepoint:
      description: The same as C(latest_completed) (CMF reports savepoints, not checkpoints).
      type: dict
    exceptions:
      description: The JOB_EXCEPTION events of the current deployment, newest first (C(timestamp), C(name), C(message), C(task)).
      type: list
      elements: dict
    raw:
      description: The FlinkApplication as CMF returns it.
      type: dict
"""

from ansible_collections.flinkops.cookbook.plugins.module_utils.cmf_module import CmfModule, argument_spec
from ansible_collections.flinkops.cookbook.plugins.module_utils.cmf_ops import event_summary, job_id, job_state
from ansible_collections.flinkops.cookbook.plugins.module_utils.cmf_rest import CmfError
from ansible_collections.flinkops.cookbook.plugins.module_utils.job_record import from_cmf_application


def view(client, env, app, with_events):
    name = (app.get("metadata") or {}).get("name")
    instances = client.application_instances(env, name)
    current = max(instances, key=lambda i: (i.get("metadata") or {}).get("creationTimestamp") or "") if instances else {}
    inst_spec = ((current.get("status") or {}).get("spec") or {})
    out = {"name": name, "job_state": job_state(app), "job_id": job_id(app), "spec": app.get("spec") or {},
           "restored_from": (inst_spec.get("job") or {}).get("initialSavepointPath"),
           "instance": (current.get("metadata") or {}).get("name"), "application": app}
    if with_events:
        out["events"] = event_summary(client, env, name, limit=20)
    return out


def record_of(client, env, view):
    """The job record of an application: its job status, savepoints and events as the evidence."""
    name = view["name"]
    try:
        savepoints = client.list_app_savepoints(env, name)
    except CmfError:  # CMF older than 2.1 has no savepoints: the record says none
        savepoints = None
    try:
        events = client.application_events(env, name)
    except Exception:  # the events endpoint is alpha: never fail a read because of it
        events = []
    return from_cmf_application(view["application"], restored_from=view["restored_from"], savepoints=savepoints,
                                events=events, instance=view["instance"])


def run(cm):
    p = cm.params
    client = cm.client
    if p["name"]:
        app = client.get_application(p["environment"], p["name"])
        apps = [app] if app else []
    else:
        apps = client.list_applications(p["environment"])
    views = [view(client, p["environment"], a, p["events"]) for a in apps]
    return {"changed": False, "applications": views,
            "records": [record_of(client, p["environment"], v) for v in views]}


def main():
    spec = argument_spec(environment=dict(type="str", required=True), name=dict(type="str"),
                         events=dict(type="bool", default=False))
    CmfModule(spec, supports_check_mode=True).run(run)


if __name__ == "__main__":
    main()
