"""``ansible-playbook playbooks/upgrade_job.yml -l cmf_local`` against the contract-checked fake CMF.

The recipe is the one of the Flink OSS branch: a savepoint COMPLETED with a path, the
declared spec started from it, validation, and on failure the previous spec started again
from the same savepoint. The oracle is what the fake CMF reports afterwards.
"""
from __future__ import annotations

import pytest
import requests

from tests.integration.ansible_run import run_playbook, start_playbook, wait_for
from tests.support.crash import crash
from tests.support.fake_cmf import FakeCMF, spec_path

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not spec_path("2.3").is_file(), reason="the shared CMF specs are not checked out")]

ENV = "flinkops-local"
APP = "stateful-counter"


def image(version):
    return "registry.example.com/flinkops/stateful-counter:%s" % version


def seed(cmf, version="1.0.0"):
    """The environment, and the application at ``version`` as a previous deploy left it."""
    api = cmf.url + "/cmf/api/v1"
    r = requests.post(api + "/environments", json={"name": ENV, "kubernetesNamespace": "flinkops-local"}, timeout=5)
    assert r.status_code == 200, r.text
    body = {"apiVersion": "cmf.confluent.io/v1", "kind": "FlinkApplication",
            "metadata": {"name": APP, "labels": {"flinkops.io/version": version}},
            "spec": {"image": image(version), "flinkVersion": "v1_19",
                     "job": {"jarURI": "local:///opt/flink/usrlib/stateful-counter.jar",
                             "entryClass": "flinkops.testjob.StatefulCounter", "args": ["--name", APP],
                             "parallelism": 2, "upgradeMode": "savepoint", "state": "running"},
                     "jobManager": {"resource": {"memory": "1024m", "cpu": 1}},
                     "taskManager": {"resource": {"memory": "2048m", "cpu": 1}}}}
    r = requests.post(api + "/environments/%s/applications" % ENV, json=body, timeout=5)
    assert r.status_code == 201, r.text


def cmf_env(cmf, validation_seconds=1):
    return {"FLINKOPS_CMF_URL": cmf.url, "FLINKOPS_VALIDATION_SECONDS": str(validation_seconds),
            "FLINKOPS_CMF_STABLE_SECONDS": "1"}


def upgrade(cmf, version, tmp_path, validation_seconds=1):
    return run_playbook("upgrade_job.yml", "cmf_local", extra_vars={"cmf_local_version": version,
                                                                    "flinkops_manifest_dir": str(tmp_path)},
                        extra_env=cmf_env(cmf, validation_seconds), timeout=300)


def test_upgrade_then_nothing_then_failed_upgrade_rolls_back(tmp_path):
    with FakeCMF(start_delay=0.2, savepoint_delay=0.3) as cmf:
        seed(cmf)

        first = upgrade(cmf, "2.0.0", tmp_path)
        assert first.rc == 0, first.stdout[-3000:]
        app = cmf.application(ENV, APP)
        assert app["spec"]["image"] == image("2.0.0")
        assert app["metadata"]["labels"]["flinkops.io/version"] == "2.0.0"
        assert app["status"]["jobStatus"]["state"] == "RUNNING"
        savepoints = cmf.app_savepoints(ENV, APP)
        assert len(savepoints) == 1 and savepoints[0]["status"]["state"] == "COMPLETED"
        good_path = savepoints[0]["status"]["path"]
        assert app["restored_from"] == good_path
        assert len(list(tmp_path.glob("local-cmf/*.json"))) == 1

        second = upgrade(cmf, "2.0.0", tmp_path)
        assert second.rc == 0, second.stdout[-3000:]
        assert second.changed_count() == 0, second
        assert len(cmf.app_savepoints(ENV, APP)) == 1  # no savepoint when nothing is upgraded

        cmf.inject("app_failed", match={"image": image("3.0.0")}, running_for=0.2,
                   message="java.lang.IllegalStateException: 3.0.0 cannot restore operator state")
        third = upgrade(cmf, "3.0.0", tmp_path)
        assert third.rc != 0
        assert "3.0.0 cannot restore operator state" in third.stdout
        app = cmf.application(ENV, APP)
        assert app["spec"]["image"] == image("2.0.0")
        assert app["status"]["jobStatus"]["state"] == "RUNNING"
        pre_upgrade = [sp for sp in cmf.app_savepoints(ENV, APP) if sp["metadata"]["name"].startswith(APP + "-pre-3-0-0")]
        assert len(pre_upgrade) == 1 and app["restored_from"] == pre_upgrade[0]["status"]["path"]
        assert cmf.deleted_savepoints == []


def test_failure_after_the_start_is_rolled_back_by_the_playbook(tmp_path):
    """The new version passes the module's steady window, then fails during validation."""
    with FakeCMF(start_delay=0.2, savepoint_delay=0.3) as cmf:
        seed(cmf, "2.0.0")
        cmf.inject("app_failed", match={"image": image("3.0.0")}, running_for=2.5,
                   message="java.lang.ArithmeticException: / by zero")
        result = upgrade(cmf, "3.0.0", tmp_path)
        assert result.rc != 0
        assert "failed validation and was rolled back" in result.stdout
        app = cmf.application(ENV, APP)
        assert app["spec"]["image"] == image("2.0.0")
        assert app["status"]["jobStatus"]["state"] == "RUNNING"
        sp = cmf.app_savepoints(ENV, APP)
        assert len(sp) == 1 and app["restored_from"] == sp[0]["status"]["path"]
        assert cmf.deleted_savepoints == []


def test_two_upgrades_at_once_take_one_savepoint_and_upgrade_once(tmp_path):
    """Two controllers (two manifest directories) upgrade the same application at the same time: the
    savepoint is named after the running job, so the second run joins the first one's savepoint."""
    import threading

    with FakeCMF(start_delay=0.2, savepoint_delay=1.0) as cmf:
        seed(cmf)
        results = {}

        def run(name):
            (tmp_path / name).mkdir()
            results[name] = upgrade(cmf, "2.0.0", tmp_path / name)

        threads = [threading.Thread(target=run, args=(n,)) for n in ("a", "b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(400)
        failed = [t.get("msg") for n in ("a", "b") for t in results[n].tasks if t.get("failed")]
        assert [results[n].rc for n in ("a", "b")] == [0, 0], failed
        app = cmf.application(ENV, APP)
        assert app["spec"]["image"] == image("2.0.0") and app["status"]["jobStatus"]["state"] == "RUNNING"
        savepoints = cmf.app_savepoints(ENV, APP)
        assert len(savepoints) == 1, [sp["metadata"]["name"] for sp in savepoints]
        assert app["restored_from"] == savepoints[0]["status"]["path"]


def journal(tmp_path):
    return tmp_path / "local-cmf" / ("%s.journal.json" % APP)


def _recorded(tmp_path):
    return list((tmp_path / "local-cmf").glob(APP + "-pre-*.json")) if (tmp_path / "local-cmf").exists() else []


CMF_KILL_POINTS = {
    "savepoint_completed": lambda cmf, tmp: any(sp["status"].get("state") == "COMPLETED"
                                                for sp in cmf.app_savepoints(ENV, APP)),
    "spec_changed": lambda cmf, tmp: cmf.application(ENV, APP)["spec"]["image"] == image("2.0.0"),
    "validation_window": lambda cmf, tmp: bool(_recorded(tmp)),
}


def _crash_upgrade(cmf, tmp_path, version, moment):
    extra = {"cmf_local_version": version, "flinkops_manifest_dir": str(tmp_path)}
    proc = start_playbook("upgrade_job.yml", cmf_env(cmf, validation_seconds=10), extra, log=tmp_path / "first.log",
                          limit="cmf_local")
    try:
        reached = wait_for(lambda: CMF_KILL_POINTS[moment](cmf, tmp_path), proc, timeout=120)
    finally:
        crash(proc)
    assert reached, (tmp_path / "first.log").read_text()[-3000:]


@pytest.mark.parametrize("moment", sorted(CMF_KILL_POINTS))
def test_an_upgrade_crashed_at_any_step_is_finished_by_the_next_run(tmp_path, moment):
    with FakeCMF(start_delay=0.5, savepoint_delay=0.5) as cmf:
        seed(cmf)
        _crash_upgrade(cmf, tmp_path, "2.0.0", moment)

        second = upgrade(cmf, "2.0.0", tmp_path)
        assert second.rc == 0, second.stdout[-4000:]
        app = cmf.application(ENV, APP)
        assert app["spec"]["image"] == image("2.0.0") and app["status"]["jobStatus"]["state"] == "RUNNING"
        savepoints = cmf.app_savepoints(ENV, APP)
        assert len(savepoints) == 1, "one savepoint in all: %s" % [sp["metadata"]["name"] for sp in savepoints]
        assert app["restored_from"] == savepoints[0]["status"]["path"]
        validated = [t for t in second.tasks if t["_task"].startswith("Validation | the new version runs")]
        assert validated and not validated[0].get("skipped") and not validated[0].get("failed"), \
            "the validation the crashed run missed was run"
        assert not journal(tmp_path).exists(), "the journal is closed once validated"

        third = upgrade(cmf, "2.0.0", tmp_path)
        assert third.rc == 0 and third.changed_count() == 0, third.stdout[-3000:]
        assert len(cmf.app_savepoints(ENV, APP)) == 1


def test_an_upgrade_crashed_in_the_validation_of_a_bad_version_is_rolled_back_by_the_next_run(tmp_path):
    """Killed while a version that fails after a few seconds was validated: the spec matches the
    declared one, so only the journal tells the re-run that the validation is owed."""
    with FakeCMF(start_delay=0.5, savepoint_delay=0.5) as cmf:
        seed(cmf, "2.0.0")
        cmf.inject("app_failed", match={"image": image("3.0.0")}, running_for=4,
                   message="java.lang.ArithmeticException: / by zero")
        _crash_upgrade(cmf, tmp_path, "3.0.0", "validation_window")

        second = upgrade(cmf, "3.0.0", tmp_path, validation_seconds=6)
        assert second.rc != 0, "the bad version fails the validation the crashed run missed"
        assert "rolled back" in second.stdout and "/ by zero" in second.stdout
        app = cmf.application(ENV, APP)
        assert app["spec"]["image"] == image("2.0.0") and app["status"]["jobStatus"]["state"] == "RUNNING"
        (savepoint,) = cmf.app_savepoints(ENV, APP)
        assert app["restored_from"] == savepoint["status"]["path"], "from the pre-upgrade savepoint"
        assert not journal(tmp_path).exists()
        assert cmf.deleted_savepoints == []
