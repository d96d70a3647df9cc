"""The job modules against a real Flink cluster, through real ``ansible-playbook`` runs.

Every test asserts on what Flink reports afterwards (job ids, states, vertex parallelism,
``latest.restored.external_path``, savepoint files on disk), not only on module output.
"""
from __future__ import annotations

import pathlib
import time

import pytest

from tests.integration.ansible_run import FlinkApi, run_tasks
from tests.support.auth_proxy import BasicAuthProxy

pytestmark = [pytest.mark.slow, pytest.mark.integration]


@pytest.fixture
def flink(flink_cluster):
    api = FlinkApi(flink_cluster.rest_url)
    api.cancel_all()
    yield api
    api.cancel_all()


@pytest.fixture
def adaptive(adaptive_flink_cluster):
    api = FlinkApi(adaptive_flink_cluster.rest_url)
    api.cancel_all()
    yield api
    api.cancel_all()


def job_task(name, jar, version, register="r", **extra):
    args = {"name": name, "jar": jar, "version": version, "args": ["--name", name], "parallelism": 2}
    args.update(extra)
    return {"name": register, "flinkops.cookbook.flink_job": args, "register": register}


def deploy(api, name, jar, version="1.0.0", **extra):
    res = run_tasks([job_task(name, jar, version, **extra)], api.url)
    assert res.rc == 0, res.stdout[-3000:]
    return res.task("r")


def test_deploy_is_idempotent_and_check_mode_changes_nothing(flink, test_jars):
    check = run_tasks([job_task("deploy-me", test_jars["v1"], "1.0.0")], flink.url, check=True, diff=True)
    assert check.rc == 0
    assert check.task("r")["changed"] is True
    assert check.task("r")["diff"]["after"]["state"] == "RUNNING"
    assert flink.active_jobs("deploy-me") == [], "check mode must not start a job"

    first = deploy(flink, "deploy-me", test_jars["v1"])
    assert first["changed"] is True and first["outcome"] == "deployed"
    jobs = flink.active_jobs("deploy-me")
    assert len(jobs) == 1 and jobs[0]["state"] == "RUNNING"
    assert jobs[0]["jid"] == first["job"]["id"]
    assert flink.vertex_parallelism(jobs[0]["jid"]) == [2, 2]
    assert flink.checkpoints(jobs[0]["jid"])["counts"]["completed"] >= 1

    second = deploy(flink, "deploy-me", test_jars["v1"])
    assert second["changed"] is False and second["jar_uploaded"] is False
    assert [j["jid"] for j in flink.active_jobs("deploy-me")] == [jobs[0]["jid"]]


def test_savepoint_is_on_disk_check_mode_and_max_age(flink, flink_cluster, test_jars, tmp_path):
    job = deploy(flink, "sp-job", test_jars["v1"])
    job_id = job["job"]["id"]
    target = f"file://{tmp_path}/sp"
    task = {"name": "sp", "flinkops.cookbook.flink_savepoint": {
        "name": "sp-job", "target_directory": target, "shared_fs": True, "max_age": 300}, "register": "sp"}

    before = flink.checkpoints(job_id)["counts"]
    check = run_tasks([task], flink.url, check=True)
    assert check.rc == 0 and check.task("sp")["changed"] is True
    assert not (tmp_path / "sp").exists(), "check mode must not take a savepoint"

    res = run_tasks([task], flink.url)
    assert res.rc == 0, res.stdout[-3000:]
    sp = res.task("sp")["savepoint"]
    assert sp["location"].startswith(f"file:{tmp_path}/sp/savepoint-")
    assert (pathlib.Path(sp["location"][len("file:"):]) / "_metadata").is_file()
    assert len(sp["trigger_id"]) == 32
    # Flink's checkpoint statistics are cached for a moment (rest.cache.checkpoint-statistics.timeout).
    deadline = time.time() + 10
    while flink.checkpoints(job_id)["latest"]["savepoint"] is None and time.time() < deadline:
        time.sleep(0.2)
    latest = flink.checkpoints(job_id)["latest"]["savepoint"]
    assert latest["external_path"] == sp["location"]
    assert flink.checkpoints(job_id)["counts"]["completed"] > before["completed"]
    assert flink.job(job_id)["state"] == "RUNNING"

    again = run_tasks([task], flink.url)
    assert again.rc == 0 and again.task("sp")["changed"] is False
    assert again.task("sp")["savepoint"]["location"] == sp["location"]
    assert len(list((tmp_path / "sp").iterdir())) == 1, "a re-run within max_age must not take a second savepoint"


def test_stop_then_start_v2_from_the_savepoint(flink, test_jars, tmp_path):
    deploy(flink, "stop-job", test_jars["v1"])
    target = f"file://{tmp_path}/sp"
    stop = {"name": "stop", "flinkops.cookbook.flink_job": {
        "name": "stop-job", "state": "stopped", "target_directory": target, "shared_fs": True}, "register": "stop"}
    res = run_tasks([stop], flink.url)
    assert res.rc == 0, res.stdout[-3000:]
    location = res.task("stop")["savepoint"]["location"]
    assert flink.active_jobs("stop-job") == []
    assert (pathlib.Path(location[len("file:"):]) / "_metadata").is_file()

    again = run_tasks([stop], flink.url)
    assert again.rc == 0 and again.task("stop")["changed"] is False

    started = deploy(flink, "stop-job", test_jars["v2"], version="2.0.0", savepoint_path=location, shared_fs=True)
    new_id = started["job"]["id"]
    assert flink.restored_path(new_id) == location
    assert flink.checkpoints(new_id)["latest"]["restored"]["is_savepoint"] is True


def test_upgrade_keeps_state_and_second_run_is_unchanged(flink, test_jars, tmp_path):
    old = deploy(flink, "up-job", test_jars["v1"])["job"]["id"]
    target = f"file://{tmp_path}/sp"
    res = run_tasks([job_task("up-job", test_jars["v2"], "2.0.0", target_directory=target, shared_fs=True)],
                    flink.url, diff=True)
    assert res.rc == 0, res.stdout[-3000:]
    up = res.task("r")
    assert up["outcome"] == "upgraded" and up["previous_job_id"] == old
    # live progress from the flinkops.cookbook.progress callback (ansible.cfg enables it), on stderr;
    # a savepoint this small often completes before a sample of its subtasks can be taken
    assert f"... [up-job] job {up['job']['id']}: RUNNING" in res.stderr, res.stderr[-2000:]
    assert up["diff"]["before"]["version"] == "1.0.0" and up["diff"]["after"]["version"] == "2.0.0"
    location = up["savepoint"]["location"]
    jobs = flink.active_jobs("up-job")
    assert len(jobs) == 1 and jobs[0]["jid"] == up["job"]["id"] != old
    assert flink.job(old)["state"] == "FINISHED"
    assert flink.restored_path(jobs[0]["jid"]) == location
    assert (pathlib.Path(location[len("file:"):]) / "_metadata").is_file(), "NO_CLAIM keeps the savepoint"

    second = run_tasks([job_task("up-job", test_jars["v2"], "2.0.0", target_directory=target, shared_fs=True)],
                       flink.url)
    assert second.rc == 0 and second.task("r")["changed"] is False
    assert [j["jid"] for j in flink.active_jobs("up-job")] == [jobs[0]["jid"]]


def test_failed_upgrade_rolls_back_to_the_previous_version_from_the_same_savepoint(flink, test_jars, tmp_path):
    old = deploy(flink, "rb-job", test_jars["v1"])["job"]["id"]
    target = f"file://{tmp_path}/sp"
    res = run_tasks([job_task("rb-job", test_jars["failing"], "3.0.0-broken", target_directory=target,
                              shared_fs=True, start_timeout=120)], flink.url)
    assert res.rc != 0
    failed = res.task("r")
    assert "failing at start on purpose" in failed["msg"]
    assert failed["rolled_back"]["ok"] is True
    location = failed["savepoint"]["location"]
    jobs = flink.active_jobs("rb-job")
    assert len(jobs) == 1 and jobs[0]["jid"] not in (old, failed["failed_job_id"])
    assert jobs[0]["state"] == "RUNNING"
    assert flink.job(failed["failed_job_id"])["state"] == "CANCELED"
    assert flink.restored_path(jobs[0]["jid"]) == location
    config = flink.get(f"/jobs/{jobs[0]['jid']}/config")["execution-config"]["user-config"]
    assert config["flinkops.version"] == "1.0.0", "the previous version runs again"


def test_savepoint_failure_leaves_the_job_running(flink, test_jars, tmp_path):
    job_id = deploy(flink, "ro-job", test_jars["v1"])["job"]["id"]
    # A directory below a regular file cannot be created, not even by root.
    (tmp_path / "afile").write_text("x")
    blocked = f"file://{tmp_path}/afile/savepoints"
    res = run_tasks([job_task("ro-job", test_jars["v2"], "2.0.0", target_directory=blocked, shared_fs=True)],
                    flink.url)
    assert res.rc != 0
    msg = res.task("r")["msg"]
    assert "savepoint" in msg and "failed" in msg
    jobs = flink.active_jobs("ro-job")
    assert [j["jid"] for j in jobs] == [job_id], "the old job must still run and no new job be started"
    assert flink.job(job_id)["state"] == "RUNNING"


def test_in_place_rescale_on_the_adaptive_scheduler(adaptive, test_jars):
    job_id = deploy(adaptive, "scale-ip", test_jars["v1"])["job"]["id"]
    task = {"name": "s", "flinkops.cookbook.flink_job_scale": {"name": "scale-ip", "parallelism": 3},
            "register": "s"}
    check = run_tasks([task], adaptive.url, check=True)
    assert check.rc == 0 and check.task("s")["method"] == "in_place"
    assert adaptive.vertex_parallelism(job_id) == [2, 2]

    res = run_tasks([task], adaptive.url)
    assert res.rc == 0, res.stdout[-3000:]
    assert res.task("s")["method"] == "in_place"
    assert adaptive.vertex_parallelism(job_id) == [3, 3], "same job, new parallelism"
    assert adaptive.job(job_id)["state"] == "RUNNING"

    again = run_tasks([task], adaptive.url)
    assert again.rc == 0 and again.task("s")["changed"] is False


def test_savepoint_rescale_on_the_default_scheduler(flink, test_jars, tmp_path):
    old = deploy(flink, "scale-sp", test_jars["v1"])["job"]["id"]
    task = {"name": "s", "flinkops.cookbook.flink_job_scale": {
        "name": "scale-sp", "parallelism": 3, "target_directory": f"file://{tmp_path}/sp", "shared_fs": True},
        "register": "s"}
    res = run_tasks([task], flink.url)
    assert res.rc == 0, res.stdout[-3000:]
    out = res.task("s")
    assert out["method"] == "savepoint" and "not adaptive" in out["fallback_reason"]
    jobs = flink.active_jobs("scale-sp")
    assert len(jobs) == 1 and jobs[0]["jid"] != old
    assert flink.vertex_parallelism(jobs[0]["jid"]) == [3, 3]
    assert flink.restored_path(jobs[0]["jid"]) == out["savepoint"]["location"]

    again = run_tasks([task], flink.url)
    assert again.rc == 0 and again.task("s")["changed"] is False


def test_rescale_beyond_free_slots_fails_before_touching_the_job(flink, test_jars, tmp_path):
    job_id = deploy(flink, "scale-big", test_jars["v1"])["job"]["id"]
    task = {"name": "s", "flinkops.cookbook.flink_job_scale": {
        "name": "scale-big", "parallelism": 9, "target_directory": f"file://{tmp_path}/sp", "shared_fs": True},
        "register": "s"}
    res = run_tasks([task], flink.url)
    assert res.rc != 0
    assert "needs 9 slots but only 4 are free" in res.task("s")["msg"]
    assert [j["jid"] for j in flink.active_jobs("scale-big")] == [job_id]
    assert flink.vertex_parallelism(job_id) == [2, 2]
    assert not (tmp_path / "sp").exists(), "no savepoint, no stop"


def test_bad_input_gets_a_clear_error_and_changes_nothing(flink, test_jars, tmp_path):
    job_id = deploy(flink, "bad-in", test_jars["v1"])["job"]["id"]
    cases = [
        ({"flinkops.cookbook.flink_savepoint": {"name": "bad-in", "target_directory": "savepoints/x"}},
         "is a relative path"),
        ({"flinkops.cookbook.flink_savepoint": {"name": "bad-in", "target_directory": "file:///tmp/x"}},
         "local filesystem"),
        ({"flinkops.cookbook.flink_job_scale": {"name": "bad-in", "parallelism": 0}},
         "parallelism must be a positive integer"),
        ({"flinkops.cookbook.flink_job_scale": {"name": "no-such-job", "parallelism": 2}},
         "no active job named 'no-such-job'"),
        ({"flinkops.cookbook.flink_savepoint": {"name": "no-such-job"}}, "no active job named 'no-such-job'"),
        ({"flinkops.cookbook.flink_job": {"name": "bad-in", "jar": str(tmp_path / "missing.jar")}},
         "missing.jar does not exist"),
        ({"flinkops.cookbook.flink_job_scale": {"name": "bad-in", "parallelism": 200}},
         "exceeds the job's max parallelism 128"),
    ]
    for body, expected in cases:
        res = run_tasks([dict(body, name="t", register="t")], flink.url)
        assert res.rc != 0, body
        assert expected in res.task("t")["msg"], (body, res.task("t")["msg"])
    assert [j["jid"] for j in flink.active_jobs("bad-in")] == [job_id]
    assert flink.vertex_parallelism(job_id) == [2, 2]
    assert flink.checkpoints(job_id)["counts"]["completed"] >= 1
    assert flink.checkpoints(job_id)["latest"]["savepoint"] is None, "no savepoint was taken"


def test_unreachable_endpoint_and_wrong_password(flink, flink_cluster):
    info = {"name": "i", "flinkops.cookbook.flink_cluster_info": {}, "register": "i"}
    res = run_tasks([info], "http://127.0.0.1:9")
    assert res.rc != 0
    msg = res.task("i")["msg"]
    assert "http://127.0.0.1:9/" in msg and "Connection refused" in msg

    with BasicAuthProxy(flink_cluster.rest_url, "ops", "s3cret") as proxy:
        ok = run_tasks([info], proxy.url, module_defaults={"username": "ops", "password": "s3cret"})
        assert ok.rc == 0, ok.stdout[-2000:]
        assert ok.task("i")["cluster"]["flink_version"]
        bad = run_tasks([info], proxy.url, module_defaults={"username": "ops", "password": "wrong"})
    assert bad.rc != 0
    msg = bad.task("i")["msg"]
    assert "HTTP 401" in msg and "bad or missing credentials" in msg
    assert "wrong" not in bad.stdout, "the password must not be logged"


def test_cancel_refuses_without_retained_checkpoint_unless_allowed(flink, test_jars):
    job_id = deploy(flink, "cancel-me", test_jars["v1"])["job"]["id"]
    task = {"name": "c", "flinkops.cookbook.flink_job": {"name": "cancel-me", "state": "cancelled"}, "register": "c"}
    res = run_tasks([task], flink.url)
    # The local cluster retains checkpoints on cancellation, so the state survives in one.
    assert res.rc == 0, res.stdout[-2000:]
    assert res.task("c")["last_checkpoint"].startswith("file:")
    assert flink.job(job_id)["state"] == "CANCELED"
    again = run_tasks([task], flink.url)
    assert again.rc == 0 and again.task("c")["changed"] is False
