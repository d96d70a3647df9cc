# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The ``redact_url`` filter: URLs without their user info, for messages, reports and manifests."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: redact_url
short_description: Text with the user info of every URL in it replaced
version_added: 0.1.0
description:
  - Replaces the user info of every URL in the text (C(https://user:password@host)) with
    C(********), so an endpoint can be printed, reported or recorded without its credentials.
  - The same redaction the collection's HTTP transport applies to every error it raises.
options:
  _input:
    description: A URL, or any text with URLs in it.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Say which endpoint is used, without its credentials
  ansible.builtin.debug:
    msg: "Flink at {{ flink_endpoint | flinkops.cookbook.redact_url }}"
"""

RETURN = r"""
_value:
  description: The text, with C(scheme://********@host) for every URL that had user info.
  type: str
"""

from ansible_collections.flinkops.cookbook.plugins.module_utils._http import redact_url


class FilterModule(object):
    def filters(self):
        return {"redact_url": redact_url}
