"""The FKO branches of scale_job.yml, suspend_resume_job.yml, backup_state.yml, restore_state.yml and
health_report.yml (``-l fko_local``) against the fake Kubernetes API and its fake operator. Each: a
``--check --diff`` run that sends no write, a run, and a second run that changes nothing; a backup
whose snapshot FAILS ends with the job running and no snapshot deleted. The oracle is what the fake
API server holds afterwards.
"""
from __future__ import annotations

import json

import pytest

from tests.integration.ansible_run import start_playbook, wait_for
from tests.integration.test_fko_upgrade_playbook import (  # noqa: F401  pylint: disable=unused-import
    JOB, NS, deployed, deployment, fko_env, k8s, play, real_writes, running_stable, settled, snapshots, spec_puts)
from tests.support.crash import crash
from tests.support.fake_kubernetes import specs_dir

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not (specs_dir() / "flinkdeployments.flink.apache.org-v1.yml").is_file(),
                                 reason="the shared FKO specs are not checked out")]


def check_writes_nothing(k8s, tmp_path, playbook, **extra):
    before = len(real_writes(k8s))
    spec = deployment(k8s)["spec"]
    check = play(k8s, playbook, tmp_path, check=True, **extra)
    assert check.rc == 0, check.stdout[-3000:]
    assert len(real_writes(k8s)) == before and deployment(k8s)["spec"] == spec
    return check


def second_run_changes_nothing(k8s, tmp_path, playbook, **extra):
    before = len(real_writes(k8s))
    again = play(k8s, playbook, tmp_path, **extra)
    assert again.rc == 0, again.stdout[-3000:]
    assert again.changed_count() == 0, again
    assert len(real_writes(k8s)) == before
    return again


def test_scale_through_the_operators_savepoint(k8s, tmp_path):
    deployed(k8s, tmp_path)
    old = deployment(k8s)["status"]["jobStatus"]
    # the inventory declares parallelism 2; the job runs at 3 (someone scaled it by hand)
    k8s.handle("PATCH", "/apis/flink.apache.org/v1beta1/namespaces/%s/flinkdeployments/%s" % (NS, JOB),
               json.dumps({"spec": {"job": {"parallelism": 3}}}).encode(),
               {"Content-Type": "application/merge-patch+json"})
    k8s.requests.clear()
    check = check_writes_nothing(k8s, tmp_path, "scale_job.yml")
    planned = check.task("Procedure | write the declared spec; the operator stops the job with a savepoint and "
                         "starts it from it, %s" % JOB)
    assert planned["changed"] and planned["diff"]["after"]["spec"]["job"]["parallelism"] == 2
    assert planned["diff"]["after"]["spec"]["image"] == deployment(k8s)["spec"]["image"], "only the parallelism"
    run = play(k8s, "scale_job.yml", tmp_path)
    assert run.rc == 0, run.stdout[-3000:]
    fd = deployment(k8s)
    assert running_stable(fd) and fd["spec"]["job"]["parallelism"] == 2
    js = fd["status"]["jobStatus"]
    assert js["jobId"] != old["jobId"] and js["upgradeSavepointPath"]
    assert [s["status"]["state"] for s in snapshots(k8s).values()
            if s["status"]["path"] == js["upgradeSavepointPath"]] == ["COMPLETED"]
    watched = run.task("Validation | what the watch saw last, job %s" % JOB)["ansible_facts"]["validate_result"]
    assert watched["verdict"] == "passed", watched
    assert not (tmp_path / "manifests" / "local-fko" / ("%s.scale-journal.json" % JOB)).exists()
    second_run_changes_nothing(k8s, tmp_path, "scale_job.yml")


def test_a_rescale_that_fails_in_its_window_is_rolled_back_and_a_crashed_one_is_finished_by_the_next_run(k8s, tmp_path):
    deployed(k8s, tmp_path)
    journal = tmp_path / "manifests" / "local-fko" / ("%s.scale-journal.json" % JOB)
    # killed right after the new parallelism was written: the next run validates it
    proc = start_playbook("scale_job.yml", fko_env(k8s, validation_seconds=10),
                          {"flinkops_manifest_dir": str(tmp_path / "manifests"), "fko_local_parallelism": 3},
                          log=tmp_path / "first.log", limit="fko_local")
    try:
        reached = wait_for(lambda: journal.exists() and deployment(k8s)["spec"]["job"]["parallelism"] == 3, proc, 120)
    finally:
        crash(proc)
    assert reached, (tmp_path / "first.log").read_text()[-3000:]
    again = play(k8s, "scale_job.yml", tmp_path, fko_local_parallelism=3)
    assert again.rc == 0, again.stdout[-3000:]
    watched = again.task("Validation | what the watch saw last, job %s" % JOB)["ansible_facts"]["validate_result"]
    assert watched["verdict"] == "passed", "the validation the crashed run missed was run"
    fd = deployment(k8s)
    assert running_stable(fd) and fd["spec"]["job"]["parallelism"] == 3 and not journal.exists()

    # a parallelism at which the job fails in the window: back to the previous one, from the same savepoint
    k8s.inject("fails_after", parallelism=4, after=1.5, error="java.lang.OutOfMemoryError: Java heap space")
    failed = play(k8s, "scale_job.yml", tmp_path, fko_local_parallelism=4, flink_validation_seconds=6,
                  fko_stable_seconds=0)
    assert failed.rc != 0
    cause = failed.task("Rollback | fail with the cause")
    assert "parallelism 4 failed validation and was rolled back" in cause["msg"] and "Java heap space" in cause["msg"]
    fd = deployment(k8s)
    assert running_stable(fd) and fd["spec"]["job"]["parallelism"] == 3 and not journal.exists()


def test_suspend_keeps_the_state_in_a_savepoint_and_resume_starts_from_it(k8s, tmp_path):
    deployed(k8s, tmp_path)
    check_writes_nothing(k8s, tmp_path, "suspend_resume_job.yml", action="suspend", job=JOB)
    down = play(k8s, "suspend_resume_job.yml", tmp_path, action="suspend", job=JOB)
    assert down.rc == 0, down.stdout[-3000:]
    fd = deployment(k8s)
    assert fd["spec"]["job"]["state"] == "suspended"
    assert fd["status"]["lifecycleState"] == "SUSPENDED" and fd["status"]["jobStatus"]["state"] == "SUSPENDED"
    kept = fd["status"]["jobStatus"]["upgradeSavepointPath"]
    assert kept and fd["status"]["jobStatus"]["savepointInfo"]["lastSavepoint"]["location"] == kept
    second_run_changes_nothing(k8s, tmp_path, "suspend_resume_job.yml", action="suspend", job=JOB)

    check_writes_nothing(k8s, tmp_path, "suspend_resume_job.yml", action="resume", job=JOB)
    up = play(k8s, "suspend_resume_job.yml", tmp_path, action="resume", job=JOB)
    assert up.rc == 0, up.stdout[-3000:]
    fd = deployment(k8s)
    assert running_stable(fd) and fd["status"]["jobStatus"]["upgradeSavepointPath"] == kept
    second_run_changes_nothing(k8s, tmp_path, "suspend_resume_job.yml", action="resume", job=JOB)


def resume_journal(tmp_path):
    return tmp_path / "manifests" / "local-fko" / ("%s.resume-journal.json" % JOB)


def suspended_with_its_savepoint(k8s, tmp_path):
    deployed(k8s, tmp_path)
    down = play(k8s, "suspend_resume_job.yml", tmp_path, action="suspend", job=JOB)
    assert down.rc == 0, down.stdout[-3000:]
    return deployment(k8s)["status"]["jobStatus"]["upgradeSavepointPath"]


def test_a_resume_that_fails_in_its_window_is_suspended_again_from_the_same_savepoint(k8s, tmp_path):
    """Repro: the resume was checked once, when the operator called it STABLE; a job failing 1.5 s later
    passed (rc 0). The job is now watched through the window, and a FAILED job is suspended again from
    the savepoint it was resumed from (the operator cannot take a savepoint of a FAILED job)."""
    kept = suspended_with_its_savepoint(k8s, tmp_path)
    snaps = snapshots(k8s)
    k8s.inject("fails_after", image=":2.0.0", after=1.5, error="java.lang.IllegalStateException: poison record")
    up = play(k8s, "suspend_resume_job.yml", tmp_path, action="resume", job=JOB, flink_validation_seconds=6,
              fko_stable_seconds=0)
    assert up.rc != 0
    cause = up.task("Rollback | fail with the cause, %s" % JOB)["msg"]
    assert "poison record" in cause and "It was suspended again; its state stays in savepoint %s" % kept in cause, cause
    fd = deployment(k8s)
    assert fd["spec"]["job"]["state"] == "suspended" and fd["status"]["lifecycleState"] == "SUSPENDED"
    assert fd["status"]["jobStatus"]["upgradeSavepointPath"] == kept, "suspended from the savepoint it resumed from"
    assert snapshots(k8s).keys() == snaps.keys(), "no snapshot taken or deleted"
    assert not resume_journal(tmp_path).exists()


def test_a_resume_crashed_before_its_validation_is_validated_by_the_next_run(k8s, tmp_path):
    kept = suspended_with_its_savepoint(k8s, tmp_path)
    proc = start_playbook("suspend_resume_job.yml", fko_env(k8s, validation_seconds=10),
                          {"flinkops_manifest_dir": str(tmp_path / "manifests"), "action": "resume", "job": JOB},
                          log=tmp_path / "first.log", limit="fko_local")
    try:
        reached = wait_for(lambda: resume_journal(tmp_path).exists() and running_stable(deployment(k8s)), proc, 120)
    finally:
        crash(proc)
    assert reached, (tmp_path / "first.log").read_text()[-3000:]
    assert json.loads(resume_journal(tmp_path).read_text())["resume_from"] == kept
    again = play(k8s, "suspend_resume_job.yml", tmp_path, action="resume", job=JOB)
    assert again.rc == 0, again.stdout[-3000:]
    watched = again.task("Validation | what the watch saw last, job %s" % JOB)["ansible_facts"]["validate_result"]
    assert watched["verdict"] == "passed", "the validation the crashed run missed was run"
    fd = deployment(k8s)
    assert running_stable(fd) and fd["status"]["jobStatus"]["upgradeSavepointPath"] == kept
    assert not resume_journal(tmp_path).exists()
    second_run_changes_nothing(k8s, tmp_path, "suspend_resume_job.yml", action="resume", job=JOB)


def test_a_resume_that_loses_the_race_to_another_run_suspends_nothing_again(k8s, tmp_path):
    """Repro of the race the CI met on scale_cluster: a run whose write met another run's change wrote
    nothing, but its rescue undid that change (here: suspended again the job the other run resumed)."""
    kept = suspended_with_its_savepoint(k8s, tmp_path)
    k8s.inject("race_on_put", name=JOB, patch={"spec": {"job": {"state": "running"}}})
    lost = play(k8s, "suspend_resume_job.yml", tmp_path, action="resume", job=JOB)
    assert lost.rc != 0
    msg = lost.task("Rollback | none, this run wrote nothing: another run changed it first, %s" % JOB)["msg"]
    assert "changed by someone else" in msg and "suspends nothing again" in msg, msg
    settled(k8s)
    fd = deployment(k8s)
    assert fd["spec"]["job"]["state"] == "running", "the other run's resume was left alone"
    assert fd["status"]["jobStatus"]["upgradeSavepointPath"] == kept
    assert len(spec_puts(k8s)) == 2, "the suspend and the refused resume, nothing after"

    again = play(k8s, "suspend_resume_job.yml", tmp_path, action="resume", job=JOB)
    assert again.rc == 0, again.stdout[-3000:]
    watched = again.task("Validation | what the watch saw last, job %s" % JOB)["ansible_facts"]["validate_result"]
    assert watched["verdict"] == "passed" and not resume_journal(tmp_path).exists()
    assert running_stable(deployment(k8s)) and len(spec_puts(k8s)) == 2


def test_a_restore_that_loses_the_race_to_another_run_rolls_nothing_back_and_the_next_run_finishes_it(k8s, tmp_path):
    chosen = backed_up(k8s, tmp_path)
    # another restore suspended the job first
    k8s.inject("race_on_put", name=JOB, patch={"spec": {"job": {"state": "suspended"}}})
    lost = play(k8s, "restore_state.yml", tmp_path, restore_job=JOB, restore_replace_running=True)
    assert lost.rc != 0
    msg = lost.task("Rollback | none, this run wrote nothing: another run changed it first, %s" % JOB)["msg"]
    assert "changed by someone else" in msg and "rolls nothing back" in msg, msg
    assert len(spec_puts(k8s)) == 1, "only the refused suspend"

    again = play(k8s, "restore_state.yml", tmp_path, restore_job=JOB, restore_replace_running=True)
    assert again.rc == 0, [(t["_task"], t.get("msg")) for t in again.tasks if t.get("failed")]
    fd = deployment(k8s)
    assert running_stable(fd) and fd["spec"]["job"]["initialSavepointPath"] == chosen
    assert len(upgrade_snapshots(k8s)) == 1, "the replaced job was suspended once, by the other run"
    assert not (tmp_path / "manifests" / "local-fko" / ("%s.restore-journal.json" % JOB)).exists()


def test_backup_then_restore_from_it_and_a_failed_snapshot_deletes_nothing(k8s, tmp_path):
    deployed(k8s, tmp_path)
    check_writes_nothing(k8s, tmp_path, "backup_state.yml")
    assert snapshots(k8s) == {}
    backup = play(k8s, "backup_state.yml", tmp_path)
    assert backup.rc == 0, backup.stdout[-3000:]
    (snap,) = snapshots(k8s).values()
    assert snap["metadata"]["name"].startswith(JOB + "-backup-") and snap["status"]["state"] == "COMPLETED"
    assert snap["spec"]["jobReference"] == {"kind": "FlinkDeployment", "name": JOB}
    (manifest,) = (tmp_path / "manifests" / "local-fko").glob("backup-*.json")
    recorded = json.loads(manifest.read_text())["savepoints"]
    assert [(e["job"], e["savepoint"]) for e in recorded] == [(JOB, snap["status"]["path"])]
    second_run_changes_nothing(k8s, tmp_path, "backup_state.yml")  # the fresh backup is reused

    # restore: the running job is replaced only when asked, after a snapshot of its own state
    refused = play(k8s, "restore_state.yml", tmp_path, restore_job=JOB)
    assert refused.rc != 0 and "restore_replace_running=true" in refused.stdout
    check_writes_nothing(k8s, tmp_path, "restore_state.yml", restore_job=JOB, restore_replace_running=True)
    restore = play(k8s, "restore_state.yml", tmp_path, restore_job=JOB, restore_replace_running=True)
    assert restore.rc == 0, [(t["_task"], t.get("msg")) for t in restore.tasks if t.get("failed")]
    fd = deployment(k8s)
    assert running_stable(fd)
    assert fd["status"]["jobStatus"]["upgradeSavepointPath"] == snap["status"]["path"]
    assert fd["spec"]["job"]["initialSavepointPath"] == snap["status"]["path"]
    # the operator suspended the replaced job with a savepoint first (the rollback's), and deleted nothing
    kept = [s for s in snapshots(k8s).values() if s["metadata"]["labels"].get("snapshot.type") == "UPGRADE"]
    assert len(kept) == 1 and kept[0]["status"]["state"] == "COMPLETED"
    second_run_changes_nothing(k8s, tmp_path, "restore_state.yml", restore_job=JOB, restore_replace_running=True)

    # a snapshot that FAILS: the backup fails with the operator's reason, the job runs, nothing is deleted
    k8s.inject("snapshot_fails", name=JOB + "-backup-", error="CheckpointException: Checkpoint expired before completing")
    before = set(snapshots(k8s))
    failed = play(k8s, "backup_state.yml", tmp_path, flink_backup_max_age=0)
    assert failed.rc != 0
    assert "Checkpoint expired before completing" in failed.stdout
    assert before < set(snapshots(k8s))
    assert running_stable(deployment(k8s))


def backed_up(k8s, tmp_path):
    """The job deployed and backed up by backup_state.yml: the path of its backup snapshot."""
    deployed(k8s, tmp_path)
    backup = play(k8s, "backup_state.yml", tmp_path)
    assert backup.rc == 0, backup.stdout[-3000:]
    (snap,) = snapshots(k8s).values()
    return snap["status"]["path"]


def upgrade_snapshots(k8s):
    """The savepoints the operator took when it suspended the job (the rollback's)."""
    return [s for s in snapshots(k8s).values() if s["metadata"]["labels"].get("snapshot.type") == "UPGRADE"]


RESTORE_KILL_POINTS = {
    # the operator suspended the replaced job with its savepoint; the start is not written yet
    "suspended": lambda k8s, chosen: deployment(k8s)["status"].get("jobStatus", {}).get("state") == "SUSPENDED",
    # the start from the chosen savepoint is written; the run is waiting for it or validating it
    "start_written": lambda k8s, chosen: deployment(k8s)["spec"]["job"].get("initialSavepointPath") == chosen,
}


def crashed_restore(k8s, tmp_path, kill_at, chosen):
    journal = tmp_path / "manifests" / "local-fko" / ("%s.restore-journal.json" % JOB)
    proc = start_playbook("restore_state.yml", fko_env(k8s, validation_seconds=10),
                          {"flinkops_manifest_dir": str(tmp_path / "manifests"), "restore_job": JOB,
                           "restore_replace_running": True}, log=tmp_path / "first.log", limit="fko_local")
    try:
        reached = wait_for(lambda: journal.exists() and RESTORE_KILL_POINTS[kill_at](k8s, chosen), proc, 120)
    finally:
        crash(proc)
    assert reached, (tmp_path / "first.log").read_text()[-3000:]
    return journal


@pytest.mark.parametrize("kill_at", sorted(RESTORE_KILL_POINTS))
def test_a_restore_crashed_at_any_step_is_finished_by_the_next_run(k8s, tmp_path, kill_at):
    chosen = backed_up(k8s, tmp_path)
    journal = crashed_restore(k8s, tmp_path, kill_at, chosen)

    again = play(k8s, "restore_state.yml", tmp_path, restore_job=JOB, restore_replace_running=True)
    assert again.rc == 0, [(t["_task"], t.get("msg")) for t in again.tasks if t.get("failed")]
    watched = again.task("Validation | what the watch saw last, job %s" % JOB)["ansible_facts"]["validate_result"]
    assert watched["verdict"] == "passed", "the validation the crashed run missed was run"
    fd = deployment(k8s)
    assert running_stable(fd) and fd["spec"]["job"]["initialSavepointPath"] == chosen
    assert fd["status"]["jobStatus"]["upgradeSavepointPath"] == chosen
    kept = upgrade_snapshots(k8s)
    assert len(kept) == 1 and kept[0]["status"]["state"] == "COMPLETED", "the replaced job was suspended once"
    assert not journal.exists()
    second_run_changes_nothing(k8s, tmp_path, "restore_state.yml", restore_job=JOB, restore_replace_running=True)


def test_a_restore_crashed_before_its_validation_fails_it_and_the_next_run_rolls_it_back(k8s, tmp_path):
    chosen = backed_up(k8s, tmp_path)
    before = deployment(k8s)["spec"]
    # the job started from the chosen savepoint fails 1.5 s into its run
    k8s.inject("fails_after", savepoint=chosen, after=1.5,
               error="java.lang.IllegalStateException: incompatible state of operator counter")
    journal = crashed_restore(k8s, tmp_path, "start_written", chosen)

    again = play(k8s, "restore_state.yml", tmp_path, restore_job=JOB, restore_replace_running=True,
                 fko_stable_seconds=0, flink_validation_seconds=6)
    assert again.rc != 0
    cause = again.task("Rollback | fail with the cause")["msg"]
    (kept,) = upgrade_snapshots(k8s)
    assert "restore of %s from %s failed" % (JOB, chosen) in cause and "incompatible state" in cause, cause
    assert "it runs again from its own savepoint %s" % kept["status"]["path"] in cause, cause
    fd = deployment(k8s)
    assert running_stable(fd) and fd["spec"]["job"]["initialSavepointPath"] == kept["status"]["path"]
    assert fd["spec"]["image"] == before["image"] and not journal.exists()


def test_health_report_from_the_job_records(k8s, tmp_path):
    deployed(k8s, tmp_path)
    check = play(k8s, "health_report.yml", tmp_path, check=True,
                 flinkops_report_dir=str(tmp_path / "reports"))
    assert check.rc == 0, check.stdout[-3000:]
    report = play(k8s, "health_report.yml", tmp_path, flinkops_report_dir=str(tmp_path / "reports"))
    assert report.rc == 0, report.stdout[-3000:]
    assert report.changed_count() == 0 and real_writes(k8s) == []
    (written,) = (tmp_path / "reports" / "local-fko").glob("health-*.md")
    text = written.read_text()
    assert JOB in text and "RUNNING" in text
