#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cmf_savepoint
short_description: Savepoints of Confluent Manager for Apache Flink (CMF) applications, and detached savepoints
version_added: 0.1.0
description:
  - O(state=present) with O(application) triggers a savepoint of a running FlinkApplication and waits until it is
    COMPLETED with a path. A savepoint that ends FAILED fails the task with CMF's reason; a timeout leaves the
    savepoint alone and says its outcome is unknown. With O(name) set, an existing savepoint of that name is re-used
    (and waited for), so the task is idempotent; without O(name), every run takes a new one.
  - O(state=present) without O(application) registers an external savepoint (O(path)) as a detached savepoint, so
    applications can start from it.
  - O(state=detached) detaches a savepoint from its application, so it survives the application's deletion.
  - O(state=absent) deletes a savepoint of an application, or a detached savepoint. C(force=true) is sent only when
    O(force) is set (CMF then deletes it even if marked for deletion, possibly leaving data in blob storage).
  - Savepoints need CMF 2.1 or newer; an older CMF is reported by version.
author:
  - flinkops maintainers (@flinkops)
extends_documentation_fragment:
  - flinkops.cookbook.cmf
options:
  environment:
    description: The CMF environment of O(application). Required with O(application).
    type: str
  application:
    description: The FlinkApplication. Leave unset for a detached savepoint.
    type: str
  name:
    description:
      - Name of the savepoint. Required except to trigger a new savepoint, which is then named
        C(<application>-<UTC time>-<random>).
    type: str
  state:
    description: What to do, see the description.
    type: str
    choices: [present, detached, absent]
    default: present
  path:
    description:
      - With O(application), the directory to write the savepoint to (C(spec.path)); CMF's configured directory when
        unset. Without O(application), the path of the external savepoint to register (required then).
    type: str
  format_type:
    description: Savepoint format. C(NATIVE) is faster but cannot switch state backends.
    type: str
    choices: [CANONICAL, NATIVE]
  backoff_limit:
    description: How many times CMF retries a failing savepoint (C(spec.backoffLimit)); CMF's default when unset.
    type: int
  force:
    description: With O(state=absent), delete with C(force=true).
    type: bool
    default: false
  wait:
    description: Wait until a triggered savepoint is COMPLETED.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for the savepoint. Make it at least the job's checkpoint timeout.
    type: int
    default: 600
attributes:
  check_mode:
    support: full
    description: Reports what would change; triggers, detaches and deletes nothing.
  diff_mode:
    support: full
    description: Shows the savepoint before and after.
notes:
  - Idempotent when O(name) is set. A second run with the same options reports C(changed=false).
"""

EXAMPLES = r"""
- name: Take a savepoint before a change, and wait for it
  flinkops.cookbook.cmf_savepoint:
    url: https://cmf.example.com
    environment: production
    application: orders-enrichment
    name: orders-enrichment-before-1-4-2
  register: sp

- name: Keep it even if the application is deleted
  flinkops.cookbook.cmf_savepoint:
    environment: production
    application: orders-enrichment
    name: "{{ sp.savepoint.name }}"
    state: detached

- name: Register a savepoint taken outside CMF
  flinkops.cookbook.cmf_savepoint:
    name: orders-from-oss-cluster
    path: s3://flink-state/savepoints/savepoint-7a1f02-5e3c9d1b2a4f
"""

RETURN = r"""
savepoint:
  description: The savepoint after the run (null when absent).
  returned: always
  type: dict
  contains:
    name:
      description: Savepoint name.
      type: str
    uid:
      description: CMF's uid of the savepoint (used by C(start?startFromSavepointUid)).
      type: str
    state:
      description: C(PENDING), C(IN_PROGRESS), C(COMPLETED) or C(FAILED).
      type: str
    path:
      description: Where the savepoint is; set once COMPLETED.
      type: str
    detached:
      description: Whether it is a detached savepoint.
      type: bool
    error:
      description: CMF's error for a FAILED savepoint.
      type: str
  sample: {name: orders-before-1-4-2, state: COMPLETED, path: "s3://flink-state/savepoints/savepoint-3f0780-27982eaed332"}
progress:
  description: Savepoint states seen during the wait.
  returned: when there was a wait
  type: list
  elements: str
"""

import datetime
import uuid

from ansible_collections.flinkops.cookbook.plugins.module_utils.cmf_module import CmfModule, argument_spec
from ansible_collections.flinkops.cookbook.plugins.module_utils.cmf_ops import savepoint_view, wait_savepoint
from ansible_collections.flinkops.cookbook.plugins.module_utils.cmf_rest import CmfError


def new_name(app):
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d%H%M%S")
    return "%s-%s-%s" % (app, stamp, uuid.uuid4().hex[:4])


def trigger(cm):
    p = cm.params
    client = cm.client
    env, app = p["environment"], p["application"]
    name = p["name"]
    existing = client.get_app_savepoint(env, app, name) if name else None
    if existing is None and name and client.get_detached_savepoint(name) is not None:
        return {"changed": False, "savepoint": savepoint_view(client.get_detached_savepoint(name), detached=True)}
    if existing is not None:
        result = {"changed": False}
        if p["wait"] and existing.get("status", {}).get("state") != "COMPLETED":
            existing, _states = wait_savepoint(client, env, app, name, p["wait_timeout"], report=cm.report)
        result["savepoint"] = savepoint_view(existing)
        return result
    if client.get_application(env, app) is None:
        raise CmfError("application %s does not exist in environment %s" % (app, env))
    name = name or new_name(app)
    result = {"changed": True, "diff": {"before": {}, "after": {"name": name, "application": app}}}
    if cm.check_mode:
        result["savepoint"] = {"name": name, "state": None, "path": None, "detached": False}
        return result
    sp = client.create_app_savepoint(env, app, name, path=p["path"], format_type=p["format_type"],
                                     backoff_limit=p["backoff_limit"])
    cm.report("savepoint %s of %s/%s triggered" % (name, env, app))
    if p["wait"]:
        sp, _states = wait_savepoint(client, env, app, name, p["wait_timeout"], report=cm.report)
    result["savepoint"] = savepoint_view(sp)
    return result


def register(cm):
    p = cm.params
    client = cm.client
    current = client.get_detached_savepoint(p["name"])
    if current is not None:
        have = (current.get("status") or {}).get("path") or (current.get("spec") or {}).get("path")
        if p["path"] and have != p["path"]:
            raise CmfError("detached savepoint %s already exists with path %s, not %s: CMF cannot change it (register "
                           "the new path under another name)" % (p["name"], have, p["path"]))
        return {"changed": False, "savepoint": savepoint_view(current, detached=True)}
    if not p["path"]:
        raise CmfError("path is required to register detached savepoint %s" % p["name"])
    result = {"changed": True, "diff": {"before": {}, "after": {"name": p["name"], "path": p["path"]}}}
    if cm.check_mode:
        result["savepoint"] = {"name": p["name"], "state": None, "path": p["path"], "detached": True}
        return result
    result["savepoint"] = savepoint_view(client.create_detached_savepoint(p["name"], p["path"], p["format_type"]),
                                         detached=True)
    return result


def detach(cm):
    p = cm.params
    client = cm.client
    attached = client.get_app_savepoint(p["environment"], p["application"], p["name"])
    if attached is None:
        detached = client.get_detached_savepoint(p["name"])
        if detached is None:
            raise CmfError("savepoint %s not found, neither on application %s nor detached" % (p["name"], p["application"]))
        return {"changed": False, "savepoint": savepoint_view(detached, detached=True)}
    state = (attached.get("status") or {}).get("state")
    if state != "COMPLETED":
        raise CmfError("savepoint %s is %s: only a COMPLETED savepoint can be detached" % (p["name"], state))
    result = {"changed": True, "diff": {"before": {"detached": False}, "after": {"detached": True}}}
    if cm.check_mode:
        result["savepoint"] = dict(savepoint_view(attached), detached=True)
        return result
    result["savepoint"] = savepoint_view(client.detach_savepoint(p["environment"], p["application"], p["name"]),
                                         detached=True)
    return result


def delete(cm):
    p = cm.params
    client = cm.client
    if p["application"]:
        current = client.get_app_savepoint(p["environment"], p["application"], p["name"])
        detached = False
    else:
        current = client.get_detached_savepoint(p["name"])
        detached = True
    if current is None:
        return {"changed": False, "savepoint": None}
    result = {"changed": True, "savepoint": None,
              "diff": {"before": savepoint_view(current, detached=detached), "after": {}}}
    if not cm.check_mode:
        if detached:
            client.delete_detached_savepoint(p["name"])
        else:
            client.delete_app_savepoint(p["environment"], p["application"], p["name"], force=p["force"])
    return result


def run(cm):
    p = cm.params
    if p["application"] and not p["environment"]:
        raise CmfError("environment is required with application")
    if p["state"] != "present" or not p["application"]:
        if not p["name"]:
            raise CmfError("name is required with state=%s%s" % (
                p["state"], "" if p["application"] else " and no application"))
    cm.client.require_savepoints("cmf_savepoint")
    if p["state"] == "present":
        return trigger(cm) if p["application"] else register(cm)
    if p["state"] == "detached":
        if not p["application"]:
            raise CmfError("application is required with state=detached")
        return detach(cm)
    return delete(cm)


def main():
    spec = argument_spec(
        environment=dict(type="str"),
        application=dict(type="str"),
        name=dict(type="str"),
        state=dict(type="str", default="present", choices=["present", "detached", "absent"]),
        path=dict(type="str"),
        format_type=dict(type="str", choices=["CANONICAL", "NATIVE"]),
        backoff_limit=dict(type="int"),
        force=dict(type="bool", default=False),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=600),
    )
    CmfModule(spec, supports_check_mode=True).run(run)


if __name__ == "__main__":
    main()
