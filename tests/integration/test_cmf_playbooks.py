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
    create_application(cmf, APP, ["--name", APP], parallelism)


def create_application(cmf, name, args, parallelism=2, labels=None):
    """An application of the declared job's spec, created through the API as a run of a recipe leaves it."""
    body = {"apiVersion": "cmf.confluent.io/v1", "kind": "FlinkApplication",
            "metadata": {"name": name, "labels": dict({"flinkops.io/version": "2.0.0"}, **(labels or {}))},
            "spec": {"image": IMAGE, "flinkVersion": "v1_19",
                     "job": {"jarURI": "local:///opt/flink/usrlib/stateful-counter.jar",
                             "entryClass": "flinkops.testjob.StatefulCounter", "args": args,
                             "parallelism": parallelism, "upgradeMode": "savepoint", "state": "running"},
                     "jobManager": {"resource": {"memory": "1024m", "cpu": 1}},
                     "taskManager": {"resource": {"memory": "2048m", "cpu": 1}}}}
    r = requests.post(cmf.url + "/cmf/api/v1/environments/%s/applications" % ENV, json=body, timeout=5)
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


def test_a_restore_that_fails_seconds_after_it_started_is_rolled_back(cmf, tmp_path):
    """The restored application runs, then fails 4 s later: the validation window sees it (a read
    right after the start did not) and the replaced state runs again from its savepoint."""
    seed(cmf)
    requests.post(cmf.url + "/cmf/api/v1/detached-savepoints", timeout=5, json={
        "apiVersion": "cmf.confluent.io/v1", "kind": "Savepoint", "metadata": {"name": "from-oss"},
        "spec": {"path": "s3://oss/savepoints/savepoint-0a1b2c"}}).raise_for_status()
    cmf.inject("app_failed", app=APP, running_for=4, message="java.lang.IllegalStateException: incompatible state")
    result = run_playbook("restore_state.yml", "cmf_local", extra_vars={
        "flinkops_manifest_dir": str(tmp_path), "restore_job": APP, "restore_savepoint": "from-oss",
        "restore_replace_running": True}, extra_env=cmf_env(cmf, validation_seconds=8), timeout=300)
    assert result.rc != 0
    cause = result.task("Rollback | fail with the cause")["msg"]
    assert "restore of stateful-counter from s3://oss/savepoints/savepoint-0a1b2c failed" in cause, cause
    assert "incompatible state" in cause, cause
    (keep,) = [sp for sp in cmf.app_savepoints(ENV, APP) if sp["metadata"]["name"].startswith(APP + "-pre-restore-")]
    assert state(cmf) == "RUNNING" and cmf.application(ENV, APP)["restored_from"] == keep["status"]["path"]
    assert not (tmp_path / "local-cmf" / ("%s.restore-journal.json" % APP)).exists()


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


def test_a_resume_that_fails_seconds_after_it_started_is_suspended_again(cmf, tmp_path):
    """Repro: the resume was read once after the start; an application failing 4 s later passed (rc 0).
    It is now watched through the validation window and suspended again, naming the exception."""
    seed(cmf)
    assert play(cmf, "suspend_resume_job.yml", tmp_path, action="suspend", job=APP).rc == 0
    cmf.inject("app_failed", app=APP, running_for=4, message="java.lang.IllegalStateException: poison record")
    failed = run_playbook("suspend_resume_job.yml", "cmf_local", extra_vars={
        "flinkops_manifest_dir": str(tmp_path), "action": "resume", "job": APP},
        extra_env=cmf_env(cmf, validation_seconds=8), timeout=300)
    assert failed.rc != 0
    cause = failed.task("Rollback | fail with the cause")["msg"]
    assert "poison record" in cause and "It was suspended again" in cause, cause
    assert state(cmf) == "SUSPENDED" and cmf.application(ENV, APP)["spec"]["job"]["state"] == "suspended"
    assert not (tmp_path / "local-cmf" / ("%s.resume-journal.json" % APP)).exists()


def test_a_resume_crashed_before_its_validation_is_validated_by_the_next_run(cmf, tmp_path):
    seed(cmf)
    assert play(cmf, "suspend_resume_job.yml", tmp_path, action="suspend", job=APP).rc == 0
    journal = tmp_path / "local-cmf" / ("%s.resume-journal.json" % APP)
    proc = start_playbook("suspend_resume_job.yml", cmf_env(cmf, validation_seconds=10),
                          {"flinkops_manifest_dir": str(tmp_path), "action": "resume", "job": APP},
                          log=tmp_path / "first.log", limit="cmf_local")
    try:
        reached = wait_for(lambda: journal.exists() and state(cmf) == "RUNNING", proc, 120)
    finally:
        crash(proc)
    assert reached, (tmp_path / "first.log").read_text()[-3000:]
    assert json.loads(journal.read_text())["was"] == "SUSPENDED"
    again = play(cmf, "suspend_resume_job.yml", tmp_path, action="resume", job=APP)
    assert again.rc == 0, again.stdout[-3000:]
    watched = again.task("Validation | what the watch saw last, job %s" % APP)["ansible_facts"]["validate_result"]
    assert watched["verdict"] == "passed", "the validation the crashed run missed was run"
    assert state(cmf) == "RUNNING" and not journal.exists()
    third = play(cmf, "suspend_resume_job.yml", tmp_path, action="resume", job=APP)
    assert third.rc == 0 and third.changed_count() == 0, third


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


# -- the CMF column through the seam (issue 11): deploy, backfill, health, incidents ------------------
def dry(cmf, playbook, tmp_path, **extra):
    """``--check --diff``, as a user previews a recipe."""
    import pathlib
    import subprocess
    import sys

    from tests.integration.ansible_run import REPO, PlayResult, ansible_env

    cmd = [str(pathlib.Path(sys.executable).with_name("ansible-playbook")), str(REPO / "playbooks" / playbook),
           "-l", "cmf_local", "-e", json.dumps(dict({"flinkops_manifest_dir": str(tmp_path),
                                                     "flinkops_report_dir": str(tmp_path / "reports")}, **extra)),
           "--check", "--diff"]
    env = {"FLINKOPS_CMF_URL": cmf.url, "FLINKOPS_VALIDATION_SECONDS": "1", "FLINKOPS_CMF_STABLE_SECONDS": "1"}
    proc = subprocess.run(cmd, cwd=REPO, env=ansible_env(env), capture_output=True, text=True, timeout=300,
                          check=False)
    return PlayResult(proc, json_output=True)


def writes(cmf, since=0):
    return [(e["method"], e["path"]) for e in cmf.log[since:] if e["method"] not in ("GET", "HEAD")]


def seed_env(cmf):
    r = requests.post(cmf.url + "/cmf/api/v1/environments", json={
        "name": ENV, "kubernetesNamespace": "flinkops-local",
        "flinkApplicationDefaults": {"spec": {"flinkConfiguration": {"state.savepoints.dir": "s3://local/sp"}}}},
        timeout=5)
    assert r.status_code == 200, r.text


def wait_running(cmf, name=APP, timeout=30):
    import time

    deadline = time.time() + timeout
    while (cmf.application(ENV, name) or {}).get("status", {}).get("jobStatus", {}).get("state") != "RUNNING":
        assert time.time() < deadline, "%s did not start" % name
        time.sleep(0.05)


def savepoint(cmf, name, app=APP):
    r = requests.post(cmf.url + "/cmf/api/v1/environments/%s/applications/%s/savepoints" % (ENV, app), timeout=5,
                      json={"apiVersion": "cmf.confluent.io/v1", "kind": "Savepoint", "metadata": {"name": name},
                            "spec": {}})
    assert r.status_code in (200, 201), r.text


def reports(tmp_path, pattern):
    return sorted((tmp_path / "reports" / "local-cmf").glob(pattern))


def test_deploy_starts_the_missing_application_then_nothing(cmf, tmp_path):
    seed_env(cmf)
    start = len(cmf.log)
    preview = dry(cmf, "deploy_job.yml", tmp_path)
    assert preview.rc == 0, preview.stdout[-3000:]
    assert preview.changed_count() > 0 and "would start ['stateful-counter']" in preview.task(
        "Check mode | what would change")["msg"]
    assert writes(cmf, start) == [] and cmf.application(ENV, APP) is None

    first = play(cmf, "deploy_job.yml", tmp_path)
    assert first.rc == 0, first.stdout[-3000:]
    app = cmf.application(ENV, APP)
    assert state(cmf) == "RUNNING" and app["metadata"]["labels"]["flinkops.io/version"] == "2.0.0"
    assert app["spec"]["image"] == IMAGE and app["spec"]["job"]["parallelism"] == 2
    (validated,) = first.task("Validation | every declared job runs, once")["results"]
    assert validated["item"]["records"][0]["platform"] == "cmf"
    # the one module_defaults block of the dispatcher gave the CMF modules their url
    assert first.task("Procedure | start each declared job that does not run")["results"][0][
        "invocation"]["module_args"]["url"] == cmf.url

    job_id = app["status"]["jobStatus"]["jobId"]
    second = play(cmf, "deploy_job.yml", tmp_path)
    assert second.rc == 0 and second.changed_count() == 0, second
    start = len(cmf.log)
    again = dry(cmf, "deploy_job.yml", tmp_path)
    assert again.rc == 0 and again.changed_count() == 0, again
    assert writes(cmf, start) == [] and cmf.application(ENV, APP)["status"]["jobStatus"]["jobId"] == job_id

    # a suspended application is not left alone silently: the deploy stops, names it, changes nothing
    assert play(cmf, "suspend_resume_job.yml", tmp_path, action="suspend", job=APP).rc == 0
    start = len(cmf.log)
    stopped = play(cmf, "deploy_job.yml", tmp_path)
    assert stopped.rc != 0
    assert "stateful-counter is SUSPENDED" in stopped.stdout and "suspend_resume_job.yml" in stopped.stdout
    assert writes(cmf, start) == [] and state(cmf) == "SUSPENDED"


BACKFILL = APP + "-backfill-t1"


def backfill_vars(backfill_id="t1"):
    return {"backfill_from": APP, "backfill_id": backfill_id, "backfill_poll_seconds": 1,
            "backfill_args": ["--name", APP, "--start-timestamp", "1761955200000"]}


def test_backfill_runs_beside_production_is_recorded_and_removed(cmf, tmp_path):
    seed(cmf)
    wait_running(cmf)
    prod_job = cmf.application(ENV, APP)["status"]["jobStatus"]["jobId"]
    start = len(cmf.log)
    preview = dry(cmf, "backfill.yml", tmp_path, **backfill_vars())
    assert preview.rc == 0, preview.stdout[-3000:]
    assert preview.task("Procedure | deploy the backfill job")["changed"]
    assert "would run %s" % BACKFILL in preview.task("Check mode | what would change")["msg"]
    assert writes(cmf, start) == [] and cmf.application(ENV, BACKFILL) is None and not list(tmp_path.rglob("*.json"))

    cmf.inject("app_finished", app=BACKFILL, running_for=1.0)
    first = play(cmf, "backfill.yml", tmp_path, **backfill_vars())
    assert first.rc == 0, first.stdout[-3000:]
    record = json.loads((tmp_path / "local-cmf" / ("backfill-%s.json" % BACKFILL)).read_text())
    assert record["final_state"] == "FINISHED" and record["platform"] == "cmf" and record["job_id"]
    assert record["args"] == backfill_vars()["backfill_args"]
    assert cmf.application(ENV, BACKFILL) is None, "the backfill application is removed when done"
    assert cmf.application(ENV, APP)["status"]["jobStatus"]["jobId"] == prod_job and state(cmf) == "RUNNING"

    again = play(cmf, "backfill.yml", tmp_path, **backfill_vars())
    assert again.rc == 0 and again.changed_count() == 0, again
    start = len(cmf.log)
    assert dry(cmf, "backfill.yml", tmp_path, **backfill_vars()).changed_count() == 0
    assert writes(cmf, start) == []

    cmf.inject("app_failed", app=APP + "-backfill-t2", running_for=0.5,
               message="java.lang.IllegalStateException: backfill sink refused the write")
    failed = play(cmf, "backfill.yml", tmp_path, **backfill_vars("t2"))
    assert failed.rc != 0 and "backfill sink refused the write" in failed.stdout
    assert cmf.application(ENV, APP + "-backfill-t2") is None
    assert not (tmp_path / "local-cmf" / ("backfill-%s-backfill-t2.json" % APP)).exists()
    assert cmf.application(ENV, APP)["status"]["jobStatus"]["jobId"] == prod_job and state(cmf) == "RUNNING"


def test_a_backfill_killed_after_its_record_is_finished_by_the_next_run(cmf, tmp_path):
    """Killed between the record and the removal: the backfill application (here one still running,
    stopped with a savepoint after backfill_max_seconds) would run on forever; the next run removes it."""
    seed(cmf)
    wait_running(cmf)
    prod_job = cmf.application(ENV, APP)["status"]["jobStatus"]["jobId"]
    create_application(cmf, BACKFILL, backfill_vars()["backfill_args"], parallelism=2,
                       labels={"flinkops.io/backfill-of": APP})
    wait_running(cmf, BACKFILL)
    record = tmp_path / "local-cmf" / ("backfill-%s.json" % BACKFILL)
    record.parent.mkdir(parents=True)
    record.write_text(json.dumps({"backfill": BACKFILL, "from": APP, "platform": "cmf", "final_state": "RUNNING"}))
    recorded = record.read_text()
    start = len(cmf.log)
    again = play(cmf, "backfill.yml", tmp_path, **backfill_vars())
    assert again.rc == 0, again.stdout[-3000:]
    assert cmf.application(ENV, BACKFILL) is None, "the application the killed run left is removed"
    assert [w for w in writes(cmf, start) if BACKFILL in w[1]] == [
        ("DELETE", "/cmf/api/v1/environments/%s/applications/%s" % (ENV, BACKFILL))], "removed, never run again"
    assert record.read_text() == recorded
    assert cmf.application(ENV, APP)["status"]["jobStatus"]["jobId"] == prod_job and state(cmf) == "RUNNING"
    third = play(cmf, "backfill.yml", tmp_path, **backfill_vars())
    assert third.rc == 0 and third.changed_count() == 0, third


def test_a_backfill_a_killed_run_left_failed_is_removed_not_run_again(cmf, tmp_path):
    seed(cmf)
    wait_running(cmf)
    cmf.inject("app_failed", app=BACKFILL, running_for=0.3,
               message="java.lang.IllegalStateException: backfill sink refused the write")
    create_application(cmf, BACKFILL, backfill_vars()["backfill_args"], parallelism=2,
                       labels={"flinkops.io/backfill-of": APP})
    import time

    deadline = time.time() + 30
    while cmf.application(ENV, BACKFILL)["status"].get("jobStatus", {}).get("state") != "FAILED":
        assert time.time() < deadline, "the backfill did not fail"
        time.sleep(0.05)
    start = len(cmf.log)
    again = play(cmf, "backfill.yml", tmp_path, **backfill_vars())
    assert again.rc != 0 and "backfill sink refused the write" in again.stdout, again.stdout[-3000:]
    assert [w for w in writes(cmf, start) if BACKFILL in w[1]] == [
        ("DELETE", "/cmf/api/v1/environments/%s/applications/%s" % (ENV, BACKFILL))], "removed, not restarted"
    assert cmf.application(ENV, BACKFILL) is None
    assert not (tmp_path / "local-cmf" / ("backfill-%s.json" % BACKFILL)).exists()


def test_health_report_from_the_job_records(cmf, tmp_path):
    seed(cmf)
    wait_running(cmf)
    savepoint(cmf, "good")
    import time
    time.sleep(0.5)
    cmf.inject("savepoint_failed", app=APP, error="CheckpointException: Checkpoint expired before completing")
    savepoint(cmf, "bad")
    time.sleep(0.5)
    start = len(cmf.log)
    first = play(cmf, "health_report.yml", tmp_path, flinkops_report_dir=str(tmp_path / "reports"))
    assert first.rc == 0 and first.changed_count() == 0, first.stdout[-3000:]
    summary = first.task("Validation | summary of the health of each job")["msg"]
    assert any(line.startswith("stateful-counter [WARNING] RUNNING: the latest savepoint failed") for line in summary), summary
    (report,) = reports(tmp_path, "health-*.md")
    text = report.read_text()
    assert "Checkpoint expired before completing" in text and "s3://local/sp/" in text
    assert writes(cmf, start) == []

    strict = play(cmf, "health_report.yml", tmp_path, flinkops_report_dir=str(tmp_path / "reports"),
                  health_fail_on="warning")
    assert strict.rc != 0 and "At least one job is warning or worse" in strict.stdout
    preview = dry(cmf, "health_report.yml", tmp_path)
    assert preview.rc == 0 and preview.changed_count() == 0, preview
    assert len(reports(tmp_path, "health-*.md")) == 2, "check mode writes no report"


def test_incident_checkpoint_failures_from_the_failed_savepoints(cmf, tmp_path):
    import time

    seed(cmf)
    wait_running(cmf)
    savepoint(cmf, "good")
    time.sleep(0.5)
    cmf.inject("savepoint_failed", count=2, app=APP,
               error="java.util.concurrent.CompletionException: CheckpointException: Checkpoint expired before completing.")
    savepoint(cmf, "bad-1")
    time.sleep(0.1)
    savepoint(cmf, "bad-2")
    time.sleep(0.6)
    probe_dir = tmp_path / "probe"
    probe_dir.mkdir()
    extra = {"flinkops_report_dir": str(tmp_path / "reports"), "incident_checkpoint_dir": "file://%s" % probe_dir}
    start = len(cmf.log)
    first = play(cmf, "incident_checkpoint_failures.yml", tmp_path, **extra)
    assert first.rc == 0 and first.changed_count() == 0, first.stdout[-3000:]
    lines = first.task("Validation | diagnosis and recommended stabilisation per job")["msg"]
    text = "\n".join(lines)
    assert "stateful-counter [WARNING] RUNNING: 1 completed / 2 failed savepoints, 2 consecutive failures" in text, text
    assert "Checkpoint expired before completing" in text and "raise the checkpoint timeout" in text
    assert "storage probe file://%s: OK" % probe_dir in text
    (report,) = reports(tmp_path, "incident-checkpoints-*.md")
    assert "| 2 |" in report.read_text()
    assert writes(cmf, start) == [] and list(probe_dir.iterdir()) == []

    healthy = play(cmf, "incident_checkpoint_failures.yml", tmp_path, incident_expect_healthy=True, **extra)
    assert healthy.rc != 0 and "2 consecutive failed savepoints" in healthy.stdout
    preview = dry(cmf, "incident_checkpoint_failures.yml", tmp_path)
    assert preview.rc == 0 and preview.changed_count() == 0, preview
    assert len(reports(tmp_path, "incident-checkpoints-*.md")) == 2, "check mode writes no report"


def test_a_recipe_a_platform_does_not_implement_fails_at_once_naming_both(cmf, tmp_path):
    seed(cmf)
    start = len(cmf.log)
    # Confluent Cloud has no upgrade_job (its jobs are SQL statements: only the DR and CFU recipes yet)
    statement = [{"name": APP, "version": "2.0.0", "confluent_cloud": {"statement": "INSERT INTO out SELECT * FROM src"}}]
    res = play(cmf, "upgrade_job.yml", tmp_path, flink_platform="confluent_cloud", flink_jobs=statement)
    assert res.rc != 0
    (failed,) = [t for t in res.tasks if t.get("failed")]
    assert "recipe upgrade_job is not implemented for platform confluent_cloud" in failed["msg"], failed["msg"]
    assert "It is implemented for: cmf, fko, flink" in failed["msg"]
    assert cmf.log[start:] == [], "nothing was contacted"


def looping(cmf):
    """The declared application, deployed into a restart loop: five JOB_EXCEPTION events, then RUNNING."""
    cmf.inject("app_restart_loop", app=APP, every=0.2, restarts=5,
               message="java.lang.NullPointerException: flinkops fake: bad record\n\tat Counter.map(Counter.java:42)")
    seed(cmf)
    import time
    deadline = time.time() + 30
    while cmf.application(ENV, APP) and len(  # reading it advances the fake's clock of the application
            [e for e in cmf.apps[(ENV, APP)]["events"] if e["status"]["type"] == "JOB_EXCEPTION"]) < 5:
        assert time.time() < deadline, "the restart loop did not happen"
        time.sleep(0.05)
    wait_running(cmf)


HOTFIX = {"image": "registry.example.com/flinkops/stateful-counter:2.0.1-hotfix", "version": "2.0.1-hotfix"}


def test_restart_loop_is_reported_then_redeployed_from_a_savepoint_then_nothing(cmf, tmp_path):
    looping(cmf)
    job_id = cmf.application(ENV, APP)["status"]["jobStatus"]["jobId"]
    extra = {"incident_job": APP, "incident_report_dir": str(tmp_path / "incident-reports")}
    report = play(cmf, "incident_restart_loop.yml", tmp_path, **extra)
    assert report.rc == 0 and report.changed_count() == 0, report.stdout[-3000:]
    (text,) = [p.read_text() for p in sorted((tmp_path / "incident-reports").glob("incident-%s-*.md" % APP))]
    assert "**restart loop**" in text and "| class | **code** |" in text and "NullPointerException" in text
    assert cmf.application(ENV, APP)["status"]["jobStatus"]["jobId"] == job_id, "report only: job untouched"

    redeploy = dict(extra, incident_mitigation="redeploy", incident_hotfix=HOTFIX)
    start = len(cmf.log)
    preview = dry(cmf, "incident_restart_loop.yml", tmp_path, **redeploy)
    assert preview.rc == 0 and preview.changed_count() > 0, preview.stdout[-3000:]
    assert "then start the hotfix" in preview.task("Check mode | what would change")["msg"]
    assert writes(cmf, start) == [] and cmf.app_savepoints(ENV, APP) == []

    fixed = play(cmf, "incident_restart_loop.yml", tmp_path, **redeploy)
    assert fixed.rc == 0, fixed.stdout[-3000:]
    app = cmf.application(ENV, APP)
    (sp,) = cmf.app_savepoints(ENV, APP)
    assert sp["metadata"]["name"].startswith(APP + "-incident-") and sp["status"]["state"] == "COMPLETED"
    assert app["spec"]["image"] == HOTFIX["image"] and app["metadata"]["labels"]["flinkops.io/version"] == "2.0.1-hotfix"
    assert app["restored_from"] == sp["status"]["path"] and state(cmf) == "RUNNING"
    assert app["status"]["jobStatus"]["jobId"] != job_id

    again = play(cmf, "incident_restart_loop.yml", tmp_path, **redeploy)
    assert again.rc == 0 and again.changed_count() == 0, again
    assert "no restart loop" in again.stdout


def test_restart_loop_stop_suspends_with_a_savepoint_then_nothing(cmf, tmp_path):
    looping(cmf)
    extra = {"incident_job": APP, "incident_mitigation": "stop", "incident_report_dir": str(tmp_path / "incident-reports")}
    start = len(cmf.log)
    preview = dry(cmf, "incident_restart_loop.yml", tmp_path, **extra)
    assert preview.rc == 0 and "be suspended" in preview.task("Check mode | what would change")["msg"]
    assert writes(cmf, start) == []

    stopped = play(cmf, "incident_restart_loop.yml", tmp_path, **extra)
    assert stopped.rc == 0, stopped.stdout[-3000:]
    assert state(cmf) == "SUSPENDED"
    (sp,) = cmf.app_savepoints(ENV, APP)
    assert sp["status"]["state"] == "COMPLETED"
    again = play(cmf, "incident_restart_loop.yml", tmp_path, **extra)
    assert again.rc == 0 and again.changed_count() == 0, again


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


def test_a_redeploy_crashed_before_the_hotfix_was_validated_is_validated_by_the_next_run(cmf, tmp_path):
    """Repro: killed after the hotfix spec was applied, the re-run saw no loop any more (the hotfix
    runs) and reported "no restart loop": the validation the crashed run owed was never run."""
    looping(cmf)
    journal = tmp_path / "local-cmf" / ("%s.incident.json" % APP)
    redeploy = {"flinkops_manifest_dir": str(tmp_path), "incident_job": APP, "incident_mitigation": "redeploy",
                "incident_hotfix": HOTFIX, "incident_report_dir": str(tmp_path / "incident-reports")}
    proc = start_playbook("incident_restart_loop.yml", cmf_env(cmf, validation_seconds=10), redeploy,
                          log=tmp_path / "first.log", limit="cmf_local")
    try:
        reached = wait_for(lambda: journal.exists() and cmf.application(ENV, APP)["metadata"]["labels"].get(
            "flinkops.io/version") == HOTFIX["version"], proc, timeout=120)
    finally:
        crash(proc)
    assert reached, (tmp_path / "first.log").read_text()[-3000:]
    recorded = json.loads(journal.read_text())
    assert recorded["phase"] == "validate" and recorded["state"]

    second = play(cmf, "incident_restart_loop.yml", tmp_path, **{k: v for k, v in redeploy.items()
                                                                 if k != "flinkops_manifest_dir"})
    assert second.rc == 0, second.stdout[-4000:]
    validated = [t for t in second.tasks if t["_task"].startswith("Validation | no failure since the hotfix started")]
    assert validated and not validated[0].get("skipped") and not validated[0].get("failed"), \
        "the validation the crashed run missed was run"
    app = cmf.application(ENV, APP)
    (sp,) = cmf.app_savepoints(ENV, APP)
    assert app["restored_from"] == sp["status"]["path"] == recorded["state"] and state(cmf) == "RUNNING"
    assert not journal.exists(), "the journal is closed once the hotfix is validated"

    # a different mitigation cannot finish it: refused, nothing changed
    journal.write_text(json.dumps(recorded))
    wrong = play(cmf, "incident_restart_loop.yml", tmp_path, incident_job=APP, incident_mitigation="stop",
                 incident_report_dir=str(tmp_path / "incident-reports"))
    assert wrong.rc != 0 and "incident_mitigation=redeploy to finish it" in wrong.stdout
    assert state(cmf) == "RUNNING"
    journal.unlink()

    third = play(cmf, "incident_restart_loop.yml", tmp_path, **{k: v for k, v in redeploy.items()
                                                                if k != "flinkops_manifest_dir"})
    assert third.rc == 0 and third.changed_count() == 0, third.stdout[-3000:]


def test_a_restore_crashed_after_the_restored_spec_was_applied_is_finished_by_the_next_run(cmf, tmp_path):
    """A kill right after CMF was given the restored spec: the next run ends with the application
    running from the requested savepoint, without a second pre-restore savepoint nor a second restore,
    and runs the validation the killed run missed (before the journal it saw nothing pending)."""
    seed(cmf)
    requests.post(cmf.url + "/cmf/api/v1/detached-savepoints", timeout=5, json={
        "apiVersion": "cmf.confluent.io/v1", "kind": "Savepoint", "metadata": {"name": "from-oss"},
        "spec": {"path": "s3://oss/savepoints/savepoint-0a1b2c"}}).raise_for_status()
    restore = {"flinkops_manifest_dir": str(tmp_path), "restore_job": APP, "restore_savepoint": "from-oss",
               "restore_replace_running": True}
    proc = start_playbook("restore_state.yml", cmf_env(cmf, validation_seconds=10), restore,
                          log=tmp_path / "first.log", limit="cmf_local")
    try:
        reached = wait_for(lambda: cmf.application(ENV, APP).get("restored_from") == "s3://oss/savepoints/savepoint-0a1b2c",
                           proc, timeout=120)
    finally:
        crash(proc)
    assert reached, (tmp_path / "first.log").read_text()[-3000:]

    second = play(cmf, "restore_state.yml", tmp_path, **{k: v for k, v in restore.items()
                                                         if k != "flinkops_manifest_dir"})
    assert second.rc == 0, second.stdout[-4000:]
    app = cmf.application(ENV, APP)
    assert app["restored_from"] == "s3://oss/savepoints/savepoint-0a1b2c" and state(cmf) == "RUNNING"
    pre = [sp for sp in cmf.app_savepoints(ENV, APP) if sp["metadata"]["name"].startswith(APP + "-pre-restore-")]
    assert len(pre) == 1, "one savepoint of the replaced state: %s" % [sp["metadata"]["name"] for sp in pre]
    assert cmf.deleted_savepoints == []
    watched = second.task("Validation | what the watch saw last, job %s" % APP)["ansible_facts"]["validate_result"]
    assert watched["verdict"] == "passed", "the validation the killed run missed was run"
    assert not (tmp_path / "local-cmf" / ("%s.restore-journal.json" % APP)).exists()

    third = play(cmf, "restore_state.yml", tmp_path, **{k: v for k, v in restore.items()
                                                        if k != "flinkops_manifest_dir"})
    assert third.rc == 0 and third.changed_count() == 0, third.stdout[-3000:]
