"""The recipes run the way users get them: from the built tarball installed into an empty path,
and from a plain checkout (what an AWX project sync gets: no bootstrap, no git-ignored files).

Each run starts from an empty directory with a minimal inventory of its own that sets only the
endpoint and the jobs: no ``ansible.cfg``, no repository inventory, no ``ANSIBLE_*`` settings of
the suite. The defaults come from the playbooks (role ``flinkops.cookbook.recipe_defaults``) and
the state goes to the default state directory under ``$HOME`` (a temporary home here), never
into the installed collection. The oracle is what the fake CMF, or the real Flink, reports.
"""
from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest
import requests
import yaml

from tests.integration.ansible_run import FlinkApi
from tests.integration.local_inventory import JOB, running_version
from tests.support.fake_cmf import FakeCMF

pytestmark = [pytest.mark.integration]

REPO = pathlib.Path(__file__).resolve().parents[2]
VENV_BIN = pathlib.Path(sys.executable).parent
ENV_NAME = "flinkops-local"


def _galaxy():
    meta = yaml.safe_load((REPO / "galaxy.yml").read_text())
    return meta["namespace"], meta["name"], meta["version"]


def clean_env(home: pathlib.Path, **extra) -> dict:
    """The environment of a user's shell: PATH with ansible on it and a HOME, nothing of the suite."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ANSIBLE_", "FLINKOPS_", "CMF_", "FLINK_REST_", "XDG_STATE_HOME"))}
    env.update({"HOME": str(home), "PATH": "%s:%s" % (VENV_BIN, env.get("PATH", "/usr/bin:/bin")),
                "ANSIBLE_NOCOLOR": "1", "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"})
    env.update(extra)
    return env


def run(args, cwd, env, timeout=300):
    proc = subprocess.run(args, cwd=str(cwd), env=env, capture_output=True, text=True, timeout=timeout, check=False)
    return proc


def result(proc):
    """(stats per host, {task name: result of the last host}) from the json callback's output."""
    start = proc.stdout.find("{")
    assert start >= 0, "no JSON output (rc %s)\nstdout: %s\nstderr: %s" % (
        proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:])
    data = json.loads(proc.stdout[start:])
    tasks = {}
    for play in data.get("plays", []):
        for task in play.get("tasks", []):
            for res in task.get("hosts", {}).values():
                tasks[task["task"]["name"]] = res
    return data.get("stats", {}), tasks


def changed(stats):
    return sum(s.get("changed", 0) for s in stats.values())


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The collection built with ansible-galaxy and installed from its tarball into an empty path."""
    base = tmp_path_factory.mktemp("installed")
    env = clean_env(base)
    build = run(["ansible-galaxy", "collection", "build", "--output-path", str(base / "dist"), str(REPO)],
                cwd=base, env=env, timeout=180)
    assert build.returncode == 0, build.stdout + build.stderr
    ns, name, version = _galaxy()
    tarball = base / "dist" / ("%s-%s-%s.tar.gz" % (ns, name, version))
    assert tarball.is_file(), build.stdout
    install = run(["ansible-galaxy", "collection", "install", "--offline", "-p", str(base / "collections"),
                   str(tarball)], cwd=base, env=env, timeout=180)
    assert install.returncode == 0, install.stdout + install.stderr
    root = base / "collections" / "ansible_collections" / ns / name
    assert (root / "playbooks" / "upgrade_job.yml").is_file()
    assert not (root / ".collections").exists() and not (root / "ansible.cfg").exists()
    return {"collections": base / "collections", "root": root}


def user_dir(tmp_path, hosts: dict) -> pathlib.Path:
    """An empty working directory holding only the user's inventory."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
    assert sorted(p.name for p in work.iterdir()) == ["hosts.yml"]
    return work


def seed_environment(cmf):
    r = requests.post(cmf.url + "/cmf/api/v1/environments",
                      json={"name": ENV_NAME, "kubernetesNamespace": ENV_NAME}, timeout=5)
    assert r.status_code == 200, r.text


def cmf_host(cmf, version):
    """A user's CMF host: the endpoint, the environment, the job; two short windows for the test."""
    return {"my-cmf": {
        "flink_platform": "cmf", "cmf_url": cmf.url, "cmf_environment": ENV_NAME,
        "cmf_stable_seconds": 1, "flink_validation_seconds": 1,
        "flink_jobs": [{
            "name": JOB, "version": version, "entry_class": "flinkops.testjob.StatefulCounter",
            "args": ["--name", JOB], "parallelism": 2,
            "cmf": {"image": "registry.example.com/flinkops/stateful-counter:%s" % version,
                    "flink_version": "v1_19", "jar_uri": "local:///opt/flink/usrlib/stateful-counter.jar",
                    "upgrade_mode": "savepoint",
                    "job_manager": {"resource": {"memory": "1024m", "cpu": 1}},
                    "task_manager": {"resource": {"memory": "2048m", "cpu": 1}}}}]}}


def deploy_then_upgrade_on_cmf(tmp_path, playbook, env, cwd_setup=None, again=True):
    """deploy_job at 1.0.0, upgrade_job to 2.0.0, (again) upgrade_job again: no change; on the fake CMF."""
    home = tmp_path / "home"
    home.mkdir()
    with FakeCMF(start_delay=0.2, savepoint_delay=0.2) as cmf:
        seed_environment(cmf)
        work = user_dir(tmp_path, cmf_host(cmf, "1.0.0")) if cwd_setup is None else cwd_setup(cmf)
        uenv = clean_env(home, **env)

        deploy = run(["ansible-playbook", "-i", str(work / "hosts.yml"), playbook("deploy_job")], work, uenv)
        stats = result(deploy)[0]
        assert deploy.returncode == 0, deploy.stdout[-4000:] + deploy.stderr[-2000:]
        assert changed(stats) > 0
        app = cmf.application(ENV_NAME, JOB)
        assert app["metadata"]["labels"]["flinkops.io/version"] == "1.0.0"

        (work / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": cmf_host(cmf, "2.0.0")}}))
        upgrade = run(["ansible-playbook", "-i", str(work / "hosts.yml"), playbook("upgrade_job")], work, uenv)
        result(upgrade)
        assert upgrade.returncode == 0, upgrade.stdout[-4000:] + upgrade.stderr[-2000:]
        app = cmf.application(ENV_NAME, JOB)
        assert app["metadata"]["labels"]["flinkops.io/version"] == "2.0.0"
        assert app["status"]["jobStatus"]["state"] == "RUNNING"
        savepoints = cmf.app_savepoints(ENV_NAME, JOB)
        assert len(savepoints) == 1 and savepoints[0]["status"]["state"] == "COMPLETED"
        assert app["restored_from"] == savepoints[0]["status"]["path"]

        if again:
            second = run(["ansible-playbook", "-i", str(work / "hosts.yml"), playbook("upgrade_job")], work, uenv)
            stats = result(second)[0]
            assert second.returncode == 0, second.stdout[-4000:]
            assert changed(stats) == 0, stats
    # the state went to the default state directory in the user's home, nowhere else
    manifests = home / ".local" / "state" / "flinkops" / "manifests" / "my-cmf"
    assert len(list(manifests.glob("*.json"))) >= 1, sorted(str(p) for p in home.rglob("*"))
    return work


def test_installed_tarball_deploys_and_upgrades_on_cmf(installed, tmp_path):
    work = deploy_then_upgrade_on_cmf(
        tmp_path, lambda name: "flinkops.cookbook." + name,
        {"ANSIBLE_COLLECTIONS_PATH": str(installed["collections"])})
    assert sorted(p.name for p in work.iterdir()) == ["hosts.yml"], "nothing written beside the inventory"
    written = [p for p in installed["root"].rglob("*") if p.is_file() and "manifests" in p.parts]
    assert not written, "state written into the installed collection: %s" % written


def test_installed_tarball_bad_inventory_fails_clearly(installed, tmp_path):
    work = user_dir(tmp_path, {"my-flink": {"flink_endpoint": "http://127.0.0.1:9",
                                            "flink_jobs": [{"name": "orders", "version": "1.0.0"}]}})
    proc = run(["ansible-playbook", "-i", str(work / "hosts.yml"), "flinkops.cookbook.upgrade_job"], work,
               clean_env(tmp_path, ANSIBLE_COLLECTIONS_PATH=str(installed["collections"])))
    assert proc.returncode != 0
    tasks = result(proc)[1]
    failed = [r for r in tasks.values() if r.get("failed")]
    assert failed and "Nothing was changed" in failed[0]["msg"], tasks
    assert "is undefined" not in proc.stdout


def plain_checkout(dest: pathlib.Path) -> pathlib.Path:
    """The repository's files as `git clone` lays them out: tracked and new files, no ignored ones."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO,
                           capture_output=True, text=True, check=True).stdout.split("\0")
    for rel in filter(None, files):
        src = REPO / rel
        if not (src.is_symlink() or src.is_file()):
            continue  # deleted in the work tree
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            target.symlink_to(os.readlink(src))
        else:
            shutil.copy2(src, target)
    return dest


def test_plain_checkout_deploys_and_upgrades_on_cmf(tmp_path):
    """An AWX project: the checkout's ansible.cfg and the tracked .collections link, nothing bootstrapped."""
    project = plain_checkout(tmp_path / "project")
    assert (project / ".collections" / "ansible_collections" / "flinkops" / "cookbook" / "galaxy.yml").is_file()

    def setup(cmf):
        (project / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": cmf_host(cmf, "1.0.0")}}))
        return project

    deploy_then_upgrade_on_cmf(tmp_path, lambda name: "playbooks/%s.yml" % name, {}, cwd_setup=setup, again=False)
    assert not (project / ".local").exists(), "state written into the project checkout"


@pytest.mark.slow
def test_installed_tarball_upgrades_on_real_flink_from_the_savepoint(installed, flink_cluster, test_jars, tmp_path):
    api = FlinkApi(flink_cluster.rest_url)
    api.cancel_all()
    home = tmp_path / "home"
    home.mkdir()
    jars = tmp_path / "jars"
    jars.mkdir()
    for key in ("v1", "v2"):
        shutil.copy(test_jars[key], jars / pathlib.Path(test_jars[key]).name)

    def host(version):
        return {"my-flink": {
            "flink_endpoint": flink_cluster.rest_url, "flink_shared_fs": True,
            "flink_savepoint_dir": "file://%s/savepoints" % tmp_path, "flink_validation_seconds": 5,
            "flink_jobs": [{"name": JOB, "version": version, "args": ["--name", JOB], "parallelism": 2,
                            "jar": str(jars / ("stateful-v%s.jar" % version.split(".")[0]))}]}}

    work = user_dir(tmp_path, host("1.0.0"))
    env = clean_env(home, ANSIBLE_COLLECTIONS_PATH=str(installed["collections"]))
    try:
        deploy = run(["ansible-playbook", "-i", "hosts.yml", "flinkops.cookbook.deploy_job"], work, env)
        assert deploy.returncode == 0, deploy.stdout[-4000:] + deploy.stderr[-2000:]
        v1 = api.active_jobs(JOB)
        assert len(v1) == 1 and running_version(api, v1[0]["jid"]) == "1.0.0"

        (work / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": host("2.0.0")}}))
        upgrade = run(["ansible-playbook", "-i", "hosts.yml", "flinkops.cookbook.upgrade_job"], work, env)
        assert upgrade.returncode == 0, upgrade.stdout[-4000:] + upgrade.stderr[-2000:]
        v2 = api.active_jobs(JOB)
        assert len(v2) == 1 and v2[0]["jid"] != v1[0]["jid"]
        assert running_version(api, v2[0]["jid"]) == "2.0.0"
        assert api.job(v1[0]["jid"])["state"] == "FINISHED"
        manifests = list((home / ".local" / "state" / "flinkops" / "manifests" / "my-flink").glob(JOB + "-*.json"))
        assert len(manifests) == 1, sorted(str(p) for p in home.rglob("*"))
        savepoint = json.loads(manifests[0].read_text())["savepoint"]
        assert savepoint and api.restored_path(v2[0]["jid"]) == savepoint
    finally:
        api.cancel_all()
