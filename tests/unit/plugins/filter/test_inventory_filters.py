"""flinkops.cookbook.flink_jobs_problems and same_savepoint_path (plugins/filter)."""
from __future__ import annotations

import pytest

from ansible_collections.flinkops.cookbook.plugins.filter.flink_jobs_problems import (
    FilterModule as JobsFilters, flink_jobs_problems)
from ansible_collections.flinkops.cookbook.plugins.filter.same_savepoint_path import (
    FilterModule as PathFilters, same_savepoint_path)

GOOD = {"name": "orders", "jar": "/a/orders.jar", "version": "1.0.0", "parallelism": 2, "args": ["--x"]}
CMF = {"name": "orders", "version": "1.0.0", "image": "img:1", "flink_version": "v1_19", "jar_uri": "local:///j.jar"}


def test_a_good_declaration_has_no_problem():
    assert flink_jobs_problems([GOOD, dict(GOOD, name="payments")]) == []
    assert flink_jobs_problems([CMF], "cmf") == []
    assert flink_jobs_problems(None) == []
    assert flink_jobs_problems([GOOD], selectors={"scale_only": "orders", "backup_only": None, "job": ""}) == []


@pytest.mark.parametrize("field", ["name", "jar", "version"])
def test_a_missing_flink_field_names_the_entry_and_the_field(field):
    entry = dict(GOOD)
    del entry[field]
    (problem,) = flink_jobs_problems([dict(GOOD, name="first"), entry])
    assert problem.startswith("flink_jobs[1] (name ")
    assert "missing required field %s" % field in problem
    assert ("'orders'" in problem) == (field != "name")


def test_cmf_required_fields_and_recipe_extras():
    entry = dict(CMF)
    del entry["jar_uri"], entry["image"]
    (problem,) = flink_jobs_problems([entry], "cmf")
    assert problem == "flink_jobs[0] (name 'orders'): missing required fields image, jar_uri (platform cmf)"
    no_parallelism = dict(GOOD)
    del no_parallelism["parallelism"]
    (problem,) = flink_jobs_problems([no_parallelism], "flink", required=["parallelism"])
    assert "missing required field parallelism" in problem


def test_empty_values_duplicates_and_types():
    problems = flink_jobs_problems([GOOD, dict(GOOD, version=" "), dict(GOOD, name="b", parallelism="x", args="--x"),
                                    "orders"])
    assert "flink_jobs[1] (name 'orders'): required field version is empty" in problems
    assert "flink_jobs[1] (name 'orders'): duplicate name, already declared by flink_jobs[0]" in problems
    assert "flink_jobs[2] (name 'b'): parallelism must be an integer of at least 1, got 'x'" in problems
    assert any(p.startswith("flink_jobs[2] (name 'b'): args must be a list") for p in problems)
    assert any(p.startswith("flink_jobs[3] must be a mapping") for p in problems)
    assert len(problems) == 5
    assert flink_jobs_problems({"name": "x"}) == ["flink_jobs must be a list of job entries, got dict"]
    assert "parallelism must be" in flink_jobs_problems([dict(GOOD, parallelism=0)])[0]


def test_a_savepoint_format_outside_the_modules_choices_names_the_entry():
    assert flink_jobs_problems([dict(GOOD, flink={"savepoint_format": "NATIVE"})]) == []
    assert flink_jobs_problems([dict(GOOD, flink={"savepoint_format": "native"})]) == [
        "flink_jobs[0] (name 'orders'): savepoint_format must be one of auto, CANONICAL, NATIVE, got 'native'"]


def test_an_upgrade_mode_the_platform_does_not_have_names_the_entry():
    assert flink_jobs_problems([dict(GOOD, flink={"upgrade_mode": "last-state"})]) == []
    assert flink_jobs_problems([dict(GOOD, flink={"upgrade_mode": "stateless"})]) == [
        "flink_jobs[0] (name 'orders'): upgrade_mode must be one of savepoint, last-state on platform flink, "
        "got 'stateless'"]
    assert flink_jobs_problems([dict(GOOD, flink={"upgrade_mode": "last_state"})])[0].endswith("got 'last_state'")


def test_a_selector_naming_no_declared_job():
    assert flink_jobs_problems([GOOD], selectors={"scale_only": "nope"}) == [
        "scale_only=nope names no job declared in flink_jobs (declared: orders)"]
    assert flink_jobs_problems([], selectors={"backup_only": ["a", "b"]}) == [
        "backup_only=a,b names no job declared in flink_jobs (declared: none)"]


@pytest.mark.parametrize("a, b, same", [
    ("file:/tmp/sp/chk-5", "file:///tmp/sp/chk-5", True),
    ("file:/tmp/sp/chk-5", "/tmp/sp/chk-5/", True),
    ("file:/tmp/sp/chk-5", "file:/tmp/sp/chk-50", False),
    ("s3://bucket/sp/savepoint-1", "s3://bucket/sp/savepoint-1", True),
    ("s3://bucket/sp/savepoint-1", "s3://other/sp/savepoint-1", False),
    (None, None, False),
    ("", "", False),
])
def test_same_savepoint_path(a, b, same):
    assert same_savepoint_path(a, b) is same


def test_the_filters_are_registered():
    assert JobsFilters().filters()["flink_jobs_problems"] is flink_jobs_problems
    assert PathFilters().filters()["same_savepoint_path"] is same_savepoint_path


def test_redact_url_filter():
    from ansible_collections.flinkops.cookbook.plugins.filter.redact_url import FilterModule as RedactFilters
    redact = RedactFilters().filters()["redact_url"]
    assert redact("https://ops:s3cret@flink.test:8443") == "https://********@flink.test:8443"
    assert redact("http://flink.test:8081") == "http://flink.test:8081"


# -- one shape for every platform: backend fields under a sub-key named after the platform ----------
NESTED = {"name": "orders", "version": "1.0.0", "parallelism": 2, "args": ["--x"],
          "flink": {"jar": "/a/orders.jar"},
          "cmf": {"image": "img:1", "flink_version": "v1_19", "jar_uri": "local:///j.jar"}}


def test_one_entry_serves_every_platform():
    from ansible_collections.flinkops.cookbook.plugins.filter.flink_jobs_for import FilterModule, flink_jobs_for

    assert flink_jobs_problems([NESTED], "flink") == [] and flink_jobs_problems([NESTED], "cmf") == []
    (flink,) = flink_jobs_for([NESTED], "flink")
    assert flink == {"name": "orders", "version": "1.0.0", "parallelism": 2, "args": ["--x"], "jar": "/a/orders.jar"}
    (cmf,) = flink_jobs_for([NESTED], "cmf")
    assert cmf["image"] == "img:1" and "jar" not in cmf and "flink" not in cmf and "cmf" not in cmf
    assert flink_jobs_for([GOOD], "flink") == [GOOD], "the flat form is read as it is"
    assert flink_jobs_for(["oops"], "flink") == ["oops"] and flink_jobs_for(None) is None
    assert FilterModule().filters()["flink_jobs_for"] is flink_jobs_for


def test_a_backend_field_missing_under_the_sub_key_names_the_entry():
    entry = dict(NESTED, cmf={"image": "img:1"})
    (problem,) = flink_jobs_problems([entry], "cmf")
    assert problem == "flink_jobs[0] (name 'orders'): missing required fields flink_version, jar_uri (platform cmf)"
    problems = flink_jobs_problems([dict(NESTED, flink="/a.jar")], "flink")
    assert problems[0].startswith("flink_jobs[0] (name 'orders'): flink must be a mapping of the flink fields")
    assert "missing required field jar (platform flink)" in problems[1]


def test_the_sub_key_wins_over_a_shared_field():
    from ansible_collections.flinkops.cookbook.plugins.filter.flink_jobs_for import flink_jobs_for

    (job,) = flink_jobs_for([dict(NESTED, parallelism=2, cmf=dict(NESTED["cmf"], parallelism=4))], "cmf")
    assert job["parallelism"] == 4


def test_fko_required_fields_are_read_under_the_fko_key_and_named_when_missing():
    entry = {"name": "orders", "version": "1.0.0", "parallelism": 2,
             "fko": {"image": "img:1", "flink_version": "v1_20", "jar_uri": "local:///j.jar"}}
    assert flink_jobs_problems([entry], "fko") == []
    broken = dict(entry, fko={"image": "img:1"})
    (problem,) = flink_jobs_problems([broken], "fko")
    assert problem == "flink_jobs[0] (name 'orders'): missing required fields flink_version, jar_uri (platform fko)"
