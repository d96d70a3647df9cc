#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: flink_metrics_info
short_description: Read the key health metrics of Apache Flink jobs and diagnose them
version_added: 0.1.0
description:
  - The metrics of cookbook recipe 5.1 (key metrics to watch) and the evidence of recipe 7.2
    (persistent checkpoint failures), per job, with a diagnosis.
  - Per job, restarts (job metric C(numRestarts)); checkpoint counts, durations against the interval
    and the timeout, failed checkpoints with the cause Flink reports, grouped and classified, and the
    state size trend over the checkpoint history Flink retains; backpressure per vertex, polled until
    Flink has a fresh sample.
  - Per TaskManager, JVM heap used, committed and max, garbage collection counts and time, and slots.
  - Each job gets C(findings), each naming its evidence and the stabilisation the cookbook recommends,
    and an overall C(health).
  - Read-only; never changes anything.
author:
  - flinkops maintainers (@flinkops)
extends_documentation_fragment:
  - flinkops.cookbook.flink
options:
  name:
    description: Only jobs with this name. All jobs when neither O(name) nor O(job_id) is set.
    type: str
  job_id:
    description: Only the job with this 32-hex id.
    type: str
  active_only:
    description: Leave out jobs in a terminal state (FINISHED, CANCELED, FAILED).
    type: bool
    default: true
  backpressure:
    description:
      - Read backpressure per vertex of every RUNNING job. Flink may start a sample on the first request;
        the module polls until the sample is fresh or O(backpressure_timeout) runs out.
    type: bool
    default: true
  backpressure_timeout:
    description:
      - Seconds to wait for fresh backpressure samples, for all vertices of one job together. A vertex
        still without a sample is reported with level C(unknown).
    type: int
    default: 20
  taskmanagers:
    description: Read JVM heap, garbage collection and slots of every TaskManager.
    type: bool
    default: true
notes:
  - 'Thresholds of the diagnosis: the average checkpoint duration at half the interval or more,
    the slowest duration at 80 % of the timeout or more, the state grown by 50 % or more over at
    least three retained checkpoints, and a TaskManager heap 90 % used or more.'
  - Flink retains the last C(web.checkpoints.history) checkpoints (10 by default); durations,
    failure causes and the state trend cover that window, the counts cover the whole job.
attributes:
  check_mode:
    support: full
    description: Read-only, runs the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing, so there is no diff.
"""

EXAMPLES = r"""
- name: Health of every running job
  flinkops.cookbook.flink_metrics_info:
    endpoint: http://127.0.0.1:8081
  register: health

- name: Why does orders-enrichment fail to checkpoint?
  flinkops.cookbook.flink_metrics_info:
    name: orders-enrichment
    taskmanagers: false
  register: diag

- name: Show the recommended stabilisation
  ansible.builtin.debug:
    msg: "{{ diag.jobs[0].findings | map(attribute='recommendation') | list }}"
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
    restarts:
      description: The job metric C(numRestarts) (null when Flink has not reported it yet).
      type: int
    vertices:
      description: Per vertex its id, name, parallelism and status.
      type: list
      elements: dict
    checkpoints:
      description:
        - C(counts) as Flink reports them; C(config) (interval, timeout, min pause, unaligned, tolerable
          failures, state backend, checkpoint storage); C(latest_completed) and C(latest_failed).
        - C(failed_at_trigger), the failed checkpoints Flink counted without a record, having failed at their
          trigger (for example while not all tasks were RUNNING); null when a latest failed checkpoint exists and
          the split is unknown.
        - C(history), the retained checkpoints oldest first (id, status, trigger timestamp, end-to-end duration,
          state size), savepoints left out.
        - C(duration_ms) (last, avg, max, p90 and the maximum of the retained history), C(duration_vs_interval)
          (average duration / interval) and C(duration_vs_timeout) (slowest / timeout).
        - C(failures) (id, timestamps, message and category per failed checkpoint of the retained history)
          and C(failure_causes) (the distinct messages with their count, most frequent first); categories are
          C(storage), C(timeout), C(tasks_not_running), C(serialization) and C(operator).
        - C(consecutive_failures), C(state_size) (samples, first, last, growth and C(trend)) and C(storage_uri),
          the checkpoint directory derived from the latest completed checkpoint.
      type: dict
    backpressure:
      description: C(level) (ok, low, high or unknown) and C(vertices) (level, ratios and sample status per vertex).
      type: dict
    findings:
      description: The diagnosis, worst first; each has C(code), C(severity), C(title), C(evidence) and C(recommendation).
      type: list
      elements: dict
    health:
      description: C(ok), C(warning) or C(critical), the worst severity of the findings.
      type: str
taskmanagers:
  description: Per TaskManager its id, slots, heap used, committed and max (bytes), heap used percent, garbage
    collectors (count, time), total GC count and time, and findings.
  returned: when O(taskmanagers=true)
  type: list
  elements: dict
slots:
  description: C(total), C(available) and C(used) slots of the cluster.
  returned: always
  type: dict
flink_version:
  description: The version of the Flink cluster.
  returned: always
  type: str
"""

from ansible_collections.flinkops.cookbook.plugins.module_utils import flink_diagnostics
from ansible_collections.flinkops.cookbook.plugins.module_utils.flink_module import FlinkModule, argument_spec
from ansible_collections.flinkops.cookbook.plugins.module_utils.flink_ops import find_jobs, FlinkOpsError
from ansible_collections.flinkops.cookbook.plugins.module_utils.flink_rest import check_job_id


def run(fm):
    params = fm.params
    client = fm.client
    check_job_id(params["job_id"])
    if params["backpressure_timeout"] < 0:
        raise FlinkOpsError("backpressure_timeout must be 0 or more seconds")
    found = find_jobs(client, name=params["name"], job_id=params["job_id"], active_only=params["active_only"])
    jobs = [flink_diagnostics.describe_job(client, j, backpressure=params["backpressure"],
                                           backpressure_timeout=params["backpressure_timeout"])
            for j in found]
    overview = client.overview() or {}
    total, available = overview.get("slots-total", 0), overview.get("slots-available", 0)
    result = {"changed": False, "jobs": jobs, "flink_version": client.version_string,
              "slots": {"total": total, "available": available, "used": total - available}}
    if params["taskmanagers"]:
        result["taskmanagers"] = [flink_diagnostics.taskmanager_health(client, tm) for tm in client.taskmanagers()]
    return result


def main():
    spec = argument_spec(
        name=dict(type="str"), job_id=dict(type="str"), active_only=dict(type="bool", default=True),
        backpressure=dict(type="bool", default=True), backpressure_timeout=dict(type="int", default=20),
        taskmanagers=dict(type="bool", default=True))
    FlinkModule(spec, supports_check_mode=True).run(run)


if __name__ == "__main__":
    main()
