# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The options of an application the operator runs, which fko_deployment (a FlinkDeployment) and
    # cmf_application (a CMF FlinkApplication, the same spec) share: module_utils/operator_application.py
    # gives their argument spec (application_options) and carries them out. DOCUMENTATION holds the
    # options of the cluster (image, resources); JOB those of the job, which fko_session_job (a
    # FlinkSessionJob, a job on a session cluster) shares too (operator_application.job_options).
    DOCUMENTATION = r"""
options:
  image:
    description: Container image with Flink and the job (C(spec.image)).
    type: str
  flink_version:
    description: Flink version of the image, as the operator names it (C(spec.flinkVersion)), for example C(v1_19).
    type: str
  service_account:
    description: Kubernetes service account of the Flink pods (C(spec.serviceAccount)).
    type: str
  job_manager:
    description: "JobManager resources, for example C({resource: {memory: 1024m, cpu: 1}}) (C(spec.jobManager))."
    type: dict
  task_manager:
    description: TaskManager resources and replicas (C(spec.taskManager)).
    type: dict
"""

    JOB = r"""
options:
  jar_uri:
    description:
      - URI of the job jar (C(spec.job.jarURI)), for example C(local:///opt/flink/usrlib/job.jar) inside the image; for a
        session job, a URI the operator fetches the jar from (C(https://), C(s3://), ...).
    type: str
  entry_class:
    description: Main class of the job (C(spec.job.entryClass)).
    type: str
  parallelism:
    description: Job parallelism (C(spec.job.parallelism)).
    type: int
  upgrade_mode:
    description:
      - How the operator carries state over a spec change (C(spec.job.upgradeMode)). C(savepoint) keeps the state
        through a savepoint; C(stateless) drops it.
    type: str
    choices: [savepoint, last-state, stateless]
  flink_configuration:
    description: Flink configuration (C(spec.flinkConfiguration)); merged key by key, values sent as strings.
    type: dict
  allow_non_restored_state:
    description: With a savepoint, let the job start even if some of its state maps to no operator (that state is dropped).
    type: bool
    default: false
  restart_failed:
    description: Redeploy a job that is FAILED although its spec is the desired one.
    type: bool
    default: true
  rollback:
    description: When an update does not reach RUNNING, apply the previous spec again before failing.
    type: bool
    default: true
  wait:
    description: Wait for the job state (RUNNING or SUSPENDED) after a change.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for the job state.
    type: int
    default: 300
"""
