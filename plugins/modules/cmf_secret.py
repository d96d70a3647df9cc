#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cmf_secret
short_description: A secret of Confluent Manager for Apache Flink (CMF) and its environment mappings
version_added: 0.1.0
description:
  - Creates, updates or deletes a CMF Secret (credentials that catalogs and statements use through a connection
    secret id) and the environment secret mappings that point connection secret ids of environments at it.
  - CMF never returns a secret's values, nor the secret a mapping points at. Like the C($encrypted$) values of AWX,
    they cannot be compared; an existing secret's O(data) is written only with O(update_secrets=true), and then on
    every run (the task reports a change). With O(update_secrets=false), only the labels and annotations of an
    existing secret converge, and a mapping counts as in place when CMF lists its environment among the
    environments of the secret.
  - O(data) is never logged nor returned.
  - O(state=absent) deletes the listed O(mappings), then the secret.
author:
  - flinkops maintainers (@flinkops)
extends_documentation_fragment:
  - flinkops.cookbook.cmf
options:
  name:
    description: Name of the secret.
    type: str
    required: true
  state:
    description: Whether the secret exists.
    type: str
    choices: [present, absent]
    default: present
  data:
    description:
      - The secret's values (C(spec.data)), a dict of strings, for example C(sasl.jaas.config). Required to create it.
    type: dict
  update_secrets:
    description:
      - Write O(data) to a secret that exists, and re-point its O(mappings), on every run. CMF cannot tell whether the
        values differ, so the task then always reports a change.
      - Leave it off to create secrets once and rotate them on purpose (with O(update_secrets=true)).
    type: bool
    default: false
  mappings:
    description: Environment secret mappings that point a connection secret id of an environment at this secret.
    type: list
    elements: dict
    suboptions:
      environment:
        description: The environment.
        type: str
        required: true
      name:
        description: The connection secret id (the name of the mapping), as catalogs and databases refer to it.
        type: str
        required: true
  labels:
    description: Labels of the secret (C(metadata.labels)), merged key by key.
    type: dict
  annotations:
    description: Annotations of the secret (C(metadata.annotations)), merged key by key.
    type: dict
attributes:
  check_mode:
    support: full
    description: Reports what would change; writes nothing.
  diff_mode:
    support: partial
    description: Shows metadata and mappings; the values are shown as C(VALUE_SPECIFIED_IN_NO_LOG_PARAMETER).
notes:
  - Idempotent with O(update_secrets=false). A second run with the same options reports C(changed=false).
"""

EXAMPLES = r"""
- name: Kafka credentials, mapped as connection secret id kafka-main in the production environment
  flinkops.cookbook.cmf_secret:
    url: https://cmf.example.com
    name: kafka-main-credentials
    data:
      sasl.mechanism: PLAIN
      sasl.jaas.config: "{{ vault_kafka_jaas }}"
    mappings:
      - environment: production
        name: kafka-main

- name: Rotate the values
  flinkops.cookbook.cmf_secret:
    name: kafka-main-credentials
    data:
      sasl.mechanism: PLAIN
      sasl.jaas.config: "{{ vault_kafka_jaas_new }}"
    update_secrets: true
"""

RETURN = r"""
secret:
  description: The secret as CMF returns it after the run, without its values (null when absent).
  returned: always
  type: dict
version:
  description: The secret's version (C(status.version)); it grows with each write of the values.
  returned: always
  type: str
  sample: "2"
mappings:
  description: The mappings handled, with C(environment), C(name) and C(outcome) (C(none), C(created), C(updated), C(deleted)).
  returned: always
  type: list
  elements: dict
outcome:
  description: What was done to the secret, one of C(none), C(created), C(updated), C(deleted).
  returned: always
  type: str
differences:
  description: What differed (C(data) when values were written, metadata paths, mappings).
  returned: when changed
  type: list
  elements: str
"""

from ansible_collections.flinkops.cookbook.plugins.module_utils.cmf_module import CmfModule, argument_spec
from ansible_collections.flinkops.cookbook.plugins.module_utils.cmf_ops import (
    Resource, converge, plan_resource, resource_body, resource_view, user_metadata)
from ansible_collections.flinkops.cookbook.plugins.module_utils.cmf_rest import CmfError

MASK = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


def masked_view(obj):
    view = resource_view(obj)
    if view:
        view["spec"] = {"data": dict((k, MASK) for k in ((obj.get("spec") or {}).get("data") or {}))}
    return view


def version(secret):
    return ((secret or {}).get("status") or {}).get("version")


def plan_secret(p, current):
    """(differences, body) for the secret itself."""
    data = None if p["data"] is None else dict((str(k), str(v)) for k, v in p["data"].items())
    spec = {"data": data} if data is not None else {}
    found, new_spec, meta = plan_resource(current, spec, user_metadata(p["labels"], p["annotations"]),
                                          write_only=True)
    if current is not None and data is not None and p["update_secrets"]:
        found = ["data"] + found
    if current is not None and found and data is None:
        raise CmfError("secret %s: CMF does not return its values, so an update needs data (the whole secret is "
                       "written)" % p["name"])
    return found, resource_body("Secret", p["name"], new_spec, meta)


def sync_mappings(cm, secret_envs, delete=False):
    p = cm.params
    client = cm.client
    out, found = [], []
    for m in p["mappings"] or []:
        env, name = m["environment"], m["name"]
        current = client.get_secret_mapping(env, name)
        body = resource_body("EnvironmentSecretMapping", name, {"secretName": p["name"]})
        if delete:
            outcome = "deleted" if current is not None else "none"
            if current is not None and not cm.check_mode:
                client.delete_secret_mapping(env, name)
        elif current is None:
            outcome = "created"
            if not cm.check_mode:
                if client.get_environment(env) is None:
                    raise CmfError("mapping %s: environment %s does not exist" % (name, env))
                client.create_secret_mapping(env, body)
        elif p["update_secrets"] or env not in secret_envs:
            outcome = "updated"
            if not cm.check_mode:
                client.update_secret_mapping(env, name, body)
        else:
            outcome = "none"
        if outcome != "none":
            found.append("mapping %s/%s (%s)" % (env, name, outcome))
        out.append({"environment": env, "name": name, "outcome": outcome})
    return found, out


def ensure_present(cm, secret, current):
    p = cm.params
    if current is None and p["data"] is None:
        raise CmfError("secret %s does not exist: data is required to create it" % p["name"])
    found, body = plan_secret(p, current)
    outcome = "none" if not found else ("created" if current is None else "updated")
    if found and not cm.check_mode:
        if current is None:
            secret.create(body)
        else:
            secret.update(body)
    secret_envs = ((current or {}).get("status") or {}).get("environments") or []
    map_found, mappings = sync_mappings(cm, secret_envs)
    changed = bool(found or map_found)
    result = {"changed": changed, "outcome": outcome, "mappings": mappings}
    if changed:
        result["differences"] = found + map_found
        result["diff"] = {"before": masked_view(current), "after": masked_view(body)}
    after = current if cm.check_mode or not changed else secret.get()
    result.update(secret=after if after is not None else masked_view(body), version=version(after))
    return result


def ensure_absent(cm, secret, current):
    map_found, mappings = sync_mappings(cm, [], delete=True)
    if current is not None and not cm.check_mode:
        secret.delete()
    found = map_found + (["secret (deleted)"] if current is not None else [])
    result = {"changed": bool(found), "outcome": "deleted" if current is not None else "none", "secret": None,
              "version": None, "mappings": mappings}
    if found:
        result["differences"] = found
        result["diff"] = {"before": masked_view(current), "after": {}}
    return result


def run(cm):
    client, name = cm.client, cm.params["name"]
    secret = Resource("Secret", name, "secret", lambda: client.get_secret(name), client.create_secret,
                      lambda body: client.update_secret(name, body), lambda: client.delete_secret(name))
    return converge(cm, secret, ensure_present, ensure_absent)


def main():
    spec = argument_spec(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        data=dict(type="dict", no_log=True),
        update_secrets=dict(type="bool", default=False),
        mappings=dict(type="list", elements="dict", options=dict(
            environment=dict(type="str", required=True), name=dict(type="str", required=True))),
        labels=dict(type="dict"),
        annotations=dict(type="dict"),
    )
    CmfModule(spec, supports_check_mode=True).run(run)


if __name__ == "__main__":
    main()
