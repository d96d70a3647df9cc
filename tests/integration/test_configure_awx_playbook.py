"""``ansible-playbook playbooks/configure_awx.yml`` (the awx.awx modules, unchanged) against the
fake AWX API of tests/support/fake_awx.py: a --check on an empty controller writes nothing, a run
makes the project, inventory, job templates with their surveys and the workflow of
playbooks/vars/awx_job_templates.yml, a second run writes nothing; without the project's git URL
nothing is asked of AWX; a survey AWX refuses fails the run with AWX's words, and the next correct
run repairs what the failed one left. The oracle is what the fake holds afterwards.
"""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from tests.integration.ansible_run import run_playbook
from tests.support.fake_awx import FakeAWX

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
DATA = yaml.safe_load((REPO / "playbooks" / "vars" / "awx_job_templates.yml").read_text())
TEMPLATES = {t["name"]: t for t in DATA["awx_job_templates"]}
WORKFLOW = DATA["awx_workflows"][0]
TOKEN = "awx-s3cr3t-token"
SCM_URL = "https://git.example.internal/flinkops.git"
# the play runs on the implicit localhost, which the inventory lacks: a limit names it only beside a group
LIMIT = "all:localhost"


@pytest.fixture
def awx():
    # a project update takes a while, as on a controller: a job template made before it ends is refused
    with FakeAWX(token=TOKEN, sync_seconds=4.0) as fake:
        yield fake


def play(awx, check=False, **extra):
    extra_vars = {"awx_host": awx.url, "awx_token": TOKEN, "awx_project_scm_url": SCM_URL}
    extra_vars.update(extra)
    extra_vars = {k: v for k, v in extra_vars.items() if v is not None}
    return run_playbook("configure_awx.yml", LIMIT, extra_vars=extra_vars, check=check, diff=check, timeout=600)


def failed_items(res):
    return [(r.get("item", {}).get("name"), r.get("msg")) for t in res.tasks for r in t.get("results", [t])
            if r.get("failed")]


def assert_configured(awx):
    """The controller holds what the data file declares, nothing more."""
    org = awx.one("organizations", name="Default")["id"]
    project = awx.one("projects", name="flinkops.cookbook", organization=org)
    assert (project["scm_type"], project["scm_url"], project["scm_branch"], project["scm_update_on_launch"]) == \
        ("git", SCM_URL, "main", True)
    inventory = awx.one("inventories", name="flinkops", organization=org)
    assert inventory["kind"] == ""
    source = awx.one("inventory_sources", inventory=inventory["id"])
    assert (source["name"], source["source"], source["source_project"], source["source_path"], source["overwrite"],
            source["update_on_launch"]) == ("flinkops from the project", "scm", project["id"], "inventories/hosts.yml",
                                            True, True)

    templates = {t["name"]: t for t in awx.objects("job_templates")}
    assert set(templates) == set(TEMPLATES)
    for name, want in TEMPLATES.items():
        got = templates[name]
        assert (got["survey_enabled"], got["playbook"], got["project"], got["inventory"], got["organization"],
                got["job_type"], got["ask_variables_on_launch"]) == \
            (True, want["playbook"], project["id"], inventory["id"], org, "run", want.get("ask_variables_on_launch", False)), name
        assert got["description"] == want["description"], name
        assert awx.survey("job_templates", got["id"]) == want["survey"], name

    workflow = awx.one("workflow_job_templates", name=WORKFLOW["name"], organization=org)
    assert workflow["survey_enabled"] and workflow["inventory"] == inventory["id"]
    assert awx.survey("workflow_job_templates", workflow["id"]) == WORKFLOW["survey"]
    nodes = {n["identifier"]: n for n in awx.objects("workflow_job_template_nodes", workflow_job_template=workflow["id"])}
    assert set(nodes) == {"upgrade", "validate", "report"}
    for node in WORKFLOW["nodes"]:
        assert nodes[node["identifier"]]["unified_job_template"] == templates[node["job_template"]]["id"], node
        assert nodes[node["identifier"]]["extra_data"] == node.get("extra_data", {}), node
    assert nodes["validate"]["extra_data"] == {"health_fail_on": "critical"}
    edges = {("upgrade", "success", "validate"), ("upgrade", "failure", "report"), ("validate", "failure", "report")}
    assert awx.edges(workflow["id"]) == edges
    assert edges == {(n["identifier"], kind[:-len("_nodes")], child) for n in WORKFLOW["nodes"]
                     for kind in ("success_nodes", "failure_nodes", "always_nodes") for child in n.get(kind, [])}


def test_check_writes_nothing_a_run_configures_everything_and_a_second_run_changes_nothing(awx):
    res = play(awx, check=True)
    assert res.rc == 0, (failed_items(res), res.stderr[-2000:])
    assert awx.writes() == []
    assert awx.objects("projects") == [] and awx.objects("job_templates") == []
    # what a run would create is reported, what needs it is skipped (nothing to compare with yet)
    assert res.task("Procedure | the project, this repository")["changed"] is True
    assert res.task("Procedure | the inventory")["changed"] is True

    res = play(awx)
    assert res.rc == 0, (failed_items(res), res.stderr[-2000:])
    assert_configured(awx)
    # every job template was made after the project's first update had ended (AWX refuses one before)
    assert all(w["status"] in (200, 201, 204) for w in awx.writes()), [w for w in awx.writes() if w["status"] >= 400]

    before = len(awx.writes())
    res = play(awx)
    assert res.rc == 0, (failed_items(res), res.stderr[-2000:])
    assert res.changed_count() == 0, [(t["_task"], t.get("changed")) for t in res.tasks]
    assert awx.writes()[before:] == []
    assert_configured(awx)


def test_without_the_project_url_nothing_is_asked_of_awx(awx):
    res = play(awx, awx_project_scm_url=None)
    assert res.rc != 0
    msg = res.task("Preconditions | the controller and the project's repository are given")["msg"]
    assert msg == "Set awx_project_scm_url (the git URL of this repository). Nothing was changed.", msg
    assert awx.writes() == [] and awx.requests == []


def test_a_survey_awx_refuses_fails_the_run_and_the_next_correct_run_repairs_the_template(awx):
    bad = copy.deepcopy(TEMPLATES["flinkops | scale job"])
    environment = bad["survey"]["spec"][0]
    bad["survey"]["spec"] = [environment, dict(environment, question_name="Environment, again")]
    res = play(awx, awx_job_templates=[bad])
    assert res.rc != 0
    message = "'variable' 'flinkops_environment' duplicated in survey question 1."
    assert failed_items(res) == [("flinkops | scale job", "Failed to update survey: " + message)]
    assert message in res.stdout
    # the template was made before its survey was refused: it exists, without a survey
    template = awx.one("job_templates", name="flinkops | scale job")
    assert awx.survey("job_templates", template["id"]) == {}
    assert [(w["method"], w["path"], w["status"]) for w in awx.writes() if "/job_templates/" in w["path"]] == [
        ("POST", "/api/v2/job_templates/", 201),
        ("POST", "/api/v2/job_templates/%d/survey_spec/" % template["id"], 400)]
    assert awx.objects("workflow_job_templates") == []

    res = play(awx)
    assert res.rc == 0, (failed_items(res), res.stderr[-2000:])
    assert_configured(awx)
    assert awx.one("job_templates", name="flinkops | scale job")["id"] == template["id"]  # repaired, not replaced


def declared_edges(workflow):
    return {(n["identifier"], kind[:-len("_nodes")], child) for n in workflow["nodes"]
            for kind in ("success_nodes", "failure_nodes", "always_nodes") for child in n.get(kind, [])}


def test_an_edge_or_node_taken_out_of_the_data_is_taken_out_of_awx_and_check_mode_says_so_first(awx):
    # awx.awx's workflow_job_template adds the edges it is given and never removes one (an empty
    # success/failure list is not sent): the workflow would keep running a node the data dropped.
    assert play(awx).rc == 0
    workflow_id = awx.one("workflow_job_templates", name=WORKFLOW["name"])["id"]

    fewer_edges = copy.deepcopy(WORKFLOW)
    del fewer_edges["nodes"][1]["failure_nodes"]  # validate no longer reports on its failure
    before = len(awx.writes())
    check = play(awx, check=True, awx_workflows=[fewer_edges])
    assert check.rc == 0, (failed_items(check), check.stderr[-2000:])
    assert awx.writes()[before:] == [], "check mode writes nothing"
    assert check.changed_count() > 0, "check mode reports the edge it would remove"
    res = play(awx, awx_workflows=[fewer_edges])
    assert res.rc == 0, (failed_items(res), res.stderr[-2000:])
    remaining = {("upgrade", "success", "validate"), ("upgrade", "failure", "report")}
    assert awx.edges(workflow_id) == declared_edges(fewer_edges) == remaining

    fewer_nodes = copy.deepcopy(fewer_edges)
    fewer_nodes["nodes"] = [n for n in fewer_nodes["nodes"] if n["identifier"] != "report"]
    del fewer_nodes["nodes"][0]["failure_nodes"]
    res = play(awx, awx_workflows=[fewer_nodes])
    assert res.rc == 0, (failed_items(res), res.stderr[-2000:])
    nodes = awx.objects("workflow_job_template_nodes", workflow_job_template=workflow_id)
    assert sorted(n["identifier"] for n in nodes) == ["upgrade", "validate"]
    assert awx.edges(workflow_id) == {("upgrade", "success", "validate")}
    again = play(awx, awx_workflows=[fewer_nodes])
    assert again.rc == 0 and again.changed_count() == 0, [(t["_task"], t.get("changed")) for t in again.tasks]

    res = play(awx)
    assert res.rc == 0, (failed_items(res), res.stderr[-2000:])
    assert_configured(awx)
