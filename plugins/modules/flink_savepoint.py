#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: flink_savepoint
short_description: Take a savepoint of an Apache Flink job, or stop it with one
version_added: 0.1.0
description:
  - Triggers a savepoint (or a stop-with-savepoint with O(stop=true)) through the JobManager REST API,
    waits for it and returns its location.
  - The trigger id is chosen by the module and sent with the request, so a retried request does not
    take two savepoints. A wait that times out leaves the job running, returns the trigger id, and
    can be resumed with O(trigger_id).
  - A failed savepoint returns Flink's failure cause; the job keeps running.
  - Idempotency. With O(max_age), a savepoint of the job completed within that many seconds is
    returned instead of taking a new one (C(changed=false)). With O(stop=true), a job that no
    longer runs is reported unchanged.
author:
  - flinkops maintainers (@flinkops)
extends_documentation_fragment:
  - flinkops.cookbook.flink
options:
  name:
    description: Name of the (single active) job.
    type: str
  job_id:
    description: Id of the job.
    type: str
  target_directory:
    description: Absolute savepoint directory URI. Unset means the cluster's configured savepoint directory.
    type: str
  shared_fs:
    description:
      - Accept a C(file://) or bare absolute O(target_directory); only when it is shared by every
        JobManager and TaskManager.
    type: bool
    default: false
  format_type:
    description: Savepoint format.
    type: str
    choices: [CANONICAL, NATIVE]
    default: CANONICAL
  stop:
    description: Stop the job with this savepoint (stop-with-savepoint).
    type: bool
    default: false
  drain:
    description: With O(stop=true), drain the pipeline first. Only for jobs retired for good.
    type: bool
    default: false
  timeout:
    description: Seconds to wait for the savepoint. Make it at least C(execution.checkpointing.timeout).
    type: int
    default: 600
  trigger_id:
    description: Resume waiting for an earlier trigger (from a timed-out run) instead of triggering.
    type: str
  max_age:
    description: Re-use a savepoint of this job completed less than this many seconds ago.
    type: int
attributes:
  check_mode:
    support: full
    description: Reports that a savepoint would be taken; triggers nothing.
  diff_mode:
    support: none
    description: Changes nothing, so there is no diff.
"""

EXAMPLES = r"""
- name: Savepoint before maintenance
  flinkops.cookbook.flink_savepoint:
    endpoint: https://flink.example.com
    name: orders-enrichment
    target_directory: s3://flink-state/savepoints/orders-enrichment
    timeout: 900
  register: sp

- name: Record it
  ansible.builtin.debug:
    msg: "savepoint at {{ sp.savepoint.location }}"
"""

RETURN = r"""
savepoint:
  description: The savepoint.
  returned: when one was taken or re-used
  type: dict
  contains:
    location:
      description: The savepoint location exactly as Flink reports it.
      type: str
      sample: file:///data/flink/savepoints/savepoint-8d1c2d-0e4b2c1f7a9e
    trigger_id:
      description: The trigger id (32 hex).
      type: str
    job_id:
      description: The job.
      type: str
    stopped:
      description: Whether the job was stopped with it.
      type: bool
    duration_s:
      description: Seconds from trigger to completion.
      type: float
    progress:
      description: Samples of acknowledged subtasks and checkpointed bytes while waiting.
      type: list
      elements: dict
    reused:
      description: True when an existing savepoint younger than O(max_age) was returned.
      type: bool
    joined:
      description: True when a concurrent run had already asked for this savepoint (same fenced trigger id) and
        this run waited for that one instead of taking a second.
      type: bool
job:
  description: Id, name and state of the job after the run.
  returned: always
  type: dict
"""

import time

from ansible_collections.flinkops.cookbook.plugins.module_utils.flink_module import FlinkModule, argument_spec
from ansible_collections.flinkops.cookbook.plugins.module_utils.flink_ops import (
    FlinkOpsError, check_savepoint_uri, find_active_job, require_active_job, take_savepoint)


def recent_savepoint(client, job_id, max_age):
    latest = ((client.job_checkpoints(job_id) or {}).get("latest") or {}).get("savepoint") or {}
    stamp = latest.get("latest_ack_timestamp") or latest.get("trigger_timestamp") or 0
    if latest.get("external_path") and time.time() * 1000 - stamp <= max_age * 1000:
        return {"location": latest["external_path"], "job_id": job_id, "stopped": False, "reused": True,
                "checkpoint_id": latest.get("id")}
    return None


def run(fm):
    p = fm.params
    if p["drain"] and not p["stop"]:
        raise FlinkOpsError("drain=true only applies with stop=true")
    check_savepoint_uri(p["target_directory"], p["shared_fs"], "target_directory")
    client = fm.client
    if p["stop"] and not p["trigger_id"]:
        job = find_active_job(client, name=p["name"], job_id=p["job_id"])
        if job is None:
            return {"changed": False, "job": {"name": p["name"], "id": p["job_id"], "state": "absent"}}
    else:
        job = require_active_job(client, name=p["name"], job_id=p["job_id"])
    view = {"id": job["jid"], "name": job["name"], "state": job["state"]}
    if p["max_age"] and not p["stop"]:
        reused = recent_savepoint(client, job["jid"], p["max_age"])
        if reused:
            return {"changed": False, "savepoint": reused, "job": view}
    if job["state"] != "RUNNING":
        raise FlinkOpsError("job %s (%s) is %s: a savepoint needs a RUNNING job" % (job["name"], job["jid"], job["state"]),
                            job=view)
    if fm.check_mode:
        return {"changed": True, "job": view}
    # Fenced on the newest savepoint the job has: two runs taking a backup at the same time join one
    # trigger (one savepoint); once it completes, the next backup gets a new id.
    latest = ((client.job_checkpoints(job["jid"]) or {}).get("latest") or {}).get("savepoint") or {}
    fence = ("stop" if p["stop"] else "savepoint", latest.get("id"), p["target_directory"], p["format_type"])
    savepoint = take_savepoint(client, job["jid"], p["target_directory"], p["format_type"], p["timeout"],
                               stop=p["stop"], drain=p["drain"], trigger_id=p["trigger_id"], report=fm.report,
                               fence=fence)
    savepoint["reused"] = False
    if p["stop"]:
        state = (client.job_or_none(job["jid"]) or {}).get("state", "absent")
        view["state"] = state
    return {"changed": True, "savepoint": savepoint, "job": view}


def main():
    spec = argument_spec(
        name=dict(type="str"), job_id=dict(type="str"), target_directory=dict(type="str"),
        shared_fs=dict(type="bool", default=False),
        format_type=dict(type="str", default="CANONICAL", choices=["CANONICAL", "NATIVE"]),
        stop=dict(type="bool", default=False), drain=dict(type="bool", default=False),
        timeout=dict(type="int", default=600), trigger_id=dict(type="str", no_log=False),
        max_age=dict(type="int"))
    fm = FlinkModule(spec, supports_check_mode=True, required_one_of=[("name", "job_id")],
                     mutually_exclusive=[("name", "job_id")])
    fm.run(run)


if __name__ == "__main__":
    main()
