"""The fake CMF itself: it speaks the contract in ../shared/specs/cmf, rejects what the
contract rejects, and moves its resources through their states over time."""
from __future__ import annotations

import time

import pytest
import requests

from tests.support.fake_cmf import SPEC_FILES, ContractViolation, FakeCMF, spec_path

pytestmark = pytest.mark.skipif(not spec_path("2.3").is_file(), reason="the shared CMF specs are not checked out")

API = "/cmf/api/v1"
APP = {"apiVersion": "cmf.confluent.io/v1", "kind": "FlinkApplication", "metadata": {"name": "orders"},
       "spec": {"image": "confluentinc/cp-flink:1.19.3-cp2", "flinkVersion": "v1_19",
                "job": {"jarURI": "local:///opt/flink/usrlib/orders.jar", "parallelism": 2,
                        "upgradeMode": "savepoint", "state": "running"}}}


@pytest.fixture
def cmf():
    with FakeCMF(start_delay=0.05, savepoint_delay=0.05) as fake:
        yield fake


def call(cmf, method, path, **kw):
    return requests.request(method, cmf.url + path, timeout=5, **kw)


def wait_for(fn, timeout=3.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not reached in %ss" % timeout)


def state_is(savepoint, state):
    return savepoint if savepoint["status"]["state"] == state else None


def make_env(cmf, name="dev-env"):
    r = call(cmf, "POST", API + "/environments", json={"name": name, "kubernetesNamespace": "flink-dev"})
    assert r.status_code == 200, r.text
    return r.json()


def make_app(cmf, env="dev-env"):
    r = call(cmf, "POST", API + "/environments/%s/applications" % env, json=APP)
    assert r.status_code == 201, r.text
    wait_for(lambda: cmf.application(env, "orders")["status"]["jobStatus"]["state"] == "RUNNING")


def test_rejects_wrong_type_with_cmf_error_shape(cmf):
    r = call(cmf, "POST", API + "/environments", json={"name": "dev-env", "kubernetesNamespace": 5})
    assert r.status_code == 400
    assert "is not of type 'string'" in r.json()["errors"][0]["message"]
    assert cmf.envs == {}


def test_rejects_missing_required_field(cmf):
    make_env(cmf)
    body = {k: v for k, v in APP.items() if k != "metadata"}
    r = call(cmf, "POST", API + "/environments/dev-env/applications", json=body)
    assert r.status_code == 400
    assert "'metadata' is a required property" in r.json()["errors"][0]["message"]
    assert cmf.apps == {}


def test_rejects_enum_and_pattern_and_query_types(cmf):
    r = call(cmf, "POST", API + "/environments", json={"name": "dev-env", "kubernetesNamespace": "Not_A_Namespace"})
    assert r.status_code == 400 and "does not match" in r.text
    make_env(cmf)
    make_app(cmf)
    r = call(cmf, "POST", API + "/environments/dev-env/applications/orders/savepoints",
             json={"apiVersion": "cmf.confluent.io/v1", "kind": "Savepoint", "metadata": {},
                   "spec": {"formatType": "FAST"}})
    assert r.status_code == 400 and "'FAST' is not one of" in r.text
    r = call(cmf, "GET", API + "/environments", params={"page": "first"})
    assert r.status_code == 400
    r = call(cmf, "POST", API + "/environments", data="{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400


def test_application_spec_types_are_checked_like_a_flinkdeployment(cmf):
    make_env(cmf)
    bad = {**APP, "spec": {**APP["spec"], "job": {**APP["spec"]["job"], "parallelism": "two"}}}
    r = call(cmf, "POST", API + "/environments/dev-env/applications", json=bad)
    assert r.status_code == 422 and "parallelism" in r.text


def test_unknown_paths_and_methods(cmf):
    assert call(cmf, "GET", API + "/nothing-here").status_code == 404
    assert call(cmf, "PATCH", API + "/environments").status_code == 405


def test_application_lifecycle_savepoint_and_events(cmf):
    env = make_env(cmf)
    assert env["created_time"] and env["metadata"]["creationTimestamp"]
    r = call(cmf, "POST", API + "/environments/dev-env/applications", json=APP)
    assert r.status_code == 201
    assert r.json()["status"]["jobStatus"]["state"] == "CREATED"
    assert r.json()["metadata"]["uid"]
    wait_for(lambda: call(cmf, "GET", API + "/environments/dev-env/applications/orders").json()
             ["status"]["jobStatus"]["state"] == "RUNNING")
    r = call(cmf, "POST", API + "/environments/dev-env/applications/orders/savepoints",
             json={"apiVersion": "cmf.confluent.io/v1", "kind": "Savepoint", "metadata": {"name": "before-upgrade"},
                   "spec": {"formatType": "CANONICAL"}})
    assert r.status_code == 201 and r.json()["status"]["state"] == "PENDING"
    done = wait_for(lambda: state_is(call(cmf, "GET", API + "/environments/dev-env/applications/orders/savepoints/"
                                          "before-upgrade").json(), "COMPLETED"))
    assert done["status"]["path"].startswith("s3://cmf-state/savepoints/savepoint-")
    events = call(cmf, "GET", "/cmf/api/v1alpha1/environments/dev-env/applications/orders/events").json()["items"]
    assert any(e["status"]["message"] == "Job status changed from CREATED to RUNNING" for e in events)
    r = call(cmf, "POST", API + "/environments/dev-env/applications/orders/savepoints/before-upgrade/detach")
    assert r.status_code == 200
    assert [sp["metadata"]["name"] for sp in call(cmf, "GET", API + "/detached-savepoints").json()["items"]] == \
        ["before-upgrade"]


def test_savepoint_refused_while_not_running():
    # an application that takes 60 s to start: still CREATED when the savepoint is asked for, however
    # loaded the machine is (with the shared fixture's 0.05 s it could be RUNNING already)
    with FakeCMF(start_delay=60, savepoint_delay=0.05) as cmf:
        make_env(cmf)
        r = call(cmf, "POST", API + "/environments/dev-env/applications", json=APP)
        assert r.status_code == 201
        r = call(cmf, "POST", API + "/environments/dev-env/applications/orders/savepoints",
                 json={"apiVersion": "cmf.confluent.io/v1", "kind": "Savepoint", "metadata": {}, "spec": {}})
        assert r.status_code == 422 and "not RUNNING" in r.text


def test_pagination(cmf):
    for i in range(5):
        make_env(cmf, "env-%d" % i)
    pages = [call(cmf, "GET", API + "/environments", params={"page": p, "size": 2}).json() for p in range(3)]
    assert [len(p["items"]) for p in pages] == [2, 2, 1]
    assert {p["metadata"]["size"] for p in pages} == {5}
    assert pages[1]["pageable"] == {"page": 1, "size": 2, "sort": {"sorted": False, "unsorted": True, "empty": True}}


def test_injections(cmf):
    cmf.inject("status", status=409, method="POST", path="/environments$")
    r = call(cmf, "POST", API + "/environments", json={"name": "dev-env", "kubernetesNamespace": "flink-dev"})
    assert r.status_code == 409 and r.json()["errors"][0]["message"].startswith("Conflict")
    make_env(cmf)  # consumed: the next one goes through
    cmf.inject("status", status=503, count=2)
    assert [call(cmf, "GET", API + "/environments").status_code for attempt in range(3)] == [503, 503, 200]
    make_app(cmf)
    cmf.inject("savepoint_failed", error="CheckpointException: Checkpoint expired")
    call(cmf, "POST", API + "/environments/dev-env/applications/orders/savepoints",
         json={"apiVersion": "cmf.confluent.io/v1", "kind": "Savepoint", "metadata": {"name": "sp-fail"}, "spec": {}})
    sp = wait_for(lambda: state_is(call(cmf, "GET", API + "/environments/dev-env/applications/orders/savepoints/"
                                        "sp-fail").json(), "FAILED"))
    assert "Checkpoint expired" in sp["status"]["error"] and "path" not in sp["status"]
    cmf.inject("app_failed", message="java.lang.IllegalStateException: boom")
    changed = {**APP, "spec": {**APP["spec"], "image": "confluentinc/cp-flink:1.19.3-cp3"}}
    call(cmf, "POST", API + "/environments/dev-env/applications", json=changed)
    wait_for(lambda: cmf.application("dev-env", "orders")["status"]["jobStatus"]["state"] == "FAILED")
    events = call(cmf, "GET", "/cmf/api/v1alpha1/environments/dev-env/applications/orders/events").json()["items"]
    assert any(e["status"].get("data", {}).get("exceptionString") == "java.lang.IllegalStateException: boom"
               for e in events)
    cmf.inject("slow", seconds=0.3, method="GET")
    started = time.time()
    call(cmf, "GET", API + "/environments")
    assert time.time() - started >= 0.3
    assert "POST /cmf/api/v1/environments -> 409" in cmf.undeclared


@pytest.mark.parametrize("version", sorted(SPEC_FILES))
def test_versions(version):
    with FakeCMF(spec_version=version) as cmf:
        info = call(cmf, "GET", API + "/system-information")
        detached = call(cmf, "GET", API + "/detached-savepoints")
    assert info.status_code == (200 if version in ("2.2", "2.3") else 404)
    assert detached.status_code == (404 if version == "2.0" else 200)


def test_a_response_that_breaks_the_contract_fails_the_test():
    with pytest.raises(ContractViolation, match="kubernetesNamespace"):
        with FakeCMF() as cmf:
            make_env(cmf)
            del cmf.envs["dev-env"]["kubernetesNamespace"]  # the fake now answers a bad Environment
            call(cmf, "GET", API + "/environments/dev-env")


def test_basic_auth():
    with FakeCMF(auth=("admin", "s3cret")) as cmf:
        assert call(cmf, "GET", API + "/environments").status_code == 401
        assert call(cmf, "GET", API + "/environments", auth=("admin", "s3cret")).status_code == 200
