"""playbooks/deploy_job.yml and upgrade_job.yml run as a user runs them (`-l local`), against a
real Flink, with faults injected. Every assertion on the end state comes from Flink itself."""
from __future__ import annotations

import json
import pathlib
import threading
import time

import pytest

from tests.integration.ansible_run import run_playbook
from tests.integration.local_inventory import JOB, job_decl, running_version

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def test_upgrade_keeps_state_and_second_runs_change_nothing(local_env):
    api, env = local_env["api"], local_env["env"]
    again = run_playbook("deploy_job.yml", "local", {"local_job_version": "1.0.0"}, env)
    assert again.rc == 0 and again.changed_count() == 0

    res = run_playbook("upgrade_job.yml", "local", None, env)
    assert res.rc == 0, res.stdout[-3000:]
    jobs = api.active_jobs(JOB)
    assert len(jobs) == 1 and jobs[0]["jid"] != local_env["v1_job"]
    assert running_version(api, jobs[0]["jid"]) == "2.0.0"
    assert api.job(local_env["v1_job"])["state"] == "FINISHED"
    manifests = list((local_env["dir"] / "manifests" / "local-flink").glob(f"{JOB}-*.json"))
    assert len(manifests) == 1
    manifest = json.loads(manifests[0].read_text())
    assert api.restored_path(jobs[0]["jid"]) == manifest["savepoint"]
    assert manifest["previous_spec"]["version"] == "1.0.0"

    second = run_playbook("upgrade_job.yml", "local", None, env)
    assert second.rc == 0 and second.changed_count() == 0, second
    assert [j["jid"] for j in api.active_jobs(JOB)] == [jobs[0]["jid"]]


UPGRADE_TASK = "Procedure | stop with a savepoint (or cancel, for last-state) and start the declared version of stateful-counter"


def savepoint_format_flink_took(api, job_id, location):
    """The format of the savepoint at ``location``, as Flink records it in the stopped job's history."""
    history = api.get("/jobs/%s/checkpoints" % job_id)["history"]
    (entry,) = [h for h in history if h.get("is_savepoint") and h.get("external_path") == location]
    return entry["savepointFormat"]


def test_upgrade_takes_a_native_savepoint_when_the_state_backend_stays_and_a_canonical_one_when_it_changes(local_env):
    """NATIVE (faster to write and to restore) unless the state backend changes: a NATIVE savepoint
    cannot be restored on another backend (RELIABILITY B14). The new job starts with NO_CLAIM, so
    the savepoint of each upgrade is still there for a rollback."""
    api, env, base = local_env["api"], local_env["env"], local_env["dir"]
    rocksdb = {"state.backend.type": "rocksdb"}

    change = [dict(job_decl(base, "stateful-v2.jar", "2.0.0")[0], flink_configuration=rocksdb)]
    res = run_playbook("upgrade_job.yml", "local", {"flink_jobs": change}, env)
    assert res.rc == 0, res.stdout[-3000:]
    upgrade = res.task(UPGRADE_TASK)
    assert upgrade["savepoint_format"] == {
        "format": "CANONICAL", "reason": "the state backend changes from HashMapStateBackend to "
                                         "EmbeddedRocksDBStateBackend: CANONICAL, the only format another state "
                                         "backend restores"}, upgrade["savepoint_format"]
    first = upgrade["savepoint"]["location"]
    assert savepoint_format_flink_took(api, local_env["v1_job"], first) == "CANONICAL"
    (second_job,) = api.active_jobs(JOB)
    assert api.restored_path(second_job["jid"]) == first
    assert api.get("/jobs/%s/checkpoints/config" % second_job["jid"])["state_backend"] == "EmbeddedRocksDBStateBackend"

    keep = [dict(job_decl(base, "stateful-v1.jar", "3.0.0")[0], flink_configuration=rocksdb)]
    res = run_playbook("upgrade_job.yml", "local", {"flink_jobs": keep}, env)
    assert res.rc == 0, res.stdout[-3000:]
    upgrade = res.task(UPGRADE_TASK)
    assert upgrade["savepoint_format"]["format"] == "NATIVE", upgrade["savepoint_format"]
    second = upgrade["savepoint"]["location"]
    assert savepoint_format_flink_took(api, second_job["jid"], second) == "NATIVE"
    (third_job,) = api.active_jobs(JOB)
    assert running_version(api, third_job["jid"]) == "3.0.0" and api.restored_path(third_job["jid"]) == second
    for location in (first, second):
        path = location.replace("file://", "").replace("file:", "")
        assert (pathlib.Path(path) / "_metadata").is_file(), "NO_CLAIM kept " + location


def test_new_version_failing_at_start_is_rolled_back(local_env):
    api, env = local_env["api"], local_env["env"]
    res = run_playbook("upgrade_job.yml", "local",
                       {"flink_jobs": job_decl(local_env["dir"], "failing.jar", "3.0.0")}, env)
    assert res.rc != 0
    assert "failing at start on purpose" in res.stdout
    jobs = api.active_jobs(JOB)
    assert len(jobs) == 1 and jobs[0]["state"] == "RUNNING"
    assert running_version(api, jobs[0]["jid"]) == "1.0.0"
    restored = api.restored_path(jobs[0]["jid"])
    assert restored and "savepoint-" in restored
    upgrade = res.task(UPGRADE_TASK)
    assert upgrade["savepoint"]["location"] == restored, "rolled back from the same savepoint"


def test_new_version_failing_validation_is_rolled_back(local_env):
    """A version that fails 4 s after it starts is rolled back at its first exception, long before
    the end of its 300 s validation window."""
    api, env = local_env["api"], local_env["env"]
    res = run_playbook("upgrade_job.yml", "local",
                       {"flink_jobs": job_decl(local_env["dir"], "stateful-v2.jar", "2.0.0-flaky",
                                               ["--fail-after-ms", "4000"])},
                       {**env, "FLINKOPS_VALIDATION_SECONDS": "300"})
    assert res.rc != 0
    upgrade = res.task("Procedure | stop with a savepoint (or cancel, for last-state) and start the declared version of stateful-counter")
    location = upgrade["savepoint"]["location"]
    jobs = api.active_jobs(JOB)
    assert len(jobs) == 1 and jobs[0]["state"] == "RUNNING"
    assert running_version(api, jobs[0]["jid"]) == "1.0.0"
    assert api.restored_path(jobs[0]["jid"]) == location
    if upgrade.get("failed"):
        pytest.fail("the new version failed inside the module gate; this test needs it to fail during validation")
    assert "failed validation and was rolled back" in res.stdout
    verdict = res.task("Validation | what the watch saw last, job %s" % JOB)["ansible_facts"]["validate_result"]
    assert verdict["verdict"] == "failed" and verdict["elapsed_seconds"] < 300, verdict
    assert "new exception" in verdict["reason"] or "is FAILED" in verdict["reason"], verdict
    # ended: cancelled by the rollback, or FAILED on its own first (3 restarts of 4 s while the
    # validation waits up to flink_validation_recovery_seconds for it to run again)
    assert api.job(upgrade["job"]["id"])["state"] in ("CANCELED", "FAILED")


def test_savepoint_failure_stops_the_play_and_leaves_the_job_running(local_env):
    api, env, base = local_env["api"], local_env["env"], local_env["dir"]
    (base / "afile").write_text("a directory cannot be created below a file")
    res = run_playbook("upgrade_job.yml", "local", {"flink_savepoint_dir": f"file://{base}/afile/sp"}, env)
    assert res.rc != 0
    assert "savepoint of job" in res.stdout and "failed" in res.stdout
    jobs = api.active_jobs(JOB)
    assert [j["jid"] for j in jobs] == [local_env["v1_job"]], "nothing was cancelled, nothing new started"
    assert api.job(local_env["v1_job"])["state"] == "RUNNING"
    assert running_version(api, local_env["v1_job"]) == "1.0.0"


def test_endpoint_lost_after_the_savepoint_then_a_rerun_completes_from_it(local_env, flink_cluster):
    """Kill the JobManager as soon as the savepoint is recorded: the play fails clearly; once the
    JobManager is back, a re-run starts the new version from that savepoint and takes no second one."""
    api, env, base = local_env["api"], local_env["env"], local_env["dir"]
    journal = base / "manifests" / "local-flink" / f"{JOB}.journal.json"
    killed = threading.Event()

    def kill_when_savepoint_recorded():
        deadline = time.time() + 120
        while time.time() < deadline and not killed.is_set():
            try:
                if "savepoint" in json.loads(journal.read_text()):
                    flink_cluster.kill_jobmanager()
                    killed.set()
                    return
            except (OSError, ValueError):
                pass
            time.sleep(0.005)

    watcher = threading.Thread(target=kill_when_savepoint_recorded, daemon=True)
    watcher.start()
    try:
        # the JobManager stays down: ride through it for 15 s, not the default 120, then fail
        first = run_playbook("upgrade_job.yml", "local", None, {**env, "FLINKOPS_FAILOVER_TIMEOUT": "15"})
        watcher.join(5)
        assert killed.is_set(), "the JobManager was never killed"
        assert first.rc != 0
        recorded = json.loads(journal.read_text())["savepoint"]
        assert recorded in first.stdout, "the failure names the savepoint that holds the state"
    finally:
        killed.set()
        if not flink_cluster.is_up():
            flink_cluster.start_jobmanager()
    savepoints = sorted(p.name for p in (base / "flink" / "savepoints").iterdir())
    assert len(savepoints) == 1

    second = run_playbook("upgrade_job.yml", "local", None, env)
    assert second.rc == 0, second.stdout[-3000:]
    jobs = api.active_jobs(JOB)
    assert len(jobs) == 1 and running_version(api, jobs[0]["jid"]) == "2.0.0"
    assert api.restored_path(jobs[0]["jid"]) == recorded
    assert sorted(p.name for p in (base / "flink" / "savepoints").iterdir()) == savepoints, "no second savepoint"
    assert not journal.exists()

    third = run_playbook("upgrade_job.yml", "local", None, env)
    assert third.rc == 0 and third.changed_count() == 0


FLEET = ("fleet-a", "fleet-b", "fleet-c")
WATCH = "Validation | read every job, every few seconds, until a verdict is in: "


def fleet_decl(base, version, jar="stateful-v1.jar", flaky=()):
    return [{"name": name, "version": version, "jar": str(base / "jars" / jar), "parallelism": 1,
             "args": ["--name", name, *(["--fail-after-ms", "4000"] if name in flaky else [])]} for name in FLEET]


def test_a_fleet_is_upgraded_in_one_wave_and_a_failing_job_is_rolled_back_alone(local_env):
    """Three jobs upgraded by one run: their validation windows overlap (one watch of all three), the
    one whose new version fails is rolled back alone from its own savepoint while the two others end
    upgraded, and the play fails naming it. With flink_concurrency=1 the next run goes one job at a time."""
    api, env, base = local_env["api"], local_env["env"], local_env["dir"]
    api.cancel_all()  # 4 slots: three jobs at parallelism 1
    short = {**env, "FLINKOPS_VALIDATION_SECONDS": "3"}
    res = run_playbook("deploy_job.yml", "local", {"flink_jobs": fleet_decl(base, "1.0.0")}, short)
    assert res.rc == 0, res.stdout[-3000:]
    before = {name: api.active_jobs(name)[0]["jid"] for name in FLEET}

    upgrade = fleet_decl(base, "2.0.0", "stateful-v2.jar", flaky=("fleet-b",))
    res = run_playbook("upgrade_job.yml", "local", {"flink_jobs": upgrade},
                       {**env, "FLINKOPS_VALIDATION_SECONDS": "12"})
    assert res.rc != 0, "a job rolled back fails the play"
    watched = [t["_task"].split(": ")[-1] for t in res.tasks if t["_task"].startswith(WATCH)]
    assert watched[0] == "fleet-a, fleet-b, fleet-c", watched
    savepoints = {}
    for name in FLEET:
        call = res.task("Procedure | stop with a savepoint (or cancel, for last-state) and start the declared version of %s" % name)
        savepoints[name] = call["savepoint"]["location"]
        assert call["previous_job_id"] == before[name]
    verdicts = {name: res.task("Validation | what the watch saw last, job %s" % name)["ansible_facts"]["validate_result"]
                for name in FLEET}
    assert verdicts["fleet-b"]["verdict"] == "failed" and verdicts["fleet-b"]["elapsed_seconds"] < 12, verdicts
    assert verdicts["fleet-a"]["verdict"] == verdicts["fleet-c"]["verdict"] == "passed", verdicts
    # the windows overlapped: the last job's window started before the first one's ended
    starts = {name: verdicts[name]["run"]["started"] for name in FLEET}
    assert max(starts.values()) - min(starts.values()) < 12, starts
    for name, version in (("fleet-a", "2.0.0"), ("fleet-b", "1.0.0"), ("fleet-c", "2.0.0")):
        (job,) = api.active_jobs(name)
        assert job["state"] == "RUNNING" and running_version(api, job["jid"]) == version, (name, job)
        assert api.restored_path(job["jid"]) == savepoints[name], "each job from its own savepoint"
    final = res.task("Report | every job ended as declared, upgrade_job")
    assert "1 of 3 job(s)" in final["msg"] and "fleet-b 2.0.0 failed validation and was rolled back" in final["msg"]
    assert savepoints["fleet-b"] in final["msg"]
    assert not list((base / "manifests" / "local-flink").glob("*.journal.json")), "every journal closed"

    # the next run, one job at a time: fleet-b stays at 1.0.0, the two others go to 3.0.0
    again = fleet_decl(base, "3.0.0", "stateful-v1.jar")
    again[1]["version"] = "1.0.0"
    res = run_playbook("upgrade_job.yml", "local", {"flink_jobs": again, "flink_concurrency": 1}, short)
    assert res.rc == 0, res.stdout[-3000:]
    watched = [t["_task"].split(": ")[-1] for t in res.tasks if t["_task"].startswith(WATCH)]
    assert watched == ["fleet-a", "fleet-c"], watched
    assert [running_version(api, api.active_jobs(name)[0]["jid"]) for name in FLEET] == ["3.0.0", "1.0.0", "3.0.0"]
    report = res.task("Report | every job's outcome, upgrade_job")["msg"]
    assert [row.split(" | ")[1] for row in report[2:]] == ["upgraded", "unchanged", "upgraded"], report


def last_state_decl(base, jar, version, retention="RETAIN_ON_CANCELLATION", backend="rocksdb", mode="last-state"):
    """The test job on RocksDB with incremental checkpoints, upgraded with ``upgrade_mode: last-state``."""
    conf = {"state.backend.type": backend, "execution.checkpointing.incremental": "true",
            "execution.checkpointing.externalized-checkpoint-retention": retention}
    entry = dict(job_decl(base, jar, version)[0], flink_configuration=conf)
    if mode:
        entry["flink"] = {"upgrade_mode": mode}
    return [entry]


def test_a_last_state_upgrade_restores_from_the_retained_checkpoint_and_is_refused_when_that_cannot_carry_the_state(
        local_env):
    """upgrade_mode: last-state (RELIABILITY B4, B15): no savepoint is written; the job is cancelled and the new
    version restored from the checkpoint the cancel retained; a failing new version is rolled back from that same
    checkpoint; and it is refused, with nothing changed, when the state backend changes or the checkpoints are
    deleted on cancel."""
    api, env, base = local_env["api"], local_env["env"], local_env["dir"]
    task = "Procedure | stop with a savepoint (or cancel, for last-state) and start the declared version of " + JOB

    # a hashmap checkpoint cannot be restored on RocksDB: refused, the job untouched
    res = run_playbook("upgrade_job.yml", "local", {"flink_jobs": last_state_decl(base, "stateful-v2.jar", "2.0.0")}, env)
    assert res.rc != 0
    assert "refusing the last-state upgrade of job " + JOB in res.stdout, res.stdout[-3000:]
    assert "state backend changes from HashMapStateBackend to EmbeddedRocksDBStateBackend" in res.stdout
    assert [j["jid"] for j in api.active_jobs(JOB)] == [local_env["v1_job"]]
    assert api.job(local_env["v1_job"])["state"] == "RUNNING"

    # onto RocksDB with a savepoint, the way it has to be
    res = run_playbook("upgrade_job.yml", "local",
                       {"flink_jobs": last_state_decl(base, "stateful-v2.jar", "2.0.0", mode=None)}, env)
    assert res.rc == 0, res.stdout[-3000:]
    (on_rocksdb,) = api.active_jobs(JOB)
    savepoints_before = sorted(p.name for p in (base / "flink" / "savepoints").glob("savepoint-*"))
    assert savepoints_before, "the savepoint upgrade wrote into flink_savepoint_dir"

    # a last-state upgrade to a version that fails at start: rolled back from the same retained checkpoint
    res = run_playbook("upgrade_job.yml", "local", {"flink_jobs": last_state_decl(base, "failing.jar", "3.0.0")}, env)
    assert res.rc != 0 and "failing at start on purpose" in res.stdout
    assert api.job(on_rocksdb["jid"])["state"] == "CANCELED", "cancelled, not stopped with a savepoint"
    (rolled_back,) = api.active_jobs(JOB)
    assert running_version(api, rolled_back["jid"]) == "2.0.0"
    checkpoint = api.restored_path(rolled_back["jid"])
    assert f"/{on_rocksdb['jid']}/chk-" in checkpoint, checkpoint
    failed = res.task(task)
    assert failed["failed"] and failed["checkpoint"]["location"] == checkpoint
    assert failed["rolled_back"]["ok"] is True

    # a last-state upgrade that works: restored from the checkpoint its cancel retained, no savepoint
    res = run_playbook("upgrade_job.yml", "local",
                       {"flink_jobs": last_state_decl(base, "stateful-v2.jar", "2.1.0", "DELETE_ON_CANCELLATION")}, env)
    assert res.rc == 0, res.stdout[-3000:]
    upgrade = res.task(task)
    assert upgrade["upgrade_mode"] == "last-state" and "savepoint" not in upgrade, upgrade
    assert upgrade["restore_point"]["kind"] == "checkpoint" and upgrade["previous_job_id"] == rolled_back["jid"]
    (upgraded,) = api.active_jobs(JOB)
    assert running_version(api, upgraded["jid"]) == "2.1.0"
    restored = api.restored_path(upgraded["jid"])
    assert restored == upgrade["checkpoint"]["location"] and f"/{rolled_back['jid']}/chk-" in restored, restored
    assert api.job(rolled_back["jid"])["state"] == "CANCELED"
    chk = restored.replace("file://", "").replace("file:", "")
    assert (pathlib.Path(chk) / "_metadata").is_file(), "the checkpoint is still there for a rollback (NO_CLAIM)"
    after = sorted(p.name for p in (base / "flink" / "savepoints").glob("savepoint-*"))
    assert after == savepoints_before, "no savepoint written by either last-state upgrade"
    report = "\n".join(res.task("Report | every job's outcome, upgrade_job")["msg"])
    assert "version 2.0.0 -> 2.1.0 from a retained checkpoint (last-state)" in report, report

    # its checkpoints are deleted on cancel now: refused, the job untouched
    res = run_playbook("upgrade_job.yml", "local",
                       {"flink_jobs": last_state_decl(base, "stateful-v2.jar", "2.2.0", "DELETE_ON_CANCELLATION")}, env)
    assert res.rc != 0 and "deleted when it is cancelled" in res.stdout, res.stdout[-3000:]
    assert [j["jid"] for j in api.active_jobs(JOB)] == [upgraded["jid"]]
    assert running_version(api, upgraded["jid"]) == "2.1.0"
