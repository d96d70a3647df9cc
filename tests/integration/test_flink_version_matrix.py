"""The job recipes' core on each Flink version the collection supports, for real.

Each version gets its own cluster, started by the harness from that version's PyPI packages
(tests/support/flink_local.py), and the test jobs compiled against its lib/ (tests/java, or
tests/java-legacy for 1.18). The recipes run as a user runs them:
``ansible-playbook playbooks/<recipe>.yml -l local``. Every assertion on the end state comes
from Flink (its version, job states, parallelism per vertex, the savepoint it restored from,
the savepoints in its checkpoint history).

Versions and steps:

* default (``make test``, CI): Flink 1.20, the upgrade recipe (deploy, upgrade restored from
  the savepoint, second runs unchanged). 2.3 runs the same in test_upgrade_playbook.py.
* ``FLINKOPS_MATRIX_VERSIONS=all`` (``make test-matrix``) or a comma list of minors
  (``1.18,2.3``): every step below on each of them.
* ``FLINKOPS_MATRIX_STEPS=deploy,upgrade`` narrows the steps.

Results (pass/fail and seconds per version and step) go to tests/output/flink-matrix.json;
``tests/support/matrix_report.py`` prints them as the README table.
"""
from __future__ import annotations

import json
import os
import pathlib
import shutil
import time

import pytest

from tests.integration.ansible_run import REPO, FlinkApi, run_playbook
from tests.integration.local_inventory import JOB, job_decl, running_version
from tests.support.flink_local import LATEST_PATCH, LocalFlink, install_flink, resolve_version
from tests.support.testjobs import build_test_jobs, source_tree

pytestmark = [pytest.mark.slow, pytest.mark.integration]

RESULTS = REPO / "tests" / "output" / "flink-matrix.json"
ALL_STEPS = ("deploy", "savepoint", "upgrade", "rescale", "rollback")
UPGRADE = "Procedure | stop with a savepoint (or cancel, for last-state) and start the declared version of stateful-counter"


def _selection() -> tuple[list[str], list[str]]:
    raw = os.environ.get("FLINKOPS_MATRIX_VERSIONS", "").strip()
    if not raw:
        versions, steps = ["1.20"], ["upgrade"]
    else:
        versions = list(LATEST_PATCH) if raw == "all" else [v.strip() for v in raw.split(",") if v.strip()]
        steps = list(ALL_STEPS)
    if os.environ.get("FLINKOPS_MATRIX_STEPS", "").strip():
        steps = [s.strip() for s in os.environ["FLINKOPS_MATRIX_STEPS"].split(",") if s.strip()]
    unknown = [s for s in steps if s not in ALL_STEPS]
    assert not unknown, f"unknown FLINKOPS_MATRIX_STEPS {unknown}; known: {ALL_STEPS}"
    return versions, steps


VERSIONS, STEPS = _selection()


def _record(version: str, step: str, **fields) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    entry = data.setdefault(version, {"steps": {}})
    if step:
        entry["steps"][step] = fields
    else:
        entry.update(fields)
    RESULTS.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


@pytest.fixture(scope="module")
def version_cluster(request, tmp_path_factory):
    """A running cluster of the version in request.param (1 TaskManager x 4 slots) and its jars."""
    version = resolve_version(request.param)
    t0 = time.monotonic()
    home = install_flink(version)
    jars = build_test_jobs(home, tmp_path_factory.mktemp(f"jobs-{version}"))
    flink = LocalFlink(home, tmp_path_factory.mktemp(f"flink-{version}"), taskmanagers=1, slots=4)
    _record(version, "", started=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), steps={})
    try:
        flink.start()
        api = FlinkApi(flink.rest_url)
        reported = api.get("/config")["flink-version"]
        _record(version, "", flink_reports=reported, test_job_tree=source_tree(home).name,
                setup_seconds=round(time.monotonic() - t0, 1))
        assert reported == version, f"the cluster installed for {version} reports {reported}"
        yield {"version": version, "flink": flink, "api": api, "jars": jars}
    finally:
        flink.stop()


@pytest.fixture
def deployed(version_cluster, tmp_path):
    """The `local` inventory pointed at the version's cluster, with v1 deployed by deploy_job.yml."""
    api = version_cluster["api"]
    api.cancel_all()
    (tmp_path / "jars").mkdir()
    for key in ("v1", "v2", "failing"):
        shutil.copy(version_cluster["jars"][key], tmp_path / "jars" / pathlib.Path(version_cluster["jars"][key]).name)
    env = {"FLINKOPS_LOCAL_REST_URL": version_cluster["flink"].rest_url, "FLINKOPS_LOCAL_DIR": str(tmp_path),
           "FLINKOPS_VALIDATION_SECONDS": "5"}
    res = run_playbook("deploy_job.yml", "local", {"local_job_version": "1.0.0"}, env)
    assert res.rc == 0, res.stdout[-3000:]
    jobs = api.active_jobs(JOB)
    assert len(jobs) == 1 and jobs[0]["state"] == "RUNNING", jobs
    assert running_version(api, jobs[0]["jid"]) == "1.0.0"
    yield {"api": api, "env": env, "dir": tmp_path, "v1_job": jobs[0]["jid"]}
    api.cancel_all()


def _changes(res) -> str:
    """What a run that should have changed nothing changed: for the failure message."""
    keep = ("outcome", "msg", "reason", "reasons", "diff", "job", "savepoint", "previous")
    changed = [{"task": t["_task"], **{k: t[k] for k in keep if k in t}} for t in res.tasks if t.get("changed")]
    return f"rc={res.rc}, changed={res.changed_count()}: " + json.dumps(changed, default=str)[:4000]


def _unchanged(res) -> None:
    assert res.rc == 0 and res.changed_count() == 0, _changes(res)


def _savepoints(base: pathlib.Path) -> list[str]:
    root = base / "flink" / "savepoints"
    return sorted(f"file:{p}" for p in root.iterdir()) if root.is_dir() else []


def _same_path(a: str, b: str) -> bool:
    """file:/x/ and file:///x name the same directory."""
    def norm(path: str) -> str:
        return (path[len("file:"):] if path.startswith("file:") else path).strip("/")
    return norm(a) == norm(b)


# ------------------------------------------------------------------------------ steps
def step_deploy(d):
    api, env = d["api"], d["env"]
    assert api.vertex_parallelism(d["v1_job"]) == [2, 2]
    assert api.restored_path(d["v1_job"]) is None, "a first deploy starts without state"
    again = run_playbook("deploy_job.yml", "local", {"local_job_version": "1.0.0"}, env)
    _unchanged(again)
    assert [j["jid"] for j in api.active_jobs(JOB)] == [d["v1_job"]]


def step_savepoint(d):
    api, env, base = d["api"], d["env"], d["dir"]
    res = run_playbook("backup_state.yml", "local", None, env)
    assert res.rc == 0, res.stdout[-3000:]
    (manifest,) = sorted((base / "manifests" / "local-flink").glob("backup-*.json"))
    (entry,) = json.loads(manifest.read_text())["savepoints"]
    assert entry["job_id"] == d["v1_job"] and entry["version"] == "1.0.0"
    assert (pathlib.Path(entry["savepoint"][len("file:"):]) / "_metadata").is_file()
    history = api.checkpoints(d["v1_job"])["history"]
    assert any(h.get("is_savepoint") and h["status"] == "COMPLETED" and _same_path(h["external_path"], entry["savepoint"])
               for h in history), history
    assert api.job(d["v1_job"])["state"] == "RUNNING", "a backup does not stop the job"
    again = run_playbook("backup_state.yml", "local", None, env)
    _unchanged(again)


def step_upgrade(d):
    api, env, base = d["api"], d["env"], d["dir"]
    again = run_playbook("deploy_job.yml", "local", {"local_job_version": "1.0.0"}, env)
    _unchanged(again)
    res = run_playbook("upgrade_job.yml", "local", None, env)
    assert res.rc == 0, res.stdout[-3000:]
    jobs = api.active_jobs(JOB)
    assert len(jobs) == 1 and jobs[0]["jid"] != d["v1_job"]
    assert running_version(api, jobs[0]["jid"]) == "2.0.0"
    assert api.job(d["v1_job"])["state"] == "FINISHED", "stopped with a savepoint, not cancelled"
    (savepoint,) = _savepoints(base)
    restored = api.restored_path(jobs[0]["jid"])
    assert restored and _same_path(restored, savepoint), (restored, savepoint)
    second = run_playbook("upgrade_job.yml", "local", None, env)
    _unchanged(second)
    assert [j["jid"] for j in api.active_jobs(JOB)] == [jobs[0]["jid"]]


def step_rescale(d):
    api, env, base = d["api"], d["env"], d["dir"]
    decl = job_decl(base, "stateful-v1.jar", "1.0.0")
    decl[0].update(parallelism=3, source_partitions=8)
    res = run_playbook("scale_job.yml", "local", {"flink_jobs": decl}, env)
    assert res.rc == 0, res.stdout[-3000:]
    jobs = api.active_jobs(JOB)
    assert len(jobs) == 1 and jobs[0]["jid"] != d["v1_job"]
    assert api.vertex_parallelism(jobs[0]["jid"]) == [3, 3]
    assert running_version(api, jobs[0]["jid"]) == "1.0.0"
    (savepoint,) = _savepoints(base)
    assert _same_path(api.restored_path(jobs[0]["jid"]), savepoint), "default scheduler: through a savepoint"
    again = run_playbook("scale_job.yml", "local", {"flink_jobs": decl}, env)
    _unchanged(again)


def step_rollback(d):
    api, env, base = d["api"], d["env"], d["dir"]
    res = run_playbook("upgrade_job.yml", "local", {"flink_jobs": job_decl(base, "failing.jar", "3.0.0")}, env)
    assert res.rc != 0
    assert "failing at start on purpose" in res.stdout
    jobs = api.active_jobs(JOB)
    assert len(jobs) == 1 and jobs[0]["state"] == "RUNNING" and jobs[0]["jid"] != d["v1_job"]
    assert running_version(api, jobs[0]["jid"]) == "1.0.0", "rolled back to the previous version"
    (savepoint,) = _savepoints(base)
    assert _same_path(api.restored_path(jobs[0]["jid"]), savepoint), "rolled back from the same savepoint"
    assert api.job(d["v1_job"])["state"] == "FINISHED"
    again = run_playbook("deploy_job.yml", "local", {"local_job_version": "1.0.0"}, env)
    _unchanged(again)  # the rolled-back job is as deploy declares it


STEP_FUNCS = {"deploy": step_deploy, "savepoint": step_savepoint, "upgrade": step_upgrade,
              "rescale": step_rescale, "rollback": step_rollback}


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("version_cluster", VERSIONS, indirect=True, scope="module")
def test_recipe_on_flink_version(version_cluster, step, request):
    t0 = time.monotonic()
    try:
        d = request.getfixturevalue("deployed")
        STEP_FUNCS[step](d)
    except BaseException as exc:
        _record(version_cluster["version"], step, result="fail", seconds=round(time.monotonic() - t0, 1),
                error=f"{type(exc).__name__}: {str(exc)[:800]}")
        raise
    _record(version_cluster["version"], step, result="pass", seconds=round(time.monotonic() - t0, 1))
