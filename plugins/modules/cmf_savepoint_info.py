#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cmf_savepoint_info
short_description: List savepoints of Confluent Manager for Apache Flink (CMF)
version_added: 0.1.0
description:
  - Lists the savepoints of a FlinkApplication, or the detached savepoints when O(application) is unset, every
    page of them, oldest first.
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
    description: The FlinkApplication. When unset, the detached savepoints are listed.
    type: str
  name:
    description: Only the savepoint of this name.
    type: str
attributes:
  check_mode:
    support: full
    description: Read-only.
  diff_mode:
    support: none
    description: Read-only.
"""

EXAMPLES = r"""
- name: The savepoints of an application
  flinkops.cookbook.cmf_savepoint_info:
    url: https://cmf.example.com
    environment: production
    application: orders-enrichment
  register: sps

- name: The newest completed one
  ansible.builtin.debug:
    msg: "{{ sps.latest_completed.path }}"
"""

RETURN = r"""
savepoints:
  description: The savepoints (name, uid, state, path, format_type, trigger_timestamp, result_timestamp, error, detached).
  returned: always
  type: list
  elements: dict
latest_completed:
  description: The most recently triggered COMPLETED savepoint, or null.
  returned: always
  type: dict
"""

from ansible_collections.flinkops.cookbook.plugins.module_utils.cmf_module import CmfModule, argument_spec
from ansible_collections.flinkops.cookbook.plugins.module_utils.cmf_ops import savepoint_view
from ansible_collections.flinkops.cookbook.plugins.module_utils.cmf_rest import CmfError


def run(cm):
    p = cm.params
    client = cm.client
    if p["application"]:
        if not p["environment"]:
            raise CmfError("environment is required with application")
        items = [savepoint_view(sp) for sp in client.list_app_savepoints(p["environment"], p["application"])]
    else:
        items = [savepoint_view(sp, detached=True) for sp in client.list_detached_savepoints()]
    if p["name"]:
        items = [sp for sp in items if sp["name"] == p["name"]]
    items.sort(key=lambda sp: sp.get("trigger_timestamp") or sp.get("created") or "")
    completed = [sp for sp in items if sp["state"] == "COMPLETED" and sp["path"]]
    return {"changed": False, "savepoints": items, "latest_completed": completed[-1] if completed else None}


def main():
    spec = argument_spec(environment=dict(type="str"), application=dict(type="str"), name=dict(type="str"))
    CmfModule(spec, supports_check_mode=True).run(run)


if __name__ == "__main__":
    main()
