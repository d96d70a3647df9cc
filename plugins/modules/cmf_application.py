#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cmf_application
short_description: A FlinkApplication of Confluent Manager for Apache Flink (CMF) as desired state
version_added: 0.1.0
description:
  - Creates, updates, suspends or deletes a CMF FlinkApplication (a Flink application cluster managed by CMF through
    the Flink Kubernetes Operator), then waits until its job is RUNNING (steady for O(stable_seconds), with no
    C(JOB_EXCEPTION) event) or SUSPENDED.
  - Only the options that are set are compared with the application CMF has, and merged into it; server-set fields
    (C(metadata.uid), timestamps, C(status)) never count as a difference. One create-or-update call writes the
    merged spec.
  - With O(savepoint_name) or O(savepoint_path), a (re)deployment starts from that savepoint
    (C(spec.job.initialSavepointPath) with a new C(savepointRedeployNonce)). An application that already runs the
    desired spec is left alone, whatever savepoint is given.
  - If an update does not reach RUNNING, the previous spec is applied again (from the same savepoint when one was
    given, else from the last savepoint CMF recorded) when O(rollback=true), and the module fails with the cause and
    the application's events.
  - O(state=absent) detaches the application's COMPLETED savepoints before deleting it (O(keep_savepoints)), because
    CMF deletes the savepoints attached to an application with it.
author:
  - flinkops maintainers (@flinkops)
extends_documentation_fragment:
  - flinkops.cookbook.cmf
  - flinkops.cookbook.operator_application
  - flinkops.cookbook.operator_application.job
options:
  environment:
    description: Name of the CMF environment of the application.
    type: str
    required: true
  name:
    description: Name of the application (C(metadata.name)).
    type: str
    required: true
  state:
    description: Desired state of the application's job, or C(absent) to delete the application.
    type: str
    choices: [running, suspended, absent]
    default: running
  args:
    description: Program arguments (C(spec.job.args)). Replaces the list CMF has.
    type: list
    elements: str
  spec:
    description:
      - Any other part of the FlinkApplication spec (for example C(podTemplate)), merged under the typed options
        above, which take precedence.
    type: dict
  labels:
    description: Labels of the application (C(metadata.labels)), merged key by key.
    type: dict
  annotations:
    description: Annotations of the application (C(metadata.annotations)), merged key by key.
    type: dict
  savepoint_name:
    description:
      - Start a (re)deployment from this savepoint, a savepoint of this application or a detached savepoint. It must
        be COMPLETED. Mutually exclusive with O(savepoint_path).
    type: str
  savepoint_path:
    description: Start a (re)deployment from this savepoint path (for example one taken outside CMF).
    type: str
  keep_savepoints:
    description: With O(state=absent), detach the application's COMPLETED savepoints before deleting it.
    type: bool
    default: true
  stable_seconds:
    description:
      - After RUNNING, seconds the job must stay RUNNING with no C(JOB_EXCEPTION) event before the change counts as
        done. A job that fails at its first records is caught here.
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
    which needs Flink Kubernetes Operator 1.10 or newer under CMF.
"""

EXAMPLES = r"""
- name: Deploy or update a FlinkApplication and wait until it runs
  flinkops.cookbook.cmf_application:
    url: https://cmf.example.com
    environment: production
    name: orders-enrichment
    image: registry.example.com/orders-enrichment:1.4.2
    flink_version: v1_19
    jar_uri: local:///opt/flink/usrlib/orders-enrichment.jar
    entry_class: com.example.orders.EnrichmentJob
    args: [--topic, orders]
    parallelism: 4
    upgrade_mode: savepoint
    flink_configuration:
      taskmanager.numberOfTaskSlots: 2
    job_manager: {resource: {memory: 1024m, cpu: 1}}
    task_manager: {resource: {memory: 2048m, cpu: 2}}

- name: Start it again from a savepoint taken before
  flinkops.cookbook.cmf_application:
    environment: production
    name: orders-enrichment
    image: registry.example.com/orders-enrichment:1.4.1
    savepoint_name: orders-enrichment-before-1-4-2

- name: Suspend it (the operator keeps its state in a savepoint)
  flinkops.cookbook.cmf_application:
    environment: production
    name: orders-enrichment
    state: suspended
"""

RETURN = r"""
application:
  description: The FlinkApplication as CMF returns it after the run (C(metadata), C(spec), C(status)); null when absent.
  returned: always
  type: dict
job_state:
  description: The job state CMF reports after the run (C(RUNNING), C(SUSPENDED), ...).
  returned: always
  type: str
  sample: RUNNING
outcome:
  description: What was done, one of C(none), C(created), C(updated), C(restarted), C(suspended), C(deleted).
  returned: always
  type: str
  sample: updated
differences:
  description: The fields that differed from what CMF had (dotted spec paths, or C(job state)).
  returned: when changed
  type: list
  elements: str
  sample: [image, job.args]
previous_spec:
  description: The spec the application had before the change (to roll back to).
  returned: when an existing application was changed, and on failure
  type: dict
restored_from:
  description: The savepoint path the new deployment starts from.
  returned: when a savepoint was used
  type: str
  sample: s3://flink-state/savepoints/savepoint-3f0780-27982eaed332
detached_savepoints:
  description: Names of the savepoints detached before the application was deleted.
  returned: with state=absent
  type: list
  elements: str
events:
  description: The application's latest events (time, type, message).
  returned: on failure
  type: list
  elements: str
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

from ansible_collections.flinkops.cookbook.plugins.module_utils.cmf_module import CmfModule, argument_spec
from ansible_collections.flinkops.cookbook.plugins.module_utils.cmf_ops import CmfApplications
from ansible_collections.flinkops.cookbook.plugins.module_utils.operator_application import OperatorApplication, application_options


def run(cm):
    """The FlinkApplication rules (``operator_application``) over the applications of one environment."""
    apps = CmfApplications(cm.client, cm.params["environment"])
    return OperatorApplication(apps, cm.params["name"], cm.params, check_mode=cm.check_mode, report=cm.report,
                               warn=cm.module.warn).run()


def main():
    spec = argument_spec(
        environment=dict(type="str", required=True),
        name=dict(type="str", required=True),
        state=dict(type="str", default="running", choices=["running", "suspended", "absent"]),
        args=dict(type="list", elements="str"),
        spec=dict(type="dict"),
        labels=dict(type="dict"),
        annotations=dict(type="dict"),
        savepoint_name=dict(type="str"),
        savepoint_path=dict(type="str"),
        keep_savepoints=dict(type="bool", default=True),
        stable_seconds=dict(type="int", default=10),
        **application_options()
    )
    CmfModule(spec, supports_check_mode=True, mutually_exclusive=[("savepoint_name", "savepoint_path")]).run(run)


if __name__ == "__main__":
    main()
