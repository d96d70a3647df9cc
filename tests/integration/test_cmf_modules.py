"""The CMF modules through real ``ansible-playbook`` runs against the contract-checked fake CMF.

No Flink is needed: the fake (tests/support/fake_cmf.py) validates every request and every
response against ../shared/specs/cmf. The assertions use what the fake CMF reports
afterwards: the application's spec and job state, its instances (the savepoint a deployment
started from), its savepoints, and the write requests it received.
"""
from __future__ import annotations

import pytest

from tests.integration.ansible_run import run_tasks
from tests.support.fake_cmf import FakeCMF, spec_path

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not spec_path("2.3").is_file(), reason="the shared CMF specs are not checked out")]

GROUP = "group/flinkops.cookbook.cmf"
ENV = "dev-env"
APP = "orders"
IMAGE_V1 = "registry.example.com/orders:1.0.0"
IMAGE_V2 = "registry.example.com/orders:2.0.0"


def env_task(**kw):
    return {"name": "environment", "flinkops.cookbook.cmf_environment": dict(
        {"name": ENV, "kubernetes_namespace": "flink-dev",
         "flink_application_defaults": {"spec": {"flinkConfiguration": {"state.savepoints.dir": "s3://state/sp"}}}},
        **kw)}


def app_task(image=IMAGE_V1, name="application", **kw):
    args = {"environment": ENV, "name": APP, "image": image, "flink_version": "v1_19",
            "jar_uri": "local:///opt/flink/usrlib/orders.jar", "entry_class": "com.example.Orders",
            "args": ["--topic", "orders"], "parallelism": 2, "upgrade_mode": "savepoint",
            "flink_configuration": {"taskmanager.numberOfTaskSlots": 2},
            "job_manager": {"resource": {"memory": "1024m", "cpu": 1}},
            "stable_seconds": 1, "wait_timeout": 20}
    args.update(kw)
    return {"name": name, "flinkops.cookbook.cmf_application": args}


def sp_task(task="savepoint", **kw):
    args = {"environment": ENV, "application": APP, "wait_timeout": 20}
    args.update(kw)
    return {"name": task, "flinkops.cookbook.cmf_savepoint": args}


def run(cmf, tasks, **kw):
    return run_tasks(tasks, cmf.url, module_group=GROUP, **kw)


@pytest.fixture
def cmf():
    with FakeCMF(start_delay=0.2, savepoint_delay=0.3) as fake:
        yield fake


@pytest.fixture
def running(cmf):
    """The environment and the application at v1, RUNNING."""
    result = run(cmf, [env_task(), app_task()])
    assert result.rc == 0, result
    assert cmf.application(ENV, APP)["status"]["jobStatus"]["state"] == "RUNNING"
    return cmf


def test_check_mode_then_apply_then_second_run_changes_nothing(cmf):
    tasks = [env_task(), app_task(),
             {"name": "savepoint", "flinkops.cookbook.cmf_savepoint": {
                 "environment": ENV, "application": APP, "name": "orders-sp-1", "wait_timeout": 20}},
             {"name": "info", "flinkops.cookbook.cmf_application_info": {"environment": ENV, "name": APP}}]

    checked = run(cmf, tasks[:2], check=True, diff=True)
    assert checked.rc == 0, checked.stderr[-2000:]
    assert checked.task("environment")["changed"] and checked.task("application")["changed"]
    assert cmf.writes() == [] and cmf.envs == {}

    first = run(cmf, tasks)
    assert first.rc == 0, first
    assert first.task("application")["outcome"] == "created"
    assert first.task("application")["job_state"] == "RUNNING"
    sp = first.task("savepoint")["savepoint"]
    assert sp["state"] == "COMPLETED" and sp["path"].startswith("s3://state/sp/savepoint-")
    assert first.task("info")["applications"][0]["job_state"] == "RUNNING"
    app = cmf.application(ENV, APP)
    assert app["spec"]["job"]["args"] == ["--topic", "orders"]
    assert app["spec"]["flinkConfiguration"] == {"taskmanager.numberOfTaskSlots": "2"}

    writes = len(cmf.writes())
    second = run(cmf, tasks)
    assert second.rc == 0, second
    assert second.changed_count() == 0, second
    assert len(cmf.writes()) == writes  # no write at all on the second run

    # An update in check mode shows the diff and writes nothing.
    update = run(cmf, [app_task(image=IMAGE_V2)], check=True, diff=True)
    assert update.rc == 0 and update.task("application")["changed"]
    assert update.task("application")["differences"] == ["image"]
    assert cmf.application(ENV, APP)["spec"]["image"] == IMAGE_V1 and len(cmf.writes()) == writes


def test_upgrade_from_savepoint_detach_register_and_delete_keep_savepoints(running):
    cmf = running
    result = run(cmf, [
        {"name": "savepoint", "flinkops.cookbook.cmf_savepoint": {
            "environment": ENV, "application": APP, "name": "before-v2", "wait_timeout": 20}},
        app_task(image=IMAGE_V2, name="upgrade", savepoint_name="before-v2"),
        {"name": "register", "flinkops.cookbook.cmf_savepoint": {
            "name": "from-oss", "path": "s3://oss/savepoints/savepoint-abc"}},
        {"name": "list", "flinkops.cookbook.cmf_savepoint_info": {"environment": ENV, "application": APP}},
        {"name": "delete app", "flinkops.cookbook.cmf_application": {"environment": ENV, "name": APP, "state": "absent"}},
        {"name": "detached", "flinkops.cookbook.cmf_savepoint_info": {}},
    ])
    assert result.rc == 0, result
    path = result.task("savepoint")["savepoint"]["path"]
    upgrade = result.task("upgrade")
    assert upgrade["outcome"] == "updated" and upgrade["restored_from"] == path
    assert upgrade["previous_spec"]["image"] == IMAGE_V1
    assert result.task("list")["latest_completed"]["path"] == path
    assert result.task("delete app")["detached_savepoints"] == ["before-v2"]
    assert sorted(sp["name"] for sp in result.task("detached")["savepoints"]) == ["before-v2", "from-oss"]
    assert cmf.deleted_savepoints == []


def test_savepoint_failed_leaves_the_application_alone(running):
    cmf = running
    cmf.inject("savepoint_failed", error="CheckpointException: Checkpoint expired before completing")
    result = run(cmf, [sp_task(name="sp-fails")])
    assert result.rc != 0
    failed = result.task("savepoint")
    assert failed["failed"] and "FAILED: CheckpointException: Checkpoint expired" in failed["msg"]
    app = cmf.application(ENV, APP)
    assert app["status"]["jobStatus"]["state"] == "RUNNING" and app["spec"]["image"] == IMAGE_V1
    assert cmf.deleted_savepoints == []


def test_application_failed_rolls_back_to_the_last_good_spec_from_the_same_savepoint(running):
    cmf = running
    cmf.inject("app_failed", match={"image": IMAGE_V2}, running_for=0.3,
               message="java.lang.IllegalStateException: v2 cannot read the state\n\tat Orders.open(Orders.java:42)")
    result = run(cmf, [
        {"name": "savepoint", "flinkops.cookbook.cmf_savepoint": {
            "environment": ENV, "application": APP, "name": "before-v2", "wait_timeout": 20}},
        app_task(image=IMAGE_V2, name="upgrade", savepoint_name="before-v2"),
    ])
    assert result.rc != 0
    failed = result.task("upgrade")
    assert "went FAILED" in failed["msg"] or "exception" in failed["msg"]
    assert "v2 cannot read the state" in failed["msg"]
    assert failed["rolled_back"]["done"] is True
    path = result.task("savepoint")["savepoint"]["path"]
    app = cmf.application(ENV, APP)
    assert app["spec"]["image"] == IMAGE_V1
    assert app["status"]["jobStatus"]["state"] == "RUNNING"
    assert app["restored_from"] == path
    assert cmf.deleted_savepoints == []


def test_conflict_409_is_a_clear_error_and_changes_nothing(running):
    cmf = running
    cmf.inject("status", status=409, method="POST", path="/applications$")
    result = run(cmf, [app_task(image=IMAGE_V2)])
    assert result.rc != 0
    assert "HTTP 409" in result.task("application")["msg"]
    assert "modified concurrently" in result.task("application")["msg"]
    app = cmf.application(ENV, APP)
    assert app["spec"]["image"] == IMAGE_V1 and app["status"]["jobStatus"]["state"] == "RUNNING"


def test_5xx_retried_for_reads_and_reported_for_writes(running):
    cmf = running
    cmf.inject("status", status=503, count=2, method="GET")
    ok = run(cmf, [app_task()], module_defaults={"retries": 3})
    assert ok.rc == 0 and ok.task("application")["changed"] is False, ok
    cmf.inject("status", status=500, method="POST", path="/applications$")
    bad = run(cmf, [app_task(image=IMAGE_V2)])
    assert bad.rc != 0 and "HTTP 500" in bad.task("application")["msg"]
    app = cmf.application(ENV, APP)
    assert app["spec"]["image"] == IMAGE_V1 and app["status"]["jobStatus"]["state"] == "RUNNING"
    assert cmf.deleted_savepoints == []


def test_savepoints_on_cmf_2_0_fail_naming_the_version():
    with FakeCMF(spec_version="2.0", start_delay=0.1) as cmf:
        result = run(cmf, [env_task(), app_task(),
                           sp_task(name="sp-one")])
    assert result.rc != 0
    msg = result.task("savepoint")["msg"]
    assert "CMF 2.0 (Confluent Platform 8.0) or older" in msg and "needs CMF 2.1 or newer" in msg
