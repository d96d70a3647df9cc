"""The CMF branches of the recipes, ``ansible-playbook playbooks/<recipe>.yml -l cmf_local``,
against the contract-checked fake CMF: environment bring-up (000 1.1), backup and restore
(000 3.1), scale (003 3) and suspend/resume. Each: a second run changes nothing, and an
injected failure is rolled back. The oracle is what the fake CMF reports afterwards.
"""
from __future__ import annotations

import json

import pytest
import requests

from tests.integration.ansible_run import run_playbook, start_playbook, wait_for
from tests.support.crash import crash
from tests.support.fake_cmf import FakeCMF, spec_path

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not spec_path("2.3").is_file(), reason="the shared CMF specs are not checked out")]

ENV = "flinkops-local"
APP = "stateful-counter"
IMAGE = "registry.example.com/flinkops/stateful-counter:2.0.0"


def seed(cmf, parallelism=2):
    """The environment, and the declared application RUNNING as a previous deploy left it."""
    api = cmf.url + "/cmf/api/v1"
    r = requests.post(api + "/environments", json={
        "name": ENV, "kubernetesNamespace": "flinkops-local",
        "flinkApplicationDefaults": {"spec": {"flinkConfiguration": {"state.savepoints.dir": "s3://local/sp"}}}},
        timeout=5)
    assert r.status_code == 200, r.text
    body = {"apiVersion": "cmf.confluent.io/v1", "kind": "FlinkApplication",
            "metadata": {"name": APP, "labels": {"flinkops.io/version": "2.0.0"}},
            "spec": {"image": IMAGE, "flinkVersion": "v1_19",
                     "job": {"jarURI": "local:///opt/flink/usrlib/stateful-counter.jar",
                             "entryClass": "flinkops.testjob.StatefulCounter", "args": ["--name", APP],
                             "parallelism": parallelism, "upgradeMode": "savepoint", "state": "running"},
                     "jobManager": {"resource": {"memory": "1024m", "cpu": 1}},
                     "taskManager": {"resource": {"memory": "2048m", "cpu": 1}}}}
    r = requests.post(api + "/environments/%s/applications" % ENV, json=body, timeout=5)
    assert r.status_code == 201, r.text


def cmf_env(cmf, validation_seconds=1):
    return {"FLINKOPS_CMF_URL": cmf.url, "FLINKOPS_VALIDATION_SECONDS": str(validation_seconds),
            "FLINKOPS_CMF_STABLE_SECONDS": "1", "FLINKOPS_CMF_KAFKA_JAAS": "jaas-s3cr3t"}


def play(cmf, playbook, tmp_path, **extra):
    return run_playbook(playbook, "cmf_local", extra_vars=dict({"flinkops_manifest_dir": str(tmp_path)}, **extra),
                        extra_env=cmf_env(cmf), timeout=300)


def state(cmf):
    return cmf.application(ENV, APP)["status"]["jobStatus"]["state"]


@pytest.fixture
def cmf():
    with FakeCMF(start_delay=0.2, savepoint_delay=0.3) as fake:
        yield fake


def test_bringup_then_nothing_to_do(cmf, tmp_path):
    first = play(cmf, "cmf_environment_bringup.yml", tmp_path)
    assert first.rc == 0, first.stdout[-3000:]
    assert cmf.envs[ENV]["flinkApplicationDefaults"]["spec"]["flinkConfiguration"]["state.checkpoints.dir"]
    assert (ENV, "pool") in cmf.pools and "kafka-local" in cmf.catalogs
    assert cmf.secret_data("kafka-local-credentials")["sasl.jaas.config"] == "jaas-s3cr3t"
    assert "jaas-s3cr3t" not in first.stdout
    assert (ENV, "kafka-local") in cmf.mappings and ("kafka-local", "local-kafka") in cmf.databases
    smoke = first.task("Smoke test | deploy the example application and wait until it runs steadily")
    assert smoke["job_state"] == "RUNNING"
    assert cmf.application(ENV, "flinkops-smoke-test") is None  # removed after the smoke test

    second = play(cmf, "cmf_environment_bringup.yml", tmp_path)
    assert second.rc == 0, second.stdout[-3000:]
    assert second.changed_count() == 0, second


def test_bringup_smoke_test_failure_removes_the_application(cmf, tmp_path):
    cmf.inject("app_failed", app="flinkops-smoke-test", running_for=0,
               message="java.lang.NoClassDefFoundError: org/apache/flink/Example")
    result = play(cmf, "cmf_environment_bringup.yml", tmp_path)
    assert result.rc != 0
    assert "The smoke test of environment flinkops-local failed" in result.stdout
    assert "NoClassDefFoundError" in result.stdout
    assert cmf.application(ENV, "flinkops-smoke-test") is None
    assert ENV in cmf.envs  # the environment itself stays


def test_backup_reuse_then_restore_then_nothing(cmf, tmp_path):
    seed(cmf)
    first = play(cmf, "backup_state.yml", tmp_path)
    assert first.rc == 0, first.stdout[-3000:]
    manifests = list((tmp_path / "local-cmf").glob("backup-*.json"))
    assert len(manifests) == 1
    entry = json.loads(manifests[0].read_text())["savepoints"][0]
    assert entry["job"] == APP and entry["savepoint"].startswith("s3://local/sp/") and entry["detached"] is True
    assert list(cmf.detached) == [entry["savepoint_name"]]  # detached: survives the application

    again = play(cmf, "backup_state.yml", tmp_path)
    assert again.rc == 0 and again.changed_count() == 0, again
    assert len(list((tmp_path / "local-cmf").glob("backup-*.json"))) == 1

    refused = play(cmf, "restore_state.yml", tmp_path, restore_job=APP)
    assert refused.rc != 0 and "restore_replace_running=true" in refused.stdout

    restored = play(cmf, "restore_state.yml", tmp_path, restore_job=APP, restore_replace_running=True)
    assert restored.rc == 0, restored.stdout[-3000:]
    app = cmf.application(ENV, APP)
    assert app["restored_from"] == entry["savepoint"] and state(cmf) == "RUNNING"

    nothing = play(cmf, "restore_state.yml", tmp_path, restore_job=APP, restore_replace_running=True)
    assert nothing.rc == 0 and nothing.changed_count() == 0, nothing
    assert cmf.deleted_savepoints == []


def test_backup_failure_writes_no_manifest(cmf, tmp_path):
    seed(cmf)
    cmf.inject("savepoint_failed", error="CheckpointException: Checkpoint expired before completing")
    result = play(cmf, "backup_state.yml", tmp_path)
    assert result.rc != 0 and "Checkpoint expired" in result.stdout
    assert not list(tmp_path.glob("local-cmf/backup-*.json")) and cmf.detached == {}
    assert state(cmf) == "RUNNING"


def test_failed_restore_is_rolled_back_to_the_state_it_replaced(cmf, tmp_path):
    seed(cmf)
    requests.post(cmf.url + "/cmf/api/v1/detached-savepoints", timeout=5, json={
        "apiVersion": "cmf.confluent.io/v1", "kind": "Savepoint", "metadata": {"name": "from-oss"},
        "spec": {"path": "s3://oss/savepoints/savepoint-0a1b2c"}}).raise_for_status()
    cmf.inject("app_failed", app=APP, running_for=0, message="java.lang.IllegalStateException: incompatible state")
    result = play(cmf, "restore_state.yml", tmp_path, restore_job=APP, restore_savepoint="from-oss",
                  restore_replace_running=True)
    assert result.rc != 0
    assert "restore of stateful-counter from s3://oss/savepoints/savepoint-0a1b2c failed" in result.stdout
    keep = [sp for sp in cmf.app_savepoints(ENV, APP) if sp["metadata"]["name"].startswith(APP + "-pre-restore-")]
    assert len(keep) == 1
    assert state(cmf) == "RUNNING" and cmf.application(ENV, APP)["restored_from"] == keep[0]["status"]["path"]


def test_scale_then_nothing_then_failed_scale_rolls_back(cmf, tmp_path):
    seed(cmf, parallelism=1)
    first = play(cmf, "scale_job.yml", tmp_path)
    assert first.rc == 0, first.stdout[-3000:]
    app = cmf.application(ENV, APP)
    assert app["spec"]["job"]["parallelism"] == 2 and state(cmf) == "RUNNING"
    sp = cmf.app_savepoints(ENV, APP)
    assert len(sp) == 1 and app["restored_from"] == sp[0]["status"]["path"]

    second = play(cmf, "scale_job.yml", tmp_path)
    assert second.rc == 0 and second.changed_count() == 0, second

    cmf.inject("app_failed", match={"job.parallelism": 3}, running_for=0,
               message="java.lang.IllegalStateException: max parallelism 2 < parallelism 3")
    jobs = [dict(j, parallelism=3) for j in _declared_jobs()]
    third = play(cmf, "scale_job.yml", tmp_path, flink_jobs=jobs)
    assert third.rc != 0 and "max parallelism 2 < parallelism 3" in third.stdout
    app = cmf.application(ENV, APP)
    assert app["spec"]["job"]["parallelism"] == 2 and state(cmf) == "RUNNING"
    assert cmf.deleted_savepoints == []


def _declared_jobs():
    import yaml
    from tests.integration.ansible_run import REPO

    data = yaml.safe_load((REPO / "inventories" / "group_vars" / "cmf_local.yml").read_text())
    jobs = []
    for job in data["flink_jobs"]:
        job = dict(job, version="2.0.0", image=IMAGE)
        jobs.append(job)
    return jobs


def test_suspend_resume_then_nothing_and_failed_resume_is_suspended_again(cmf, tmp_path):
    seed(cmf)
    cmf.inject("status", status=500, method="POST", path="/applications$")
    bad = play(cmf, "suspend_resume_job.yml", tmp_path, action="suspend", job=APP)
    assert bad.rc != 0 and "HTTP 500" in bad.stdout and state(cmf) == "RUNNING"

    suspended = play(cmf, "suspend_resume_job.yml", tmp_path, action="suspend", job=APP)
    assert suspended.rc == 0, suspended.stdout[-3000:]
    assert state(cmf) == "SUSPENDED" and cmf.application(ENV, APP)["spec"]["job"]["state"] == "suspended"
    again = play(cmf, "suspend_resume_job.yml", tmp_path, action="suspend", job=APP)
    assert again.rc == 0 and again.changed_count() == 0, again

    resumed = play(cmf, "suspend_resume_job.yml", tmp_path, action="resume", job=APP)
    assert resumed.rc == 0, resumed.stdout[-3000:]
    assert state(cmf) == "RUNNING"
    again = play(cmf, "suspend_resume_job.yml", tmp_path, action="resume", job=APP)
    assert again.rc == 0 and again.changed_count() == 0, again

    assert play(cmf, "suspend_resume_job.yml", tmp_path, action="suspend", job=APP).rc == 0
    cmf.inject("app_failed", app=APP, running_for=0, message="java.lang.OutOfMemoryError: Java heap space")
    failed = play(cmf, "suspend_resume_job.yml", tmp_path, action="resume", job=APP)
    assert failed.rc != 0 and "Java heap space" in failed.stdout and "It was suspended again" in failed.stdout
    assert state(cmf) == "SUSPENDED"

    wrong = play(cmf, "suspend_resume_job.yml", tmp_path, action="pause", job=APP)
    assert wrong.rc != 0 and "action=suspend|resume" in wrong.stdout


@pytest.mark.parametrize("playbook", ["scale_job.yml", "upgrade_job.yml"])
def test_a_declared_application_that_does_not_exist_fails_naming_it(cmf, tmp_path, playbook):
    """Repro: scale_job.yml and upgrade_job.yml used to end rc=0, changing nothing and saying nothing,
    when a declared application did not exist."""
    seed(cmf)
    ghost = [dict(_declared_jobs()[0], name="ghost-counter")]
    res = play(cmf, playbook, tmp_path, flink_jobs=_declared_jobs() + ghost)
    assert res.rc != 0
    verb = "scale" if playbook == "scale_job.yml" else "upgrade"
    assert "Cannot %s ghost-counter: no application of that name in CMF environment %s" % (verb, ENV) in res.stdout
    assert cmf.application(ENV, "ghost-counter") is None, "nothing was created"
    assert cmf.app_savepoints(ENV, APP) == [], "no savepoint was taken"


def _scale_journal(tmp_path):
    return tmp_path / "local-cmf" / ("%s.journal.json" % APP)


SCALE_KILL_POINTS = {
    "savepoint_completed": lambda cmf, tmp: any(sp["status"].get("state") == "COMPLETED"
                                                for sp in cmf.app_savepoints(ENV, APP)),
    "spec_changed": lambda cmf, tmp: cmf.application(ENV, APP)["spec"]["job"]["parallelism"] == 2,
    "validation_window": lambda cmf, tmp: (_scale_journal(tmp).exists() and state(cmf) == "RUNNING"
                                           and cmf.application(ENV, APP)["spec"]["job"]["parallelism"] == 2),
}


@pytest.mark.parametrize("moment", sorted(SCALE_KILL_POINTS))
def test_a_rescale_crashed_at_any_step_is_finished_by_the_next_run(cmf, tmp_path, moment):
    """Repro: killed after the spec change, the re-run found the declared parallelism and skipped the
    validation; killed after the savepoint, it took a second savepoint (the name had a timestamp)."""
    seed(cmf, parallelism=1)
    proc = start_playbook("scale_job.yml", cmf_env(cmf, validation_seconds=10),
                          {"flinkops_manifest_dir": str(tmp_path)}, log=tmp_path / "first.log", limit="cmf_local")
    try:
        reached = wait_for(lambda: SCALE_KILL_POINTS[moment](cmf, tmp_path), proc, timeout=120)
    finally:
        crash(proc)
    assert reached, (tmp_path / "first.log").read_text()[-3000:]

    second = play(cmf, "scale_job.yml", tmp_path)
    assert second.rc == 0, second.stdout[-4000:]
    app = cmf.application(ENV, APP)
    assert app["spec"]["job"]["parallelism"] == 2 and state(cmf) == "RUNNING"
    savepoints = cmf.app_savepoints(ENV, APP)
    assert len(savepoints) == 1, "one savepoint in all: %s" % [sp["metadata"]["name"] for sp in savepoints]
    assert app["restored_from"] == savepoints[0]["status"]["path"]
    validated = [t for t in second.tasks if t["_task"].startswith("Validation | running at the new parallelism")]
    assert validated and not validated[0].get("skipped") and not validated[0].get("failed"), \
        "the validation the crashed run missed was run"
    assert not _scale_journal(tmp_path).exists()

    third = play(cmf, "scale_job.yml", tmp_path)
    assert third.rc == 0 and third.changed_count() == 0, third.stdout[-3000:]


def test_a_backup_crashed_after_the_detach_is_recorded_by_the_next_run_without_a_second_savepoint(cmf, tmp_path):
    """Repro: killed after the savepoint was detached but before the manifest, the re-run reused the fresh
    backup and wrote no manifest, so restore_state.yml never learnt of it."""
    seed(cmf)
    proc = start_playbook("backup_state.yml", cmf_env(cmf), {"flinkops_manifest_dir": str(tmp_path)},
                          log=tmp_path / "first.log", limit="cmf_local")
    try:
        reached = wait_for(lambda: bool(cmf.detached), proc, timeout=120)
    finally:
        crash(proc)
    assert reached, (tmp_path / "first.log").read_text()[-3000:]
    assert not list(tmp_path.glob("local-cmf/backup-*.json")), "killed before the manifest"
    (detached,) = list(cmf.detached)

    second = play(cmf, "backup_state.yml", tmp_path)
    assert second.rc == 0, second.stdout[-3000:]
    (manifest,) = tmp_path.glob("local-cmf/backup-*.json")
    (entry,) = json.loads(manifest.read_text())["savepoints"]
    assert entry["savepoint_name"] == detached and entry["reused"] is True
    assert list(cmf.detached) == [detached], "no second backup"

    third = play(cmf, "backup_state.yml", tmp_path)
    assert third.rc == 0 and third.changed_count() == 0, third.stdout[-3000:]
    assert len(list(tmp_path.glob("local-cmf/backup-*.json"))) == 1
