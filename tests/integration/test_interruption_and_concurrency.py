"""Safety under interruption and concurrency (issue "Safety under interruption, concurrency,
leader failover and dry runs"), against a real Flink with real ``ansible-playbook`` runs.

* The controller is crashed (the whole process tree frozen, then SIGKILLed) at each step the
  upgrade journal knows about, and at the moment Flink reports the old job FINISHED; the
  next run must converge: one job per name at the declared version, restored from the one
  savepoint, the missed validation redone, the journal closed, and a third run unchanged.
* Two runs of the same recipe at once, from one controller (one journal) and from two (two
  journals, so only the cluster can arbitrate): one job, one savepoint.

Every assertion on the end state comes from Flink's REST API and the savepoint directory.
"""
from __future__ import annotations

import json

import pytest

from tests.integration.ansible_run import run_playbook, start_playbook, wait_for
from tests.integration.local_inventory import JOB, job_decl, running_version
from tests.support.crash import crash

pytestmark = [pytest.mark.slow, pytest.mark.integration]

UPGRADE_TASK = "Procedure | stop with a savepoint (or cancel, for last-state) and start the declared version of stateful-counter"


def journal_of(base):
    return base / "manifests" / "local-flink" / f"{JOB}.journal.json"


def read_journal(base):
    try:
        return json.loads(journal_of(base).read_text())
    except (OSError, ValueError):
        return None


def savepoints(base):
    directory = base / "flink" / "savepoints"
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


KILL_POINTS = {
    # the trigger id is journaled; the savepoint may not even have been asked for yet
    "trigger_recorded": lambda api, base, v1: "trigger_id" in (read_journal(base) or {}),
    # Flink shows the old job FINISHED: the savepoint is complete, the journal may not know where it is
    "old_job_finished": lambda api, base, v1: api.job(v1)["state"] == "FINISHED",
    "savepoint_recorded": lambda api, base, v1: "savepoint" in (read_journal(base) or {}),
    "new_job_submitted": lambda api, base, v1: any(j["jid"] != v1 for j in api.active_jobs(JOB)),
    "validation_window": lambda api, base, v1: (read_journal(base) or {}).get("phase") == "validate",
}


@pytest.mark.parametrize("moment", sorted(KILL_POINTS))
def test_a_run_crashed_at_any_step_is_finished_by_the_next_run(local_env, moment):
    api, env, base, v1 = local_env["api"], local_env["env"], local_env["dir"], local_env["v1_job"]
    proc = start_playbook("upgrade_job.yml", env, log=base / "first.log")
    try:
        reached = wait_for(lambda: KILL_POINTS[moment](api, base, v1), proc)
    finally:
        crash(proc)
    assert reached, "the run never reached %s: %s" % (moment, (base / "first.log").read_text()[-2000:])
    taken = savepoints(base)

    second = run_playbook("upgrade_job.yml", "local", None, env)
    assert second.rc == 0, second.stdout[-4000:]
    jobs = api.active_jobs(JOB)
    assert len(jobs) == 1, "exactly one job of that name: %s" % jobs
    assert jobs[0]["state"] == "RUNNING" and running_version(api, jobs[0]["jid"]) == "2.0.0"
    assert len(savepoints(base)) == 1, "one savepoint in all: %s" % savepoints(base)
    assert not taken or savepoints(base) == taken, "the savepoint of the crashed run was used, no second one"
    restored = api.restored_path(jobs[0]["jid"])
    assert restored and restored.endswith(savepoints(base)[0])
    upgrade = second.task(UPGRADE_TASK)
    assert upgrade["changed"], "the second run did the rest of the upgrade (or its validation)"
    validated = second.task("Validation | what the watch saw last, job %s" % JOB)["ansible_facts"]["validate_result"]
    assert validated["verdict"] == "passed", "the validation the crashed run missed was run: %s" % validated
    assert not journal_of(base).exists(), "the journal is closed once validated"

    third = run_playbook("upgrade_job.yml", "local", None, env)
    assert third.rc == 0 and third.changed_count() == 0, third.stdout[-3000:]
    assert [j["jid"] for j in api.active_jobs(JOB)] == [jobs[0]["jid"]]


LAST_STATE_KILL_POINTS = {
    # Flink shows the old job CANCELED: the job is down, its checkpoint retained, the journal may not name it
    "old_job_cancelled": lambda api, v1: api.job(v1)["state"] == "CANCELED",
    "new_job_submitted": lambda api, v1: any(j["jid"] != v1 for j in api.active_jobs(JOB)),
}


@pytest.mark.parametrize("moment", sorted(LAST_STATE_KILL_POINTS))
def test_a_last_state_upgrade_crashed_after_the_cancel_is_finished_from_the_retained_checkpoint(local_env, moment):
    """upgrade_mode: last-state, the controller killed once the old job is cancelled (or the new one submitted):
    the next run starts (or verifies) the new version from the checkpoint that cancel retained, no savepoint."""
    api, env, base, v1 = local_env["api"], local_env["env"], local_env["dir"], local_env["v1_job"]
    decl = {"flink_jobs": [dict(job_decl(base, "stateful-v2.jar", "2.0.0")[0], flink={"upgrade_mode": "last-state"})]}
    proc = start_playbook("upgrade_job.yml", env, decl, log=base / "first.log")
    try:
        reached = wait_for(lambda: LAST_STATE_KILL_POINTS[moment](api, v1), proc)
    finally:
        crash(proc)
    assert reached, "the run never reached %s: %s" % (moment, (base / "first.log").read_text()[-2000:])
    assert api.job(v1)["state"] == "CANCELED"

    second = run_playbook("upgrade_job.yml", "local", decl, env)
    assert second.rc == 0, second.stdout[-4000:]
    (job,) = api.active_jobs(JOB)
    assert job["state"] == "RUNNING" and running_version(api, job["jid"]) == "2.0.0"
    assert f"/{v1}/chk-" in api.restored_path(job["jid"]), "from the checkpoint the cancel retained"
    assert savepoints(base) == [], "a last-state upgrade writes no savepoint"
    upgrade = second.task(UPGRADE_TASK)
    assert upgrade["changed"] and upgrade["restore_point"]["kind"] == "checkpoint", upgrade
    assert not journal_of(base).exists()
    third = run_playbook("upgrade_job.yml", "local", decl, env)
    assert third.rc == 0 and third.changed_count() == 0, third.stdout[-3000:]


def test_a_run_crashed_in_the_validation_of_a_bad_version_is_rolled_back_by_the_next_run(local_env):
    """Repro: killed during the validation window of a version that fails after some seconds, the
    re-run used to report changed=0 while the bad version kept restarting."""
    api, env, base, v1 = local_env["api"], local_env["env"], local_env["dir"], local_env["v1_job"]
    flaky = {"flink_jobs": job_decl(base, "stateful-v2.jar", "2.0.0-flaky", ["--fail-after-ms", "12000"])}
    proc = start_playbook("upgrade_job.yml", env, flaky, log=base / "first.log")
    try:
        reached = wait_for(lambda: (read_journal(base) or {}).get("phase") == "validate", proc)
    finally:
        crash(proc)
    assert reached, (base / "first.log").read_text()[-2000:]

    second = run_playbook("upgrade_job.yml", "local", flaky, {**env, "FLINKOPS_VALIDATION_SECONDS": "20"})
    assert second.rc != 0, "the bad version fails the validation the crashed run missed"
    assert "rolled back" in second.stdout
    jobs = api.active_jobs(JOB)
    assert len(jobs) == 1 and running_version(api, jobs[0]["jid"]) == "1.0.0"
    assert api.restored_path(jobs[0]["jid"]).endswith(savepoints(base)[0]), "from the pre-upgrade savepoint"
    assert len(savepoints(base)) == 1
    assert not journal_of(base).exists()


def _two_at_once(playbook, env, base, extra=(None, None)):
    logs = [base / "run-a.log", base / "run-b.log"]
    procs = [start_playbook(playbook, env, extra[i], log=logs[i]) for i in range(2)]
    for proc in procs:
        proc.wait(600)
    return [p.returncode for p in procs], [log.read_text() for log in logs]


def test_two_upgrades_at_once_from_one_controller_make_one_job(local_env):
    api, env, base, v1 = local_env["api"], local_env["env"], local_env["dir"], local_env["v1_job"]
    rcs, logs = _two_at_once("upgrade_job.yml", env, base)
    jobs = api.active_jobs(JOB)
    assert len(jobs) == 1 and running_version(api, jobs[0]["jid"]) == "2.0.0", (jobs, logs)
    assert len(savepoints(base)) == 1, savepoints(base)
    assert 0 in rcs, logs
    for rc, log in zip(rcs, logs):
        if rc != 0:  # the loser names the run in progress and changed nothing
            assert "another run is already working on job stateful-counter" in log and "pid" in log, log[-3000:]
            assert "Unknown error" not in log
    assert not journal_of(base).exists()


def test_two_upgrades_at_once_from_two_controllers_make_one_job(local_env):
    """Two journals (two controllers): only the cluster can arbitrate, through the fenced ids."""
    api, env, base, v1 = local_env["api"], local_env["env"], local_env["dir"], local_env["v1_job"]
    dirs = [{"flinkops_manifest_dir": str(base / name)} for name in ("controller-a", "controller-b")]
    rcs, logs = _two_at_once("upgrade_job.yml", env, base, dirs)
    jobs = api.active_jobs(JOB)
    assert len(jobs) == 1 and running_version(api, jobs[0]["jid"]) == "2.0.0", (jobs, logs)
    assert len(savepoints(base)) == 1, "one savepoint: the second run joined the first one's trigger"
    assert rcs == [0, 0], logs
    assert api.job(v1)["state"] == "FINISHED"


def test_two_last_state_upgrades_at_once_from_two_controllers_make_one_job_from_one_checkpoint(local_env):
    """upgrade_mode: last-state from two controllers at once: whichever run comes second finds the job
    RUNNING at the new version, or cancelled with its retained checkpoint, and joins the first one's job."""
    api, env, base, v1 = local_env["api"], local_env["env"], local_env["dir"], local_env["v1_job"]
    jobs = [dict(job_decl(base, "stateful-v2.jar", "2.0.0")[0], flink={"upgrade_mode": "last-state"})]
    extra = [{"flinkops_manifest_dir": str(base / name), "flink_jobs": jobs} for name in ("controller-a", "controller-b")]
    rcs, logs = _two_at_once("upgrade_job.yml", env, base, extra)
    (job,) = api.active_jobs(JOB)
    assert running_version(api, job["jid"]) == "2.0.0", logs
    assert f"/{v1}/chk-" in api.restored_path(job["jid"]), "from the checkpoint the cancel retained"
    assert rcs == [0, 0], logs
    assert api.job(v1)["state"] == "CANCELED" and savepoints(base) == []
    since = api.job(v1)["start-time"]  # the session cluster keeps the jobs of earlier tests
    started = [j for j in api.get("/jobs/overview")["jobs"] if j["name"] == JOB and j["start-time"] > since]
    assert [j["jid"] for j in started] == [job["jid"]], "one new job in all, none started from empty state"


def test_two_deploys_at_once_make_one_job(local_env):
    api, env, base = local_env["api"], local_env["env"], local_env["dir"]
    api.cancel_all()
    rcs, logs = _two_at_once("deploy_job.yml", env, base, ({"local_job_version": "1.0.0"},) * 2)
    jobs = api.active_jobs(JOB)
    assert len(jobs) == 1 and running_version(api, jobs[0]["jid"]) == "1.0.0", (jobs, logs)
    assert rcs == [0, 0], logs
    for log in logs:
        assert "Unknown error" not in log


SCALE_KILL_POINTS = {
    "old_job_finished": lambda api, base, v1: api.job(v1)["state"] == "FINISHED",
    "validation_window": lambda api, base, v1: (read_journal(base) or {}).get("phase") == "validate",
}


@pytest.mark.parametrize("moment", sorted(SCALE_KILL_POINTS))
def test_a_rescale_crashed_at_any_step_is_finished_by_the_next_run(local_env, moment):
    """Default scheduler: the rescale goes through a savepoint, so a crash can leave the job down."""
    api, env, base, v1 = local_env["api"], local_env["env"], local_env["dir"], local_env["v1_job"]
    wider = {"local_job_version": "1.0.0", "flink_jobs": [dict(job_decl(base, "stateful-v1.jar", "1.0.0")[0],
                                                               parallelism=3)]}
    proc = start_playbook("scale_job.yml", env, wider, log=base / "first.log")
    try:
        reached = wait_for(lambda: SCALE_KILL_POINTS[moment](api, base, v1), proc)
    finally:
        crash(proc)
    assert reached, (base / "first.log").read_text()[-2000:]

    second = run_playbook("scale_job.yml", "local", wider, env)
    assert second.rc == 0, second.stdout[-4000:]
    jobs = api.active_jobs(JOB)
    assert len(jobs) == 1 and max(api.vertex_parallelism(jobs[0]["jid"])) == 3, jobs
    assert running_version(api, jobs[0]["jid"]) == "1.0.0"
    assert len(savepoints(base)) == 1 and api.restored_path(jobs[0]["jid"]).endswith(savepoints(base)[0])
    assert not journal_of(base).exists()
    third = run_playbook("scale_job.yml", "local", wider, env)
    assert third.rc == 0 and third.changed_count() == 0, third.stdout[-3000:]


def test_two_rescales_at_once_make_one_job(local_env):
    api, env, base = local_env["api"], local_env["env"], local_env["dir"]
    wider = {"local_job_version": "1.0.0", "flink_jobs": [dict(job_decl(base, "stateful-v1.jar", "1.0.0")[0],
                                                               parallelism=3)]}
    rcs, logs = _two_at_once("scale_job.yml", env, base, (wider, wider))
    jobs = api.active_jobs(JOB)
    assert len(jobs) == 1 and max(api.vertex_parallelism(jobs[0]["jid"])) == 3, (jobs, logs)
    assert len(savepoints(base)) == 1, savepoints(base)
    assert 0 in rcs, logs
    for rc, log in zip(rcs, logs):
        if rc != 0:
            assert "another run is already working on job stateful-counter" in log, log[-3000:]


def test_two_backups_at_once_take_one_savepoint(local_env):
    api, env, base, v1 = local_env["api"], local_env["env"], local_env["dir"], local_env["v1_job"]
    dirs = [{"flinkops_manifest_dir": str(base / name)} for name in ("controller-a", "controller-b")]
    rcs, logs = _two_at_once("backup_state.yml", env, base, dirs)
    assert rcs == [0, 0], logs
    assert len(savepoints(base)) == 1, "the two backups share one savepoint: %s" % savepoints(base)
    assert [j["jid"] for j in api.active_jobs(JOB)] == [v1], "a backup never touches the job"


def test_a_backup_crashed_before_its_manifest_is_finished_by_the_next_run_with_the_same_savepoint(local_env):
    api, env, base, v1 = local_env["api"], local_env["env"], local_env["dir"], local_env["v1_job"]
    proc = start_playbook("backup_state.yml", env, log=base / "first.log")
    try:
        reached = wait_for(lambda: bool(savepoints(base)), proc)
    finally:
        crash(proc)
    assert reached, (base / "first.log").read_text()[-2000:]
    taken = savepoints(base)
    second = run_playbook("backup_state.yml", "local", None, env)
    assert second.rc == 0, second.stdout[-3000:]
    assert savepoints(base) == taken, "the crashed run's savepoint is reused, no second one"
    manifests = list((base / "manifests" / "local-flink").glob("backup-*.json"))
    assert len(manifests) == 1
    (entry,) = json.loads(manifests[0].read_text())["savepoints"]
    assert entry["savepoint"].rstrip("/").endswith(taken[0])
    assert [j["jid"] for j in api.active_jobs(JOB)] == [v1]


def test_a_suspend_crashed_after_the_stop_is_recorded_by_the_rerun_and_resumed_from_its_savepoint(local_env):
    """The newest state of a suspended job is the savepoint it was stopped with, even when the crashed
    suspend never recorded it: a resume must not go back to an older backup."""
    api, env, base, v1 = local_env["api"], local_env["env"], local_env["dir"], local_env["v1_job"]
    backup = run_playbook("backup_state.yml", "local", None, env)
    assert backup.rc == 0, backup.stdout[-3000:]
    older = savepoints(base)
    proc = start_playbook("suspend_resume_job.yml", env, {"action": "suspend", "job": JOB}, log=base / "first.log")
    try:
        reached = wait_for(lambda: api.job(v1)["state"] == "FINISHED", proc)
    finally:
        crash(proc)
    assert reached, (base / "first.log").read_text()[-2000:]
    (stop_savepoint,) = [name for name in savepoints(base) if name not in older]

    again = run_playbook("suspend_resume_job.yml", "local", {"action": "suspend", "job": JOB}, env)
    assert again.rc == 0, again.stdout[-3000:]
    recorded = [json.loads(p.read_text()) for p in (base / "manifests" / "local-flink").glob("suspend-*.json")]
    assert [m["savepoints"][0]["savepoint"].endswith(stop_savepoint) for m in recorded] == [True]
    third = run_playbook("suspend_resume_job.yml", "local", {"action": "suspend", "job": JOB}, env)
    assert third.rc == 0 and third.changed_count() == 0, third.stdout[-3000:]

    resume = run_playbook("suspend_resume_job.yml", "local", {"action": "resume", "job": JOB}, env)
    assert resume.rc == 0, resume.stdout[-3000:]
    (job,) = api.active_jobs(JOB)
    assert api.restored_path(job["jid"]).endswith(stop_savepoint), "resumed from the newest state"


RESTORE_KILL_POINTS = {
    # the running job is stopped with its rollback savepoint; the restored one is not started yet
    "old_job_finished": lambda api, v1: api.job(v1)["state"] == "FINISHED",
    "restored_job_submitted": lambda api, v1: any(j["jid"] != v1 for j in api.active_jobs(JOB)),
}


def _backup_then_restore_vars(api, env, base):
    backup = run_playbook("backup_state.yml", "local", None, env)
    assert backup.rc == 0, backup.stdout[-3000:]
    (manifest,) = (base / "manifests" / "local-flink").glob("backup-*.json")
    (entry,) = json.loads(manifest.read_text())["savepoints"]
    return entry["savepoint"], {"restore_job": JOB, "restore_replace_running": True}


@pytest.mark.parametrize("moment", sorted(RESTORE_KILL_POINTS))
def test_a_restore_crashed_at_any_step_is_finished_by_the_next_run(local_env, moment):
    api, env, base, v1 = local_env["api"], local_env["env"], local_env["dir"], local_env["v1_job"]
    backup, restore = _backup_then_restore_vars(api, env, base)
    proc = start_playbook("restore_state.yml", env, restore, log=base / "first.log")
    try:
        reached = wait_for(lambda: RESTORE_KILL_POINTS[moment](api, v1), proc)
    finally:
        crash(proc)
    assert reached, (base / "first.log").read_text()[-2000:]

    second = run_playbook("restore_state.yml", "local", restore, env)
    assert second.rc == 0, second.stdout[-4000:]
    (job,) = api.active_jobs(JOB)
    assert job["state"] == "RUNNING" and job["jid"] != v1
    assert api.restored_path(job["jid"]) == backup, "restored from the chosen savepoint"
    third = run_playbook("restore_state.yml", "local", restore, env)
    assert third.rc == 0 and third.changed_count() == 0, third.stdout[-3000:]
    assert [j["jid"] for j in api.active_jobs(JOB)] == [job["jid"]]


def test_two_restores_at_once_make_one_job(local_env):
    api, env, base, v1 = local_env["api"], local_env["env"], local_env["dir"], local_env["v1_job"]
    backup, restore = _backup_then_restore_vars(api, env, base)
    rcs, logs = _two_at_once("restore_state.yml", env, base, (restore, restore))
    assert rcs == [0, 0], logs
    (job,) = api.active_jobs(JOB)
    assert job["jid"] != v1 and api.restored_path(job["jid"]) == backup
