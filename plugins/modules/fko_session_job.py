#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: fko_session_job
short_description: A FlinkSessionJob of the Flink Kubernetes Operator (FKO), a job on a session cluster, as desired state
version_added: 0.1.0
description:
  - Creates, updates, suspends or deletes a C(FlinkSessionJob) (flink.apache.org/v1beta1), a job the Flink Kubernetes
    Operator submits to a session cluster (the FlinkDeployment without C(spec.job) that O(deployment_name) names),
    then waits until the operator has reconciled it (C(status.observedGeneration) is the object's
    C(metadata.generation)) and its lifecycle is C(STABLE) with the job RUNNING in a new run (steady for
    O(stable_seconds)), or SUSPENDED.
  - The rules are those of M(flinkops.cookbook.fko_deployment) (module_utils C(operator_application)); the session
    cluster's image and resources are its FlinkDeployment's, so this module has no cluster options.
  - Before anything is written the session cluster is checked. It must exist and be a session cluster; an application
    cluster, a FlinkDeployment with C(spec.job), takes no session jobs. The C(deploymentName) of an existing job cannot
    change (the operator refuses it); the module fails naming both clusters.
  - A spec change with C(upgradeMode=savepoint) is carried out by the operator, which stops the job with a savepoint
    (C(status.jobStatus.upgradeSavepointPath)) and submits the new spec from it; the module returns that path as
    RV(restored_from). If the update does not become STABLE and RUNNING and O(rollback=true), the previous spec is
    applied again from that savepoint and the module fails with the cause.
  - Built on kubernetes.core's module_utils, as M(flinkops.cookbook.fko_deployment) is.
author:
  - flinkops maintainers (@flinkops)
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - flinkops.cookbook.fko
  - flinkops.cookbook.operator_application.job
options:
  name:
    description: Name of the FlinkSessionJob (C(metadata.name)).
    type: str
    required: true
  deployment_name:
    description:
      - The session cluster the job runs on (C(spec.deploymentName)), a FlinkDeployment without C(spec.job) in
        O(namespace). Needed to create the job; it cannot change afterwards.
    type: str
  state:
    description: Desired state of the job, or C(absent) to delete the FlinkSessionJob.
    type: str
    choices: [running, suspended, absent]
    default: running
  args:
    description: Program arguments (C(spec.job.args)). Replaces the list the object has.
    type: list
    elements: str
  spec:
    description: Any other part of the FlinkSessionJob spec, merged under the typed options above, which take precedence.
    type: dict
  labels:
    description: Labels of the FlinkSessionJob (C(metadata.labels)), merged key by key.
    type: dict
  annotations:
    description: Annotations of the FlinkSessionJob (C(metadata.annotations)), merged key by key.
    type: dict
  savepoint_name:
    description:
      - Start a (re)submission from the savepoint of this FlinkStateSnapshot (in O(namespace)). It must be COMPLETED
        with a path. Mutually exclusive with O(savepoint_path).
    type: str
  savepoint_path:
    description: Start a (re)submission from this savepoint path.
    type: str
  stable_seconds:
    description: After STABLE and RUNNING, seconds the job must stay so before the change counts as done.
    type: int
    default: 10
attributes:
  check_mode:
    support: full
    description: Reports what would change (the session cluster is checked all the same); writes nothing.
  diff_mode:
    support: full
    description: Shows the spec and the job state before and after.
notes:
  - Idempotent. A second run with the same options reports C(changed=false).
  - The start from a savepoint and the rollback use C(spec.job.initialSavepointPath) with C(savepointRedeployNonce),
    which needs Flink Kubernetes Operator 1.10 or newer.
"""

EXAMPLES = r"""
- name: Run a job on the session cluster flink-session, and wait until it is STABLE and RUNNING
  flinkops.cookbook.fko_session_job:
    namespace: flink
    name: clickstream-sessionize
    deployment_name: flink-session
    jar_uri: https://artifacts.example.com/clickstream-sessionize-2.3.0.jar
    entry_class: com.example.clickstream.Sessionize
    args: [--topic, clicks]
    parallelism: 2
    upgrade_mode: savepoint
    labels:
      flinkops.io/version: 2.3.0

- name: Suspend it (the operator keeps its state in a savepoint)
  flinkops.cookbook.fko_session_job:
    namespace: flink
    name: clickstream-sessionize
    state: suspended
"""

RETURN = r"""
session_job:
  description: The FlinkSessionJob as the API server returns it after the run (C(metadata), C(spec), C(status)); null when absent.
  returned: always
  type: dict
job_state:
  description: The job state the operator reports after the run (C(status.jobStatus.state)).
  returned: always
  type: str
  sample: RUNNING
outcome:
  description: What was done, one of C(none), C(created), C(updated), C(restarted), C(suspended), C(deleted).
  returned: always
  type: str
  sample: created
differences:
  description: The fields that differed from what the object had (dotted spec paths, or C(job state)).
  returned: when changed
  type: list
  elements: str
  sample: [job.jarURI]
previous_spec:
  description: The spec the FlinkSessionJob had before the change (to roll back to).
  returned: when an existing FlinkSessionJob was changed, and on failure
  type: dict
restored_from:
  description:
    - The savepoint path the new submission starts from, O(savepoint_name) or O(savepoint_path), else the savepoint the
      operator took for the upgrade (C(status.jobStatus.upgradeSavepointPath)).
  returned: when a savepoint was used
  type: str
rolled_back:
  description: On a failed update, whether and how the previous spec was applied again.
  returned: on failure
  type: dict
progress:
  description: Job states seen during the wait.
  returned: when there was a wait
  type: list
  elements: str
"""

from ansible_collections.flinkops.cookbook.plugins.module_utils._errors import FkoError
from ansible_collections.flinkops.cookbook.plugins.module_utils.fko_k8s import FkoModule, argument_spec
from ansible_collections.flinkops.cookbook.plugins.module_utils.fko_ops import FkoSessionJobs, converge
from ansible_collections.flinkops.cookbook.plugins.module_utils.operator_application import CLUSTER_OPTIONS, job_options


def run(fm):
    """The FlinkDeployment rules of ``operator_application`` over the FlinkSessionJobs of one namespace."""
    params = dict(fm.params, keep_savepoints=False, **dict((option, None) for option in CLUSTER_OPTIONS))
    if params["deployment_name"]:
        params["spec"] = dict(params["spec"] or {}, deploymentName=params["deployment_name"])
    jobs = FkoSessionJobs(fm.client)
    current = jobs.get(params["name"])
    if params["state"] != "absent":
        problem = jobs.session_cluster_problem(params["name"], params["deployment_name"], current)
        if problem:
            raise FkoError(problem + ". Nothing was changed.")
    return converge(fm, jobs, params, current, "session_job")


def main():
    spec = argument_spec(
        name=dict(type="str", required=True),
        deployment_name=dict(type="str"),
        state=dict(type="str", default="running", choices=["running", "suspended", "absent"]),
        args=dict(type="list", elements="str"),
        spec=dict(type="dict"),
        labels=dict(type="dict"),
        annotations=dict(type="dict"),
        savepoint_name=dict(type="str"),
        savepoint_path=dict(type="str"),
        stable_seconds=dict(type="int", default=10),
        **job_options()
    )
    FkoModule(spec, supports_check_mode=True, mutually_exclusive=[("savepoint_name", "savepoint_path")]).run(run)


if __name__ == "__main__":
    main()
