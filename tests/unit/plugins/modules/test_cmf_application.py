"""Unit tests of plugins/modules/cmf_application.py: its run() against the contract-checked fake CMF
(real HTTP on 127.0.0.1, no ansible-playbook): the restore from a savepoint and the rollback of a failed
update to the previous spec from the same savepoint."""
from __future__ import annotations

import types

import pytest

from ansible_collections.flinkops.cookbook.plugins.module_utils._http import HttpClient
from ansible_collections.flinkops.cookbook.plugins.module_utils.cmf_rest import CmfError, CmfRestClient
from ansible_collections.flinkops.cookbook.plugins.modules import cmf_application
from tests.support.fake_cmf import FakeCMF, spec_path

pytestmark = pytest.mark.skipif(not spec_path("2.3").is_file(), reason="the shared CMF specs are not checked out")

SAVEPOINT = "s3://state/savepoints/savepoint-before-2"


def params(**kw):
    out = {"environment": "prod", "name": "orders", "state": "running", "image": "orders:1", "flink_version": "v1_19",
           "service_account": None, "jar_uri": "local:///opt/flink/usrlib/orders.jar", "entry_class": None,
           "args": None, "parallelism": 1, "upgrade_mode": "savepoint", "flink_configuration": None,
           "job_manager": None, "task_manager": None, "spec": None, "labels": None, "annotations": None,
           "savepoint_name": None, "savepoint_path": None, "allow_non_restored_state": False,
           "restart_failed": True, "rollback": True, "keep_savepoints": True, "wait": True, "wait_timeout": 20,
           "stable_seconds": 0}
    out.update(kw)
    return out


@pytest.fixture
def cmf():
    with FakeCMF(start_delay=0.05, savepoint_delay=0.05) as fake:
        client = CmfRestClient(HttpClient(fake.url, retries=0))
        client.apply_environment({"name": "prod", "kubernetesNamespace": "prod"})
        fake.client = client
        yield fake
        client.http.close()


def restored_from(cmf):
    """Where the newest deployment restored from, as its instance records it."""
    return (cmf.client.application_instances("prod", "orders")[-1]["status"]["spec"].get("job") or {}).get(
        "initialSavepointPath")


def run(cmf, check_mode=False, **kw):
    reports, warnings = [], []
    cm = types.SimpleNamespace(params=params(**kw), client=cmf.client, check_mode=check_mode, report=reports.append,
                               module=types.SimpleNamespace(warn=warnings.append))
    result = cmf_application.run(cm)
    result["_reports"] = reports
    return result


def test_create_then_no_change(cmf):
    created = run(cmf)
    assert created["changed"] is True and created["outcome"] == "created" and created["job_state"] == "RUNNING"
    again = run(cmf)
    assert again["changed"] is False and again["outcome"] == "none"


def test_an_update_from_a_savepoint_path_restores_from_it(cmf):
    run(cmf)
    result = run(cmf, image="orders:2", savepoint_path=SAVEPOINT)
    assert result["outcome"] == "updated" and result["restored_from"] == SAVEPOINT
    assert result["differences"] == ["image"] and result["previous_spec"]["image"] == "orders:1"
    app = cmf.client.get_application("prod", "orders")
    assert app["spec"]["job"]["initialSavepointPath"] == SAVEPOINT and app["spec"]["job"]["savepointRedeployNonce"] == 1
    assert restored_from(cmf) == SAVEPOINT
    assert any(r.startswith("application prod/orders: ") for r in result["_reports"])


def test_a_savepoint_that_is_not_completed_is_refused(cmf):
    run(cmf)
    with pytest.raises(CmfError, match="not found"):
        run(cmf, image="orders:2", savepoint_name="nope")
    assert cmf.client.get_application("prod", "orders")["spec"]["image"] == "orders:1"


def test_a_failed_update_rolls_back_to_the_previous_spec_from_the_same_savepoint(cmf):
    run(cmf)
    cmf.inject("app_failed", match={"image": "orders:bad"}, message="java.lang.IllegalStateException: bad state")
    with pytest.raises(CmfError) as err:
        run(cmf, image="orders:bad", savepoint_path=SAVEPOINT)
    message = str(err.value)
    assert "went FAILED instead of RUNNING" in message
    assert "The previous spec was applied again from savepoint %s and is RUNNING" % SAVEPOINT in message
    details = err.value.details
    assert details["rolled_back"]["done"] is True and details["rolled_back"]["job_state"] == "RUNNING"
    assert details["restored_from"] == SAVEPOINT and details["previous_spec"]["image"] == "orders:1"
    app = cmf.client.get_application("prod", "orders")
    assert app["spec"]["image"] == "orders:1" and app["spec"]["job"]["initialSavepointPath"] == SAVEPOINT
    assert app["spec"]["job"]["savepointRedeployNonce"] == 2 and restored_from(cmf) == SAVEPOINT


def test_without_rollback_the_failed_spec_stays(cmf):
    run(cmf)
    cmf.inject("app_failed", match={"image": "orders:bad"})
    with pytest.raises(CmfError) as err:
        run(cmf, image="orders:bad", rollback=False)
    assert "rolled_back" not in err.value.details
    assert cmf.client.get_application("prod", "orders")["spec"]["image"] == "orders:bad"


def test_check_mode_writes_nothing(cmf):
    run(cmf)
    result = run(cmf, check_mode=True, image="orders:2", savepoint_path=SAVEPOINT)
    assert result["changed"] is True and result["restored_from"] == SAVEPOINT
    assert cmf.client.get_application("prod", "orders")["spec"]["image"] == "orders:1"


def test_absent_detaches_completed_savepoints_then_deletes(cmf):
    run(cmf)
    cmf.client.create_app_savepoint("prod", "orders", "keep-me")
    deadline_reads = 0
    while (cmf.client.get_app_savepoint("prod", "orders", "keep-me").get("status") or {}).get("state") != "COMPLETED":
        deadline_reads += 1
        assert deadline_reads < 2000
    result = run(cmf, state="absent")
    assert result["outcome"] == "deleted" and result["detached_savepoints"] == ["keep-me"]
    assert cmf.client.get_application("prod", "orders") is None
    assert cmf.client.get_detached_savepoint("keep-me") is not None
