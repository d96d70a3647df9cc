# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The ``journal`` lookup: what a run of a recipe recorded on the controller before it was killed."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: journal
short_description: The journal an interrupted run of a recipe left on the controller, or an empty dictionary
version_added: 0.1.0
description:
  - Reads the JSON journal a recipe writes on the controller before a change it has not validated yet
    (an upgrade, a rescale, a restore, an incident mitigation), so that the next run finishes or rolls
    back what a killed run started.
  - Returns an empty dictionary when there is no journal (no run was interrupted).
  - A journal that exists but cannot be read, is not JSON or is not a JSON object fails the task and
    names the file. It is never taken for "no journal", which would repeat a change a killed run made.
options:
  _terms:
    description: Paths of journal files on the controller.
    type: list
    elements: path
    required: true
"""

EXAMPLES = r"""
- name: What an interrupted upgrade of this job recorded
  ansible.builtin.set_fact:
    upgrade_pending: "{{ lookup('flinkops.cookbook.journal', manifest_dir ~ '/stateful-counter.journal.json') }}"
"""

RETURN = r"""
_raw:
  description: One dictionary per path, the journal as written, or C({}) where there is no file.
  type: list
  elements: dict
"""

import json
import os

from ansible.errors import AnsibleLookupError
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.lookup import LookupBase


def read_journal(path):
    """The journal at ``path`` as a dict, ``{}`` when there is none; AnsibleLookupError otherwise."""
    if not os.path.lexists(path):
        return {}
    try:
        with open(path) as handle:
            data = json.load(handle)
    except (IOError, OSError) as exc:
        raise AnsibleLookupError("Cannot read the journal %s: %s. Nothing was changed." % (path, to_native(exc)))
    except ValueError as exc:
        raise AnsibleLookupError(
            "The journal %s is not JSON (%s). An interrupted run left it; read it, then remove it to start over. "
            "Nothing was changed." % (path, to_native(exc)))
    if not isinstance(data, dict):
        raise AnsibleLookupError(
            "The journal %s holds a JSON %s, not an object. Read it, then remove it to start over. "
            "Nothing was changed." % (path, type(data).__name__))
    return data


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        return [read_journal(to_native(term)) for term in terms]
