"""The AWX job templates, surveys and workflow of playbooks/configure_awx.yml
(playbooks/vars/awx_job_templates.yml), checked against AWX's survey rules
(tests/support/awx_survey_rules.py) and against the repository they describe: every survey is
accepted by AWX, a launch that takes every default starts, every variable asked is one the
recipe reads, the choices are the inventory's environments and jobs, and the workflow's nodes are
templates that exist.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.support import awx_survey_rules as rules

REPO = Path(__file__).resolve().parents[3]
PLAYBOOKS = REPO / "playbooks"
DATA = yaml.safe_load((PLAYBOOKS / "vars" / "awx_job_templates.yml").read_text())
TEMPLATES = {t["name"]: t for t in DATA["awx_job_templates"]}
WORKFLOWS = {w["name"]: w for w in DATA["awx_workflows"]}
# run over SSH on the bare-metal groups, or configure AWX itself: no template (the vars file says why)
NOT_TEMPLATES = {"provision_bare_metal.yml", "upgrade_flink.yml", "configure_awx.yml"}


def surveys():
    return [pytest.param(t["survey"], id=name) for name, t in list(TEMPLATES.items()) + list(WORKFLOWS.items())]


@pytest.mark.parametrize("survey", surveys())
def test_awx_accepts_the_survey(survey):
    assert rules.spec_errors(survey) == []


# a launch of these must answer: no default can name a backfill, nor give its program arguments
NEEDS_ANSWERS = {"flinkops | backfill": ["'backfill_id' value missing"]}


@pytest.mark.parametrize("survey", surveys())
def test_a_launch_that_takes_every_default_starts(survey):
    extra = rules.launch_extra_vars(survey)
    needed = NEEDS_ANSWERS.get(next(name for name, t in list(TEMPLATES.items()) + list(WORKFLOWS.items())
                                    if t["survey"] is survey), [])
    assert rules.launch_errors(survey, extra) == needed
    assert extra["flinkops_environment"] in DATA["awx_environments"]


def recipe_text(playbook):
    """The playbook and every task file of its recipe (each backend's, and the shared ones)."""
    recipe = Path(playbook).stem
    texts = [(REPO / playbook).read_text()]
    texts += [p.read_text() for p in (PLAYBOOKS / "tasks").rglob("*.yml") if p.stem in (recipe, "_" + recipe)
              or p.parent.name == "common"]
    return "\n".join(texts)


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_every_variable_asked_is_one_the_recipe_reads(name):
    template = TEMPLATES[name]
    assert (REPO / template["playbook"]).is_file(), template["playbook"]
    text = recipe_text(template["playbook"])
    for question in template["survey"]["spec"]:
        if question["variable"] == "flinkops_environment":
            continue  # read by roles/recipe_defaults, which every recipe play lists first
        assert question["variable"] in text, "%s asks %s, which %s never reads" % (
            name, question["variable"], template["playbook"])
    assert "flinkops.cookbook.recipe_defaults" in (REPO / template["playbook"]).read_text()


def test_every_recipe_playbook_has_a_template_or_is_named_as_having_none():
    playbooks = {p.name for p in PLAYBOOKS.glob("*.yml")}
    templated = {Path(t["playbook"]).name for t in TEMPLATES.values()}
    assert templated <= playbooks
    assert playbooks - templated == NOT_TEMPLATES


def inventory():
    hosts = yaml.safe_load((REPO / "inventories" / "hosts.yml").read_text())
    groups = set(hosts["all"]["children"])
    jobs = set()
    for path in (REPO / "inventories" / "group_vars").glob("*.yml"):
        for job in (yaml.safe_load(path.read_text()) or {}).get("flink_jobs") or []:
            jobs.add(job["name"])
    return groups, jobs


def test_the_choices_are_the_inventorys_environments_and_jobs():
    groups, jobs = inventory()
    assert set(DATA["awx_environments"]) == groups
    assert set(DATA["awx_flink_jobs"]) == jobs
    for name, template in list(TEMPLATES.items()) + list(WORKFLOWS.items()):
        for question in template["survey"]["spec"]:
            if question["variable"] == "flinkops_environment":
                assert set(question["choices"]) <= groups, name
            elif question["variable"] in ("scale_only", "backup_only", "restore_job", "job", "incident_job",
                                          "backfill_from"):
                assert set(question["choices"]) == jobs, name


def test_the_workflow_nodes_are_templates_and_set_only_what_their_survey_asks():
    for workflow in WORKFLOWS.values():
        identifiers = {node["identifier"] for node in workflow["nodes"]}
        for node in workflow["nodes"]:
            template = TEMPLATES[node["job_template"]]
            asked = {q["variable"] for q in template["survey"]["spec"]}
            assert set(node.get("extra_data", {})) <= asked, node
            answers = rules.launch_extra_vars(template["survey"], node.get("extra_data"))
            assert rules.launch_errors(template["survey"], answers) == []
            assert set(node.get("success_nodes", []) + node.get("failure_nodes", [])) <= identifiers
        # the workflow's own survey answers reach every node: each node's survey asks them
        for question in workflow["survey"]["spec"]:
            for node in workflow["nodes"]:
                assert question["variable"] in {q["variable"] for q in TEMPLATES[node["job_template"]]["survey"]["spec"]}


# -- the rules themselves, on specs AWX refuses -----------------------------------------------------
def question(qtype, variable, **fields):
    return dict({"type": qtype, "question_name": variable.upper(), "variable": variable, "required": False}, **fields)


GOOD = {"type": "multiplechoice", "question_name": "Job", "variable": "job", "required": True,
        "choices": ["a", "b"], "default": "a"}


@pytest.mark.parametrize("spec, message", [
    ({"name": "s", "spec": [GOOD]}, "Field 'description' is missing from survey spec."),
    ({"name": "s", "description": "", "spec": []}, "'spec' doesn't contain any items."),
    ({"name": "s", "description": "", "spec": [dict(GOOD, required="yes")]},
     "'required' in survey question 0 expected to be boolean."),
    ({"name": "s", "description": "", "spec": [GOOD, dict(GOOD, question_name="Again")]},
     "'variable' 'job' duplicated in survey question 1."),
    ({"name": "s", "description": "", "spec": [dict(GOOD, type="select")]},
     "'select' in survey question 0 is not one of 'text, textarea, password, multiplechoice, multiselect, integer, "
     "float' allowed question types."),
    ({"name": "s", "description": "", "spec": [dict(GOOD, default="c")]},
     "Default choice must be answered from the choices listed."),
    ({"name": "s", "description": "", "spec": [dict(GOOD, default="a\nb")]},
     "Multiple Choice (Single Select) can only have one default value."),
    ({"name": "s", "description": "", "spec": [{k: v for k, v in GOOD.items() if k != "choices"}]},
     "Survey question 0 of type multiplechoice must specify choices."),
    ({"name": "s", "description": "", "spec": [question("integer", "n", default="3")]},
     "Default value 3 in survey question 0 expected to be integer."),
    ({"name": "s", "description": "", "spec": [question("text", "t", min="1")]},
     "The min limit in survey question 0 expected to be integer."),
    ({"name": "s", "description": "", "spec": [question("text", "t", default="$encrypted$")]},
     "$encrypted$ is a reserved keyword for password question defaults, survey question 0 is type text."),
    ({"name": "s", "description": "", "spec": [question("password", "p", default="$encrypted$")]},
     "$encrypted$ is a reserved keyword, may not be used for new default in position 0."),
])
def test_the_rules_refuse_what_awx_refuses(spec, message):
    assert message in rules.spec_errors(spec)


def test_a_launch_is_refused_for_a_missing_answer_a_wrong_choice_and_a_text_out_of_bounds():
    spec = {"spec": [dict(GOOD, default=None),
                     {"type": "text", "question_name": "T", "variable": "t", "required": True, "min": 1, "max": 3}]}
    assert rules.launch_errors(spec, {}) == ["'job' value missing", "'t' value missing"]
    assert rules.launch_errors(spec, {"job": "c", "t": "long"}) == [
        "Value c for 'job' expected to be one of ['a', 'b'].", "'t' value long is too large (must be no more than 3)."]
    # a default that is no valid answer is not sent, so the launch needs the answer
    assert rules.launch_extra_vars({"spec": [dict(spec["spec"][1], default="")]}) == {}
