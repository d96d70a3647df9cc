#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cmf_compute_pool
short_description: A compute pool of Confluent Manager for Apache Flink (CMF) as desired state
version_added: 0.1.0
description:
  - Creates, updates or deletes a CMF ComputePool, the Flink cluster template on which the SQL statements of an
    environment run.
  - Only the options that are set are compared with what CMF has; server-set fields (C(metadata.uid), timestamps,
    C(status)) never count as a difference. O(cluster_spec) is merged key by key into the pool's cluster spec.
  - CMF refuses to delete a pool that statements still use; the module reports CMF's message and changes nothing.
author:
  - flinkops maintainers (@flinkops)
extends_documentation_fragment:
  - flinkops.cookbook.cmf
options:
  environment:
    description: Name of the CMF environment of the pool.
    type: str
    required: true
  name:
    description: Name of the compute pool.
    type: str
    required: true
  state:
    description: Whether the pool exists.
    type: str
    choices: [present, absent]
    default: present
  type:
    description: C(DEDICATED) (one Flink cluster per statement) or C(SHARED). Cannot change once created.
    type: str
    choices: [DEDICATED, SHARED]
    default: DEDICATED
  pool_state:
    description: Desired state of a C(SHARED) pool (C(spec.state)).
    type: str
    choices: [RUNNING, SUSPENDED]
  cluster_spec:
    description:
      - The Flink cluster spec of the pool (C(spec.clusterSpec)), for example C(flinkVersion), C(image),
        C(flinkConfiguration), C(jobManager), C(taskManager). Required to create the pool.
      - C(flinkConfiguration) values are sent as strings.
    type: dict
  labels:
    description: Labels of the pool (C(metadata.labels)), merged key by key.
    type: dict
  annotations:
    description: Annotations of the pool (C(metadata.annotations)), merged key by key.
    type: dict
attributes:
  check_mode:
    support: full
    description: Reports what would change; writes nothing.
  diff_mode:
    support: full
    description: Shows the metadata and spec before and after.
notes:
  - Idempotent. A second run with the same options reports C(changed=false).
"""

EXAMPLES = r"""
- name: A dedicated compute pool for the SQL statements of an environment
  flinkops.cookbook.cmf_compute_pool:
    url: https://cmf.example.com
    environment: production
    name: pool
    cluster_spec:
      flinkVersion: v1_19
      image: confluentinc/cp-flink-sql:1.19-cp1
      flinkConfiguration:
        pipeline.operator-chaining.enabled: false
        execution.checkpointing.interval: 10s
      taskManager:
        resource: {cpu: 1.0, memory: 1024m}
      jobManager:
        resource: {cpu: 0.5, memory: 1024m}

- name: Remove it once no statement uses it
  flinkops.cookbook.cmf_compute_pool:
    environment: production
    name: pool
    state: absent
"""

RETURN = r"""
compute_pool:
  description: The compute pool as CMF returns it after the run (null when absent).
  returned: always
  type: dict
phase:
  description: The pool's C(status.phase) after the run.
  returned: always
  type: str
  sample: RUNNING
outcome:
  description: What was done, one of C(none), C(created), C(updated), C(deleted).
  returned: always
  type: str
differences:
  description: The compared fields that differed (dotted paths).
  returned: when changed
  type: list
  elements: str
  sample: [clusterSpec.taskManager.resource.cpu]
"""

from ansible_collections.flinkops.cookbook.plugins.module_utils.cmf_module import CmfModule, argument_spec
from ansible_collections.flinkops.cookbook.plugins.module_utils.cmf_ops import (
    Resource, converge, ensure, phase, stringify_configuration, user_metadata)
from ansible_collections.flinkops.cookbook.plugins.module_utils.cmf_rest import CmfError


def desired_spec(params):
    spec = {"type": params["type"]}
    if params["pool_state"]:
        spec["state"] = params["pool_state"]
    if params["cluster_spec"] is not None:
        cluster = dict(params["cluster_spec"])
        if isinstance(cluster.get("flinkConfiguration"), dict):
            cluster["flinkConfiguration"] = stringify_configuration(cluster["flinkConfiguration"])
        spec["clusterSpec"] = cluster
    return spec


def ensure_present(cm, pool, current):
    p = cm.params
    if current is None and p["cluster_spec"] is None:
        raise CmfError("compute pool %s does not exist in environment %s: cluster_spec is required to create it"
                       % (p["name"], p["environment"]))
    if p["pool_state"] and p["type"] != "SHARED":
        raise CmfError("pool_state can only be set for a SHARED compute pool")

    def check(found):
        if current is not None and "type" in found:
            raise CmfError("compute pool %s is %s; CMF cannot change it to %s (delete and re-create it)"
                           % (p["name"], (current.get("spec") or {}).get("type"), p["type"]))
        return found

    return ensure(cm, pool, current, desired_spec(p), user_metadata(p["labels"], p["annotations"]), check=check)


def run(cm):
    client, env, name = cm.client, cm.params["environment"], cm.params["name"]
    pool = Resource("ComputePool", name, "compute_pool", lambda: client.get_compute_pool(env, name),
                    lambda body: client.create_compute_pool(env, body),
                    lambda body: client.update_compute_pool(env, name, body),
                    lambda: client.delete_compute_pool(env, name), extra=lambda obj: {"phase": phase(obj)})
    return converge(cm, pool, ensure_present)


def main():
    spec = argument_spec(
        environment=dict(type="str", required=True),
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        type=dict(type="str", default="DEDICATED", choices=["DEDICATED", "SHARED"]),
        pool_state=dict(type="str", choices=["RUNNING", "SUSPENDED"]),
        cluster_spec=dict(type="dict"),
        labels=dict(type="dict"),
        annotations=dict(type="dict"),
    )
    CmfModule(spec, supports_check_mode=True).run(run)


if __name__ == "__main__":
    main()
