#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cmf_environment
short_description: A Confluent Manager for Apache Flink (CMF) environment as desired state
version_added: 0.1.0
description:
  - Creates, updates or deletes a CMF Environment, the logical group of Flink applications, compute pools and
    statements that maps to one Kubernetes namespace and carries their default configuration.
  - Only the options that are set are compared and converged; an option left unset is not touched. Dict options
    (the defaults) are merged key by key into what CMF has.
  - The Kubernetes namespace of an existing environment cannot be changed; CMF refuses it and so does the module.
  - O(state=absent) refuses to delete an environment that still has applications.
author:
  - flinkops maintainers (@flinkops)
extends_documentation_fragment:
  - flinkops.cookbook.cmf
options:
  name:
    description: Name of the environment (a DNS label, at least 4 characters).
    type: str
    required: true
  state:
    description: Whether the environment exists.
    type: str
    choices: [present, absent]
    default: present
  kubernetes_namespace:
    description: Kubernetes namespace where the environment's Flink clusters run. Required to create it.
    type: str
  kubernetes_cluster_name:
    description: Registered Kubernetes cluster of the environment (CMF multi-cluster, CMF 2.3+).
    type: str
  flink_application_defaults:
    description:
      - Defaults for every FlinkApplication of the environment (C(metadata), C(spec) with C(flinkConfiguration),
        C(podTemplate), ...). Environment settings take precedence over an application's own.
    type: dict
  compute_pool_defaults:
    description: Defaults for the environment's compute pools (for example C(clusterSpec.flinkConfiguration)).
    type: dict
  statement_defaults:
    description: Defaults for SQL statements, with keys C(detached) and C(interactive), each with C(flinkConfiguration).
    type: dict
attributes:
  check_mode:
    support: full
    description: Reports what would change; writes nothing.
  diff_mode:
    support: full
    description: Shows the compared fields before and after.
notes:
  - Idempotent. A second run with the same options reports C(changed=false).
"""

EXAMPLES = r"""
- name: A CMF environment for production, with checkpointing defaults for its applications
  flinkops.cookbook.cmf_environment:
    url: https://cmf.example.com
    name: production
    kubernetes_namespace: flink-prod
    flink_application_defaults:
      spec:
        flinkConfiguration:
          state.backend.type: rocksdb
          state.checkpoints.dir: s3://flink-state/checkpoints
          state.savepoints.dir: s3://flink-state/savepoints

- name: Remove an environment that no longer has applications
  flinkops.cookbook.cmf_environment:
    name: sandbox
    state: absent
"""

RETURN = r"""
environment:
  description: The environment as CMF returns it after the run (null when absent).
  returned: always
  type: dict
  sample:
    name: production
    kubernetesNamespace: flink-prod
    created_time: "2026-01-15T10:30:00Z"
    flinkApplicationDefaults: {spec: {flinkConfiguration: {state.backend.type: rocksdb}}}
differences:
  description: The compared fields that differed (dotted paths).
  returned: when changed
  type: list
  elements: str
  sample: [flinkApplicationDefaults.spec.flinkConfiguration.state.backend.type]
"""

from ansible_collections.flinkops.cookbook.plugins.module_utils.cmf_module import CmfModule, argument_spec
from ansible_collections.flinkops.cookbook.plugins.module_utils.cmf_ops import Resource, converge, differences, merge
from ansible_collections.flinkops.cookbook.plugins.module_utils.cmf_rest import CmfError

FIELDS = (("kubernetes_namespace", "kubernetesNamespace"), ("kubernetes_cluster_name", "kubernetesClusterName"),
          ("flink_application_defaults", "flinkApplicationDefaults"), ("compute_pool_defaults", "computePoolDefaults"),
          ("statement_defaults", "statementDefaults"))
COMPARED = tuple(field[1] for field in FIELDS)


def desired_fields(params):
    return dict((key, params[option]) for option, key in FIELDS if params[option] is not None)


def compared(env):
    if env is None:
        return None
    return dict((k, env.get(k)) for k in COMPARED if env.get(k) is not None)


def ensure_present(cm, environment, current):
    p = cm.params
    desired = desired_fields(p)
    if current is None:
        if not p["kubernetes_namespace"]:
            raise CmfError("environment %s does not exist: kubernetes_namespace is required to create it" % p["name"])
        body = dict(desired, name=p["name"])
        result = {"changed": True, "differences": ["(created)"], "diff": {"before": {}, "after": body}}
        result["environment"] = body if cm.check_mode else environment.create(body)
        return result
    if p["kubernetes_namespace"] and p["kubernetes_namespace"] != current.get("kubernetesNamespace"):
        raise CmfError("environment %s runs in Kubernetes namespace %s; CMF cannot move it to %s (delete and "
                       "re-create the environment instead)"
                       % (p["name"], current.get("kubernetesNamespace"), p["kubernetes_namespace"]))
    diff_keys = differences(current, desired)
    if not diff_keys:
        return {"changed": False, "environment": current}
    body = merge(compared(current), desired)
    body["name"] = p["name"]
    result = {"changed": True, "differences": diff_keys,
              "diff": {"before": compared(current), "after": compared(body)}}
    if cm.check_mode:
        result["environment"] = merge(current, desired)
        return result
    environment.update(body)
    result["environment"] = environment.get()
    return result


def ensure_absent(cm, environment, current):
    name = cm.params["name"]
    if current is None:
        return {"changed": False, "environment": None}
    apps = cm.client.list_applications(name)
    if apps:
        raise CmfError("environment %s still has applications (%s): delete them first; nothing was changed"
                       % (name, ", ".join((a.get("metadata") or {}).get("name", "?") for a in apps)))
    if not cm.check_mode:
        environment.delete()
    return {"changed": True, "environment": None, "diff": {"before": compared(current), "after": {}}}


def run(cm):
    client, name = cm.client, cm.params["name"]
    # createOrUpdate by name: one call creates and updates an environment.
    environment = Resource("Environment", name, "environment", lambda: client.get_environment(name),
                           client.apply_environment, client.apply_environment, lambda: client.delete_environment(name))
    return converge(cm, environment, ensure_present, ensure_absent)


def main():
    spec = argument_spec(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        kubernetes_namespace=dict(type="str"),
        kubernetes_cluster_name=dict(type="str"),
        flink_application_defaults=dict(type="dict"),
        compute_pool_defaults=dict(type="dict"),
        statement_defaults=dict(type="dict"),
    )
    CmfModule(spec, supports_check_mode=True).run(run)


if __name__ == "__main__":
    main()
