"""Run real ``ansible-playbook`` commands from tests and read their results.

Results come from the ``ansible.posix.json`` stdout callback, so tests assert on what each
task returned, and on what Flink reports afterwards through ``flink_api``.
"""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import requests
import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
COLLECTIONS = REPO / ".collections"


def ensure_collection_link() -> None:
    link = COLLECTIONS / "ansible_collections" / "flinkops" / "cookbook"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(pathlib.Path("../../.."))


def ansible_env(extra: dict | None = None, json_output: bool = True) -> dict:
    ensure_collection_link()
    env = dict(os.environ)
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS),
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_LOCALHOST_WARNING": "0",
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
    })
    # State (manifests, journals, reports) of runs that set no directory of their own: the
    # repository's git-ignored .local, never the user's ~/.local/state/flinkops.
    env.setdefault("FLINKOPS_STATE_DIR", str(REPO / ".local"))
    if json_output:
        env["ANSIBLE_STDOUT_CALLBACK"] = "ansible.posix.json"
    env.update(extra or {})
    return env


class PlayResult:
    def __init__(self, proc: subprocess.CompletedProcess, json_output: bool):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.data = None
        self.tasks = []
        if json_output:
            start = proc.stdout.find("{")
            self.data = json.loads(proc.stdout[start:]) if start >= 0 else {}
            for play in self.data.get("plays", []):
                for task in play.get("tasks", []):
                    for host, res in task.get("hosts", {}).items():
                        res = dict(res, _task=task["task"]["name"], _host=host)
                        self.tasks.append(res)

    def task(self, name: str) -> dict:
        found = [t for t in self.tasks if t["_task"] == name]
        assert found, f"no task named {name!r}; tasks: {[t['_task'] for t in self.tasks]}\n{self.stderr[-2000:]}"
        return found[-1]

    @property
    def stats(self) -> dict:
        return (self.data or {}).get("stats", {})

    def changed_count(self) -> int:
        return sum(s.get("changed", 0) for s in self.stats.values())

    def __repr__(self):
        return f"PlayResult(rc={self.rc}, tasks={[ (t['_task'], t.get('changed'), t.get('failed')) for t in self.tasks]})"


def run_tasks(tasks: list, endpoint: str, check: bool = False, diff: bool = False, extra_env=None,
              module_defaults: dict | None = None, timeout: int = 900,
              module_group: str = "group/flinkops.cookbook.flink") -> PlayResult:
    """Run ``tasks`` in one play on localhost with an action group pointed at ``endpoint``.

    ``module_group`` picks the group (``group/flinkops.cookbook.cmf`` for the CMF modules,
    whose endpoint option is ``url``; ``group/flinkops.cookbook.fko``, whose API server is ``host``).
    ``endpoint=None`` sets no endpoint option (the groups whose modules take several, such as
    ``confluent_cloud``: give them in ``module_defaults``)."""
    if module_group.endswith(".fko"):  # kubernetes.core's connection options: the API server is the host
        defaults = {"host": endpoint, "api_key": "fake-token"}
    else:
        key = "url" if module_group.endswith(".cmf") else "endpoint"
        defaults = {"retries": 1} if endpoint is None else {key: endpoint, "retries": 1}
    defaults.update(module_defaults or {})
    play = [{"name": "test", "hosts": "localhost", "gather_facts": False,
             "module_defaults": {module_group: defaults}, "tasks": tasks}]
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False, dir=REPO / "tests" / "output"
                                     if (REPO / "tests" / "output").is_dir() else None) as handle:
        yaml.safe_dump(play, handle, sort_keys=False)
        path = handle.name
    try:
        cmd = [str(pathlib.Path(sys.executable).with_name("ansible-playbook")), "-i", "localhost,", "-c", "local", path]
        if check:
            cmd.append("--check")
        if diff:
            cmd.append("--diff")
        proc = subprocess.run(cmd, cwd=REPO, env=ansible_env(extra_env), capture_output=True, text=True,
                              timeout=timeout, check=False)
    finally:
        os.unlink(path)
    return PlayResult(proc, json_output=True)


def run_playbook(playbook: str, limit: str, extra_vars: dict | None = None, extra_env: dict | None = None,
                 check: bool = False, timeout: int = 900, diff: bool = False) -> PlayResult:
    """``ansible-playbook playbooks/<playbook> -l <limit>`` exactly as a user runs it."""
    cmd = [str(pathlib.Path(sys.executable).with_name("ansible-playbook")), str(REPO / "playbooks" / playbook),
           "-l", limit]
    if extra_vars:
        cmd += ["-e", json.dumps(extra_vars)]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    proc = subprocess.run(cmd, cwd=REPO, env=ansible_env(extra_env), capture_output=True, text=True, timeout=timeout,
                          check=False)
    return PlayResult(proc, json_output=True)


def start_playbook(playbook: str, env: dict, extra_vars: dict | None = None, log=None,
                   limit: str = "local") -> subprocess.Popen:
    """``ansible-playbook playbooks/<playbook>`` in the background (to crash it, or to race it)."""
    cmd = [str(pathlib.Path(sys.executable).with_name("ansible-playbook")), str(REPO / "playbooks" / playbook),
           "-l", limit]
    if extra_vars:
        cmd += ["-e", json.dumps(extra_vars)]
    out = open(log, "w") if log else subprocess.DEVNULL  # pylint: disable=consider-using-with
    return subprocess.Popen(cmd, cwd=REPO, env=ansible_env(env, json_output=False), stdout=out,
                            stderr=subprocess.STDOUT, text=True)


def wait_for(condition, proc: subprocess.Popen, timeout: float = 150) -> bool:
    """Poll ``condition`` every few ms until it holds, the run ends, or ``timeout`` passes."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return True
        if proc.poll() is not None:
            return condition()
        time.sleep(0.003)
    return False


class FlinkApi:
    """What Flink itself reports: the oracle of the integration tests."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")

    def get(self, path: str):
        r = requests.get(self.url + path, timeout=10)
        r.raise_for_status()
        return r.json()

    def active_jobs(self, name: str | None = None) -> list:
        jobs = self.get("/jobs/overview")["jobs"]
        return [j for j in jobs if j["state"] not in ("FINISHED", "CANCELED", "FAILED")
                and (name is None or j["name"] == name)]

    def job(self, job_id: str) -> dict:
        return self.get(f"/jobs/{job_id}")

    def vertex_parallelism(self, job_id: str) -> list:
        return [v["parallelism"] for v in self.job(job_id)["vertices"]]

    def checkpoints(self, job_id: str) -> dict:
        return self.get(f"/jobs/{job_id}/checkpoints")

    def restored_path(self, job_id: str):
        return ((self.checkpoints(job_id).get("latest") or {}).get("restored") or {}).get("external_path")

    def cancel_all(self) -> None:
        import time
        for job in self.active_jobs():
            requests.patch(f"{self.url}/jobs/{job['jid']}?mode=cancel", timeout=10)
        deadline = time.time() + 60
        while self.active_jobs() and time.time() < deadline:
            time.sleep(0.3)
