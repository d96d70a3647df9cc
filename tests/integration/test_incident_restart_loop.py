"""playbooks/incident_restart_loop.yml (recipe 7.1) against a real job stuck in a restart loop."""
from __future__ import annotations

import time

import pytest

from tests.integration.ansible_run import run_playbook, run_tasks

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
