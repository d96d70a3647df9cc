#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: fko_deployment
short_description: A FlinkDeployment of the Flink Kubernetes Operator (FKO) as desired state
version_added: 0.1.0
description:
  - Creates, updates, suspends or deletes a C(FlinkDeployment) (flink.apache.org/v1beta1, an application cluster the
    Flink Kubernetes Operator runs), then waits until the operator has reconciled it (C(status.observedGeneration) is
    the object's C(metadata.generation)) and its lifecycle is C(STABLE) with the job RUNNING in a new run (steady for
    O(stable_seconds)), or SUSPENDED.
  - Only the options that are set are compared with the object the API server has, and merged into its spec; the
    status is never written (it is the operator's). One C(PUT) with the C(resourceVersion) that was read writes the
    merged spec and the labels, so a concurrent change fails with HTTP 409 instead of being overwritten.
  - A spec change with C(upgradeMode=savepoint) is carried out by the operator, which stops the job with a savepoint
    (C(status.jobStatus.upgradeSavepointPath)) and starts the new spec from it. The module returns that path as
    RV(restored_from).
  - With O(savepoint_name) (a FlinkStateSnapshot) or O(savepoint_path), a (re)deployment starts from that savepoint
    (C(spec.job.initialSavepointPath) with a new C(savepointRedeployNonce), Flink Kubernetes Operator 1.10 or newer).
  - If an update does not become STABLE and RUNNING and O(rollback=true), the previous spec is applied again from the
    savepoint the operator took for the upgrade (or, when the operator never stopped the old job, the previous spec
    alone, leaving that job running), and the module fails with the cause.
  - Built on kubernetes.core's module_utils (C(AnsibleK8SModule), C(get_api_client), C(K8sService)); no Kubernetes
    client of its own.
author:
  - flinkops maintainers (@flinkops)
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - flinkops.cookbook.fko
  - flinkops.cookbook.operator_application
  - flinkops.cookbook.operator_application.job
options:
  name:
    description: Name of the FlinkDeployment (C(metadata.name)).
    type: str
    required: true
  state:
    description: Desired state of the deployment's job, or C(absent) to delete the FlinkDeployment.
    type: str
    choices: [running, suspended, absent]
    default: running
  args:
    description: Program arguments (C(spec.job.args)). Replaces the list the object has.
    type: list
    elements: str
  spec:
    description:
      - Any other part of the FlinkDeployment spec (for example C(podTemplate)), merged under the typed options
        above, which take precedence.
    type: dict
  labels:
    description: Labels of the FlinkDeployment (C(metadata.labels)), merged key by key.
    type: dict
  annotations:
    description: Annotations of the FlinkDeployment (C(metadata.annotations)), merged key by key.
    type: dict
  savepoint_name:
    description:
      - Start a (re)deployment from the savepoint of this FlinkStateSnapshot (in O(namespace)). It must be COMPLETED
        with a path. Mutually exclusive with O(savepoint_path).
    type: str
  savepoint_path:
    description: Start a (re)deployment from this savepoint path (for example one taken outside the operator).
    type: str
  stable_seconds:
    description:
      - After STABLE and RUNNING, seconds the job must stay so before the change counts as done. A job that fails at
        its first records is caught here.
    type: int
    default: 10
attributes:
  check_mode:
    support: full
    description: Reports what would change; writes nothing.
  diff_mode:
    support: full
    description: Shows the spec and the job state before and after.
notes:
  - Idempotent. A second run with the same options reports C(changed=false).
  - Rollback and the start from a savepoint use C(spec.job.initialSavepointPath) with C(savepointRedeployNonce),
    which needs Flink Kubernetes Operator 1.10 or newer.
  - Deleting a FlinkDeployment keeps its FlinkStateSnapshot resources; they are resources of their own.
"""

EXAMPLES = r"""
- name: Deploy or update a FlinkDeployment and wait until it is STABLE and RUNNING
  flinkops.cookbook.fko_deployment:
    kubeconfig: ~/.kube/config
    context: prod
    namespace: flink
    name: orders-enrichment
    image: registry.example.com/orders-enrichment:1.4.2
    flink_version: v1_20
    service_account: flink
    jar_uri: local:///opt/flink/usrlib/orders-enrichment.jar
    entry_class: com.example.orders.EnrichmentJob
    args: [--topic, orders]
    parallelism: 4
    upgrade_mode: savepoint
    flink_configuration:
      taskmanager.numberOfTaskSlots: 2
      state.savepoints.dir: s3://flink-state/savepoints
    job_manager: {resource: {memory: 1024m, cpu: 1}}
    task_manager: {resource: {memory: 2048m, cpu: 2}}
    labels:
      flinkops.io/version: 1.4.2

- name: Start it again from a FlinkStateSnapshot taken before
  flinkops.cookbook.fko_deployment:
    namespace: flink
    name: orders-enrichment
    image: registry.example.com/orders-enrichment:1.4.1
    savepoint_name: orders-enrichment-before-1-4-2

- name: Suspend it (the operator keeps its state in a savepoint)
  flinkops.cookbook.fko_deployment:
    namespace: flink
    name: orders-enrichment
    state: suspended
"""

RETURN = r"""
deployment:
  description: The FlinkDeployment as the API server returns it after the run (C(metadata), C(spec), C(status)); null when absent.
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
  sample: updated
differences:
  description: The fields that differed from what the object had (dotted spec paths, or C(job state)).
  returned: when changed
  type: list
  elements: str
  sample: [image, job.args]
previous_spec:
  description: The spec the FlinkDeployment had before the change (to roll back to).
  returned: when an existing FlinkDeployment was changed, and on failure
  type: dict
restored_from:
  description:
    - The savepoint path the new deployment starts from, O(savepoint_name) or O(savepoint_path), else the savepoint the
      operator took for the upgrade (C(status.jobStatus.upgradeSavepointPath)).
  returned: when a savepoint was used
  type: str
  sample: s3://flink-state/savepoints/savepoint-3f0780-27982eaed332
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

from ansible_collections.flinkops.cookbook.plugins.module_utils.fko_k8s import FkoModule, argument_spec
from ansible_collections.flinkops.cookbook.plugins.module_utils.fko_ops import FkoDeployments, converge
from ansible_collections.flinkops.cookbook.plugins.module_utils.operator_application import application_options


def run(fm):
    """The FlinkDeployment rules of ``operator_application`` over the FlinkDeployments of one namespace."""
    params = dict(fm.params, keep_savepoints=False)
    deployments = FkoDeployments(fm.client)
    return converge(fm, deployments, params, deployments.get(params["name"]), "deployment")


def main():
    spec = argument_spec(
        name=dict(type="str", required=True),
        state=dict(type="str", default="running", choices=["running", "suspended", "absent"]),
        args=dict(type="list", elements="str"),
        spec=dict(type="dict"),
        labels=dict(type="dict"),
        annotations=dict(type="dict"),
        savepoint_name=dict(type="str"),
        savepoint_path=dict(type="str"),
        stable_seconds=dict(type="int", default=10),
        **application_options()
    )
    FkoModule(spec, supports_check_mode=True, mutually_exclusive=[("savepoint_name", "savepoint_path")]).run(run)


if __name__ == "__main__":
    main()
