"""The CMF client against the contract-checked fake CMF (real HTTP on 127.0.0.1, no ansible)
and against ``responses`` where the fake cannot show a case (a lost answer)."""
from __future__ import annotations

import time

import pytest
import responses

from ansible_collections.flinkops.cookbook.plugins.module_utils._http import HttpClient, HttpError
from ansible_collections.flinkops.cookbook.plugins.module_utils import cmf_ops
from ansible_collections.flinkops.cookbook.plugins.module_utils.cmf_rest import CmfRestClient, CmfUnsupported
from tests.support.fake_cmf import FakeCMF, spec_path

pytestmark = pytest.mark.skipif(not spec_path("2.3").is_file(), reason="the shared CMF specs are not checked out")

APP_SPEC = {"image": "registry.example.com/orders:1.0.0", "flinkVersion": "v1_19",
            "job": {"jarURI": "local:///opt/flink/usrlib/orders.jar", "parallelism": 1, "state": "running",
                    "upgradeMode": "savepoint"}}


def client_for(url, **kw):
    return CmfRestClient(HttpClient(url, retries=kw.pop("retries", 0), sleep=lambda s: None, **kw))


def app_body(name="orders", spec=None):
    return {"apiVersion": "cmf.confluent.io/v1", "kind": "FlinkApplication", "metadata": {"name": name},
            "spec": spec or APP_SPEC}


@pytest.fixture
def cmf():
    with FakeCMF(start_delay=0.05, savepoint_delay=0.05) as fake:
        yield fake


def test_pagination_follows_every_page(cmf):
    client = client_for(cmf.url)
    for i in range(7):
        client.apply_environment({"name": "env-%02d" % i, "kubernetesNamespace": "flink"})
    names = [e["name"] for e in client.list_all("/cmf/api/v1/environments", page_size=3)]
    assert names == ["env-%02d" % i for i in range(7)]
    pages = [e["query"]["page"] for e in cmf.log if e["method"] == "GET"]
    assert pages == ["0", "1", "2"]


def test_pagination_when_the_server_caps_the_page_size():
    with FakeCMF(max_page_size=2) as fake:
        client = client_for(fake.url)
        for i in range(5):
            client.apply_environment({"name": "env-%02d" % i, "kubernetesNamespace": "flink"})
        assert len(client.list_environments()) == 5


def test_missing_resources_are_none_and_deletes_of_missing_are_false(cmf):
    client = client_for(cmf.url)
    assert client.get_environment("nowhere") is None
    assert client.delete_environment("nowhere") is False
    with pytest.raises(HttpError) as err:
        client.apply_application("nowhere", app_body())
    assert err.value.status == 404 and "Environment 'nowhere' not found" in str(err.value)


def test_version_from_system_information_and_savepoints(cmf):
    client = client_for(cmf.url)
    assert client.version_string == "2.3.1" and client.version == (2, 3, 1)
    assert client.supports_savepoints()


def test_cmf_2_1_has_savepoints_but_no_version():
    with FakeCMF(spec_version="2.1") as fake:
        client = client_for(fake.url)
        assert client.version_string is None
        assert client.supports_savepoints()


def test_cmf_2_0_savepoint_operations_fail_naming_the_version():
    with FakeCMF(spec_version="2.0") as fake:
        client = client_for(fake.url)
        with pytest.raises(CmfUnsupported, match=r"CMF 2\.0 \(Confluent Platform 8\.0\) or older.*CMF 2\.1 or newer"):
            client.create_app_savepoint("dev-env", "orders", "sp-one")
        assert not [e for e in fake.log if e["method"] == "POST"]


def test_savepoint_trigger_wait_and_failed_savepoint(cmf):
    client = client_for(cmf.url)
    client.apply_environment({"name": "dev-env", "kubernetesNamespace": "flink"})
    client.apply_application("dev-env", app_body())
    cmf_ops.wait_application(client, "dev-env", "orders", "RUNNING", timeout=5)
    client.create_app_savepoint("dev-env", "orders", "sp-one", format_type="CANONICAL")
    sp, states = cmf_ops.wait_savepoint(client, "dev-env", "orders", "sp-one", timeout=5)
    assert sp["status"]["path"] and states[-1] == "COMPLETED"
    cmf.inject("savepoint_failed", error="Checkpoint expired")
    client.create_app_savepoint("dev-env", "orders", "sp-two")
    with pytest.raises(cmf_ops.CmfError, match="FAILED: Checkpoint expired"):
        cmf_ops.wait_savepoint(client, "dev-env", "orders", "sp-two", timeout=5)


def test_failed_application_reports_its_events(cmf):
    client = client_for(cmf.url)
    client.apply_environment({"name": "dev-env", "kubernetesNamespace": "flink"})
    cmf.inject("app_failed", message="java.lang.IllegalStateException: boom\n\tat X.y(X.java:1)")
    client.apply_application("dev-env", app_body())
    with pytest.raises(cmf_ops.CmfError) as err:
        cmf_ops.wait_application(client, "dev-env", "orders", "RUNNING", timeout=5)
    assert "went FAILED" in str(err.value) and "IllegalStateException: boom" in str(err.value)
    assert "at X.y" not in str(err.value)


def test_wait_application_times_out_as_unknown(cmf):
    client = client_for(cmf.url)
    client.apply_environment({"name": "dev-env", "kubernetesNamespace": "flink"})
    cmf.start_delay = 30
    client.apply_application("dev-env", app_body())
    started = time.time()
    with pytest.raises(cmf_ops.CmfTimeout, match="is CREATED, not RUNNING"):
        cmf_ops.wait_application(client, "dev-env", "orders", "RUNNING", timeout=0.3)
    assert time.time() - started < 3


@responses.activate
def test_a_lost_savepoint_answer_is_resolved_by_name():
    base = "http://cmf.test:8080/cmf/api/v1"
    responses.get(base + "/system-information", json={"status": {"version": "2.3.1"}})
    responses.post(base + "/environments/dev-env/applications/orders/savepoints", status=502,
                   json={"errors": [{"message": "Bad gateway"}]})
    sp = {"apiVersion": "cmf.confluent.io/v1", "kind": "Savepoint", "metadata": {"name": "sp-one"}, "spec": {},
          "status": {"state": "PENDING"}}
    responses.get(base + "/environments/dev-env/applications/orders/savepoints/sp-one", json=sp)
    client = client_for("http://cmf.test:8080", retries=3)
    assert client.create_app_savepoint("dev-env", "orders", "sp-one")["metadata"]["name"] == "sp-one"
    posts = [c for c in responses.calls if c.request.method == "POST"]
    assert len(posts) == 1  # never sent twice


def test_differences_compare_only_what_the_user_set():
    current = {"image": "a", "flinkConfiguration": {"x": "1", "y": "2"}, "job": {"parallelism": 2, "args": ["a"]}}
    assert cmf_ops.differences(current, {"flinkConfiguration": {"x": 1}, "job": {"parallelism": 2}}) == []
    assert cmf_ops.differences(current, {"job": {"args": ["a", "b"]}, "image": "b"}) == ["job.args", "image"]
    merged = cmf_ops.merge(current, {"flinkConfiguration": {"z": "3"}})
    assert merged["flinkConfiguration"] == {"x": "1", "y": "2", "z": "3"}
