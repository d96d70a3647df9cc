# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Filters for the incident recipes (cookbook 003, section 7)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# Recipe 7.1, step 3 "Classify incident": the first class whose pattern matches the root
# exception (name + message) wins; anything else is treated as a code bug.
_CLASSES = (
    ("data", re.compile(
        r"Deserializ|Serializ(ation|er)Exception|JsonParse|JsonMapping|MalformedInput|NumberFormatException|"
        r"SchemaParseException|AvroRuntimeException|InvalidRecord|CorruptRecord|poison|DateTimeParseException",
        re.IGNORECASE)),
    ("infrastructure", re.compile(
        r"TimeoutException|ConnectException|Connection refused|UnknownHost|NoRouteToHost|SocketException|"
        r"\b(429|500|502|503|504)\b|Too Many Requests|Service Unavailable|Throttl|AccessDenied|"
        r"NotEnoughResourcesException|NoResourceAvailableException|OutOfMemoryError|"
        r"java\.io\.IOException|Broken pipe|TaskManager.*(lost|disconnected)|heartbeat.*timed out",
        re.IGNORECASE)),
)

_MITIGATIONS = {
    "data": "a poison-pill record: add a dead-letter path or filter the record, redeploy the fixed version "
            "from the last savepoint",
    "infrastructure": "an external system or the cluster is failing: throttle, raise timeouts, or pause the sink; "
                      "stop the job with a savepoint until the dependency is healthy",
    "code": "a deterministic program bug: hotfix it in staging and redeploy from the last savepoint",
}


def flink_failure_class(text):
    """Classify a Flink root exception as ``data``, ``infrastructure`` or ``code``."""
    text = str(text or "")
    for name, pattern in _CLASSES:
        if pattern.search(text):
            return name
    return "code"


def flink_failure_mitigation(failure_class):
    """The recommended temporary mitigation for a failure class (recipe 7.1 step 4)."""
    return _MITIGATIONS.get(failure_class, _MITIGATIONS["code"])


class FilterModule(object):
    def filters(self):
        return {
            "flink_failure_class": flink_failure_class,
            "flink_failure_mitigation": flink_failure_mitigation,
        }
