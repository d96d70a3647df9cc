#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: flink_cluster_info
short_description: Read an Apache Flink cluster's version, TaskManagers, slots and jobs
version_added: 0.1.0
description:
  - Reads C(/config), C(/overview), C(/taskmanagers), C(/jobs/overview) and C(/jobmanager/config)
    from the Flink JobManager REST API.
  - Read-only; never changes anything.
author:
  - flinkops maintainers (@flinkops)
extends_documentation_fragment:
  - flinkops.cookbook.flink
options:
  include_config:
    description: Also return the JobManager configuration (secrets in it are masked by Flink).
    type: bool
    default: false
  include_jars:
    description: Also return the jars uploaded to the cluster (the ones jobs can be started from again).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Read-only, runs the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing, so there is no diff.
"""

EXAMPLES = r"""
- name: Read the cluster
  flinkops.cookbook.flink_cluster_info:
    endpoint: http://127.0.0.1:8081
  register: cluster

- name: Fail early if the cluster has no free slots
  ansible.builtin.assert:
    that: cluster.cluster.slots.available > 0
    fail_msg: "no free slot on {{ cluster.cluster.endpoint }}"
"""

RETURN = r"""
cluster:
  description: What the JobManager reports.
  returned: always
  type: dict
  contains:
    endpoint:
      description: The REST endpoint that was asked.
      type: str
      sample: http://127.0.0.1:8081
    flink_version:
      description: The Flink version string.
      type: str
      sample: 2.3.0
    flink_revision:
      description: The Flink source revision.
      type: str
    taskmanagers:
      description: TaskManagers with their id, slots and hardware.
      type: list
      elements: dict
    taskmanager_count:
      description: Number of registered TaskManagers.
      type: int
    slots:
      description: C(total) and C(available) task slots.
      type: dict
      sample: {total: 4, available: 2}
    jobs_by_state:
      description: Job counts per state.
      type: dict
      sample: {RUNNING: 1, CANCELED: 2}
    jobs:
      description: Every job the cluster knows (id, name, state, start time).
      type: list
      elements: dict
    scheduler:
      description: The configured C(jobmanager.scheduler) (C(default) when unset).
      type: str
      sample: adaptive
    supports_in_place_rescale:
      description: Whether parallelism can change in place (Flink 1.18+ and the adaptive scheduler).
      type: bool
    config:
      description: JobManager configuration as a dict (with O(include_config=true) only).
      type: dict
    jars:
      description: Uploaded jars with C(id), C(name) and C(uploaded) time (with O(include_jars=true) only).
      type: list
      elements: dict
"""

from collections import Counter

from ansible_collections.flinkops.cookbook.plugins.module_utils.flink_module import FlinkModule, argument_spec


def run(fm):
    client = fm.client
    overview = client.overview()
    config = client.config()
    jm_config = client.jobmanager_config()
    jobs = client.jobs_overview()
    scheduler = jm_config.get("jobmanager.scheduler", "default")
    cluster = {
        "endpoint": client.http.base_url,
        "flink_version": config.get("flink-version"),
        "flink_revision": config.get("flink-revision"),
        "taskmanagers": [
            {"id": tm.get("id"), "slots_total": tm.get("slotsNumber"), "slots_free": tm.get("freeSlots"),
             "hardware": tm.get("hardware"), "data_port": tm.get("dataPort")}
            for tm in client.taskmanagers()],
        "taskmanager_count": overview.get("taskmanagers", 0),
        "slots": {"total": overview.get("slots-total", 0), "available": overview.get("slots-available", 0)},
        "jobs_by_state": dict(Counter(j.get("state") for j in jobs)),
        "jobs": [{"id": j.get("jid"), "name": j.get("name"), "state": j.get("state"),
                  "start_time": j.get("start-time")} for j in jobs],
        "scheduler": scheduler,
        "supports_in_place_rescale": client.supports_resource_requirements and str(scheduler).lower() == "adaptive",
    }
    if fm.params["include_config"]:
        cluster["config"] = jm_config
    if fm.params["include_jars"]:
        cluster["jars"] = [{"id": j.get("id"), "name": j.get("name"), "uploaded": j.get("uploaded")}
                           for j in client.jars()]
    return {"changed": False, "cluster": cluster}


def main():
    fm = FlinkModule(argument_spec(include_config=dict(type="bool", default=False),
                                   include_jars=dict(type="bool", default=False)), supports_check_mode=True)
    fm.run(run)


if __name__ == "__main__":
    main()
