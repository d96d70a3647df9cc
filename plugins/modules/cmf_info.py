#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cmf_info
short_description: What a Confluent Manager for Apache Flink (CMF) server is and holds
version_added: 0.1.0
description:
  - Reads the CMF server's version (C(/system-information), CMF 2.2+), its registered Kubernetes clusters
    (C(/kubernetes-clusters), CMF 2.3+), its resource counts and usage (C(/resource-information), CMF 2.2+), and
    optionally the environments with their compute pools, statements and secret mappings, and the catalogs and
    secrets.
  - A part the server does not have (an older CMF) is returned as null, never as an error, and named in
    C(unsupported).
author:
  - flinkops maintainers (@flinkops)
extends_documentation_fragment:
  - flinkops.cookbook.cmf
options:
  gather:
    description: The parts to read.
    type: list
    elements: str
    choices: [system, kubernetes_clusters, resources, environments, catalogs, secrets]
    default: [system, kubernetes_clusters, resources]
attributes:
  check_mode:
    support: full
    description: Reads only.
  diff_mode:
    support: none
    description: Reads only.
"""

EXAMPLES = r"""
- name: Version, Kubernetes clusters and resource counts of CMF
  flinkops.cookbook.cmf_info:
    url: https://cmf.example.com
  register: cmf

- name: Everything, for an inventory report
  flinkops.cookbook.cmf_info:
    gather: [system, kubernetes_clusters, resources, environments, catalogs, secrets]
"""

RETURN = r"""
version:
  description: The CMF version (null when the server does not report it, before CMF 2.2).
  returned: always
  type: str
  sample: 2.3.1
system:
  description: The system information (C(status.version), C(status.revision)).
  returned: when gathered
  type: dict
kubernetes_clusters:
  description: The registered Kubernetes clusters, each with C(name), C(lifecycle_state), C(state), C(kubernetes_version), C(message).
  returned: when gathered
  type: list
  elements: dict
resources:
  description: Resource counts (C(status.resources)) and usage (C(status.resourceSummary)) as CMF reports them.
  returned: when gathered
  type: dict
environments:
  description: The environments, each with C(name), C(kubernetes_namespace), C(compute_pools), C(statements) (name and phase) and C(secret_mappings).
  returned: when gathered
  type: list
  elements: dict
catalogs:
  description: The Kafka catalogs, each with C(name) and its C(databases).
  returned: when gathered
  type: list
  elements: dict
secrets:
  description: The secrets (never their values), each with C(name), C(version) and C(environments).
  returned: when gathered
  type: list
  elements: dict
unsupported:
  description: The gathered parts this CMF does not have.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.flinkops.cookbook.plugins.module_utils.cmf_module import CmfModule, argument_spec
from ansible_collections.flinkops.cookbook.plugins.module_utils.cmf_ops import phase


def _name(obj):
    return (obj.get("metadata") or {}).get("name") or obj.get("name")


def cluster_view(cluster):
    status = cluster.get("status") or {}
    return {"name": _name(cluster), "lifecycle_state": (cluster.get("spec") or {}).get("lifecycleState"),
            "state": status.get("state"), "kubernetes_version": status.get("kubernetesVersion"),
            "message": status.get("message"), "last_heartbeat": status.get("lastHeartbeatTimestamp")}


def environment_view(client, env):
    name = _name(env)
    return {"name": name, "kubernetes_namespace": env.get("kubernetesNamespace"),
            "compute_pools": [{"name": _name(p), "type": (p.get("spec") or {}).get("type"), "phase": phase(p)}
                              for p in client.list_compute_pools(name)],
            "statements": [{"name": _name(s), "phase": phase(s), "compute_pool": (s.get("spec") or {}).get("computePoolName")}
                           for s in client.list_statements(name)],
            "secret_mappings": [_name(m) for m in client.list_secret_mappings(name)]}


def run(cm):
    client = cm.client
    gather = cm.params["gather"]
    result = {"changed": False, "version": client.version_string, "unsupported": []}
    if "system" in gather:
        result["system"] = client.system_information()
        if result["system"] is None:
            result["unsupported"].append("system")
    if "kubernetes_clusters" in gather:
        clusters = client.list_kubernetes_clusters()
        result["kubernetes_clusters"] = None if clusters is None else [cluster_view(c) for c in clusters]
        if clusters is None:
            result["unsupported"].append("kubernetes_clusters")
    if "resources" in gather:
        result["resources"] = (client.resource_information() or {}).get("status")
        if result["resources"] is None:
            result["unsupported"].append("resources")
    if "environments" in gather:
        result["environments"] = [environment_view(client, e) for e in client.list_environments()]
    if "catalogs" in gather:
        result["catalogs"] = [{"name": _name(c), "databases": [_name(d) for d in client.list_databases(_name(c))]}
                              for c in client.list_catalogs()]
    if "secrets" in gather:
        result["secrets"] = [{"name": _name(s), "version": (s.get("status") or {}).get("version"),
                              "environments": (s.get("status") or {}).get("environments") or []}
                             for s in client.list_secrets()]
    return result


def main():
    parts = ["system", "kubernetes_clusters", "resources", "environments", "catalogs", "secrets"]
    spec = argument_spec(gather=dict(type="list", elements="str", choices=parts,
                                     default=["system", "kubernetes_clusters", "resources"]))
    CmfModule(spec, supports_check_mode=True).run(run)


if __name__ == "__main__":
    main()
