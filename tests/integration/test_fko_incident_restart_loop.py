"""The FKO branch of incident_restart_loop.yml (recipe 7.1, ``-l fko_local``) against the fake Kubernetes
API and its fake operator (tests/support/fake_kubernetes.py). The loop is the fake operator's
``restart_loop`` injection: the job of the declared spec stays RESTARTING with its exception in
``status.error``, and the operator takes a savepoint of it only when a restart attempt runs. Each test:
the report, a ``--check --diff`` run that sends no write, the mitigation, and a second run that changes
nothing. The oracle is what the fake API server holds afterwards (spec, status, FlinkStateSnapshots, the
writes it received) and the journal on disk.
"""
from __future__ import annotations

import json
import time

import pytest

from tests.integration.ansible_run import start_playbook, wait_for
from tests.integration.test_fko_upgrade_playbook import (  # noqa: F401  pylint: disable=unused-import
    IMAGE, JOB, NS, deployed, deployment, fko_env, k8s, play, real_writes, running_stable, snapshots)
from tests.support.crash import crash
from tests.support.fake_kubernetes import specs_dir

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not (specs_dir() / "flinkdeployments.flink.apache.org-v1.yml").is_file(),
                                 reason="the shared FKO specs are not checked out")]

PLAYBOOK = "incident_restart_loop.yml"
LOOP_ERROR = "java.lang.NullPointerException: flinkops fake: bad record\n\tat Counter.map(Counter.java:42)"
HOTFIX = {"image": IMAGE % "2.0.1-hotfix", "version": "2.0.1-hotfix"}


def looping(k8s, tmp_path):
    """The declared job deployed, then stuck in a restart loop: RESTARTING, the operator reporting its exception."""
    deployed(k8s, tmp_path)
    k8s.inject("restart_loop", image=":2.0.0", error=LOOP_ERROR)
    deadline = time.time() + 10
    while not (deployment(k8s)["status"]["jobStatus"]["state"] == "RESTARTING"
               and deployment(k8s)["status"].get("error") == LOOP_ERROR):
        assert time.time() < deadline, deployment(k8s)["status"]
        time.sleep(0.05)
    k8s.requests.clear()
    return deployment(k8s)


def extra(tmp_path, **more):
    return dict({"incident_job": JOB, "incident_report_dir": str(tmp_path / "incident-reports"),
                 "flink_savepoint_timeout": 60}, **more)


def journal(tmp_path):
    return tmp_path / "manifests" / "local-fko" / ("%s.incident.json" % JOB)


def upgrade_snapshots(k8s):
    """The savepoints the operator took when it suspended the job, oldest first."""
    return [s for _name, s in sorted(snapshots(k8s).items())
            if (s["metadata"].get("labels") or {}).get("snapshot.type") == "UPGRADE"]


def changes_nothing(k8s, tmp_path, **more):
    before = len(real_writes(k8s))
    again = play(k8s, PLAYBOOK, tmp_path, **extra(tmp_path, **more))
    assert again.rc == 0, again.stdout[-3000:]
    assert again.changed_count() == 0, again
    assert len(real_writes(k8s)) == before, real_writes(k8s)[before:]
    return again


def hotfix_runs_from(k8s, savepoint_path, loop_job_id):
    fd = deployment(k8s)
    assert running_stable(fd), fd["status"]
    assert fd["spec"]["image"] == HOTFIX["image"] and fd["spec"]["job"]["state"] == "running"
    assert fd["metadata"]["labels"]["flinkops.io/version"] == HOTFIX["version"]
    assert fd["spec"]["job"]["initialSavepointPath"] == savepoint_path
    assert fd["status"]["jobStatus"]["upgradeSavepointPath"] == savepoint_path, "restored from the savepoint"
    assert fd["status"]["jobStatus"]["jobId"] != loop_job_id and not fd["status"].get("error")
    return fd


def test_a_restart_loop_is_reported_and_nothing_is_written(k8s, tmp_path):
    before = looping(k8s, tmp_path)
    report = play(k8s, PLAYBOOK, tmp_path, **extra(tmp_path))
    assert report.rc == 0 and report.changed_count() == 0, report.stdout[-3000:]
    assert real_writes(k8s) == [], "report only: no write to the API server"
    (markdown,) = sorted((tmp_path / "incident-reports").glob("incident-%s-*.md" % JOB))
    text = markdown.read_text()
    assert "**restart loop**" in text and "| class | **code** |" in text and "NullPointerException" in text, text
    assert list((tmp_path / "incident-reports").glob("incident-%s-*.html" % JOB))
    assert "RESTART LOOP" in report.task("Report | summary")["msg"]
    after = deployment(k8s)
    assert after["spec"] == before["spec"] and after["metadata"]["generation"] == before["metadata"]["generation"]
    assert after["status"]["jobStatus"]["jobId"] == before["status"]["jobStatus"]["jobId"]
    assert snapshots(k8s) == {} and not journal(tmp_path).exists()


def test_a_restart_loop_is_redeployed_with_the_hotfix_from_the_operators_savepoint_then_nothing(k8s, tmp_path):
    loop = looping(k8s, tmp_path)
    redeploy = extra(tmp_path, incident_mitigation="redeploy", incident_hotfix=HOTFIX)
    preview = play(k8s, PLAYBOOK, tmp_path, check=True, **redeploy)
    assert preview.rc == 0 and preview.changed_count() > 0, preview.stdout[-3000:]
    assert "then the hotfix %s 2.0.1-hotfix started from it" % HOTFIX["image"] in \
        preview.task("Check mode | what would change")["msg"]
    planned = preview.task("Mitigation | suspend the job; the operator stops it with a savepoint "
                           "(spec.job.state suspended, upgradeMode savepoint)")
    assert planned["changed"] and planned["diff"]["after"]["spec"]["job"]["state"] == "suspended"
    assert real_writes(k8s) == [] and snapshots(k8s) == {} and not journal(tmp_path).exists()
    assert deployment(k8s)["spec"] == loop["spec"]

    fixed = play(k8s, PLAYBOOK, tmp_path, **redeploy)
    assert fixed.rc == 0, fixed.stdout[-3000:]
    (savepoint,) = upgrade_snapshots(k8s)
    assert savepoint["status"]["state"] == "COMPLETED" and savepoint["status"]["path"]
    hotfix_runs_from(k8s, savepoint["status"]["path"], loop["status"]["jobStatus"]["jobId"])
    watched = fixed.task("Validation | what the watch saw last, job %s" % JOB)["ansible_facts"]["validate_result"]
    assert watched["verdict"] == "passed", watched
    assert not journal(tmp_path).exists(), "the journal is closed once the hotfix is validated"

    again = changes_nothing(k8s, tmp_path, incident_mitigation="redeploy", incident_hotfix=HOTFIX)
    assert "no restart loop" in again.task("Report | summary")["msg"]
    assert len(upgrade_snapshots(k8s)) == 1


def test_a_restart_loop_stop_suspends_the_job_with_the_operators_savepoint_then_nothing(k8s, tmp_path):
    loop = looping(k8s, tmp_path)
    preview = play(k8s, PLAYBOOK, tmp_path, check=True, **extra(tmp_path, incident_mitigation="stop"))
    assert preview.rc == 0, preview.stdout[-3000:]
    msg = preview.task("Check mode | what would change")["msg"]
    assert "would be suspended with a savepoint" in msg and "hotfix" not in msg, msg
    assert real_writes(k8s) == [] and deployment(k8s)["spec"] == loop["spec"]

    stopped = play(k8s, PLAYBOOK, tmp_path, **extra(tmp_path, incident_mitigation="stop"))
    assert stopped.rc == 0, stopped.stdout[-3000:]
    fd = deployment(k8s)
    assert fd["spec"]["job"]["state"] == "suspended" and fd["spec"]["job"]["upgradeMode"] == "savepoint"
    assert fd["spec"]["image"] == loop["spec"]["image"], "stop only: the spec is the one that looped"
    assert fd["status"]["lifecycleState"] == "SUSPENDED" and fd["status"]["jobStatus"]["state"] == "SUSPENDED"
    (savepoint,) = upgrade_snapshots(k8s)
    kept = fd["status"]["jobStatus"]["upgradeSavepointPath"]
    assert kept and savepoint["status"] == dict(savepoint["status"], state="COMPLETED", path=kept)
    assert fd["status"]["jobStatus"]["savepointInfo"]["lastSavepoint"]["location"] == kept
    assert not journal(tmp_path).exists()

    again = changes_nothing(k8s, tmp_path, incident_mitigation="stop")
    assert "no restart loop" in again.task("Report | summary")["msg"]


KILL_POINTS = {
    # the operator suspended the looping job with its savepoint; the hotfix is not written yet
    "suspended": lambda k8s: deployment(k8s)["status"]["lifecycleState"] == "SUSPENDED",
    # the hotfix is written (it runs, so no loop is seen any more); its validation is not done
    "hotfix_written": lambda k8s: deployment(k8s)["spec"]["image"] == HOTFIX["image"],
}


@pytest.mark.parametrize("kill_at", sorted(KILL_POINTS))
def test_a_redeploy_killed_after_the_suspend_or_the_hotfix_write_is_finished_by_the_next_run(k8s, tmp_path, kill_at):
    loop = looping(k8s, tmp_path)
    redeploy = extra(tmp_path, incident_mitigation="redeploy", incident_hotfix=HOTFIX)
    proc = start_playbook(PLAYBOOK, fko_env(k8s, validation_seconds=10),
                          dict(redeploy, flinkops_manifest_dir=str(tmp_path / "manifests")),
                          log=tmp_path / "first.log", limit="fko_local")
    try:
        reached = wait_for(lambda: journal(tmp_path).exists() and KILL_POINTS[kill_at](k8s), proc, 120)
    finally:
        crash(proc)
    assert reached, (tmp_path / "first.log").read_text()[-3000:]
    fd = deployment(k8s)
    recorded = json.loads(journal(tmp_path).read_text())
    assert recorded["mitigation"] == "redeploy", recorded
    if kill_at == "suspended":
        assert fd["spec"]["job"]["state"] == "suspended" and fd["spec"]["image"] == loop["spec"]["image"], \
            "killed after the suspend, before the hotfix was written"
        assert recorded["phase"] in ("stop", "start"), recorded
    else:
        assert fd["spec"]["job"]["state"] == "running" and recorded["phase"] in ("start", "validate"), recorded
        assert recorded["state"] == fd["spec"]["job"]["initialSavepointPath"], recorded

    second = play(k8s, PLAYBOOK, tmp_path, **redeploy)
    assert second.rc == 0, second.stdout[-4000:]
    assert "finishing the redeploy" in second.task("Report | summary")["msg"]
    watched = second.task("Validation | what the watch saw last, job %s" % JOB)["ansible_facts"]["validate_result"]
    assert watched["verdict"] == "passed", watched
    (savepoint,) = upgrade_snapshots(k8s)  # one savepoint in all
    assert savepoint["status"]["path"] == recorded.get("state", savepoint["status"]["path"])
    hotfix_runs_from(k8s, savepoint["status"]["path"], loop["status"]["jobStatus"]["jobId"])
    assert not journal(tmp_path).exists()

    # a journal left by a redeploy whose hotfix runs unvalidated is finished only by a redeploy
    journal(tmp_path).write_text(json.dumps(dict(recorded, phase="validate", state=savepoint["status"]["path"])))
    writes = len(real_writes(k8s))
    wrong = play(k8s, PLAYBOOK, tmp_path, **extra(tmp_path, incident_mitigation="stop"))
    assert wrong.rc != 0 and "incident_mitigation=redeploy to finish it" in wrong.stdout
    assert len(real_writes(k8s)) == writes and running_stable(deployment(k8s))
    journal(tmp_path).unlink()

    changes_nothing(k8s, tmp_path, incident_mitigation="redeploy", incident_hotfix=HOTFIX)


def test_a_hotfix_that_loops_too_is_suspended_again_and_the_play_names_the_state(k8s, tmp_path):
    looping(k8s, tmp_path)
    k8s.inject("restart_loop", image=":2.0.1-hotfix", error="java.lang.IllegalStateException: the hotfix fails too")
    failed = play(k8s, PLAYBOOK, tmp_path, **extra(tmp_path, incident_mitigation="redeploy", incident_hotfix=HOTFIX))
    assert failed.rc != 0
    msg = failed.task("Rollback | fail with the cause and the state to restart from")["msg"]
    first, again = upgrade_snapshots(k8s)  # the looping job's savepoint, then the hotfix's
    assert first["status"]["state"] == again["status"]["state"] == "COMPLETED"
    assert "RESTARTING" in msg and "The job is suspended; its state is in %s" % first["status"]["path"] in msg, msg
    assert "restore_savepoint=%s" % first["status"]["path"] in msg, msg
    fd = deployment(k8s)
    assert fd["spec"]["image"] == HOTFIX["image"] and fd["spec"]["job"]["state"] == "suspended"
    assert fd["spec"]["job"]["initialSavepointPath"] == first["status"]["path"], "the hotfix started from it"
    assert fd["status"]["lifecycleState"] == "SUSPENDED" and fd["status"]["jobStatus"]["state"] == "SUSPENDED"
    assert not journal(tmp_path).exists()


def test_a_failed_job_the_operator_knows_no_savepoint_of_is_not_suspended(k8s, tmp_path):
    deployed(k8s, tmp_path)
    k8s.inject("fails_after", image=":2.0.0", after=0.1, error="java.lang.IllegalStateException: poison record")
    deadline = time.time() + 10
    while deployment(k8s)["status"]["jobStatus"]["state"] != "FAILED":
        assert time.time() < deadline, deployment(k8s)["status"]
        time.sleep(0.05)
    k8s.requests.clear()
    before = deployment(k8s)
    refused = play(k8s, PLAYBOOK, tmp_path, **extra(tmp_path, incident_mitigation="stop", incident_restart_threshold=1))
    assert refused.rc != 0
    msg = refused.task("Rollback | fail with the cause and the state to restart from")["msg"]
    assert "%s is FAILED and the operator knows no savepoint of it" % JOB in msg, msg
    assert "no state would be kept" in msg, msg
    assert "The job was not suspended, its state is untouched" in msg, msg
    assert real_writes(k8s) == [] and deployment(k8s)["spec"] == before["spec"]


def test_a_failed_job_is_stopped_from_the_last_savepoint_the_operator_knows(k8s, tmp_path):
    deployed(k8s, tmp_path)
    body = {"apiVersion": "flink.apache.org/v1beta1", "kind": "FlinkStateSnapshot",
            "metadata": {"name": JOB + "-manual"},
            "spec": {"backoffLimit": 1, "jobReference": {"kind": "FlinkDeployment", "name": JOB},
                     "savepoint": {"formatType": "CANONICAL", "disposeOnDelete": False}}}
    code, _snap = k8s.handle("POST", "/apis/flink.apache.org/v1beta1/namespaces/%s/flinkstatesnapshots" % NS,
                             json.dumps(body).encode(), {"Content-Type": "application/json"})
    assert code == 201
    deadline = time.time() + 10
    while not ((deployment(k8s)["status"]["jobStatus"].get("savepointInfo") or {}).get("lastSavepoint")):
        assert time.time() < deadline, snapshots(k8s)
        time.sleep(0.05)
    known = deployment(k8s)["status"]["jobStatus"]["savepointInfo"]["lastSavepoint"]["location"]
    k8s.inject("fails_after", image=":2.0.0", after=0.1, error="java.lang.IllegalStateException: poison record")
    while deployment(k8s)["status"]["jobStatus"]["state"] != "FAILED":
        assert time.time() < deadline + 10, deployment(k8s)["status"]
        time.sleep(0.05)
    k8s.requests.clear()
    stop = extra(tmp_path, incident_mitigation="stop", incident_restart_threshold=1)
    preview = play(k8s, PLAYBOOK, tmp_path, check=True, **stop)
    assert preview.rc == 0, preview.stdout[-3000:]
    assert "the last one it knows, %s" % known in preview.task("Check mode | what would change")["msg"]
    assert real_writes(k8s) == []

    stopped = play(k8s, PLAYBOOK, tmp_path, **stop)
    assert stopped.rc == 0, stopped.stdout[-3000:]
    fd = deployment(k8s)
    assert fd["spec"]["job"]["state"] == "suspended" and fd["status"]["lifecycleState"] == "SUSPENDED"
    assert fd["status"]["jobStatus"]["upgradeSavepointPath"] == known, "suspended from the savepoint it knew"
    assert upgrade_snapshots(k8s) == [], "the operator takes no savepoint of a FAILED job"
    changes_nothing(k8s, tmp_path, incident_mitigation="stop", incident_restart_threshold=1)
