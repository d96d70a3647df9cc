# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The ``same_savepoint_path`` filter: two savepoint locations compared the way Flink spells them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: same_savepoint_path
short_description: Whether two savepoint locations are the same place
version_added: 0.1.0
description:
  - Flink reports a file-system savepoint as C(file:/x/y) when a user wrote C(file:///x/y) or
    C(/x/y); a trailing slash does not matter either. Comparing the strings would call a correct
    restore a failure, so the recipes compare through this filter.
  - An empty or missing location is never the same as anything.
  - The normalisation is the one C(flinkops.cookbook.flink_job) uses to check what a job restored from.
options:
  _input:
    description: A savepoint location, as Flink reports it or as a user wrote it.
    type: str
    required: true
  other:
    description: The location to compare with.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Validation | the job restored from the chosen savepoint
  ansible.builtin.assert:
    that: restored | flinkops.cookbook.same_savepoint_path('file:///data/savepoints/savepoint-1a2b')
  vars:
    restored: file:/data/savepoints/savepoint-1a2b
"""

RETURN = r"""
_value:
  description: C(true) when both name the same location.
  type: bool
"""

from ansible_collections.flinkops.cookbook.plugins.module_utils.flink_ops import _same_path


def same_savepoint_path(path, other):
    """True when two savepoint locations are the same place, whatever the spelling."""
    return _same_path(path, other)


class FilterModule(object):
    def filters(self):
        return {"same_savepoint_path": same_savepoint_path}
