"""roles/*/meta/argument_specs.yml mirrors roles/*/defaults/main.yml: every default is a documented
option and every documented option has a default or is required, with the default the spec states."""
from __future__ import annotations

import pathlib

import pytest
import yaml

ROLES = pathlib.Path(__file__).resolve().parents[3] / "roles"
WITH_SPECS = sorted(p.parent.parent.name for p in ROLES.glob("*/meta/argument_specs.yml"))


def test_the_roles_with_argument_specs_are_found():
    assert {"flink", "flink_namespace", "zookeeper"} <= set(WITH_SPECS)


@pytest.mark.parametrize("role", WITH_SPECS)
def test_argument_specs_mirror_the_defaults(role):
    options = yaml.safe_load((ROLES / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"][
        "options"]
    defaults = yaml.safe_load((ROLES / role / "defaults" / "main.yml").read_text()) or {}
    assert sorted(set(defaults) - set(options)) == [], "defaults without a documented option"
    assert sorted(name for name, spec in options.items() if name not in defaults and not spec.get("required")) == [], \
        "documented options without a default"
    for name, spec in options.items():
        value = defaults.get(name)
        if "default" in spec and not (isinstance(value, str) and "{{" in value):
            assert spec["default"] == value, "%s: the spec says %r, the defaults %r" % (name, spec["default"], value)
