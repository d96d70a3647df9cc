"""The fake AWX API itself (tests/support/fake_awx.py): it answers as AWX does where configure_awx.yml
depends on it, in AWX's words: 401 without the token, 400 on a duplicate name, on a playbook the
project does not list (before its first update has ended, or ever) and on a survey AWX refuses."""
from __future__ import annotations

import pytest
import requests

from tests.support.fake_awx import FakeAWX

TOKEN = "t0ken"
AUTH = {"Authorization": "Bearer " + TOKEN}
GOOD = {"type": "multiplechoice", "question_name": "Job", "variable": "job", "required": True,
        "choices": ["a", "b"], "default": "a"}


@pytest.fixture
def awx():
    with FakeAWX(token=TOKEN, sync_seconds=0, playbooks=["playbooks/deploy_job.yml"]) as fake:
        yield fake


def call(awx, method, path, auth=True, **kw):
    return requests.request(method, awx.url + "/api/v2/" + path, headers=AUTH if auth else {}, timeout=5, **kw)


def project(awx, name="flinkops", scm_url="https://git.example.internal/flinkops.git"):
    r = call(awx, "POST", "projects/", json={"name": name, "organization": 1, "scm_type": "git", "scm_url": scm_url})
    assert r.status_code == 201, r.text
    return r.json()


def test_every_endpoint_but_ping_needs_the_token_and_answers_with_awxs_version():
    with FakeAWX(token=TOKEN) as awx:
        ping = call(awx, "GET", "ping/", auth=False)
        assert ping.status_code == 200 and ping.headers["X-API-Product-Name"] == "AWX"
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic " + TOKEN}):
            r = requests.get(awx.url + "/api/v2/organizations/", headers=headers, timeout=5)
            assert r.status_code == 401
            assert r.json() == {"detail": "Authentication credentials were not provided."}
        r = call(awx, "GET", "organizations/", params={"name": "Default"})
        assert r.status_code == 200 and r.headers["X-API-Product-Version"] == "24.6.1"
        assert r.json()["count"] == 1 and r.json()["results"][0]["id"] == 1


def test_a_name_is_unique_per_type_and_organization(awx):
    project(awx)
    r = call(awx, "POST", "projects/", json={"name": "flinkops", "organization": 1, "scm_type": "git",
                                             "scm_url": "https://elsewhere/x.git"})
    assert r.status_code == 400
    assert r.json() == {"__all__": ["Project with this Name and Organization already exists."]}
    # another type may take the name
    assert call(awx, "POST", "inventories/", json={"name": "flinkops", "organization": 1}).status_code == 201
    assert call(awx, "GET", "projects/", params={"name": "flinkops", "organization": 1}).json()["count"] == 1


def test_a_job_template_needs_a_playbook_the_project_lists_after_its_update():
    with FakeAWX(token=TOKEN, sync_seconds=60, playbooks=["playbooks/deploy_job.yml"]) as awx:
        made = project(awx)
        assert made["summary_fields"]["current_update"]["status"] == "pending"
        body = {"name": "deploy", "organization": 1, "project": made["id"], "playbook": "playbooks/deploy_job.yml"}
        r = call(awx, "POST", "job_templates/", json=body)
        assert r.status_code == 400 and r.json() == {"playbook": ["Playbook not found for project."]}
        awx.sync_seconds = 0  # the update ends
        assert call(awx, "GET", "projects/%d/playbooks/" % made["id"]).json() == ["playbooks/deploy_job.yml"]
        assert call(awx, "POST", "job_templates/", json=body).status_code == 201
        r = call(awx, "POST", "job_templates/", json=dict(body, name="other", playbook="playbooks/nope.yml"))
        assert r.status_code == 400 and r.json() == {"playbook": ["Playbook not found for project."]}


def test_a_survey_awx_refuses_is_answered_with_awxs_message_and_not_stored(awx):
    made = project(awx)
    template = call(awx, "POST", "job_templates/", json={"name": "t", "project": made["id"],
                                                         "playbook": "playbooks/deploy_job.yml"}).json()
    url = template["related"]["survey_spec"][len("/api/v2/"):]
    assert call(awx, "GET", url).json() == {}
    r = call(awx, "POST", url, json={"name": "s", "description": "", "spec": [GOOD, dict(GOOD, question_name="Again")]})
    assert r.status_code == 400 and r.json() == {"error": "'variable' 'job' duplicated in survey question 1."}
    # of the spec's own fields AWX answers the last problem (each overwrites the one before)
    r = call(awx, "POST", url, json={"spec": []})
    assert r.status_code == 400 and r.json() == {"error": "'spec' doesn't contain any items."}
    assert call(awx, "GET", url).json() == {}
    spec = {"name": "s", "description": "", "spec": [GOOD]}
    assert call(awx, "POST", url, json=spec).status_code == 200
    assert call(awx, "GET", url).json() == spec == awx.survey("job_templates", template["id"])


def test_workflow_edges_attach_detach_and_refuse_a_cycle(awx):
    workflow = call(awx, "POST", "workflow_job_templates/", json={"name": "w", "organization": 1}).json()
    first, second = (call(awx, "POST", "workflow_job_template_nodes/", json={
        "workflow_job_template": workflow["id"], "identifier": name}).json() for name in ("a", "b"))
    edge = "workflow_job_template_nodes/%d/success_nodes/" % first["id"]
    assert call(awx, "POST", edge, json={"id": second["id"]}).status_code == 204
    assert call(awx, "GET", edge).json()["results"][0]["identifier"] == "b"
    back = "workflow_job_template_nodes/%d/failure_nodes/" % second["id"]
    assert call(awx, "POST", back, json={"id": first["id"]}).json() == {"Error": "Cycle detected."}
    assert awx.edges(workflow["id"]) == {("a", "success", "b")}
    assert call(awx, "POST", edge, json={"id": second["id"], "disassociate": True}).status_code == 204
    assert awx.edges(workflow["id"]) == set()


def test_a_deleted_node_takes_its_edges_and_other_objects_cannot_be_deleted(awx):
    workflow = call(awx, "POST", "workflow_job_templates/", json={"name": "w", "organization": 1}).json()
    first, second = (call(awx, "POST", "workflow_job_template_nodes/", json={
        "workflow_job_template": workflow["id"], "identifier": name}).json() for name in ("a", "b"))
    assert call(awx, "POST", "workflow_job_template_nodes/%d/failure_nodes/" % first["id"],
                json={"id": second["id"]}).status_code == 204
    assert call(awx, "DELETE", "workflow_job_template_nodes/%d/" % second["id"]).status_code == 204
    assert call(awx, "GET", "workflow_job_template_nodes/%d/" % second["id"]).status_code == 404
    assert awx.edges(workflow["id"]) == set(), "no parent keeps pointing at a deleted node"
    assert call(awx, "GET", "workflow_job_template_nodes/%d/failure_nodes/" % first["id"]).json()["count"] == 0
    assert call(awx, "DELETE", "workflow_job_templates/%d/" % workflow["id"]).status_code == 405
