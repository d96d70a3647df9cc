"""The AWX job templates of playbooks/configure_awx.yml, run the way AWX runs a job: with
ansible-runner (the engine of AWX's job execution), a private data directory laid out as AWX lays
it out, and the extra variables AWX computes from the survey (tests/support/awx_survey_rules.py:
the defaults that are valid answers, then the launch's own answers), against the real local Flink.

The layout AWX gives a job (awx/main/tasks/jobs.py): ``project/`` is the project checkout (a plain
checkout: tracked files only), ``inventory/hosts`` an executable script answering ``--list`` with
the inventory AWX synced from ``inventories/hosts.yml`` (its variables unrendered, as
``ansible-inventory --list --export`` gives them), ``env/extravars`` the survey answers, and the
environment AWX sets: ``ANSIBLE_COLLECTIONS_PATHS`` from the project's ansible.cfg
``collections_paths`` key, ``ANSIBLE_ROLES_PATH``, no retry files, no host key checking. The
variables a credential would inject (the REST endpoint of the local cluster, its directory) are
environment variables here.

Which templates run here: the ones whose default environment is ``local`` (the real Flink). The
others default to an environment served by a fake (fko_local, ccloud_local, cmf_local: their
recipes have their own tests) or need answers no default can give (backfill); the test names each.
"""
from __future__ import annotations

import configparser
import json
import os
import pathlib
import shutil
import subprocess
import sys

import ansible_runner
import pytest
import yaml

from tests.integration.ansible_run import FlinkApi, run_playbook
from tests.integration.local_inventory import JOB, running_version
from tests.integration.test_installed_collection import plain_checkout
from tests.support import awx_survey_rules as rules

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = pathlib.Path(__file__).resolve().parents[2]
VENV_BIN = pathlib.Path(sys.executable).parent
DATA = yaml.safe_load((REPO / "playbooks" / "vars" / "awx_job_templates.yml").read_text())
TEMPLATES = {t["name"]: t for t in DATA["awx_job_templates"]}
# not run against the real Flink, and why
ELSEWHERE = {
    "flinkops | scale cluster": "defaults to fko_local (fake Kubernetes API): test_fko_scale_cluster.py",
    "flinkops | dr failover": "defaults to ccloud_local (fake Confluent Cloud): test_dr_failover_playbook.py",
    "flinkops | dr failback": "defaults to ccloud_local: test_dr_failback_playbook.py",
    "flinkops | dr active-active check": "defaults to ccloud_local: test_dr_active_active_check_playbook.py",
    "flinkops | provision environment": "defaults to fko_local: test_provision_environment_playbook.py",
    "flinkops | cmf environment bring-up": "defaults to cmf_local (fake CMF): test_cmf_playbooks.py",
    "flinkops | backfill": "needs a backfill id and program arguments: test_backfill_playbook.py",
}


class AwxJob:
    """One private data directory, as AWX prepares it for the jobs of a project and inventory."""

    def __init__(self, base: pathlib.Path, env: dict):
        self.base = base
        self.project = plain_checkout(base / "project")
        export = subprocess.run([str(VENV_BIN / "ansible-inventory"), "-i", "inventories/hosts.yml", "--list", "--export"],
                                cwd=self.project, env=dict(os.environ, ANSIBLE_CONFIG=str(self.project / "ansible.cfg")),
                                capture_output=True, text=True, check=True, timeout=120).stdout
        self.inventory = base / "inventory.json"
        self.inventory.write_text(export)
        self.env = env
        self.count = 0

    def awx_env(self, pdd):
        cfg = configparser.ConfigParser()
        cfg.read(self.project / "ansible.cfg")
        collections = cfg.get("defaults", "collections_paths", fallback="")
        paths = [str(pdd / "requirements_collections")] + ([collections] if collections else []) + [
            "~/.ansible/collections", "/usr/share/ansible/collections"]
        return dict(self.env, PATH="%s:%s" % (VENV_BIN, os.environ.get("PATH", "/usr/bin:/bin")),
                    HOME=str(self.base / "home"), ANSIBLE_COLLECTIONS_PATHS=":".join(paths),
                    ANSIBLE_ROLES_PATH=str(pdd / "requirements_roles"), ANSIBLE_RETRY_FILES_ENABLED="False",
                    ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_INVENTORY_UNPARSED_FAILED="True",
                    ANSIBLE_NOCOLOR="1", JOB_ID=str(self.count), AWX_HOST="https://awx.example.internal")

    def launch(self, template, answers=None):
        """Run ``template`` with the extra variables AWX gives it for ``answers``: (runner, extra vars)."""
        survey = template["survey"]
        extra = rules.launch_extra_vars(survey, answers)
        assert rules.launch_errors(survey, extra) == [], "AWX would refuse this launch"
        self.count += 1
        pdd = self.base / ("job_%d" % self.count)
        (pdd / "inventory").mkdir(parents=True)
        (pdd / "env").mkdir()
        (pdd / "home").mkdir()
        (pdd / "project").symlink_to(self.project)
        script = pdd / "inventory" / "hosts"
        script.write_text("#!%s\nimport sys\nsys.stdout.write(open(%r).read() if '--list' in sys.argv else '{}')\n"
                          % (sys.executable, str(self.inventory)))
        script.chmod(0o755)
        (pdd / "env" / "extravars").write_text(json.dumps(extra))
        (self.base / "home").mkdir(exist_ok=True)
        runner = ansible_runner.run(private_data_dir=str(pdd), playbook=template["playbook"], envvars=self.awx_env(pdd),
                                    quiet=True, timeout=600)
        return runner, extra


def failures(runner):
    return [e["event_data"].get("res", {}).get("msg") for e in runner.events if e.get("event") == "runner_on_failed"]


def hosts_past_the_environment_check(runner):
    return {e["event_data"]["host"] for e in runner.events
            if e.get("event") in ("runner_on_ok", "runner_on_failed", "runner_on_skipped")
            and "Environment |" not in e["event_data"].get("task", "")}


def stdout(runner):
    return runner.stdout.read()[-4000:]


@pytest.fixture
def awx(flink_cluster, test_jars, tmp_path):
    """The local environment of the project's inventory, pointed at the real cluster, no job running."""
    api = FlinkApi(flink_cluster.rest_url)
    api.cancel_all()
    local = tmp_path / "local"
    (local / "jars").mkdir(parents=True)
    for key in ("v1", "v2"):
        shutil.copy(test_jars[key], local / "jars" / pathlib.Path(test_jars[key]).name)
    env = {"FLINKOPS_LOCAL_REST_URL": flink_cluster.rest_url, "FLINKOPS_LOCAL_DIR": str(local),
           "FLINKOPS_VALIDATION_SECONDS": "6"}
    job = AwxJob(tmp_path / "awx", env)
    yield {"api": api, "job": job, "local": local}
    api.cancel_all()


def test_every_template_is_run_here_or_named_with_where_it_is_tested():
    local = {name for name, t in TEMPLATES.items()
             if rules.launch_extra_vars(t["survey"]).get("flinkops_environment") == "local"
             and not rules.launch_errors(t["survey"], rules.launch_extra_vars(t["survey"]))}
    assert local | set(ELSEWHERE) == set(TEMPLATES) and not local & set(ELSEWHERE)
    assert local == set(RUN_ORDER), "a template defaulting to local that the run below leaves out"


RUN_ORDER = ["flinkops | deploy job", "flinkops | health report", "flinkops | backup state", "flinkops | scale job",
             "flinkops | upgrade job", "flinkops | suspend or resume job", "flinkops | restore state",
             "flinkops | incident checkpoint failures", "flinkops | incident restart loop"]


def test_the_job_templates_run_from_their_survey_defaults_against_the_real_flink(awx):
    api, job = awx["api"], awx["job"]

    deploy, extra = job.launch(TEMPLATES["flinkops | deploy job"])
    assert extra == {"flinkops_environment": "local"}
    assert deploy.rc == 0, stdout(deploy)
    (first,) = api.active_jobs(JOB)
    assert running_version(api, first["jid"]) == "2.0.0", "the version the local environment declares"
    # the environment chosen in the survey is the only one touched: the other hosts ended at once
    assert hosts_past_the_environment_check(deploy) == {"local-flink"}

    health = job.launch(TEMPLATES["flinkops | health report"])[0]
    assert health.rc == 0, stdout(health)
    assert list((awx["local"] / "reports" / "local-flink").glob("*.html")), "the report was written"

    backup, extra = job.launch(TEMPLATES["flinkops | backup state"])
    assert extra["backup_only"] == JOB and backup.rc == 0, stdout(backup)
    (manifest,) = (awx["local"] / "manifests" / "local-flink").glob("backup-*.json")
    backed_up = json.loads(manifest.read_text())["savepoints"][0]["savepoint"]

    scale = job.launch(TEMPLATES["flinkops | scale job"])[0]
    assert scale.rc == 0 and scale.stats["changed"] == {}, "the declared parallelism runs already"

    upgrade = job.launch(TEMPLATES["flinkops | upgrade job"])[0]
    assert upgrade.rc == 0 and upgrade.stats["changed"] == {}, "the declared version runs already"
    assert [j["jid"] for j in api.active_jobs(JOB)] == [first["jid"]]

    sr = TEMPLATES["flinkops | suspend or resume job"]
    suspend, extra = job.launch(sr)
    assert extra["action"] == "suspend" and suspend.rc == 0, stdout(suspend)
    assert api.active_jobs(JOB) == []
    resume = job.launch(sr, {"action": "resume"})[0]
    assert resume.rc == 0, stdout(resume)
    (resumed,) = api.active_jobs(JOB)

    restore = TEMPLATES["flinkops | restore state"]
    refused, extra = job.launch(restore)
    assert extra["restore_replace_running"] == "false" and extra["restore_savepoint"] == ""
    assert refused.rc != 0 and any("restore_replace_running=true" in (m or "") for m in failures(refused)), \
        failures(refused)
    assert [j["jid"] for j in api.active_jobs(JOB)] == [resumed["jid"]], "a refused restore changes nothing"
    restored = job.launch(restore, {"restore_replace_running": "true"})[0]
    assert restored.rc == 0, stdout(restored)
    (now,) = api.active_jobs(JOB)
    assert now["jid"] != resumed["jid"] and api.restored_path(now["jid"]) == backed_up

    for name in ("flinkops | incident checkpoint failures", "flinkops | incident restart loop"):
        incident = job.launch(TEMPLATES[name])[0]
        assert incident.rc == 0 and incident.stats["changed"] == {}, (name, failures(incident))
    assert [j["jid"] for j in api.active_jobs(JOB)] == [now["jid"]], "the incident templates by default only report"


def test_the_upgrade_workflow_runs_its_nodes_as_awx_does(awx):
    """AWX's workflow engine runs a node's success_nodes when its job succeeds and its failure_nodes when
    it fails, each with the workflow's survey answers and the node's extra_data."""
    api, job = awx["api"], awx["job"]
    seed = run_playbook("deploy_job.yml", "local", {"local_job_version": "1.0.0"}, job.env)
    assert seed.rc == 0, seed.stdout[-3000:]
    (old,) = api.active_jobs(JOB)
    (workflow,) = DATA["awx_workflows"]
    answers = rules.launch_extra_vars(workflow["survey"])
    nodes = {node["identifier"]: node for node in workflow["nodes"]}
    ran, pending = [], ["upgrade"]
    while pending:
        node = nodes[pending.pop(0)]
        runner, extra = job.launch(TEMPLATES[node["job_template"]], dict(answers, **node.get("extra_data", {})))
        ran.append((node["identifier"], runner.rc, extra.get("health_fail_on")))
        pending += node.get("success_nodes" if runner.rc == 0 else "failure_nodes", [])
    assert ran == [("upgrade", 0, None), ("validate", 0, "critical")], ran
    (new,) = api.active_jobs(JOB)
    assert new["jid"] != old["jid"] and running_version(api, new["jid"]) == "2.0.0", "upgraded to the declared version"
    assert api.restored_path(new["jid"]), "from the savepoint of 1.0.0"
