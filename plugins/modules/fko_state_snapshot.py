#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: fko_state_snapshot
short_description: A savepoint of a FlinkDeployment as a FlinkStateSnapshot of the Flink Kubernetes Operator (FKO)
version_added: 0.1.0
description:
  - Creates a C(FlinkStateSnapshot) (flink.apache.org/v1beta1, Flink Kubernetes Operator 1.10 or newer) that asks the
    operator for a savepoint of FlinkDeployment O(deployment), and waits until it is C(COMPLETED) with a path, which it
    returns. C(FAILED) is an error that carries the operator's reason; a timeout is an unknown outcome (the snapshot is
    left for the operator to finish).
  - A snapshot of that name that exists already is not created again; one that is COMPLETED is returned as it is, so a
    second run changes nothing. One that FAILED is an error that names it (take another name).
  - With O(register_path), registers a savepoint that exists already at that path (C(savepoint.alreadyExists)); the
    operator marks it COMPLETED without touching the job.
  - O(state=absent) deletes the snapshot resource. The savepoint files stay unless the snapshot was created with
    O(dispose_on_delete=true).
author:
  - flinkops maintainers (@flinkops)
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - flinkops.cookbook.fko
options:
  name:
    description: Name of the FlinkStateSnapshot (C(metadata.name)).
    type: str
    required: true
  deployment:
    description: Name of the FlinkDeployment whose job is snapshotted (C(spec.jobReference.name)). Required to create.
    type: str
  state:
    description: C(present) to have the snapshot (and wait for it), C(absent) to delete the resource.
    type: str
    choices: [present, absent]
    default: present
  target_directory:
    description: Directory for the savepoint (C(spec.savepoint.path)); the deployment's C(state.savepoints.dir) when unset.
    type: str
  register_path:
    description: Register the savepoint that exists at this path instead of taking one (C(spec.savepoint.alreadyExists)).
    type: str
  format_type:
    description: Savepoint format (C(spec.savepoint.formatType)).
    type: str
    choices: [CANONICAL, NATIVE]
    default: CANONICAL
  dispose_on_delete:
    description: Let the operator delete the savepoint files when the resource is deleted (C(spec.savepoint.disposeOnDelete)).
    type: bool
    default: false
  backoff_limit:
    description: How often the operator retries a failed savepoint (C(spec.backoffLimit)).
    type: int
    default: 1
  labels:
    description: Labels of the FlinkStateSnapshot.
    type: dict
  wait:
    description: Wait until the snapshot is COMPLETED with a path.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait.
    type: int
    default: 600
attributes:
  check_mode:
    support: full
    description: Reports whether the snapshot would be created or deleted; writes nothing.
  diff_mode:
    support: full
    description: Shows the snapshot resource before and after.
notes:
  - Idempotent by name. On an operator before 1.10 (no FlinkStateSnapshot CRD) the module fails saying so; such an
    operator takes manual savepoints through C(spec.job.savepointTriggerNonce) (not implemented here).
"""

EXAMPLES = r"""
- name: Savepoint of orders-enrichment before a change, COMPLETED with a path
  flinkops.cookbook.fko_state_snapshot:
    namespace: flink
    name: orders-enrichment-before-1-4-2
    deployment: orders-enrichment
  register: backup

- name: The path
  ansible.builtin.debug:
    msg: "{{ backup.path }}"
"""

RETURN = r"""
path:
  description: The savepoint path (C(status.path)); null in check mode for a new snapshot.
  returned: always
  type: str
  sample: s3://flink-state/savepoints/savepoint-3f0780-27982eaed332
snapshot:
  description: The snapshot (C(name), C(state), C(path), C(error), C(kind), C(deployment), C(trigger_timestamp), C(result_timestamp)).
  returned: always
  type: dict
resource:
  description: The FlinkStateSnapshot as the API server returns it, null when absent.
  returned: always
  type: dict
outcome:
  description: C(created), C(registered), C(existing), C(deleted) or C(none).
  returned: always
  type: str
progress:
  description: Snapshot states seen during the wait.
  returned: when there was a wait
  type: list
  elements: str
"""

from ansible_collections.flinkops.cookbook.plugins.module_utils._errors import FkoError
from ansible_collections.flinkops.cookbook.plugins.module_utils.fko_k8s import FkoModule, argument_spec
from ansible_collections.flinkops.cookbook.plugins.module_utils.fko_ops import (
    DEPLOYMENT, SNAPSHOT, job_state, snapshot_body, snapshot_state, snapshot_view, status_of, wait_snapshot)


def result_of(snap, outcome, changed, diff=None):
    out = {"changed": changed, "outcome": outcome, "resource": snap,
           "snapshot": snapshot_view(snap) if snap else {}, "path": status_of(snap).get("path") if snap else None}
    if diff is not None:
        out["diff"] = diff
    return out


def run(fm):
    p = fm.params
    client = fm.client
    what = "%s %s/%s" % (SNAPSHOT, client.namespace, p["name"])
    current = client.get(SNAPSHOT, p["name"])
    if p["state"] == "absent":
        if current is None:
            return result_of(None, "none", False)
        if not fm.check_mode:
            client.delete(SNAPSHOT, p["name"])
        return result_of(current, "deleted", True, {"before": {"spec": current.get("spec")}, "after": {}})

    if current is not None:
        if snapshot_state(current) in ("FAILED", "ABANDONED"):
            raise FkoError("%s exists and is %s: %s. It is kept as evidence; take the snapshot under another name"
                           % (what, snapshot_state(current), status_of(current).get("error") or "no error recorded"),
                           snapshot=snapshot_view(current))
        if p["wait"] and snapshot_state(current) != "COMPLETED" and not fm.check_mode:
            current = wait_snapshot(client, p["name"], p["wait_timeout"], report=fm.report)[0]
        return result_of(current, "existing", False)

    if not p["deployment"]:
        raise FkoError("%s does not exist: deployment is needed to create it" % what)
    fd = client.get(DEPLOYMENT, p["deployment"])
    if fd is None:
        raise FkoError("FlinkDeployment %s/%s does not exist: no savepoint of it can be taken"
                       % (client.namespace, p["deployment"]))
    if not p["register_path"] and job_state(fd) != "RUNNING":
        raise FkoError("FlinkDeployment %s/%s is %s, not RUNNING: no savepoint can be taken. Nothing was changed"
                       % (client.namespace, p["deployment"], job_state(fd)))
    body = snapshot_body(p["name"], client.namespace, p["deployment"], path=p["register_path"] or p["target_directory"],
                         format_type=p["format_type"], dispose_on_delete=p["dispose_on_delete"],
                         backoff_limit=p["backoff_limit"], labels=p["labels"], already_exists=bool(p["register_path"]))
    outcome = "registered" if p["register_path"] else "created"
    diff = {"before": {}, "after": {"spec": body["spec"]}}
    if fm.check_mode:
        return result_of(None, outcome, True, diff)
    snap = client.create(SNAPSHOT, body)
    if p["wait"]:
        snap = wait_snapshot(client, p["name"], p["wait_timeout"], report=fm.report)[0]
    return result_of(snap, outcome, True, diff)


def main():
    spec = argument_spec(
        name=dict(type="str", required=True),
        deployment=dict(type="str"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        target_directory=dict(type="str"),
        register_path=dict(type="str"),
        format_type=dict(type="str", default="CANONICAL", choices=["CANONICAL", "NATIVE"]),
        dispose_on_delete=dict(type="bool", default=False),
        backoff_limit=dict(type="int", default=1),
        labels=dict(type="dict"),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=600),
    )
    FkoModule(spec, supports_check_mode=True, mutually_exclusive=[("target_directory", "register_path")]).run(run)


if __name__ == "__main__":
    main()
