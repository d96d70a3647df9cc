"""A JobManager leader failover is a normal event (issue "Safety under interruption, concurrency,
leader failover and dry runs", item 6), on a real ZooKeeper-HA cluster built with the project's
own bare-metal roles (one ZooKeeper, two JobManagers, two TaskManagers, all on this machine).

The recipes run for real (`upgrade_job.yml`, `scale_job.yml`, `backup_state.yml`) against the
standby JobManager's REST endpoint, and the leading JobManager is SIGKILLed at a chosen step:
the standby answers 503/500 while it takes over, the savepoint trigger may be lost with the
old leader's cache, a job may be recovered from its own checkpoint. Each drill ends with one
job at the declared version, no healthy job cancelled and no false rollback; the killed
JobManager is then provisioned back (as a standby) for the next drill.
"""
from __future__ import annotations

import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time

import pytest
import requests
import yaml

from tests.integration.ansible_run import REPO, FlinkApi, PlayResult, ansible_env
from tests.integration.local_inventory import running_version
from tests.support.baremetal import BareMetal, run_playbook as run_bare_metal, stop_processes

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.failover]

VERSION = "2.3.0"
JOB = "stateful-counter"


@pytest.fixture(scope="module")
def ha(tmp_path_factory, test_jars):
    if shutil.which("java") is None or not pathlib.Path("/usr/share/java/zookeeper.jar").exists():
        pytest.skip("needs java and the Debian zookeeper package (apt-get install zookeeperd)")
    from tests.support.flink_archive import flink_archive

    workdir = tmp_path_factory.mktemp("ha")
    (workdir / "jars").mkdir()
    for key in ("v1", "v2"):
        shutil.copy(test_jars[key], workdir / "jars")
    metal = BareMetal(workdir, {VERSION: flink_archive(VERSION)}, VERSION)
    metal.write_inventory()
    try:
        first = run_bare_metal("provision_bare_metal.yml", metal.inventory)
        assert first.rc == 0, first.stdout[-4000:]
        yield metal
    finally:
        left = stop_processes(workdir)
        assert not left, f"processes survived SIGKILL: {left}"


def _wait(predicate, timeout, what, interval=0.5):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except (requests.RequestException, KeyError, IndexError, ValueError, TypeError) as exc:
            last = exc
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


class Drill:
    """The recipe inventory of one drill: one REST target, the standby JobManager, whose REST
    endpoint stays up while the leader is killed."""

    def __init__(self, ha: BareMetal, tmp_path: pathlib.Path):
        self.ha = ha
        self.dir = tmp_path
        self.leader = _wait(ha.leader, 60, "a leader")
        self.standby = next(h for h in ha.jobmanagers if h != self.leader)
        self.api = FlinkApi(f"http://127.0.0.1:{ha.ports[self.standby]['rest']}")
        inventory = tmp_path / "inventory"
        (inventory / "group_vars").mkdir(parents=True)
        (inventory / "group_vars" / "all.yml").symlink_to(REPO / "inventories" / "group_vars" / "all.yml")
        self.inventory = inventory / "hosts.yml"
        self.manifests = tmp_path / "manifests"

    def write(self, version, parallelism=2):
        jar = self.ha.workdir / "jars" / f"stateful-v{version.split('.')[0]}.jar"
        host = {"flink_endpoint": self.api.url, "flink_shared_fs": True,
                "flink_savepoint_dir": f"file://{self.ha.savepoint_dir}", "flink_validation_seconds": 12,
                "flink_start_timeout": 180, "flinkops_manifest_dir": str(self.manifests),
                "flink_jobs": [{"name": JOB, "version": version, "jar": str(jar), "args": ["--name", JOB],
                                "parallelism": parallelism}]}
        self.inventory.write_text(yaml.safe_dump({"all": {"hosts": {"ha-flink": host}}}))

    def run(self, playbook, background=False):
        cmd = [str(pathlib.Path(sys.executable).with_name("ansible-playbook")), "-i", str(self.inventory),
               str(REPO / "playbooks" / playbook)]
        if background:
            log = open(self.dir / f"{playbook}.log", "w")
            return subprocess.Popen(cmd, cwd=REPO, env=ansible_env(json_output=False), stdout=log,
                                    stderr=subprocess.STDOUT, text=True)
        proc = subprocess.run(cmd, cwd=REPO, env=ansible_env(), capture_output=True, text=True, timeout=1200,
                              check=False)
        return PlayResult(proc, json_output=True)

    def journal(self):
        try:
            return json.loads((self.manifests / "ha-flink" / f"{JOB}.journal.json").read_text())
        except (OSError, ValueError):
            return {}

    def kill_leader_when(self, proc, condition, timeout=240):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if condition():
                    break
            except (requests.RequestException, KeyError, ValueError):
                pass
            time.sleep(0.01)
        else:
            raise AssertionError("the run never reached the moment: "
                                 + (self.dir / "upgrade_job.yml.log").read_text()[-2000:]
                                 if (self.dir / "upgrade_job.yml.log").exists() else "")
        for pid in self.ha.pids(self.leader, "jobmanager"):
            os.kill(pid, signal.SIGKILL)
        _wait(lambda: not self.ha.pids(self.leader, "jobmanager"), 20, "the killed JobManager to exit")

    def restore_jobmanager(self):
        again = run_bare_metal("provision_bare_metal.yml", self.ha.inventory)
        assert again.rc == 0, again.stdout[-4000:]
        _wait(lambda: len(self.ha.pids(self.leader, "jobmanager")) == 1, 60, "the killed JobManager back")

    def savepoints(self):
        directory = self.ha.savepoint_dir
        return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def _running_job(api):
    jobs = api.active_jobs(JOB)
    return jobs[0] if len(jobs) == 1 and jobs[0]["state"] == "RUNNING" else None


@pytest.fixture
def drill(ha, tmp_path):
    drill = Drill(ha, tmp_path)
    for job in drill.api.active_jobs():
        requests.patch(f"{drill.api.url}/jobs/{job['jid']}?mode=cancel", timeout=10)
    _wait(lambda: not drill.api.active_jobs(), 60, "no job left")
    drill.write("1.0.0")
    deployed = drill.run("deploy_job.yml")
    assert deployed.rc == 0, deployed.stdout[-4000:]
    drill.v1 = _wait(lambda: _running_job(drill.api), 60, "v1 running")["jid"]
    _wait(lambda: drill.api.checkpoints(drill.v1)["counts"]["completed"] >= 2, 60, "two checkpoints")
    drill.before = drill.savepoints()
    yield drill
    if len(ha.pids(drill.leader, "jobmanager")) == 0:
        drill.restore_jobmanager()


UPGRADE_MOMENTS = {
    # the stop-with-savepoint was asked for: the old leader's trigger cache dies with it
    "savepoint_triggered": lambda d: "trigger_id" in d.journal(),
    # the new job was submitted: its answer may be lost, the new leader recovers it from HA
    "new_job_submitted": lambda d: d.journal().get("phase") == "submit" and d.journal().get("new_job_id") in [
        j["jid"] for j in d.api.active_jobs(JOB)],
    # the module returned: the job fails over during the validation window and restores from its own checkpoint
    "validation_window": lambda d: d.journal().get("phase") == "validate",
}


@pytest.mark.parametrize("moment", list(UPGRADE_MOMENTS))
def test_upgrade_rides_through_a_leader_failover(drill, moment):
    drill.write("2.0.0")
    proc = drill.run("upgrade_job.yml", background=True)
    drill.kill_leader_when(proc, lambda: UPGRADE_MOMENTS[moment](drill))
    proc.wait(900)
    log = (drill.dir / "upgrade_job.yml.log").read_text()
    if proc.returncode != 0:
        # allowed only when the failover made the step's outcome unknowable: the re-run finishes it
        assert "rolled back" not in log, "no rollback of a healthy upgrade: " + log[-4000:]
        again = drill.run("upgrade_job.yml")
        assert again.rc == 0, again.stdout[-4000:]
    job = _wait(lambda: _running_job(drill.api), 180, "one RUNNING job")
    assert running_version(drill.api, job["jid"]) == "2.0.0"
    assert len(drill.api.active_jobs(JOB)) == 1
    new_savepoints = [s for s in drill.savepoints() if s not in drill.before]
    assert len(new_savepoints) == 1, "one savepoint for the upgrade: %s" % new_savepoints
    overview = drill.api.get("/jobs/overview")["jobs"]
    cancelled = [j["jid"] for j in overview if j["name"] == JOB and j["state"] == "CANCELED"]
    assert cancelled == [], "no job was cancelled (no false rollback, no cancel of a recovered job)"
    assert "rolled back" not in log
    third = drill.run("upgrade_job.yml")
    assert third.rc == 0 and third.changed_count() == 0, third.stdout[-3000:]


def test_backup_rides_through_a_leader_failover(drill):
    proc = drill.run("backup_state.yml", background=True)
    drill.kill_leader_when(proc, lambda: any(
        h.get("is_savepoint") for h in drill.api.checkpoints(drill.v1).get("history", [])), timeout=120)
    proc.wait(600)
    if proc.returncode != 0:
        again = drill.run("backup_state.yml")
        assert again.rc == 0, again.stdout[-4000:]
    job = _wait(lambda: _running_job(drill.api), 180, "the job running")
    assert job["jid"] == drill.v1, "a backup never replaces the job, a failover keeps its id"
    manifests = list((drill.manifests / "ha-flink").glob("backup-*.json"))
    assert manifests, "the backup was recorded"
    recorded = json.loads(sorted(manifests)[-1].read_text())["savepoints"][0]["savepoint"]
    assert pathlib.Path(recorded.split(":", 1)[1]).exists(), "the recorded savepoint exists on disk"


def test_scale_rides_through_a_leader_failover(drill):
    drill.write("1.0.0", parallelism=3)
    proc = drill.run("scale_job.yml", background=True)
    drill.kill_leader_when(proc, lambda: "trigger_id" in drill.journal())
    proc.wait(900)
    log = (drill.dir / "scale_job.yml.log").read_text()
    if proc.returncode != 0:
        assert "returned to parallelism" not in log, "no rollback of a healthy rescale: " + log[-4000:]
        again = drill.run("scale_job.yml")
        assert again.rc == 0, again.stdout[-4000:]
    job = _wait(lambda: _running_job(drill.api), 180, "one RUNNING job")
    assert max(drill.api.vertex_parallelism(job["jid"])) == 3
    assert len([s for s in drill.savepoints() if s not in drill.before]) == 1
    third = drill.run("scale_job.yml")
    assert third.rc == 0 and third.changed_count() == 0, third.stdout[-3000:]
