"""cmf_ops helpers of the SQL-side modules (compute pools, catalogs, secrets, statements), and
the new client calls against the contract-checked fake CMF."""
from __future__ import annotations

import pytest

from ansible_collections.flinkops.cookbook.plugins.module_utils._http import HttpClient
from ansible_collections.flinkops.cookbook.plugins.module_utils._wait import Clock
from ansible_collections.flinkops.cookbook.plugins.module_utils.cmf_ops import (
    CmfTimeout, plan_resource, resource_body, resource_view, user_metadata, wait_phase)
from ansible_collections.flinkops.cookbook.plugins.module_utils.cmf_rest import CmfError, CmfRestClient
from tests.support.fake_cmf import FakeCMF, spec_path

POOL = {"apiVersion": "cmf.confluent.io/v1", "kind": "ComputePool",
        "metadata": {"name": "pool", "uid": "u-1", "creationTimestamp": "2026-01-01T00:00:00Z",
                     "labels": {"team": "data"}},
        "spec": {"type": "DEDICATED", "clusterSpec": {"flinkVersion": "v1_19",
                                                      "taskManager": {"resource": {"cpu": 1.0, "memory": "1024m"}}}},
        "status": {"phase": "RUNNING"}}


def test_create_when_absent():
    found, spec, meta = plan_resource(None, {"type": "DEDICATED"}, {"labels": {"a": "b"}})
    assert found == ["(created)"] and spec == {"type": "DEDICATED"} and meta == {"labels": {"a": "b"}}


def test_only_keys_the_user_set_are_compared_and_server_fields_never_count():
    found, _spec, _meta = plan_resource(POOL, {"type": "DEDICATED", "clusterSpec": {"flinkVersion": "v1_19"}}, {})
    assert found == []


def test_a_nested_change_is_merged_into_what_cmf_has():
    found, spec, meta = plan_resource(POOL, {"clusterSpec": {"taskManager": {"resource": {"cpu": 2}}}},
                                      user_metadata(labels={"tier": 1}))
    assert found == ["clusterSpec.taskManager.resource.cpu", "metadata.labels.tier"]
    assert spec["clusterSpec"]["taskManager"]["resource"] == {"cpu": 2, "memory": "1024m"}
    assert meta == {"labels": {"team": "data", "tier": "1"}}


def test_numbers_compare_as_cmf_stores_them():
    current = {"spec": {"properties": {"parallelism": "2"}}, "metadata": {}}
    assert plan_resource(current, {"properties": {"parallelism": 2}}, {})[0] == []


def test_write_only_spec_is_not_compared_but_sent():
    secret = {"metadata": {"name": "s"}, "spec": {}, "status": {"version": "1"}}
    found, spec, _meta = plan_resource(secret, {"data": {"k": "v"}}, {}, write_only=True)
    assert found == [] and spec == {"data": {"k": "v"}}


def test_body_and_view():
    body = resource_body("Secret", "s", {"data": {}}, {"labels": {"a": "b"}, "annotations": None})
    assert body == {"apiVersion": "cmf.confluent.io/v1", "kind": "Secret",
                    "metadata": {"labels": {"a": "b"}, "name": "s"}, "spec": {"data": {}}}
    assert resource_view(POOL)["metadata"] == {"name": "pool", "labels": {"team": "data"}}
    assert resource_view(None) == {}


def reader(phases):
    seq = list(phases)

    def read():
        return {"status": {"phase": seq.pop(0) if len(seq) > 1 else seq[0], "detail": "boom detail"}}
    return read


def test_wait_phase_reaches_the_wanted_phase(fake_time):
    ft = fake_time
    obj, seen = wait_phase(reader(["PENDING", "PENDING", "RUNNING"]), "stmt", ("RUNNING",), ("FAILED",), 10,
                           clock=Clock(10, sleep=ft.sleep, now=ft.now))
    assert seen == ["PENDING", "RUNNING"] and obj["status"]["phase"] == "RUNNING"


def test_wait_phase_failed_carries_the_detail(fake_time):
    ft = fake_time
    with pytest.raises(CmfError) as err:
        wait_phase(reader(["PENDING", "FAILED"]), "stmt", ("RUNNING",), ("FAILED",), 10,
                   clock=Clock(10, sleep=ft.sleep, now=ft.now))
    assert "stmt is FAILED, not RUNNING: boom detail" in str(err.value)


def test_wait_phase_timeout_is_unknown_not_failed(fake_time):
    ft = fake_time
    with pytest.raises(CmfTimeout) as err:
        wait_phase(reader(["PENDING"]), "stmt", ("RUNNING",), ("FAILED",), 5, clock=Clock(5, sleep=ft.sleep, now=ft.now))
    assert "outcome is unknown" in str(err.value) and err.value.details["phases"] == ["PENDING"]


def test_wait_phase_gone():
    with pytest.raises(CmfError, match="disappeared"):
        wait_phase(lambda: None, "stmt", ("RUNNING",), ("FAILED",), 5)


@pytest.mark.skipif(not spec_path("2.3").is_file(), reason="the shared CMF specs are not checked out")
def test_client_calls_against_the_fake():
    with FakeCMF(start_delay=0.0) as cmf:
        client = CmfRestClient(HttpClient(cmf.url, retries=0))
        client.apply_environment({"name": "env1", "kubernetesNamespace": "ns"})
        client.create_secret(resource_body("Secret", "creds", {"data": {"password": "x"}}))
        client.create_secret_mapping("env1", resource_body("EnvironmentSecretMapping", "conn", {"secretName": "creds"}))
        assert client.get_secret("creds")["status"]["environments"] == ["env1"]
        assert [m["metadata"]["name"] for m in client.list_secret_mappings("env1")] == ["conn"]
        assert client.delete_secret_mapping("env1", "conn") is True
        assert client.delete_secret_mapping("env1", "conn") is False
        client.create_catalog(resource_body("KafkaCatalog", "cat", {"srInstance": {"connectionConfig": {"a": "b"}}}))
        client.create_database("cat", resource_body("KafkaDatabase", "db", {"kafkaCluster": {"connectionConfig": {}}}))
        assert [d["status"] for d in client.list_databases("cat")] == [{"environmentsWithAccess": []}]
        client.create_compute_pool("env1", resource_body("ComputePool", "pool", {"type": "DEDICATED", "clusterSpec": {}}))
        cmf.inject("statement_failed", message="ValidationException: no table")
        client.create_statement("env1", resource_body("Statement", "st", {"statement": "SELECT 1", "computePoolName": "pool"}))
        assert client.get_statement("env1", "st")["status"]["phase"] == "FAILED"
        assert client.statement_exceptions("env1", "st")[0]["message"] == "ValidationException: no table"
        assert client.list_kubernetes_clusters() == []
        assert client.resource_information()["status"]["resources"]["secrets"] == 1
        client.http.close()
