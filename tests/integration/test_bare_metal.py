"""Bare-metal Flink with ZooKeeper HA, for real: roles/zookeeper, roles/flink and the playbooks
provision_bare_metal.yml, scale_cluster.yml and upgrade_flink.yml on an inventory of several
hosts that all live on this machine (tests/support/baremetal.py): one ZooKeeper, two
JobManagers, two TaskManagers (then three), each with its own directories, ports and JVM.

The tests run in file order against one cluster (module scope), as an operator would:
provision, lose the leading JobManager, scale, upgrade Flink 2.2.1 -> 2.3.0, then fail an
upgrade. Every assertion on the outcome comes from what the processes and Flink report.
"""
from __future__ import annotations

import json
import os
import pathlib
import shutil
import signal
import subprocess
import time

import pytest
import requests

from tests.integration.ansible_run import FlinkApi, run_tasks
from tests.support.baremetal import BareMetal, run_playbook, stop_processes

pytestmark = [pytest.mark.slow, pytest.mark.integration]

OLD, NEW, BROKEN = "2.2.1", "2.3.0", "2.3.1"
JOB = "stateful-counter"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, test_jars):
    if shutil.which("java") is None or not pathlib.Path("/usr/share/java/zookeeper.jar").exists():
        pytest.skip("needs java and the Debian zookeeper package (apt-get install zookeeperd)")
    from tests.support.flink_archive import broken_flink_archive, flink_archive

    workdir = tmp_path_factory.mktemp("baremetal")
    archives = {OLD: flink_archive(OLD), NEW: flink_archive(NEW), BROKEN: broken_flink_archive(BROKEN, NEW)}
    (workdir / "jars").mkdir()
    for key in ("v1", "v2"):
        shutil.copy(test_jars[key], workdir / "jars")
    metal = BareMetal(workdir, archives, OLD)
    metal.write_inventory()
    try:
        yield metal
    finally:
        left = stop_processes(workdir)
        assert not left, f"processes survived SIGKILL: {left}"


def api_of(metal: BareMetal) -> FlinkApi:
    """The REST API of a JobManager that answers (any of them serves the leader's view)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for url in metal.rest_urls:
            try:
                requests.get(url + "/overview", timeout=3).raise_for_status()
                return FlinkApi(url)
            except requests.RequestException:
                continue
        time.sleep(1)
    raise AssertionError("no JobManager answers")


def all_pids(metal: BareMetal) -> dict:
    pids = {h: metal.pids(h, "jobmanager") for h in metal.jobmanagers}
    pids.update({h: metal.pids(h, "taskmanager") for h in metal.taskmanagers})
    return pids


def wait_for(predicate, timeout: float, what: str, interval: float = 1.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except (requests.RequestException, KeyError, IndexError, ValueError) as exc:
            last = exc
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def completed_checkpoints(api: FlinkApi, job_id: str) -> int:
    return api.checkpoints(job_id)["counts"]["completed"]


def current_release(metal: BareMetal, host: str) -> str:
    return os.readlink(metal.host_dir(host) / "opt" / "flink" / "current").rsplit("/", 1)[-1]


def test_provision_from_nothing_then_second_run_changes_nothing(cluster):
    first = run_playbook("provision_bare_metal.yml", cluster.inventory)
    assert first.rc == 0, first.stdout[-4000:]

    # one ZooKeeper serving, two JobManagers and two TaskManagers, each its own JVM
    assert len(cluster.pids("zk1", "zookeeper")) == 1
    pids = all_pids(cluster)
    assert all(len(p) == 1 for p in pids.values()), pids
    api = api_of(cluster)
    overview = api.get("/overview")
    assert overview["flink-version"] == OLD
    assert overview["taskmanagers"] == 2 and overview["slots-total"] == 4
    config = {e["key"]: e["value"] for e in api.get("/jobmanager/config")}
    assert config["high-availability.type"] == "zookeeper"
    assert config["high-availability.zookeeper.quorum"] == f"127.0.0.1:{cluster.ports['zk1']['client']}"
    assert cluster.leader() in cluster.jobmanagers

    # the smoke test ran a job and stopped it with a savepoint that exists on disk
    savepoint = first.task("Smoke test | stop it with a savepoint")["savepoint"]["location"]
    assert pathlib.Path(savepoint.replace("file:", "", 1), "_metadata").exists()
    smoke = api.job(first.task("Smoke test | run the smoke-test job until it has completed a checkpoint")["job"]["id"])
    assert smoke["state"] == "FINISHED"

    # each daemon serves its Prometheus metrics on its own port
    metrics = requests.get(f"http://127.0.0.1:{cluster.ports['jm1']['prom']}/metrics", timeout=10).text
    assert "flink_jobmanager" in metrics

    # the control scripts the roles install are clean shell
    if shutil.which("shellcheck"):
        scripts = [cluster.host_dir(h) / "bin" / ("zookeeperctl" if h.startswith("zk") else "flinkctl")
                   for h in cluster.zookeepers + cluster.jobmanagers + cluster.taskmanagers]
        check = subprocess.run(["shellcheck", "-S", "info", *map(str, scripts)], capture_output=True, text=True,
                               check=False)
        assert check.returncode == 0, check.stdout

    second = run_playbook("provision_bare_metal.yml", cluster.inventory)
    assert second.rc == 0, second.stdout[-4000:]
    assert second.changed_count() == 0, [(t["_task"], t["_host"]) for t in second.tasks if t.get("changed")]
    assert all_pids(cluster) == pids, "a second run must not restart any daemon"


def test_standby_jobmanager_takes_over_and_the_job_continues_from_its_checkpoint(cluster):
    api = api_of(cluster)
    res = run_tasks([{"name": "r", "register": "r", "flinkops.cookbook.flink_job": {
        "name": JOB, "jar": str(cluster.workdir / "jars" / "stateful-v1.jar"), "version": "1.0.0",
        "args": ["--name", JOB], "parallelism": 2}}], api.url)
    assert res.rc == 0, res.stdout[-3000:]
    job_id = res.task("r")["job"]["id"]
    wait_for(lambda: completed_checkpoints(api, job_id) >= 2, 120, "two checkpoints")

    leader = cluster.leader()
    standby = next(h for h in cluster.jobmanagers if h != leader)
    for pid in cluster.pids(leader, "jobmanager"):
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not cluster.pids(leader, "jobmanager"), 20, "the killed JobManager to exit")

    survivor = FlinkApi(f"http://127.0.0.1:{cluster.ports[standby]['rest']}")

    def recovered():
        job = survivor.job(job_id)
        restored = (survivor.checkpoints(job_id).get("latest") or {}).get("restored")
        return job["state"] == "RUNNING" and restored and restored["id"] > 0 and not restored["is_savepoint"] \
            and restored

    restored = wait_for(recovered, 240, "the standby to recover the job from its checkpoint", interval=2)
    assert cluster.leader() == standby
    assert [j["jid"] for j in survivor.active_jobs(JOB)] == [job_id], "same job, not a new one"
    before = completed_checkpoints(survivor, job_id)
    wait_for(lambda: completed_checkpoints(survivor, job_id) > before, 120, "a checkpoint after the failover")
    assert restored["external_path"].startswith(f"file:{cluster.checkpoint_dir}")

    # the playbook brings the lost JobManager back (as a standby) and changes nothing else
    again = run_playbook("provision_bare_metal.yml", cluster.inventory)
    assert again.rc == 0, again.stdout[-4000:]
    assert len(cluster.pids(leader, "jobmanager")) == 1
    assert [j["jid"] for j in survivor.active_jobs(JOB)] == [job_id]


def test_add_a_taskmanager_then_change_slots_one_taskmanager_at_a_time(cluster):
    api = api_of(cluster)
    job_id = api.active_jobs(JOB)[0]["jid"]
    before = all_pids(cluster)

    new_host = cluster.add_taskmanager()
    cluster.write_inventory()
    grow = run_playbook("scale_cluster.yml", cluster.inventory)
    assert grow.rc == 0, grow.stdout[-4000:]
    overview = api.get("/overview")
    assert overview["taskmanagers"] == 3 and overview["slots-total"] == 6
    after = all_pids(cluster)
    assert len(after[new_host]) == 1
    assert {h: after[h] for h in before} == before, "adding a TaskManager restarts nothing"
    assert [j["jid"] for j in api.active_jobs(JOB)] == [job_id]
    assert not [t for t in grow.tasks if t["_task"] == "Scale | savepoint of each job" and not t.get("skipped")]

    # more slots per TaskManager: each TaskManager restarts in turn, after a savepoint of the job
    cluster.write_inventory({"flink_taskmanager_slots": 3})
    slots = run_playbook("scale_cluster.yml", cluster.inventory)
    assert slots.rc == 0, slots.stdout[-4000:]
    overview = api.get("/overview")
    assert overview["taskmanagers"] == 3 and overview["slots-total"] == 9
    restarted = all_pids(cluster)
    assert all(restarted[h] != after[h] for h in cluster.taskmanagers), "every TaskManager restarted"
    assert all(restarted[h] == after[h] for h in cluster.jobmanagers), "no JobManager restarted"
    savepoints = [t for t in slots.tasks if t["_task"] == "Scale | savepoint of each job" and not t.get("skipped")]
    assert len(savepoints) == 3, "one savepoint of the job before each TaskManager restart"
    for task in savepoints:
        location = task["results"][0]["savepoint"]["location"]
        assert pathlib.Path(location.replace("file:", "", 1), "_metadata").exists()
    assert [j["jid"] for j in api.active_jobs(JOB)] == [job_id], "the job kept running (same job id)"
    assert api.job(job_id)["state"] == "RUNNING"

    again = run_playbook("scale_cluster.yml", cluster.inventory)
    assert again.rc == 0 and again.changed_count() == 0, again


def test_remove_a_taskmanager_after_a_savepoint(cluster):
    api = api_of(cluster)
    job_id = api.active_jobs(JOB)[0]["jid"]
    before = all_pids(cluster)
    removed = cluster.taskmanagers[-1]
    cluster.host_vars[removed] = {"flink_service_state": "stopped"}
    cluster.write_inventory({"flink_taskmanager_slots": 3})
    res = run_playbook("scale_cluster.yml", cluster.inventory)
    assert res.rc == 0, res.stdout[-4000:]
    overview = api.get("/overview")
    assert overview["taskmanagers"] == 2 and overview["slots-total"] == 6
    after = all_pids(cluster)
    assert after[removed] == [], "the removed TaskManager's JVM is gone"
    assert {h: p for h, p in after.items() if h != removed} == {h: p for h, p in before.items() if h != removed}
    savepoints = [t for t in res.tasks if t["_task"] == "Scale | savepoint of each job" and not t.get("skipped")]
    assert [t["_host"] for t in savepoints] == [removed], "one savepoint, before the removal only"
    assert [j["jid"] for j in api.active_jobs(JOB)] == [job_id]
    assert api.job(job_id)["state"] == "RUNNING"


def test_upgrade_flink_keeps_the_jobs_state_and_a_second_run_changes_nothing(cluster):
    """Two jobs: --check --diff first changes nothing; then both are stopped with savepoints at once
    (async), the cluster switched, both started at once from their own savepoints and watched together."""
    api = api_of(cluster)
    old_job = api.active_jobs(JOB)[0]["jid"]
    second_job = JOB + "-b"
    res = run_tasks([{"name": "r", "register": "r", "flinkops.cookbook.flink_job": {
        "name": second_job, "jar": str(cluster.workdir / "jars" / "stateful-v1.jar"), "version": "1.0.0",
        "args": ["--name", second_job], "parallelism": 1}}], api.url)
    assert res.rc == 0, res.stdout[-3000:]
    old_second = res.task("r")["job"]["id"]
    wait_for(lambda: completed_checkpoints(api, old_second) >= 1, 120, "a checkpoint of the second job")
    cluster.version = NEW
    cluster.write_inventory({"flink_taskmanager_slots": 3, "flink_upgrade_validation_seconds": 5})

    dry = run_playbook("upgrade_flink.yml", cluster.inventory, args=("--check", "--diff"))
    assert dry.rc == 0, dry.stdout[-5000:]
    plan = dry.task("Check mode | what the upgrade would do")["msg"]
    assert f"Flink {OLD} -> {NEW} would stop 2 job(s)" in plan and "Nothing was changed" in plan, plan
    assert api.get("/overview")["flink-version"] == OLD
    assert sorted(j["jid"] for j in api.active_jobs()) == sorted([old_job, old_second]), "--check touched no job"
    assert all(current_release(cluster, h) == f"flink-{OLD}" for h in cluster.jobmanagers + cluster.taskmanagers)

    res = run_playbook("upgrade_flink.yml", cluster.inventory)
    assert res.rc == 0, res.stdout[-5000:]
    stops = res.task("Upgrade | stop-with-savepoint, every job at once")
    assert len(stops["results"]) == 2 and all(r["ansible_job_id"] and r["started"] for r in stops["results"]), \
        "both stops were sent before either was waited for"
    starts = res.task("Resume | start each job from its savepoint, all at once")
    assert len(starts["results"]) == 2 and all(r["ansible_job_id"] for r in starts["results"])
    watched = [t["_task"] for t in res.tasks if t["_task"].startswith("Validation | read every job")]
    assert watched and watched[0].split(": ")[-1] in (f"{JOB}, {second_job}", f"{second_job}, {JOB}"), watched

    api = api_of(cluster)
    assert api.get("/overview")["flink-version"] == NEW
    assert api.get("/overview")["taskmanagers"] == 2
    assert cluster.pids(cluster.taskmanagers[-1], "taskmanager") == [], "a removed TaskManager stays stopped"
    for host in cluster.jobmanagers + cluster.taskmanagers:
        assert current_release(cluster, host) == f"flink-{NEW}"
        assert (cluster.host_dir(host) / "opt" / "flink" / f"flink-{OLD}" / "bin").is_dir(), "old release kept"
    manifest = json.loads(next((cluster.workdir / "manifests").glob("flink-upgrade-*.json")).read_text())
    assert manifest["from"] == OLD and manifest["to"] == NEW
    savepoint = manifest["jobs"][0]["savepoint"]
    jobs = api.active_jobs(JOB)
    assert len(jobs) == 1 and jobs[0]["jid"] != old_job and jobs[0]["state"] == "RUNNING"
    assert api.restored_path(jobs[0]["jid"]) == savepoint, "the new job started from the stop-with-savepoint"
    assert completed_checkpoints(api, jobs[0]["jid"]) >= 1
    (second,) = api.active_jobs(second_job)
    (second_savepoint,) = [j["savepoint"] for j in manifest["jobs"] if j["name"] == second_job]
    assert second["jid"] != old_second and api.restored_path(second["jid"]) == second_savepoint != savepoint
    verdicts = [t for t in res.tasks if t["_task"].startswith("Validation | what the watch saw last, job ")]
    assert sorted(v["ansible_facts"]["validate_result"]["verdict"] for v in verdicts) == ["passed", "passed"], verdicts

    again = run_playbook("upgrade_flink.yml", cluster.inventory)
    assert again.rc == 0 and again.changed_count() == 0, again
    assert [j["jid"] for j in api.active_jobs(JOB)] == [jobs[0]["jid"]]
    # the later tests of this file work on one job
    cancel = {"name": second_job, "state": "cancelled", "allow_state_loss": True}
    res = run_tasks([{"name": "r", "flinkops.cookbook.flink_job": cancel}], api.url)
    assert res.rc == 0, res.stdout[-3000:]


def test_failed_upgrade_rolls_back_to_the_old_release_with_the_jobs_running(cluster):
    api = api_of(cluster)
    before_job = api.active_jobs(JOB)[0]["jid"]

    # an archive that does not even unpack as a release: refused before any job is touched
    garbage = cluster.workdir / "flink-9.9.9.tgz"
    garbage.write_bytes(b"not an archive\n")
    cluster.archives["9.9.9"] = str(garbage)
    cluster.version = "9.9.9"
    cluster.write_inventory({"flink_taskmanager_slots": 3})
    refused = run_playbook("upgrade_flink.yml", cluster.inventory)
    assert refused.rc != 0
    assert [j["jid"] for j in api.active_jobs(JOB)] == [before_job], "the job was not touched"
    assert all(current_release(cluster, h) == f"flink-{NEW}" for h in cluster.jobmanagers + cluster.taskmanagers)

    # a release that unpacks but cannot start: stopped jobs, switched, failed, rolled back
    manifests_before = set((cluster.workdir / "manifests").glob("flink-upgrade-*.json"))
    cluster.version = BROKEN
    cluster.write_inventory({"flink_taskmanager_slots": 3, "flink_upgrade_validation_seconds": 5})
    res = run_playbook("upgrade_flink.yml", cluster.inventory)
    assert res.rc != 0
    assert "Rolled back" in res.stdout, res.stdout[-5000:]
    manifest_path, = set((cluster.workdir / "manifests").glob("flink-upgrade-*.json")) - manifests_before
    manifest = json.loads(manifest_path.read_text())
    assert manifest["from"] == NEW and manifest["to"] == BROKEN

    api = api_of(cluster)
    assert api.get("/overview")["flink-version"] == NEW
    assert api.get("/overview")["taskmanagers"] == 2
    assert all(current_release(cluster, h) == f"flink-{NEW}" for h in cluster.jobmanagers + cluster.taskmanagers)
    jobs = api.active_jobs(JOB)
    assert len(jobs) == 1 and jobs[0]["jid"] != before_job and jobs[0]["state"] == "RUNNING"
    assert api.restored_path(jobs[0]["jid"]) == manifest["jobs"][0]["savepoint"], "resumed from the same savepoint"
    wait_for(lambda: completed_checkpoints(api, jobs[0]["jid"]) >= 1, 120, "a checkpoint after the rollback")
