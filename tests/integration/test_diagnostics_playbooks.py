"""playbooks/health_report.yml and incident_checkpoint_failures.yml run as a user runs them
(`-l local`) against a real Flink. The job writes its checkpoints to its own directory
(`execution.checkpointing.dir` in its flinkConfiguration); the incident test breaks that
directory for real, so the checkpoints fail with the cause Flink itself reports, and the
reports are checked against what Flink reports. The HTML reports are opened in a real headless
Chromium: no console error, and the job table, the charts and the findings are on the screen."""
from __future__ import annotations

import pathlib
import re
import shutil
import time

import pytest

from tests.integration.ansible_run import FlinkApi, run_playbook
from tests.integration.report_browser import open_in_chromium

pytestmark = [pytest.mark.slow, pytest.mark.integration]
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


def assert_charts_of(facts, job, kinds):
    """The charts of ``job`` (its metrics as flink_metrics_info returned them) are shown, in this
    order, with a bar per retained checkpoint of the status Flink gave it."""
    assert [c["cls"].replace(" empty", "") for c in facts["charts"]] == ["chart " + k for k in kinds], facts
    for chart in facts["charts"]:
        assert chart["shown"] and chart["within_page"] and chart["box"]["h"] > 60, chart
        assert chart["tallest_on_top"] in (True, None), chart
    durations = facts["charts"][0]
    assert durations["statuses"] == [h["status"] for h in job["checkpoints"]["history"]], durations
    assert durations["bars"] > 0 and durations["tallest_on_top"] is True, durations
    completed = [h for h in job["checkpoints"]["history"] if h["status"] == "COMPLETED"]
    assert facts["charts"][1]["points"] == len(completed), facts["charts"][1]
    if "backpressure" in kinds:
        vertices = job["backpressure"]["vertices"]
        assert facts["charts"][2]["bars"] == 3 * len(vertices), facts["charts"][2]
    width, height = facts["screenshot"]
    # the whole page, not only the window (the width may lose the scrollbar's 15 px; the full-page capture
    # may lay the page out a few pixels taller than the scroll height read after it: 1934 against 1915 in CI)
    page_width, page_height = facts["page_size"]
    assert page_height - 20 <= height <= page_height + 40 and page_width - 20 <= width <= page_width, facts


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
    cp = job["checkpoints"]
    if cp["latest_failed"] is None and counts["failed"]:
        # a checkpoint that failed at its trigger (common right after the start): counted, never recorded
        assert cp["failed_at_trigger"] == counts["failed"]
        assert "- Latest failed: none recorded: the %d failed checkpoint" % counts["failed"] in text, text
    else:
        assert "none recorded" not in text, text
    page = html[0].read_text()
    assert "<td>%s</td>" % JOB in page and "(%d B)" % tm["heap_max"] in page and page.rstrip().endswith("</html>")
    seen = open_in_chromium(html[0])
    assert seen["console_errors"] == [], seen["console_errors"]
    assert seen["title"].startswith("Flink health report: local-flink")
    assert seen["table_shown"] and JOB in seen["table_text"] and "RUNNING" in seen["table_text"], seen
    assert_charts_of(seen, job, ["checkpoint-durations", "state-size", "backpressure"])
    assert seen["findings_shown"], seen
    assert all(f["title"] in seen["findings_text"] for f in job["findings"]), (job["findings"], seen)
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

        # The HTML diagnosis, as the on-call engineer opens it: the failed checkpoints are red bars.
        job = res.task("Procedure | 1 and 4. failure causes, durations against the interval, state size trend, "
                       "backpressure")["results"][0]["jobs"][0]
        page = reports(base, "incident-checkpoints-*.html")[-1]
        assert flink_cause in page.read_text() or flink_cause.replace('"', "&#34;") in page.read_text()
        seen = open_in_chromium(page)
        assert seen["console_errors"] == [], seen["console_errors"]
        assert seen["table_shown"] and JOB in seen["table_text"] and "critical" in seen["table_text"], seen
        kinds = ["checkpoint-durations", "state-size"] + (["backpressure"] if job["backpressure"] else [])
        assert_charts_of(seen, job, kinds)
        assert "FAILED" in seen["charts"][0]["statuses"], seen["charts"][0]
        assert seen["findings_shown"] and "Fix the checkpoint storage file:%s" % cps in seen["findings_text"], seen
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
