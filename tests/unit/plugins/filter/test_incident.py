from __future__ import annotations

import pytest

from ansible_collections.flinkops.cookbook.plugins.filter.incident import (
    FilterModule, flink_failure_class, flink_failure_mitigation)


@pytest.mark.parametrize("text, expected", [
    ("org.apache.flink.formats.json.JsonParseException: Unexpected character", "data"),
    ("java.lang.NumberFormatException: For input string: \"x\"", "data"),
    ("org.apache.kafka.common.errors.TimeoutException: Topic orders not present", "infrastructure"),
    ("java.net.ConnectException: Connection refused", "infrastructure"),
    ("HTTP 503 Service Unavailable from the enrichment API", "infrastructure"),
    ("java.lang.NullPointerException at com.example.Enrich.map", "code"),
    ("java.lang.RuntimeException: flinkops test job: failing after 400 ms on purpose", "code"),
    ("", "code"),
])
def test_classification(text, expected):
    assert flink_failure_class(text) == expected


def test_every_class_has_a_mitigation_and_filters_are_registered():
    for cls in ("data", "infrastructure", "code"):
        assert flink_failure_mitigation(cls)
    assert set(FilterModule().filters()) == {"flink_failure_class", "flink_failure_mitigation"}
