# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The ``flink_sql_sink_tables`` filter: the tables a Flink SQL statement writes to."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: flink_sql_sink_tables
short_description: The tables a Flink SQL statement writes to
version_added: 0.1.0
description:
  - The targets of C(INSERT INTO), C(INSERT OVERWRITE) and C(CREATE TABLE ... AS) (also inside C(EXECUTE STATEMENT SET)),
    each as its last name part without backquotes, so C(`env-1`.`lkc-1`.`orders_enriched`) is C(orders_enriched). On
    Confluent Cloud a table is the Kafka topic of the same name, so these are the topics the statement produces.
  - Comments (C(--) to the end of the line, and C(/* ... */)) and string literals are ignored.
  - Used by C(dr_active_active_check.yml) to refuse a cluster link that mirrors a statement's output topic into
    the other region.
options:
  _input:
    description: The SQL text of one statement.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: The topics a statement produces
  ansible.builtin.debug:
    msg: "{{ 'INSERT INTO `env`.`lkc`.`orders_enriched` SELECT * FROM orders' | flinkops.cookbook.flink_sql_sink_tables }}"
"""

RETURN = r"""
_value:
  description: The table names, in the order they appear, each once.
  type: list
  elements: str
"""

import re

_IGNORED = re.compile(r"--[^\n]*|/\*.*?\*/|'(?:[^']|'')*'", re.S)
_NAME = r"(?:`(?:[^`]|``)+`|[A-Za-z_][\w$-]*)"
_TARGET = re.compile(r"\b(?:INSERT\s+(?:INTO|OVERWRITE)(?:\s+TABLE)?|CREATE\s+(?:OR\s+REPLACE\s+)?TABLE(?:\s+IF\s+NOT\s+EXISTS)?)"
                     r"\s+(%s(?:\s*\.\s*%s)*)" % (_NAME, _NAME), re.I)
_PARTS = re.compile(_NAME)


def flink_sql_sink_tables(sql):
    """The tables ``sql`` writes to (last name part, unquoted), first appearance order."""
    text = _IGNORED.sub(" ", sql or "")
    out = []
    for match in _TARGET.finditer(text):
        keyword = match.group(0).split(None, 1)[0].upper()
        if keyword == "CREATE" and not re.match(r"(?:\s*\([^;]*?\))?\s*(?:WITH\s*\([^;]*?\)\s*)?AS\b", text[match.end():], re.I | re.S):
            continue  # a plain CREATE TABLE defines a table; only CREATE TABLE ... AS writes to it
        name = _PARTS.findall(match.group(1))[-1]
        if name.startswith("`"):
            name = name[1:-1].replace("``", "`")
        if name not in out:
            out.append(name)
    return out


class FilterModule(object):
    def filters(self):
        return {"flink_sql_sink_tables": flink_sql_sink_tables}
