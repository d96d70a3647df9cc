# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The ``flink_jobs_for`` filter: the ``flink_jobs`` declaration as the recipes of one platform read it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: flink_jobs_for
short_description: The C(flink_jobs) entries as one platform's recipes read them
version_added: 0.1.0
description:
  - Every platform declares its jobs in one shape. The fields all platforms share (C(name), C(version),
    C(entry_class), C(args), C(parallelism), C(flink_configuration)) are at the top level of an entry. The fields
    of one backend are under a sub-key named after the platform, for example C(flink) (C(jar), C(savepoint_path),
    C(savepoint_format), C(upgrade_mode)) or C(cmf) (C(image), C(flink_version), C(jar_uri), C(upgrade_mode), C(job_manager), C(task_manager)).
  - This filter returns each entry with the shared fields and the fields of O(platform) laid over them, and no
    backend sub-key. An entry in the flat form of earlier releases, with every field at the top level, is returned
    as it is.
  - It does not validate. P(flinkops.cookbook.flink_jobs_problems#filter) does, before a recipe touches anything.
options:
  _input:
    description: The C(flink_jobs) list of the host.
    type: list
    elements: dict
    required: true
  platform:
    description: The host's C(flink_platform).
    type: str
    default: flink
"""

EXAMPLES = r"""
- name: The jobs as this platform reads them
  ansible.builtin.debug:
    msg: "{{ flink_jobs | flinkops.cookbook.flink_jobs_for(flink_platform) }}"
"""

RETURN = r"""
_value:
  description: The entries, each with the fields of O(platform) at the top level.
  type: list
  elements: dict
"""

from ansible_collections.flinkops.cookbook.plugins.filter.flink_jobs_problems import declaration_for


def flink_jobs_for(jobs, platform="flink"):
    if not isinstance(jobs, (list, tuple)):
        return jobs
    return [declaration_for(entry, platform) for entry in jobs]


class FilterModule(object):
    def filters(self):
        return {"flink_jobs_for": flink_jobs_for}
