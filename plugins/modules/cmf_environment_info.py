#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cmf_environment_info
short_description: Read Confluent Manager for Apache Flink (CMF) environments
version_added: 0.1.0
description:
  - Returns one CMF environment by name, or all of them (every page of the list).
  - Also returns the CMF version when the server tells it (C(/system-information), CMF 2.2+).
author:
  - flinkops maintainers (@flinkops)
extends_documentation_fragment:
  - flinkops.cookbook.cmf
options:
  name:
    description: Name of one environment. When unset, every environment is returned.
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
- name: Every CMF environment
  flinkops.cookbook.cmf_environment_info:
    url: https://cmf.example.com
  register: cmf

- name: One environment
  flinkops.cookbook.cmf_environment_info:
    name: production
  register: prod
"""

RETURN = r"""
environments:
  description: The environments found (empty when O(name) does not exist).
  returned: always
  type: list
  elements: dict
  sample: [{name: production, kubernetesNamespace: flink-prod, created_time: "2026-01-15T10:30:00Z"}]
cmf_version:
  description: The CMF version, when the server reports it (CMF 2.2+); null otherwise.
  returned: always
  type: str
  sample: 2.3.1
"""

from ansible_collections.flinkops.cookbook.plugins.module_utils.cmf_module import CmfModule, argument_spec


def run(cm):
    client = cm.client
    name = cm.params["name"]
    if name:
        env = client.get_environment(name)
        envs = [env] if env else []
    else:
        envs = client.list_environments()
    return {"changed": False, "environments": envs, "cmf_version": client.version_string}


def main():
    CmfModule(argument_spec(name=dict(type="str")), supports_check_mode=True).run(run)


if __name__ == "__main__":
    main()
