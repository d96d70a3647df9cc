#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: fko_deployment_info
short_description: FlinkDeployments of the Flink Kubernetes Operator (FKO), their jobs and snapshots, as job records
version_added: 0.1.0
description:
  - Reads one FlinkDeployment by O(name), or every FlinkDeployment of O(namespace), with the FlinkStateSnapshots that
    reference it, and returns each as a view (RV(deployments)) and as a job record (RV(records)), the record every
    backend's info module returns, so the recipes' common checks and reports read it unchanged.
  - Writes nothing.
author:
  - flinkops maintainers (@flinkops)
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - flinkops.cookbook.fko
options:
  name:
    description: Name of the FlinkDeployment. Without it, every FlinkDeployment of O(namespace).
    type: str
  snapshots:
    description: Read the FlinkStateSnapshots that reference each deployment (for the records' snapshots).
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: Reads only; the same in check mode.
  diff_mode:
    support: none
    description: Reads only.
"""

EXAMPLES = r"""
- name: Read a FlinkDeployment as a job record
  flinkops.cookbook.fko_deployment_info:
    namespace: flink
    name: orders-enrichment
  register: orders

- name: It runs
  ansible.builtin.assert:
    that: orders.records[0].state == 'RUNNING'
"""

RETURN = r"""
deployments:
  description: One entry per FlinkDeployment found (none when O(name) does not exist).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: C(metadata.name).
      type: str
    lifecycle_state:
      description: The operator's C(status.lifecycleState) (C(CREATED), C(DEPLOYED), C(STABLE), C(UPGRADING), C(SUSPENDED), C(FAILED), ...).
      type: str
    job_state:
      description: C(status.jobStatus.state).
      type: str
    job_id:
      description: C(status.jobStatus.jobId).
      type: str
    reconciled:
      description: Whether the operator reconciled the current generation (C(observedGeneration) equals C(generation)).
      type: bool
    spec:
      description: The spec.
      type: dict
    restored_from:
      description: The savepoint path the current run started from (C(status.jobStatus.upgradeSavepointPath), else C(spec.job.initialSavepointPath)).
      type: str
    upgrade_savepoint:
      description: C(status.jobStatus.upgradeSavepointPath), the savepoint of the last upgrade the operator carried out.
      type: str
    taskmanagers:
      description:
        - The TaskManagers the operator reports, C(status.taskManager.replicas) (null before its first deployment).
        - With C(spec.taskManager.replicas) set the operator runs that many and the job at replicas times C(taskmanager.numberOfTaskSlots),
          whatever C(spec.job.parallelism) says; otherwise the parallelism divided by the slots, rounded up.
      type: int
    snapshots:
      description: The FlinkStateSnapshots that reference it, oldest first (C(name), C(state), C(path), C(error), C(kind)).
      type: list
      elements: dict
    deployment:
      description: The FlinkDeployment as the API server returns it.
      type: dict
records:
  description: One job record per deployment (the same keys on every backend, see docs/backends.md).
  returned: always
  type: list
  elements: dict
  contains:
    platform:
      description: C(fko).
      type: str
    name:
      description: The FlinkDeployment's name.
      type: str
    id:
      description: The Flink job id of the current run.
      type: str
    state:
      description: The job state the operator reports.
      type: str
    version:
      description: The C(flinkops.io/version) label, or null.
      type: str
    parallelism:
      description: C(spec.job.parallelism).
      type: int
    start_time:
      description: Start of the current run in epoch milliseconds, or null.
      type: int
    restored_from:
      description: The savepoint path the current run started from, or null.
      type: str
    latest_completed:
      description: The latest COMPLETED FlinkStateSnapshot (C(kind), C(id) its name, C(path), C(timestamp), C(message)), or null.
      type: dict
    latest_failed:
      description: The latest FAILED FlinkStateSnapshot, with the operator's error as C(message), or null.
      type: dict
    latest_savepoint:
      description: The latest COMPLETED savepoint snapshot, else the operator's last recorded savepoint, or null.
      type: dict
    exceptions:
      description: The operator's C(status.error), when there is one (C(timestamp), C(name), C(message), C(task)).
      type: list
      elements: dict
    raw:
      description: The FlinkDeployment.
      type: dict
"""

from ansible_collections.flinkops.cookbook.plugins.module_utils.fko_k8s import FkoModule, argument_spec
from ansible_collections.flinkops.cookbook.plugins.module_utils.fko_ops import (
    DEPLOYMENT, job_id, job_state, lifecycle, observed, restored_from, snapshot_view, snapshots_of,
    upgrade_savepoint)
from ansible_collections.flinkops.cookbook.plugins.module_utils.job_record import from_fko_deployment


def describe(client, fd, with_snapshots=True):
    """(view, record) of one FlinkDeployment."""
    name = (fd.get("metadata") or {}).get("name")
    snaps = snapshots_of(client, name) if with_snapshots else []
    view = {"name": name, "lifecycle_state": lifecycle(fd), "job_state": job_state(fd), "job_id": job_id(fd),
            "reconciled": observed(fd), "spec": fd.get("spec") or {}, "restored_from": restored_from(fd),
            "upgrade_savepoint": upgrade_savepoint(fd), "snapshots": [snapshot_view(s) for s in snaps],
            "taskmanagers": ((fd.get("status") or {}).get("taskManager") or {}).get("replicas"),
            "deployment": fd}
    return view, from_fko_deployment(fd, snapshots=snaps)


def run(fm):
    p = fm.params
    client = fm.client
    if p["name"]:
        fd = client.get(DEPLOYMENT, p["name"])
        found = [fd] if fd else []
    else:
        found = client.list(DEPLOYMENT)
    described = [describe(client, fd, p["snapshots"]) for fd in found]
    return {"changed": False, "deployments": [d[0] for d in described], "records": [d[1] for d in described]}


def main():
    spec = argument_spec(name=dict(type="str"), snapshots=dict(type="bool", default=True))
    FkoModule(spec, supports_check_mode=True).run(run)


if __name__ == "__main__":
    main()
