"""Issue 9, items 3 to 5: `--check --diff` is a dry run for every recipe, inputs are validated
before anything is touched, errors carry their cause, and credentials never appear.

Every recipe runs as a user runs it (`ansible-playbook playbooks/<recipe>.yml -l local|cmf_local
--check --diff`) with a change pending. The oracles are what Flink's REST API and the fake CMF
report afterwards (same jobs, same versions, same jars, no write request), and the controller's
directories (no manifest, journal, report or savepoint written).
"""
from __future__ import annotations

import json
import pathlib
import socket
import subprocess
import sys
import time

import pytest

from tests.integration.ansible_run import REPO, PlayResult, ansible_env, run_tasks
from tests.integration.local_inventory import JOB, job_decl, running_version
from tests.support.fake_cmf import FakeCMF, spec_path

pytestmark = [pytest.mark.integration]

SECRET = "s3cr3t-pw"
USER = "flinkops-operator-7"


def recipe(playbook, limit, extra_vars=None, env=None, check=True, diff=True, verbose=0, timeout=600):
    """``ansible-playbook playbooks/<playbook> -l <limit> [--check --diff] [-vvv]``."""
    cmd = [str(pathlib.Path(sys.executable).with_name("ansible-playbook")), str(REPO / "playbooks" / playbook),
           "-l", limit]
    if extra_vars:
        cmd += ["-e", json.dumps(extra_vars)]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    if verbose:
        cmd.append("-" + "v" * verbose)
    proc = subprocess.run(cmd, cwd=REPO, env=ansible_env(env), capture_output=True, text=True, timeout=timeout,
                          check=False)
    return PlayResult(proc, json_output=True)


def failures(res):
    return [t for t in res.tasks if t.get("failed")]


def rescued(res):
    return [t["_task"] for t in res.tasks if t["_task"].startswith("Rollback |") and not t.get("skipped")]


def closed_port():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def files(base):
    """Every file under the local environment's directory, but the jars the fixture put there."""
    return sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file() and p.parent.name != "jars")


class Cluster:
    """What Flink reports: the oracle that nothing changed."""

    def __init__(self, api):
        self.api = api

    def snapshot(self):
        jobs = sorted((j["name"], j["jid"], j["state"]) for j in self.api.active_jobs())
        versions = dict((j[1], running_version(self.api, j[1])) for j in jobs)
        jars = sorted(f["id"] for f in self.api.get("/jars").get("files", []))
        parallelism = dict((j[1], self.api.vertex_parallelism(j[1])) for j in jobs)
        return {"jobs": jobs, "versions": versions, "jars": jars, "parallelism": parallelism}


def assert_dry_run(res, what):
    assert res.rc == 0, "%s --check: %s\n%s" % (what, failures(res), res.stdout[-3000:])
    assert not failures(res), what
    assert rescued(res) == [], "%s --check ran its rescue: %s" % (what, rescued(res))
    assert "Unknown error" not in res.stdout


# -- check mode on a real Flink ----------------------------------------------------------------
@pytest.mark.slow
def test_every_flink_recipe_in_check_mode_changes_nothing(local_env):
    api, env, base = local_env["api"], local_env["env"], local_env["dir"]
    cluster = Cluster(api)
    before = cluster.snapshot()
    written = files(base)
    assert before["versions"] == {local_env["v1_job"]: "1.0.0"}

    # upgrade: 1.0.0 runs, 2.0.0 is declared
    res = recipe("upgrade_job.yml", "local", env=env)
    assert_dry_run(res, "upgrade_job.yml")
    procedure = res.task("Procedure | stop with a savepoint (or cancel, for last-state) and start the declared version of %s" % JOB)
    assert procedure["changed"] and procedure["outcome"] == "upgraded"
    assert procedure["diff"]["after"]["version"] == "2.0.0", procedure["diff"]
    plan = res.task("Check mode | what would change, job %s" % JOB)["msg"]
    assert "would be upgraded from version 1.0.0" in plan and "2.0.0" in plan
    assert res.task("Validation | the new version joins the wave's validation, job %s" % JOB).get("skipped")
    assert not [t for t in res.tasks if t["_task"].startswith("Validation | read every job")], "nothing to validate"
    outcome = res.task("Report | every job's outcome, upgrade_job")["msg"]
    assert outcome[2].startswith("| %s | would be upgraded | would go from version 1.0.0 to 2.0.0" % JOB), outcome

    # scale: parallelism 2 runs, 3 is declared
    three = [dict(job_decl(base, "stateful-v1.jar", "1.0.0")[0], parallelism=3)]
    res = recipe("scale_job.yml", "local", {"flink_jobs": three}, env=env)
    assert_dry_run(res, "scale_job.yml")
    scale = res.task("Procedure | rescale (in place when the cluster supports it, else through a savepoint), job %s"
                     % JOB)
    assert scale["changed"] and scale["diff"] == {"before": {"parallelism": 2}, "after": {"parallelism": 3}}
    assert "rescaled from 2 to 3" in res.task("Check mode | what would change, job %s" % JOB)["msg"]

    # backup: no savepoint yet, so one would be taken
    res = recipe("backup_state.yml", "local", env=env)
    assert_dry_run(res, "backup_state.yml")
    assert "would take a savepoint of ['%s']" % JOB in res.task("Check mode | what would be backed up")["msg"]

    # suspend: the job runs
    res = recipe("suspend_resume_job.yml", "local", {"action": "suspend", "job": JOB}, env=env)
    assert_dry_run(res, "suspend_resume_job.yml suspend")
    assert res.task("Procedure | stop with a savepoint, %s" % JOB)["changed"]

    # backfill: never run
    res = recipe("backfill.yml", "local", {"backfill_from": JOB, "backfill_id": "dry", "backfill_args":
                                           ["--name", JOB + "-backfill-dry", "--count", "50"]}, env=env)
    assert_dry_run(res, "backfill.yml")
    assert res.task("Procedure | deploy the backfill job")["changed"]
    assert "would run %s-backfill-dry" % JOB in res.task("Check mode | what would change")["msg"]

    # the read-only recipes write their reports only in a real run
    for playbook, extra in (("health_report.yml", {"health_backpressure_timeout": 2}),
                            ("incident_checkpoint_failures.yml", {"incident_backpressure_timeout": 2}),
                            ("incident_restart_loop.yml", {"incident_job": JOB, "incident_mitigation": "stop"})):
        assert_dry_run(recipe(playbook, "local", extra, env=env), playbook)

    assert cluster.snapshot() == before, "check mode changed the cluster"
    assert files(base) == written, "check mode wrote files (manifests, journals, reports)"
    assert not list((base / "flink").glob("savepoints/savepoint-*"))

    # restore, replacing the running job, from a real backup
    backup = recipe("backup_state.yml", "local", env=env, check=False, diff=False)
    assert backup.rc == 0, backup.stdout[-3000:]
    (manifest,) = (base / "manifests" / "local-flink").glob("backup-*.json")
    (entry,) = json.loads(manifest.read_text())["savepoints"]
    before, written = cluster.snapshot(), files(base)
    savepoints = sorted((base / "flink").glob("savepoints/savepoint-*"))
    res = recipe("restore_state.yml", "local", {"restore_job": JOB, "restore_replace_running": True,
                                                "restore_savepoint": "file://" + entry["savepoint"][len("file:"):]},
                 env=env)
    assert_dry_run(res, "restore_state.yml")
    assert res.task("Procedure | stop the running job with a savepoint (kept for the rollback)")["changed"]
    assert "would be stopped with a savepoint" in res.task("Check mode | what would change")["msg"]
    assert cluster.snapshot() == before and files(base) == written
    assert sorted((base / "flink").glob("savepoints/savepoint-*")) == savepoints

    # deploy: the job is gone
    api.cancel_all()
    before, written = cluster.snapshot(), files(base)
    res = recipe("deploy_job.yml", "local", env=env)
    assert_dry_run(res, "deploy_job.yml")
    (start,) = res.task("Procedure | start each declared job that does not run")["results"]
    assert start["changed"] and start["outcome"] == "deployed"
    assert "would start ['%s']" % JOB in res.task("Check mode | what would change")["msg"]
    # resume: the job is gone and a savepoint is recorded
    res = recipe("suspend_resume_job.yml", "local", {"action": "resume", "job": JOB}, env=env)
    assert_dry_run(res, "suspend_resume_job.yml resume")
    assert res.task("Procedure | start the declared job from that savepoint, %s" % JOB)["changed"]
    assert cluster.snapshot() == before and before["jobs"] == []
    assert files(base) == written
    assert not [f for f in files(base) if "journal" in f]


@pytest.mark.slow
def test_incident_mitigation_in_check_mode_leaves_the_looping_job_alone(local_env):
    api, env, base = local_env["api"], local_env["env"], local_env["dir"]
    flaky = "flaky-dry"
    conf = {"restart-strategy.type": "fixed-delay", "restart-strategy.fixed-delay.attempts": "1000",
            "restart-strategy.fixed-delay.delay": "200 ms"}
    res = run_tasks([{"name": "d", "register": "d", "flinkops.cookbook.flink_job": {
        "name": flaky, "jar": str(base / "jars" / "stateful-v1.jar"), "version": "1.0.0", "parallelism": 1,
        "wait_for_checkpoint": False, "args": ["--name", flaky, "--fail-after-ms", "1200"],
        "flink_configuration": conf}}], api.url)
    assert res.rc == 0, res.stdout[-2000:]
    job_id = res.task("d")["job"]["id"]
    deadline = time.time() + 60
    while len(api.get(f"/jobs/{job_id}/exceptions")["exceptionHistory"]["entries"]) < 3:
        assert time.time() < deadline, "the flaky job did not loop"
        time.sleep(0.5)
    before, written = Cluster(api).snapshot(), files(base)
    hotfix = {"jar": str(base / "jars" / "stateful-v2.jar"), "version": "1.0.1-hotfix", "parallelism": 1,
              "args": ["--name", flaky]}
    res = recipe("incident_restart_loop.yml", "local",
                 {"incident_job": flaky, "incident_mitigation": "redeploy", "incident_hotfix": hotfix}, env=env)
    assert_dry_run(res, "incident_restart_loop.yml redeploy")
    assert res.task("Mitigation | stop the job with a savepoint (state kept)")["changed"]
    assert "1.0.1-hotfix started from it" in res.task("Check mode | what would change")["msg"]
    after = Cluster(api).snapshot()  # the looping job keeps looping: compare ids, versions and jars, not states
    assert [j[1] for j in after["jobs"]] == [j[1] for j in before["jobs"]] and job_id in after["versions"]
    assert after["versions"] == before["versions"] and after["jars"] == before["jars"]
    assert files(base) == written


# -- backup and restore inputs on a real Flink -------------------------------------------------
@pytest.mark.slow
def test_backup_of_a_job_that_does_not_run_fails_unless_skipped_and_restore_accepts_file_triple_slash(local_env):
    api, env, base = local_env["api"], local_env["env"], local_env["dir"]
    declared = job_decl(base, "stateful-v2.jar", "2.0.0") + [dict(job_decl(base, "stateful-v2.jar", "2.0.0")[0],
                                                                  name="ghost-counter")]
    res = recipe("backup_state.yml", "local", {"flink_jobs": declared}, env=env, check=False, diff=False)
    assert res.rc != 0
    assert "ghost-counter is declared but does not run" in res.stdout and "flink_backup_skip_missing" in res.stdout
    assert not list(base.glob("manifests/*/backup-*.json")) and not list((base / "flink").glob("savepoints/savepoint-*"))

    res = recipe("backup_state.yml", "local", {"flink_jobs": declared, "flink_backup_skip_missing": True}, env=env,
                 check=False, diff=False)
    assert res.rc == 0, res.stdout[-3000:]
    assert "ghost-counter" in res.task("Preconditions | the declared jobs skipped because they do not run")["msg"]
    (manifest,) = (base / "manifests" / "local-flink").glob("backup-*.json")
    (entry,) = json.loads(manifest.read_text())["savepoints"]
    assert entry["job"] == JOB and entry["savepoint"].startswith("file:/")

    api.cancel_all()
    triple = "file://" + entry["savepoint"][len("file:"):]
    assert triple.startswith("file:///")
    res = recipe("restore_state.yml", "local", {"restore_job": JOB, "restore_savepoint": triple}, env=env,
                 check=False, diff=False)
    assert res.rc == 0, res.stdout[-3000:]
    (job,) = api.active_jobs(JOB)
    assert job["state"] == "RUNNING" and api.restored_path(job["jid"]) == entry["savepoint"]
    again = recipe("restore_state.yml", "local", {"restore_job": JOB, "restore_savepoint": triple}, env=env,
                   check=False, diff=False)
    assert again.rc == 0 and again.changed_count() == 0, again
    assert [j["jid"] for j in api.active_jobs(JOB)] == [job["jid"]]


@pytest.mark.slow
@pytest.mark.parametrize("playbook, verb", [("scale_job.yml", "scale"), ("upgrade_job.yml", "upgrade")])
def test_a_declared_job_that_does_not_run_fails_naming_it(local_env, playbook, verb):
    """Repro: scale_job.yml and upgrade_job.yml ended rc=0 having done nothing for a declared job
    that did not run."""
    api, env, base, v1 = local_env["api"], local_env["env"], local_env["dir"], local_env["v1_job"]
    declared = job_decl(base, "stateful-v1.jar", "1.0.0") + [dict(job_decl(base, "stateful-v2.jar", "2.0.0")[0],
                                                                  name="ghost-counter")]
    for check in (True, False):
        res = recipe(playbook, "local", {"flink_jobs": declared}, env=env, check=check, diff=check)
        assert res.rc != 0
        assert "Cannot %s ghost-counter: 0 active jobs of that name run" % verb in res.stdout, res.stdout[-3000:]
        assert "deploy_job.yml" in res.stdout
    assert [j["jid"] for j in api.active_jobs()] == [v1], "nothing was started or stopped"
    assert not list((base / "flink").glob("savepoints/savepoint-*")), "no savepoint was taken"


# -- inventories validated before anything is touched (no cluster: nothing may be contacted) ----
def _decl(jar_dir, **changes):
    entry = dict(job_decl(jar_dir, "stateful-v2.jar", "2.0.0")[0], **changes)
    return [dict((k, v) for k, v in entry.items() if v is not None)]


BAD_INPUTS = [
    ("upgrade_job.yml", lambda d: {"flink_jobs": _decl(d, jar=None)},
     "flink_jobs[0] (name 'stateful-counter'): missing required field jar"),
    ("upgrade_job.yml", lambda d: {"flink_jobs": _decl(d, version=None)},
     "flink_jobs[0] (name 'stateful-counter'): missing required field version"),
    ("deploy_job.yml", lambda d: {"flink_jobs": _decl(d) + _decl(d)},
     "flink_jobs[1] (name 'stateful-counter'): duplicate name, already declared by flink_jobs[0]"),
    ("scale_job.yml", lambda d: {"scale_only": "no-such-job"},
     "scale_only=no-such-job names no job declared in flink_jobs (declared: stateful-counter)"),
    ("scale_job.yml", lambda d: {"flink_jobs": _decl(d, parallelism=None)},
     "flink_jobs[0] (name 'stateful-counter'): missing required field parallelism"),
    ("backup_state.yml", lambda d: {"backup_only": "no-such-job"}, "backup_only=no-such-job names no job declared"),
    ("restore_state.yml", lambda d: {"restore_job": "no-such-job"}, "restore_job=no-such-job names no job declared"),
    ("suspend_resume_job.yml", lambda d: {"action": "suspend", "job": "no-such-job"},
     "job=no-such-job names no job declared"),
    ("backfill.yml", lambda d: {"backfill_from": "no-such-job", "backfill_id": "x", "backfill_args": ["--x"]},
     "backfill_from=no-such-job names no job declared"),
    ("health_report.yml", lambda d: {"flink_jobs": [{"name": "a", "jar": "/a.jar", "version": "1"}, "oops"]},
     "flink_jobs[1] must be a mapping"),
    ("upgrade_job.yml", lambda d: {"flink_concurrency": 0},
     "flink_concurrency must be a whole number of jobs, at least 1; it is 0"),
    ("upgrade_job.yml", lambda d: {"flink_concurrency": "eight"},
     "flink_concurrency must be a whole number of jobs, at least 1; it is eight"),
]


@pytest.mark.parametrize("playbook, extra, expected", BAD_INPUTS, ids=[b[2].split(":")[0][:40] for b in BAD_INPUTS])
def test_a_bad_inventory_fails_first_naming_the_entry(tmp_path, playbook, extra, expected):
    env = {"FLINKOPS_LOCAL_REST_URL": "http://127.0.0.1:%d" % closed_port(), "FLINKOPS_LOCAL_DIR": str(tmp_path)}
    res = recipe(playbook, "local", extra(tmp_path), env=env, check=False, diff=False)
    assert res.rc != 0
    (failed,) = failures(res)
    assert failed["_task"] == "Preconditions | the inventory declares usable jobs (checked before anything is touched)"
    assert expected in failed["msg"] and "Nothing was changed" in failed["msg"], failed["msg"]
    ran = [t["_task"] for t in res.tasks if not t.get("skipped")]
    assert ran[-1] == failed["_task"], "tasks ran before the validation: %s" % ran
    assert not list(tmp_path.rglob("*.json")), "nothing is written"


def test_a_bad_cmf_inventory_fails_first_naming_the_entry(tmp_path):
    env = {"FLINKOPS_CMF_URL": "http://127.0.0.1:%d" % closed_port()}
    jobs = [{"name": "stateful-counter", "version": "2.0.0", "flink_version": "v1_19", "jar_uri": "local:///j.jar"}]
    res = recipe("upgrade_job.yml", "cmf_local", {"flink_jobs": jobs, "flinkops_manifest_dir": str(tmp_path)},
                 env=env, check=False, diff=False)
    assert res.rc != 0
    (failed,) = failures(res)
    assert "flink_jobs[0] (name 'stateful-counter'): missing required field image (platform cmf)" in failed["msg"]


# -- errors carry their cause; credentials never appear --------------------------------------
def test_a_failing_module_says_why_and_shows_no_credential(tmp_path):
    port = closed_port()
    url = "http://ops-in-url:%s@127.0.0.1:%d" % (SECRET, port)
    env = {"FLINK_REST_USERNAME": USER, "FLINK_REST_PASSWORD": SECRET + "-env"}
    tasks = [{"name": "url", "flinkops.cookbook.flink_job_info": {"name": JOB}, "ignore_errors": True},
             {"name": "env", "flinkops.cookbook.flink_job_info": {"name": JOB, "endpoint": "http://127.0.0.1:%d" % port}}]
    res = run_tasks(tasks, url, extra_env=env)
    out = res.stdout + res.stderr
    assert res.rc != 0
    for name in ("url", "env"):
        task = res.task(name)
        assert task["failed"] and "127.0.0.1:%d" % port in task["msg"] and "ConnectionError" in task["msg"], task
        assert task["invocation"]["module_args"]["username"] == "********"
    assert res.task("url")["invocation"]["module_args"]["endpoint"] == "http://********@127.0.0.1:%d" % port
    for secret in (SECRET, "ops-in-url", USER):
        assert secret not in out, "%s appears in the output" % secret
    assert "Unknown error" not in out

    # a recipe at -vvv, with the default (human) output, and the credentials in the endpoint
    env = {"FLINKOPS_LOCAL_REST_URL": url, "FLINKOPS_LOCAL_DIR": str(tmp_path), "ANSIBLE_STDOUT_CALLBACK": "default",
           "FLINK_REST_USERNAME": USER}
    cmd = [str(pathlib.Path(sys.executable).with_name("ansible-playbook")), str(REPO / "playbooks" / "health_report.yml"),
           "-l", "local", "-vvv"]
    proc = subprocess.run(cmd, cwd=REPO, env=ansible_env(env, json_output=False), capture_output=True, text=True,
                          timeout=300, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "127.0.0.1:%d" % port in out
    for secret in (SECRET, "ops-in-url", USER):
        assert secret not in out, "%s appears in the -vvv output" % secret
    assert "Unknown error" not in out


# -- check mode on the CMF branches (contract-checked fake CMF) ---------------------------------
cmf_only = pytest.mark.skipif(not spec_path("2.3").is_file(), reason="the shared CMF specs are not checked out")


def _cmf_recipe(cmf, playbook, tmp_path, check=True, **extra):
    return recipe(playbook, "cmf_local", dict({"flinkops_manifest_dir": str(tmp_path)}, **extra),
                  env={"FLINKOPS_CMF_URL": cmf.url, "FLINKOPS_VALIDATION_SECONDS": "1",
                       "FLINKOPS_CMF_STABLE_SECONDS": "1", "FLINKOPS_CMF_KAFKA_JAAS": "jaas-s3cr3t"},
                  check=check, diff=check, timeout=300)


def _writes(cmf, since=0):
    return [(e["method"], e["path"]) for e in cmf.log[since:] if e["method"] not in ("GET", "HEAD")]


def _app_view(app):
    """What a recipe could change: the spec, the labels, the job that runs and its state."""
    return {"spec": app["spec"], "labels": app["metadata"].get("labels"),
            "job": (app["status"]["jobStatus"].get("jobId"), app["status"]["jobStatus"].get("state")),
            "restored_from": app.get("restored_from")}


@cmf_only
def test_every_cmf_recipe_in_check_mode_changes_nothing(tmp_path):
    from tests.integration.test_cmf_playbooks import APP, ENV, seed
    with FakeCMF(start_delay=0.2, savepoint_delay=0.2) as cmf:
        res = _cmf_recipe(cmf, "cmf_environment_bringup.yml", tmp_path)
        assert_dry_run(res, "cmf_environment_bringup.yml")
        assert res.task("Procedure | the Flink environment, with checkpoint and savepoint storage as application "
                        "defaults")["changed"]
        assert cmf.envs == {} and _writes(cmf) == []
        assert "jaas-s3cr3t" not in res.stdout

        seed(cmf, parallelism=1)  # declared: parallelism 2, version 3.0.0 below
        deadline = time.time() + 30
        while cmf.application(ENV, APP)["status"]["jobStatus"].get("state") != "RUNNING":
            assert time.time() < deadline, "the seeded application did not start"
            time.sleep(0.1)
        start = len(cmf.log)
        app = _app_view(cmf.application(ENV, APP))
        runs = [("upgrade_job.yml", {"cmf_local_version": "3.0.0"}),
                ("scale_job.yml", {}),
                ("backup_state.yml", {}),
                ("suspend_resume_job.yml", {"action": "suspend", "job": APP}),
                ("restore_state.yml", {"restore_job": APP, "restore_replace_running": True,
                                       "restore_savepoint": "s3://local/sp/savepoint-dry"})]
        for playbook, extra in runs:
            res = _cmf_recipe(cmf, playbook, tmp_path, **extra)
            assert_dry_run(res, playbook)
            assert res.changed_count() > 0, "%s: a change is pending" % playbook
            assert [t for t in res.tasks if t["_task"].startswith("Check mode |") and not t.get("skipped")], playbook
        assert _writes(cmf, start) == [], "check mode sent write requests to CMF"
        assert _app_view(cmf.application(ENV, APP)) == app
        assert cmf.savepoints.get((ENV, APP), {}) == {} and cmf.detached == {}
        assert list(tmp_path.rglob("*")) == []
