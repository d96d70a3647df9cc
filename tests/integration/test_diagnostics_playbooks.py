"""playbooks/health_report.yml and incident_checkpoint_failures.yml run as a user runs them
(`-l local`) against a real Flink. The job writes its checkpoints to its own directory
(`execution.checkpointing.dir` in its flinkConfiguration); the incident test breaks that
directory for real, so the checkpoints fail with the cause Flink itself reports, and the
reports are checked against what Flink reports."""
from __future__ import annotations

import pathlib
import re
import shutil
import time

import pytest

from tests.integration.ansible_run import FlinkApi, run_playbook

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.xdist_group("diagnostics")]
JOB = "stateful-counter"
METRICS_TASK = "Procedure | read checkpoints, backpressure, restarts, heap, GC and slots"


def wait_for(predicate, timeout=60, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    pytest.fail("timed out waiting for %s" % what)


@pytest.fixture(scope="module")
def diag_env(flink_cluster, test_jars, tmp_path_factory):
    """stateful-counter deployed by deploy_job.yml with its own checkpoint directory and a high
    tolerable-failed-checkpoints, so failing checkpoints do not restart it."""
    base = tmp_path_factory.mktemp("diagnostics")
    api = FlinkApi(flink_cluster.rest_url)
    api.cancel_all()
    (base / "jars").mkdir()
    jar = base / "jars" / pathlib.Path(test_jars["v1"]).name
    shutil.copy(test_jars["v1"], jar)
    cps = base / "cps"
    cps.mkdir()
    jobs = [{"name": JOB, "version": "1.0.0", "jar": str(jar), "args": ["--name", JOB], "parallelism": 2,
             "flink_configuration": {"execution.checkpointing.dir": "file://%s" % cps,
                                     "execution.checkpointing.tolerable-failed-checkpoints": "1000"}}]
    env = {"FLINKOPS_LOCAL_REST_URL": flink_cluster.rest_url, "FLINKOPS_LOCAL_DIR": str(base)}
    res = run_playbook("deploy_job.yml", "local", {"flink_jobs": jobs}, env)
    assert res.rc == 0, res.stdout[-3000:]
    job_id = api.active_jobs(JOB)[0]["jid"]
    wait_for(lambda: api.checkpoints(job_id)["counts"]["completed"] >= 2, what="two completed checkpoints")
    yield {"api": api, "env": env, "dir": base, "job_id": job_id, "cps": cps, "jobs": jobs}
    api.cancel_all()


def reports(base, pattern):
    return sorted((base / "reports" / "local-flink").glob(pattern))


def test_health_report_matches_flink_and_a_second_run_changes_nothing(diag_env):
    api, env, base, job_id = diag_env["api"], diag_env["env"], diag_env["dir"], diag_env["job_id"]
    before = api.checkpoints(job_id)["counts"]
    res = run_playbook("health_report.yml", "local", {"flink_jobs": diag_env["jobs"],
                                                      "health_backpressure_timeout": 10}, env)
    after = api.checkpoints(job_id)["counts"]
    assert res.rc == 0, res.stdout[-3000:]
    assert res.changed_count() == 0, res

    job = res.task(METRICS_TASK)["jobs"][0]
    tm = res.task(METRICS_TASK)["taskmanagers"][0]
    assert job["id"] == job_id and job["state"] == "RUNNING"
    counts = job["checkpoints"]["counts"]
    assert before["completed"] <= counts["completed"] <= after["completed"]
    assert before["failed"] <= counts["failed"] <= after["failed"]
    assert job["backpressure"]["level"] in ("ok", "low", "high")
    assert tm["heap_max"] > 0 and tm["heap_used"] > 0 and tm["gc"], tm

    md, html = reports(base, "health-*.md"), reports(base, "health-*.html")
    assert len(md) == 1 and len(html) == 1
    text = md[0].read_text()
    assert re.search(r"\| %s \| RUNNING \| \w+ \| %d \| %d \|" % (JOB, counts["completed"], counts["failed"]), text), text
    assert "- Id: `%s`" % job_id in text
    assert "(%d B)" % tm["heap_max"] in text and "(%d B)" % tm["heap_used"] in text
    assert tm["id"] in text and "G1_Young_Generation" in text
    page = html[0].read_text()
    assert "<td>%s</td>" % JOB in page and "(%d B)" % tm["heap_max"] in page and page.rstrip().endswith("</html>")
    summary = res.task("Validation | summary of the health of each job and TaskManager")["msg"]
    assert any(line.startswith(JOB + " [") for line in summary), summary

    again = run_playbook("health_report.yml", "local", {"flink_jobs": diag_env["jobs"],
                                                        "health_backpressure_timeout": 10}, env)
    assert again.rc == 0 and again.changed_count() == 0, again
    assert len(reports(base, "health-*.md")) == 2, "each run writes a new timestamped report"


def test_incident_report_names_the_cause_flink_reports_and_the_storage_fix(diag_env):
    api, env, base, job_id, cps = (diag_env[k] for k in ("api", "env", "dir", "job_id", "cps"))
    moved = cps.with_name("cps.moved")
    cps.rename(moved)
    cps.write_text("a file where the checkpoint directory was: every checkpoint now fails on storage")
    try:
        def failing():
            data = api.checkpoints(job_id)
            history = [h for h in data["history"] if h["status"] in ("COMPLETED", "FAILED")]
            return data if len(history) >= 2 and all(h["status"] == "FAILED" for h in history[:2]) else None
        wait_for(failing, what="two consecutive failed checkpoints")
        res = run_playbook("incident_checkpoint_failures.yml", "local",
                           {"flink_jobs": diag_env["jobs"], "incident_backpressure_timeout": 10}, env)
        flink_cause = api.checkpoints(job_id)["latest"]["failed"]["failure_message"]
        assert res.rc == 0, res.stdout[-3000:]
        assert res.changed_count() == 0, res

        text = reports(base, "incident-checkpoints-*.md")[-1].read_text()
        assert "## Job %s" % JOB in text and job_id in text
        assert flink_cause and "| %s | storage |" % flink_cause in text, text
        assert "`file:%s` (from the latest completed checkpoint)" % cps in text
        assert "Probe: **FAILED** at step `write`: %s is not a directory" % cps in text
        assert "1. **Fix the checkpoint storage** file:%s" % cps in text
        summary = res.task("Validation | diagnosis and recommended stabilisation per job")["msg"]
        assert any("storage probe file:%s: FAILED at write" % cps in line for line in summary), summary
        assert not list(moved.glob(".flinkops-probe-*"))

        again = run_playbook("incident_checkpoint_failures.yml", "local",
                             {"flink_jobs": diag_env["jobs"], "incident_backpressure_timeout": 10}, env)
        assert again.rc == 0 and again.changed_count() == 0, again
    finally:
        cps.unlink()
        moved.rename(cps)

    # Recipe validation: once the storage is fixed, checkpoints complete again without a restart.
    wait_for(lambda: api.checkpoints(job_id)["history"][0]["status"] == "COMPLETED", what="a completed checkpoint")
    healed = run_playbook("incident_checkpoint_failures.yml", "local",
                          {"flink_jobs": diag_env["jobs"], "incident_expect_healthy": True,
                           "incident_backpressure_timeout": 10}, env)
    assert healed.rc == 0, healed.stdout[-3000:]
    assert [j["jid"] for j in api.active_jobs(JOB)] == [job_id], "the same job, never restarted"
    text = reports(base, "incident-checkpoints-*.md")[-1].read_text()
    assert "Probe: OK" in text and ("recovered" in text or "no stabilisation needed" in text)
