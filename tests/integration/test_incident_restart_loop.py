"""playbooks/incident_restart_loop.yml (recipe 7.1) against a real job stuck in a restart loop."""
from __future__ import annotations

import json
import time

import pytest

from tests.integration.ansible_run import run_playbook, run_tasks, start_playbook, wait_for
from tests.integration.report_browser import open_in_chromium
from tests.support.crash import crash

pytestmark = [pytest.mark.slow, pytest.mark.integration]
FLAKY = "flaky"
LOOP_CONF = {"restart-strategy.type": "fixed-delay", "restart-strategy.fixed-delay.attempts": "1000",
             "restart-strategy.fixed-delay.delay": "500 ms"}


@pytest.fixture
def looping_job(local_env):
    api, base = local_env["api"], local_env["dir"]
    jar = str(base / "jars" / "stateful-v1.jar")
    res = run_tasks([{"name": "d", "register": "d", "flinkops.cookbook.flink_job": {
        "name": FLAKY, "jar": jar, "version": "1.0.0", "parallelism": 1, "wait_for_checkpoint": True,
        "args": ["--name", FLAKY, "--fail-after-ms", "2500"], "flink_configuration": LOOP_CONF}}], api.url)
    assert res.rc == 0, res.stdout[-2000:]
    job_id = res.task("d")["job"]["id"]
    deadline = time.time() + 60
    while time.time() < deadline:
        entries = api.get(f"/jobs/{job_id}/exceptions")["exceptionHistory"]["entries"]
        if len(entries) >= 3:
            break
        time.sleep(0.5)
    else:
        pytest.fail("the flaky job did not loop")
    return dict(local_env, flaky=job_id, jar=jar)


def reports(base):
    return sorted((base / "reports" / "local-flink").glob(f"incident-{FLAKY}-*.md"))


def test_detects_classifies_and_reports_without_touching_the_job(looping_job):
    api, env, base = looping_job["api"], looping_job["env"], looping_job["dir"]
    res = run_playbook("incident_restart_loop.yml", "local", {"incident_job": FLAKY}, env)
    assert res.rc == 0, res.stdout[-3000:]
    assert res.changed_count() == 0
    (report,) = reports(base)
    text = report.read_text()
    assert "**restart loop**" in text and "| class | **code** |" in text
    assert "failing after 2500 ms on purpose" in text
    assert [j["jid"] for j in api.active_jobs(FLAKY)] == [looping_job["flaky"]], "report only: job untouched"

    # The HTML report in a real browser: each failure Flink lists within the window is a mark on the axis.
    (page,) = sorted(report.parent.glob(f"incident-{FLAKY}-*.html"))
    seen = open_in_chromium(page)
    assert seen["console_errors"] == [], seen["console_errors"]
    assert seen["table_shown"] and "restart loop" in seen["table_text"] and "code" in seen["table_text"], seen
    (timeline,) = seen["charts"]
    assert timeline["shown"] and timeline["within_page"], timeline
    recent = res.task("Identify | failures in the window, root exception and class")["ansible_facts"]["incident_recent"]
    assert sorted(timeline["marks"]) == sorted(e["timestamp"] for e in recent) and len(recent) >= 3, (timeline, recent)
    assert seen["findings_shown"] and "failing after 2500 ms on purpose" not in seen["findings_text"]
    assert all(e["name"] in seen["findings_text"] for e in recent if e.get("name")), seen["findings_text"]


def test_redeploys_the_hotfix_from_the_last_good_state(looping_job):
    api, env, base = looping_job["api"], looping_job["env"], looping_job["dir"]
    hotfix = {"jar": str(base / "jars" / "stateful-v2.jar"), "version": "1.0.1-hotfix", "parallelism": 1,
              "args": ["--name", FLAKY]}
    res = run_playbook("incident_restart_loop.yml", "local",
                       {"incident_job": FLAKY, "incident_mitigation": "redeploy", "incident_hotfix": hotfix}, env)
    assert res.rc == 0, res.stdout[-3000:]
    jobs = api.active_jobs(FLAKY)
    assert len(jobs) == 1 and jobs[0]["jid"] != looping_job["flaky"] and jobs[0]["state"] == "RUNNING"
    config = api.get(f"/jobs/{jobs[0]['jid']}/config")["execution-config"]["user-config"]
    assert config["flinkops.version"] == "1.0.1-hotfix"
    restored = api.restored_path(jobs[0]["jid"])
    assert restored, "the hotfix started from the last good savepoint or checkpoint, not from scratch"
    assert api.get(f"/jobs/{jobs[0]['jid']}/exceptions")["exceptionHistory"]["entries"] == []

    again = run_playbook("incident_restart_loop.yml", "local",
                         {"incident_job": FLAKY, "incident_mitigation": "redeploy", "incident_hotfix": hotfix}, env)
    assert again.rc == 0 and again.changed_count() == 0
    assert "no restart loop" in again.stdout


def hotfix_of(base):
    return {"jar": str(base / "jars" / "stateful-v2.jar"), "version": "1.0.1-hotfix", "parallelism": 1,
            "args": ["--name", FLAKY]}


def incident_journal(base):
    return base / "manifests" / "local-flink" / f"{FLAKY}.incident.json"


def redeploy_vars(base):
    return {"incident_job": FLAKY, "incident_mitigation": "redeploy", "incident_hotfix": hotfix_of(base)}


def test_a_redeploy_crashed_after_the_stop_is_finished_by_the_next_run(looping_job):
    """Repro: killed once the looping job had stopped, the re-run found no active job and failed with
    "expected 1 active job", leaving the job down. It must start the hotfix from the state the job was
    stopped with, and a dry run in between must change nothing."""
    api, env, base, flaky = looping_job["api"], looping_job["env"], looping_job["dir"], looping_job["flaky"]
    proc = start_playbook("incident_restart_loop.yml", env, redeploy_vars(base), log=base / "first.log")
    try:
        reached = wait_for(lambda: api.job(flaky)["state"] in ("FINISHED", "CANCELED"), proc, timeout=120)
    finally:
        crash(proc)
    assert reached, (base / "first.log").read_text()[-3000:]
    assert api.active_jobs(FLAKY) == [], "the crash left the job down"
    assert incident_journal(base).exists(), "the mitigation was journaled before the stop"

    dry = run_playbook("incident_restart_loop.yml", "local", redeploy_vars(base), env, check=True)
    assert dry.rc == 0, dry.stdout[-3000:]
    assert "would be finished" in dry.stdout
    assert api.active_jobs(FLAKY) == [] and incident_journal(base).exists(), "check mode changed nothing"

    wrong = run_playbook("incident_restart_loop.yml", "local", {"incident_job": FLAKY, "incident_mitigation": "stop"}, env)
    assert wrong.rc != 0 and "incident_mitigation=redeploy to finish it" in wrong.stdout
    assert api.active_jobs(FLAKY) == []

    second = run_playbook("incident_restart_loop.yml", "local", redeploy_vars(base), env)
    assert second.rc == 0, second.stdout[-4000:]
    (job,) = api.active_jobs(FLAKY)
    assert job["state"] == "RUNNING"
    config = api.get(f"/jobs/{job['jid']}/config")["execution-config"]["user-config"]
    assert config["flinkops.version"] == "1.0.1-hotfix"
    stopped = api.job(flaky)
    restored = api.restored_path(job["jid"])
    latest = api.get(f"/jobs/{flaky}/checkpoints")["latest"]
    expected = (latest["savepoint"] or {}).get("external_path") if stopped["state"] == "FINISHED" \
        else (latest["completed"] or {}).get("external_path")
    assert restored and expected and restored.rstrip("/") == expected.rstrip("/"), \
        "the hotfix started from the state the crashed run stopped the job with: %s vs %s" % (restored, expected)
    assert not incident_journal(base).exists(), "the journal is closed once the hotfix is validated"

    third = run_playbook("incident_restart_loop.yml", "local", redeploy_vars(base), env)
    assert third.rc == 0 and third.changed_count() == 0, third.stdout[-3000:]
    assert [j["jid"] for j in api.active_jobs(FLAKY)] == [job["jid"]]


def test_a_redeploy_crashed_while_the_hotfix_was_validated_is_validated_by_the_next_run(looping_job):
    api, env, base = looping_job["api"], looping_job["env"], looping_job["dir"]

    def phase():
        try:
            return json.loads(incident_journal(base).read_text()).get("phase")
        except (OSError, ValueError):
            return None

    proc = start_playbook("incident_restart_loop.yml", env, redeploy_vars(base), log=base / "first.log")
    try:
        reached = wait_for(lambda: phase() == "validate", proc, timeout=180)
    finally:
        crash(proc)
    assert reached, (base / "first.log").read_text()[-3000:]
    (hotfix,) = api.active_jobs(FLAKY)

    second = run_playbook("incident_restart_loop.yml", "local", redeploy_vars(base), env)
    assert second.rc == 0, second.stdout[-4000:]
    validated = [t for t in second.tasks if t["_task"].startswith("Validation | no failure since the hotfix started")]
    assert validated and not validated[0].get("skipped") and not validated[0].get("failed"), \
        "the validation the crashed run missed was run"
    assert [j["jid"] for j in api.active_jobs(FLAKY)] == [hotfix["jid"]], "the same hotfix job, no second one"
    assert not incident_journal(base).exists()
