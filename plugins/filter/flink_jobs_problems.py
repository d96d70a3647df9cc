# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The ``flink_jobs_problems`` filter: what the inventory declares, checked before a recipe touches anything."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: flink_jobs_problems
short_description: What is wrong with a C(flink_jobs) declaration
version_added: 0.1.0
description:
  - Checks a C(flink_jobs) list before a recipe touches the cluster and returns one message per
    problem, each naming the entry by index and name. An empty list means the declaration is usable.
  - An entry declares the fields every platform shares (C(name), C(version), C(entry_class), C(args),
    C(parallelism), C(flink_configuration)) at its top level and the fields of one backend under a sub-key named
    after the platform (C(flink), C(cmf), ...); the fields of the host's platform are checked as if they were at
    the top level (see P(flinkops.cookbook.flink_jobs_for#filter)). The flat form of earlier releases, with every field
    at the top level, is still accepted.
  - "Checked: the list is a list of mappings; every entry has the fields its platform needs
    (C(flink): C(name), C(jar), C(version); C(cmf) and C(fko): C(name), C(version), C(image), C(flink_version),
    C(jar_uri)), plus O(required); no two entries share a name; C(parallelism), when declared,
    is an integer of at least 1; C(args), when declared, is a list; C(savepoint_format), when declared, is
    C(auto), C(CANONICAL) or C(NATIVE); C(upgrade_mode), when declared, is C(savepoint) or C(last-state)
    (C(flink)) or one of those and C(stateless) (C(cmf), C(fko)); and every selector (for example
    C(scale_only) or C(backup_only)) names a declared job."
options:
  _input:
    description: The C(flink_jobs) list of the host.
    type: list
    elements: dict
    required: true
  platform:
    description: The host's C(flink_platform), which decides the required fields.
    type: str
    default: flink
  required:
    description: Fields the recipe needs on top of the platform's (C(scale_job.yml) needs C(parallelism)).
    type: list
    elements: str
    default: []
  selectors:
    description:
      - Variable name to value, for the extra variables that pick declared jobs (C(scale_only),
        C(backup_only), C(restore_job), C(job), C(backfill_from)). A value is a name or a list of
        names; C(None) and the empty string mean "not given" and are not checked.
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Preconditions | the declared jobs are well-formed
  ansible.builtin.assert:
    that: problems | length == 0
    fail_msg: "{{ problems | join('; ') }}"
  vars:
    problems: "{{ flink_jobs | flinkops.cookbook.flink_jobs_problems(flink_platform, selectors={'scale_only': scale_only | default(none)}) }}"
"""

RETURN = r"""
_value:
  description: One message per problem; empty when the declaration is usable.
  type: list
  elements: str
"""

try:
    from ansible.module_utils.six import string_types
except ImportError:  # pragma: no cover
    string_types = (str,)

# Platforms whose fields an entry may carry under a sub-key of the platform's name.
PLATFORMS = ("flink", "cmf", "fko", "confluent_cloud")

REQUIRED_FIELDS = {
    "flink": ("name", "jar", "version"),
    "cmf": ("name", "version", "image", "flink_version", "jar_uri"),
    # a Confluent Cloud "job" is a Flink SQL statement: its name and its SQL
    "confluent_cloud": ("name", "statement"),
    "fko": ("name", "version", "image", "flink_version", "jar_uri"),
}


def declaration_for(entry, platform):
    """One ``flink_jobs`` entry as the recipes on ``platform`` read it: the shared fields, with the
    fields under the ``<platform>:`` sub-key laid over them, and no backend sub-key left."""
    if not isinstance(entry, dict):
        return entry
    out = dict((k, v) for k, v in entry.items() if k not in PLATFORMS)
    backend = entry.get(platform)
    if isinstance(backend, dict):
        out.update(backend)
    return out


# flink: savepoint_format, the format_type of flink_job / flink_job_scale for the job's upgrades
SAVEPOINT_FORMATS = ("auto", "CANONICAL", "NATIVE")
# upgrade_mode per platform: flink_job's, and the Flink Kubernetes Operator's (FKO and CMF)
UPGRADE_MODES = {"flink": ("savepoint", "last-state"), "cmf": ("savepoint", "last-state", "stateless"),
                 "fko": ("savepoint", "last-state", "stateless")}


def _label(index, entry):
    name = entry.get("name") if isinstance(entry, dict) else None
    return "flink_jobs[%d] (name %s)" % (index, repr(str(name)) if name not in (None, "") else "missing")


def _empty(value):
    return value is None or (isinstance(value, string_types) and not value.strip())


def flink_jobs_problems(jobs, platform="flink", required=None, selectors=None):
    """The problems of a ``flink_jobs`` declaration, each naming the entry; ``[]`` when usable."""
    if jobs is None:
        jobs = []
    if not isinstance(jobs, (list, tuple)):
        return ["flink_jobs must be a list of job entries, got %s" % type(jobs).__name__]
    fields = list(REQUIRED_FIELDS.get(platform, ("name",)))
    for extra in required or []:
        if extra not in fields:
            fields.append(extra)
    problems = []
    seen = {}
    for index, entry in enumerate(jobs):
        if not isinstance(entry, dict):
            problems.append("flink_jobs[%d] must be a mapping with at least %s, got %s %r"
                            % (index, ", ".join(fields), type(entry).__name__, entry))
            continue
        label = _label(index, entry)
        backend = entry.get(platform)
        if backend is not None and not isinstance(backend, dict):
            problems.append("%s: %s must be a mapping of the %s fields, got %s %r"
                            % (label, platform, platform, type(backend).__name__, backend))
        entry = declaration_for(entry, platform)
        missing = [f for f in fields if f not in entry]
        empty = [f for f in fields if f in entry and _empty(entry[f])]
        if missing:
            problems.append("%s: missing required field%s %s (platform %s)"
                            % (label, "s" if len(missing) > 1 else "", ", ".join(missing), platform))
        if empty:
            problems.append("%s: required field%s %s %s empty"
                            % (label, "s" if len(empty) > 1 else "", ", ".join(empty), "are" if len(empty) > 1 else "is"))
        if "parallelism" in entry and entry["parallelism"] is not None:
            try:
                parallelism = int(entry["parallelism"])
            except (TypeError, ValueError):
                parallelism = None
            if parallelism is None or parallelism < 1:
                problems.append("%s: parallelism must be an integer of at least 1, got %r" % (label, entry["parallelism"]))
        if "args" in entry and entry["args"] is not None and (
                isinstance(entry["args"], string_types) or not isinstance(entry["args"], (list, tuple))):
            problems.append("%s: args must be a list of strings, got %s %r"
                            % (label, type(entry["args"]).__name__, entry["args"]))
        if entry.get("savepoint_format") not in (None,) + SAVEPOINT_FORMATS:
            problems.append("%s: savepoint_format must be one of %s, got %r"
                            % (label, ", ".join(SAVEPOINT_FORMATS), entry["savepoint_format"]))
        modes = UPGRADE_MODES.get(platform)
        if modes and entry.get("upgrade_mode") not in (None,) + modes:
            problems.append("%s: upgrade_mode must be one of %s on platform %s, got %r"
                            % (label, ", ".join(modes), platform, entry["upgrade_mode"]))
        name = entry.get("name")
        if not _empty(name):
            name = str(name)
            if name in seen:
                problems.append("%s: duplicate name, already declared by flink_jobs[%d]" % (label, seen[name]))
            else:
                seen[name] = index
    declared = sorted(seen)
    for variable in sorted(selectors or {}):
        value = (selectors or {})[variable]
        if _empty(value):
            continue
        names = [value] if isinstance(value, string_types) else list(value)
        unknown = [str(n) for n in names if str(n) not in seen]
        if unknown:
            problems.append("%s=%s names no job declared in flink_jobs (declared: %s)"
                            % (variable, ",".join(unknown), ", ".join(declared) or "none"))
    return problems


class FilterModule(object):
    def filters(self):
        return {
            "flink_jobs_problems": flink_jobs_problems,
        }
