#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: flink_job_info
short_description: Read Apache Flink jobs with their state, parallelism, checkpoints and exceptions
version_added: 0.1.0
description:
  - Finds jobs by name or id and returns, per job, its state, parallelism per vertex, start time,
    checkpoint counts, the latest completed and failed checkpoint, the checkpoint or savepoint it was
    restored from, its newest exceptions, and the version it was deployed with by
    M(flinkops.cookbook.flink_job).
  - Read-only; never changes anything.
author:
  - flinkops maintainers (@flinkops)
extends_documentation_fragment:
  - flinkops.cookbook.flink
options:
  name:
    description: Only jobs with this name.
    type: str
  job_id:
    description: Only the job with this 32-hex id.
    type: str
  names:
    description:
      - Only jobs with one of these names, read in one call (the validation window of a wave of jobs reads
        its jobs this way, and no job outside the wave). Mutually exclusive with O(name) and O(job_id).
    type: list
    elements: str
  active_only:
    description: Leave out jobs in a terminal state (FINISHED, CANCELED, FAILED).
    type: bool
    default: true
  max_exceptions:
    description: How many entries of each job's exception history to return.
    type: int
    default: 3
attributes:
  check_mode:
    support: full
    description: Read-only, runs the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing, so there is no diff.
"""

EXAMPLES = r"""
- name: Read one job by name
  flinkops.cookbook.flink_job_info:
    endpoint: http://127.0.0.1:8081
    name: orders-enrichment
  register: info

- name: Show where it restored from
  ansible.builtin.debug:
    msg: "{{ info.jobs[0].checkpoints.restored.external_path | default('not restored') }}"

- name: Read the jobs of a wave, and no other
  flinkops.cookbook.flink_job_info:
    endpoint: http://127.0.0.1:8081
    names: [orders-enrichment, payments-dedup]
  register: wave
"""

RETURN = r"""
jobs:
  description: The jobs found, oldest first.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Job id.
      type: str
    name:
      description: Job name.
      type: str
    state:
      description: Job state as Flink reports it.
      type: str
      sample: RUNNING
    start_time:
      description: Start time in epoch milliseconds.
      type: int
    duration_ms:
      description: How long the job has existed.
      type: int
    parallelism:
      description: The largest vertex parallelism (the slots the job uses with slot sharing).
      type: int
    vertices:
      description: Per vertex its id, name, parallelism, max parallelism and status.
      type: list
      elements: dict
    version:
      description: The version label set by M(flinkops.cookbook.flink_job), or null for a job started otherwise.
      type: str
    spec:
      description: The full spec (jar, entry class, args, parallelism) the job was started with by this collection.
      type: dict
    checkpoints:
      description: C(counts), C(latest_completed), C(latest_failed), C(latest_savepoint) and C(restored).
      type: dict
    exceptions:
      description: The newest root exceptions (name, first lines, task, timestamp).
      type: list
      elements: dict
records:
  description:
    - The same jobs as RV(jobs), as job records, the one job view every backend returns (see
      C(docs/backends.md)); M(flinkops.cookbook.cmf_application_info) returns the same shape.
  returned: always
  type: list
  elements: dict
  version_added: 0.1.0
  contains:
    platform:
      description: The backend, C(flink).
      type: str
    name:
      description: Job name.
      type: str
    id:
      description: Job id.
      type: str
    state:
      description: Job state as Flink reports it.
      type: str
    version:
      description: The version the job was deployed with, or null.
      type: str
    parallelism:
      description: The job's parallelism (its largest vertex parallelism).
      type: int
    start_time:
      description: Start time in epoch milliseconds.
      type: int
    restored_from:
      description: The checkpoint or savepoint path the job restored from, or null.
      type: str
    latest_completed:
      description: The latest completed checkpoint (C(kind), C(id), C(path), C(timestamp), C(message)), or null.
      type: dict
    latest_failed:
      description: The latest failed checkpoint, with its failure C(message), or null.
      type: dict
    latest_savepoint:
      description: The latest savepoint, or null.
      type: dict
    exceptions:
      description: The exceptions since the job started, newest first (C(timestamp), C(name), C(message), C(task)).
      type: list
      elements: dict
    raw:
      description: The job as RV(jobs) describes it.
      type: dict
"""

from ansible_collections.flinkops.cookbook.plugins.module_utils.flink_module import FlinkModule, argument_spec
from ansible_collections.flinkops.cookbook.plugins.module_utils.flink_ops import find_jobs, job_parallelism, job_spec
from ansible_collections.flinkops.cookbook.plugins.module_utils.flink_rest import check_job_id
from ansible_collections.flinkops.cookbook.plugins.module_utils.job_record import from_flink_job


def _checkpoint_summary(data):
    latest = data.get("latest") or {}

    def pick(item, keys=("id", "status", "external_path", "trigger_timestamp", "latest_ack_timestamp",
                         "end_to_end_duration", "checkpointed_size", "state_size", "failure_message",
                         "restore_timestamp", "is_savepoint")):
        return dict((k, item.get(k)) for k in keys if k in item) if item else None

    return {"counts": data.get("counts") or {}, "latest_completed": pick(latest.get("completed")),
            "latest_failed": pick(latest.get("failed")), "latest_savepoint": pick(latest.get("savepoint")),
            "restored": pick(latest.get("restored"))}


def describe_job(client, overview, max_exceptions):
    job_id = overview["jid"]
    job = client.job(job_id)
    spec = job_spec(client, job_id)
    exceptions = (client.job_exceptions(job_id, max_exceptions) or {}).get("exceptionHistory") or {}
    return {
        "id": job_id, "name": job.get("name"), "state": job.get("state"),
        "start_time": job.get("start-time"), "duration_ms": job.get("duration"),
        "parallelism": job_parallelism(job),
        "vertices": [{"id": v.get("id"), "name": v.get("name"), "parallelism": v.get("parallelism"),
                      "max_parallelism": v.get("maxParallelism"), "status": v.get("status")}
                     for v in job.get("vertices", [])],
        "version": spec.get("version") if spec else None,
        "spec": spec,
        "checkpoints": _checkpoint_summary(client.job_checkpoints(job_id) or {}),
        "exceptions": [{"name": e.get("exceptionName"), "task": e.get("taskName"), "timestamp": e.get("timestamp"),
                        "message": "\n".join((e.get("stacktrace") or "").splitlines()[:3])}
                       for e in (exceptions.get("entries") or [])[:max_exceptions]],
    }


def run(fm):
    params = fm.params
    check_job_id(params["job_id"])
    found = find_jobs(fm.client, name=params["name"], job_id=params["job_id"], active_only=params["active_only"])
    if params["names"] is not None:
        wanted = set(params["names"])
        found = [j for j in found if j.get("name") in wanted]
    jobs = [describe_job(fm.client, j, params["max_exceptions"]) for j in found]
    return {"changed": False, "jobs": jobs, "records": [from_flink_job(j) for j in jobs]}


def main():
    spec = argument_spec(
        name=dict(type="str"), job_id=dict(type="str"), names=dict(type="list", elements="str"),
        active_only=dict(type="bool", default=True), max_exceptions=dict(type="int", default=3))
    FlinkModule(spec, supports_check_mode=True, mutually_exclusive=[("name", "names"), ("job_id", "names")]).run(run)


if __name__ == "__main__":
    main()
