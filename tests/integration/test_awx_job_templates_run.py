"""The AWX job templates of playbooks/configure_awx.yml, run the way AWX runs a job: with
ansible-runner (the engine of AWX's job execution), a private data directory laid out as AWX lays
it out, and the extra variables AWX computes from the survey (tests/support/awx_survey_rules.py:
the defaults that are valid answers, then the launch's own answers), against the real local Flink
or the fake that serves the template's default environment.

The layout AWX gives a job (awx/main/tasks/jobs.py): ``project/`` is the project checkout (a plain
checkout: tracked files only), ``inventory/hosts`` an executable script answering ``--list`` with
the inventory AWX synced from ``inventories/hosts.yml`` (its variables unrendered, as
``ansible-inventory --list --export`` gives them), ``env/extravars`` the survey answers, and the
environment AWX sets: ``ANSIBLE_COLLECTIONS_PATHS`` from the project's ansible.cfg
``collections_paths`` key, ``ANSIBLE_ROLES_PATH``, no retry files, no host key checking. The
variables a credential would inject (the REST endpoint of the local cluster, its directory; the
fakes' URLs, kubeconfig and API keys) are environment variables here. A launch with extra variables
outside the survey is refused here unless the template asks variables on launch (AWX ignores them).

Which templates run here: all of them, each from its survey's default answers
(test_every_template_is_run_here fails when a template of the YAML is in neither ``RUN_ORDER`` nor
``ON_FAKES``).

* The ones whose default environment is ``local`` run against the real Flink (marked slow). The
  backfill among them needs answers no default gives (a backfill id; its program arguments, which
  its template asks as extra variables on launch): AWX refuses the launch without them, so it gets
  the defaults plus those answers, and a short bounded backfill of the test job runs.
* The others default to an environment a stateful fake serves (fko_local: the fake Kubernetes API
  and its operator; ccloud_local: the fake Confluent Cloud; cmf_local: the fake CMF). Each runs
  against the fake, and the fake state, of the playbook's own test (imported from it); the
  variables that point the inventory at the fake are the job's environment, as a credential
  injects them. Not slow: no real Flink. Two read more of that environment: the provision template
  skips the Helm release, which the fake Kubernetes API cannot serve (FLINKOPS_FKO_HELM_INSTALL=false),
  and the active/active check reads the primary region's environment, which the fake serves from the
  same one (FLINKOPS_CCLOUD_PRIMARY_ENVIRONMENT): both read by the inventory, as a real environment
  sets them.
"""
from __future__ import annotations

import configparser
import json
import os
import pathlib
import shutil
import subprocess
import sys
import time

import ansible_runner
import pytest
import yaml

from tests.integration.ansible_run import FlinkApi, run_playbook
from tests.integration.local_inventory import JOB, running_version
# the fakes of the playbooks' own tests, with the state those tests give them (fixtures: cmf, regions,
# after_failover, dr, fko_k8s, provision_k8s)
from tests.integration.test_cmf_playbooks import (  # noqa: F401  pylint: disable=unused-import
    ENV as CMF_ENV, cmf, cmf_env)
from tests.integration.test_dr_active_active_check_playbook import (  # noqa: F401  pylint: disable=unused-import
    DR, PRIMARY, regions)
from tests.integration.test_dr_failback_playbook import (  # noqa: F401  pylint: disable=unused-import
    DR_STATEMENT, LINK as FAILBACK_LINK, PRIMARY_STATEMENT, after_failover)
from tests.integration.test_dr_failover_playbook import (  # noqa: F401  pylint: disable=unused-import
    LINK as FAILOVER_LINK, dr)
from tests.integration.test_fko_upgrade_playbook import (  # noqa: F401  pylint: disable=unused-import
    NS, deployed, deployment, fko_env, k8s as fko_k8s, real_writes, running_stable, snapshots)
from tests.integration.test_installed_collection import plain_checkout
from tests.integration.test_provision_environment_playbook import (  # noqa: F401  pylint: disable=unused-import
    CHART, HELM, k8s as provision_k8s)
from tests.support import awx_survey_rules as rules
from tests.support.fake_cmf import spec_path
from tests.support.fake_kubernetes import specs_dir

pytestmark = [pytest.mark.integration]
FKO_SPECS = pytest.mark.skipif(not (specs_dir() / "flinkdeployments.flink.apache.org-v1.yml").is_file(),
                               reason="the shared FKO specs are not checked out")
CMF_SPECS = pytest.mark.skipif(not spec_path("2.3").is_file(), reason="the shared CMF specs are not checked out")

REPO = pathlib.Path(__file__).resolve().parents[2]
VENV_BIN = pathlib.Path(sys.executable).parent
DATA = yaml.safe_load((REPO / "playbooks" / "vars" / "awx_job_templates.yml").read_text())
TEMPLATES = {t["name"]: t for t in DATA["awx_job_templates"]}
# the templates whose default environment a fake serves: (that environment, the test here that launches
# the template against the fake)
ON_FAKES = {
    "flinkops | scale cluster":
        ("fko_local", "test_the_scale_cluster_template_gives_the_job_its_declared_taskmanagers"),
    "flinkops | provision environment":
        ("fko_local", "test_the_provision_environment_template_brings_the_environment_up_in_order"),
    "flinkops | dr failover":
        ("ccloud_local", "test_the_dr_failover_template_fails_over_and_starts_the_dr_statements"),
    "flinkops | dr failback":
        ("ccloud_local", "test_the_dr_failback_template_returns_to_the_primary"),
    "flinkops | dr active-active check":
        ("ccloud_local", "test_the_dr_active_active_check_template_reads_both_regions_and_writes_only_its_report"),
    "flinkops | cmf environment bring-up":
        ("cmf_local", "test_the_cmf_bringup_template_brings_the_environment_up"),
}


class AwxJob:
    """One private data directory, as AWX prepares it for the jobs of a project and inventory."""

    def __init__(self, base: pathlib.Path, env: dict):
        self.base = base
        self.project = plain_checkout(base / "project")
        export = subprocess.run([str(VENV_BIN / "ansible-inventory"), "-i", "inventories/hosts.yml", "--list",
                                 "--export"], cwd=self.project, capture_output=True, text=True, check=True, timeout=120,
                                env=dict(os.environ, ANSIBLE_CONFIG=str(self.project / "ansible.cfg"))).stdout
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
        asked = {question["variable"] for question in survey["spec"]}
        assert template.get("ask_variables_on_launch") or set(answers or {}) <= asked, \
            "AWX ignores the extra variables of a launch that its template does not ask for"
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


def default_environment(template):
    return rules.launch_extra_vars(template["survey"]).get("flinkops_environment")


def test_every_template_is_run_here():
    assert set(RUN_ORDER) | set(ON_FAKES) == set(TEMPLATES), "a template that no test here launches"
    assert not set(RUN_ORDER) & set(ON_FAKES)
    local = {name for name, t in TEMPLATES.items() if default_environment(t) == "local"}
    assert local == set(RUN_ORDER), "a template defaulting to local that the real-Flink run leaves out"
    for name, (environment, test) in ON_FAKES.items():
        assert default_environment(TEMPLATES[name]) == environment, name
        assert callable(globals().get(test)) and test.startswith("test_"), (name, test)
    # AWX refuses a launch from the defaults alone of these only: the run gives them their answers
    refused = {name: rules.launch_errors(t["survey"], rules.launch_extra_vars(t["survey"]))
               for name, t in TEMPLATES.items()}
    assert {name: errors for name, errors in refused.items() if errors} == {
        "flinkops | backfill": ["'backfill_id' value missing"]}


RUN_ORDER = ["flinkops | deploy job", "flinkops | health report", "flinkops | backup state", "flinkops | scale job",
             "flinkops | upgrade job", "flinkops | suspend or resume job", "flinkops | restore state",
             "flinkops | incident checkpoint failures", "flinkops | incident restart loop", "flinkops | backfill"]


@pytest.mark.slow
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

    upgrade, extra = job.launch(TEMPLATES["flinkops | upgrade job"])
    assert extra == {"flinkops_environment": "local", "flink_concurrency": 8}, extra
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

    # the defaults and the answers AWX cannot start without: a backfill id (the survey's) and the program
    # arguments (an extra variable the template asks on launch), as test_backfill_playbook.py gives them
    name = "%s-backfill-awx" % JOB
    answers = {"backfill_id": "awx", "backfill_args": ["--name", name, "--count", "300", "--rate", "100"]}
    backfill, extra = job.launch(TEMPLATES["flinkops | backfill"], answers)
    assert extra == dict(answers, flinkops_environment="local", backfill_from=JOB)
    assert backfill.rc == 0, stdout(backfill)
    runs = [j for j in api.get("/jobs/overview")["jobs"] if j["name"] == name]
    assert [j["state"] for j in runs] == ["FINISHED"] and api.active_jobs(name) == [], "bounded, and gone when done"
    record = json.loads((awx["local"] / "manifests" / "local-flink" / ("backfill-%s.json" % name)).read_text())
    assert record["final_state"] == "FINISHED" and record["job_id"] == runs[0]["jid"]
    again = job.launch(TEMPLATES["flinkops | backfill"], answers)[0]
    assert again.rc == 0 and again.stats["changed"] == {}, stdout(again)
    assert len([j for j in api.get("/jobs/overview")["jobs"] if j["name"] == name]) == 1, "the same id runs once"
    assert [j["jid"] for j in api.active_jobs(JOB)] == [now["jid"]], "production untouched by the backfill"


@pytest.mark.slow
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


# The templates whose default environment a fake serves: each launched from its survey's defaults (AWX
# gives no other answer), against the fake and the fake state of the playbook's own test.

def on_fake(tmp_path, env):
    """The job directory of an environment a fake serves: ``env`` (what a credential would inject) points
    the inventory at the fake; the recipes' state directory is the test's."""
    return AwxJob(tmp_path / "awx", dict(env, FLINKOPS_STATE_DIR=str(tmp_path / "state")))


def wait_until(condition, timeout=30.0):
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, "not reached in %s s" % timeout
        time.sleep(0.05)


@FKO_SPECS
def test_the_scale_cluster_template_gives_the_job_its_declared_taskmanagers(fko_k8s, tmp_path):
    k8s = fko_k8s
    deployed(k8s, tmp_path)
    # as in test_fko_playbooks.py, someone scaled it by hand to 3 (3 TaskManagers of one slot): the
    # inventory declares parallelism 2 and no replicas, so 2 TaskManagers
    k8s.handle("PATCH", "/apis/flink.apache.org/v1beta1/namespaces/%s/flinkdeployments/%s" % (NS, JOB),
               json.dumps({"spec": {"job": {"parallelism": 3}}}).encode(),
               {"Content-Type": "application/merge-patch+json"})
    wait_until(lambda: running_stable(deployment(k8s)) and deployment(k8s)["status"]["taskManager"]["replicas"] == 3)
    k8s.requests.clear()
    before = deployment(k8s)
    job = on_fake(tmp_path, fko_env(k8s))

    first, extra = job.launch(TEMPLATES["flinkops | scale cluster"])
    assert extra == {"flinkops_environment": "fko_local"}
    assert first.rc == 0 and first.stats["changed"].get("local-fko"), stdout(first)
    assert hosts_past_the_environment_check(first) == {"local-fko"}
    fd = deployment(k8s)
    assert running_stable(fd), fd["status"]
    assert fd["spec"]["job"]["parallelism"] == 2 and fd["status"]["taskManager"]["replicas"] == 2
    assert fd["spec"]["image"] == before["spec"]["image"], "only the layout was written"
    js = fd["status"]["jobStatus"]
    assert js["jobId"] != before["status"]["jobStatus"]["jobId"], "a new run of the new layout"
    assert [s["status"]["state"] for s in snapshots(k8s).values()
            if s["status"]["path"] == js["upgradeSavepointPath"]] == ["COMPLETED"], "from the operator's savepoint"
    writes = real_writes(k8s)
    assert [p for (m, p, _q) in writes if m in ("PUT", "PATCH")] and all(NS in p for (_m, p, _q) in writes), writes

    second = job.launch(TEMPLATES["flinkops | scale cluster"])[0]
    assert second.rc == 0 and second.stats["changed"] == {}, stdout(second)
    assert real_writes(k8s) == writes, "a second launch writes nothing"


@FKO_SPECS
def test_the_provision_environment_template_brings_the_environment_up_in_order(provision_k8s, tmp_path):
    """The fake cannot serve Helm (no OpenAPI documents): the job's environment says so
    (FLINKOPS_FKO_HELM_INSTALL=false, read by the fko_local inventory), as a credential would inject it;
    everything else of the recipe runs, and a second launch writes nothing."""
    k8s = provision_k8s
    job = on_fake(tmp_path, dict(fko_env(k8s), FLINKOPS_FKO_CHART=str(CHART), FLINKOPS_HELM=HELM,
                                 FLINKOPS_FKO_HELM_INSTALL="false"))

    first, extra = job.launch(TEMPLATES["flinkops | provision environment"])
    assert extra == {"flinkops_environment": "fko_local"}
    assert first.rc == 0 and hosts_past_the_environment_check(first) == {"local-fko"}, stdout(first)
    writes = real_writes(k8s)
    posts = [p for (m, p, _q) in writes if m == "POST"]
    assert posts.index("/api/v1/namespaces") < posts.index("/apis/apiextensions.k8s.io/v1/customresourcedefinitions") \
        < posts.index("/apis/flink.apache.org/v1beta1/namespaces/flinkops-local/flinkdeployments"), \
        "namespaces, then the operator's CRDs, then the smoke test"
    assert k8s.get("rolebindings", "flinkops-local", "flink-role-binding", api_version="rbac.authorization.k8s.io/v1")
    crds = k8s.items("customresourcedefinitions", None, api_version="apiextensions.k8s.io/v1")
    assert sorted(c["metadata"]["name"] for c in crds) == ["flink%s.flink.apache.org" % kind for kind in (
        "bluegreendeployments", "deployments", "sessionjobs", "statesnapshots")]
    assert ("DELETE", "/apis/flink.apache.org/v1beta1/namespaces/flinkops-local/flinkdeployments/flinkops-smoke-test",
            ) == tuple(next((m, p) for (m, p, _q) in writes if m == "DELETE")), "the smoke test was removed"
    assert k8s.get("flinkdeployments", "flinkops-local", "flinkops-smoke-test") is None

    revision = k8s.revision
    second = job.launch(TEMPLATES["flinkops | provision environment"])[0]
    assert second.rc == 0 and second.stats["changed"] == {}, stdout(second)
    assert k8s.revision == revision, "a second launch writes nothing"


def test_the_dr_failover_template_fails_over_and_starts_the_dr_statements(dr):
    cc, env, tmp = dr
    job = on_fake(tmp, env)

    first, extra = job.launch(TEMPLATES["flinkops | dr failover"])
    assert extra == {"flinkops_environment": "ccloud_local", "force": "false"}
    assert first.rc == 0 and first.stats["changed"].get("local-ccloud"), stdout(first)
    assert hosts_past_the_environment_check(first) == {"local-ccloud"}
    posts = [e["body"]["mirror_topic_names"] for e in cc.writes("kafka") if e["path"].endswith("mirrors:failover")]
    assert posts == [["orders", "payments", "refunds"]]
    for topic in ("orders", "payments", "refunds"):  # the FAILED mirror too
        assert cc.mirror("lkc-dr", FAILOVER_LINK, topic)["mirror_status"] == "STOPPED"
    statement = cc.statement(DR_STATEMENT)
    assert statement["status"]["phase"] == "RUNNING"
    assert statement["spec"]["compute_pool_id"] == env["FLINKOPS_CCLOUD_POOL"]
    assert json.loads((tmp / "kafka-bootstrap.json").read_text())["active"] == "dr"

    writes = len(cc.writes())
    second = job.launch(TEMPLATES["flinkops | dr failover"])[0]
    assert second.rc == 0 and second.stats["changed"] == {}, stdout(second)
    assert len(cc.writes()) == writes, "a second launch sends no write"


def test_the_dr_failback_template_returns_to_the_primary(after_failover):
    cc, env, tmp = after_failover
    job = on_fake(tmp, env)

    first, extra = job.launch(TEMPLATES["flinkops | dr failback"])
    assert extra == {"flinkops_environment": "ccloud_local"}
    assert first.rc == 0 and first.stats["changed"].get("local-ccloud"), stdout(first)
    assert hosts_past_the_environment_check(first) == {"local-ccloud"}
    assert cc.statement(DR_STATEMENT)["status"]["phase"] == "STOPPED"
    assert cc.statement(PRIMARY_STATEMENT)["status"]["phase"] == "RUNNING"
    assert cc.mirror("lkc-primary", FAILBACK_LINK, "orders") is None, "writable on the primary"
    assert cc.mirror("lkc-dr", FAILBACK_LINK, "orders")["mirror_status"] == "ACTIVE", "a mirror again on DR"
    assert json.loads((tmp / "kafka-bootstrap.json").read_text())["active"] == "primary"
    stop = [e for e in cc.writes("flink") if e["method"] == "PATCH" and e["path"].endswith(DR_STATEMENT)]
    reverse = [e for e in cc.writes("kafka") if e["path"].endswith(":reverse-and-start-mirror")]
    assert stop and reverse and stop[0]["time"] < reverse[0]["time"], "DR stops writing before the reversal"

    writes = len(cc.writes())
    second = job.launch(TEMPLATES["flinkops | dr failback"])[0]
    assert second.rc == 0 and second.stats["changed"] == {}, stdout(second)
    assert len(cc.writes()) == writes, "a second launch sends no write"


def test_the_dr_active_active_check_template_reads_both_regions_and_writes_only_its_report(regions):
    """The other region's environment comes from the job's environment (the fake serves both regions
    from one): FLINKOPS_CCLOUD_PRIMARY_ENVIRONMENT, read by the ccloud_local inventory."""
    cc, env, _extra, tmp = regions
    job = on_fake(tmp, dict(env, FLINKOPS_CCLOUD_PRIMARY_ENVIRONMENT=cc.environment_id))
    first, extra = job.launch(TEMPLATES["flinkops | dr active-active check"])
    assert extra == {"flinkops_environment": "ccloud_local"}
    assert first.rc == 0 and hosts_past_the_environment_check(first) == {"local-ccloud"}, stdout(first)
    assert first.stats["changed"] == {} and cc.writes() == [], "read-only"
    (path,) = (tmp / "state" / "reports" / "local-ccloud").glob("active-active-*.md")
    text = path.read_text()
    for line in ("**OK**", "| %s | RUNNING | %s | RUNNING |" % (DR, PRIMARY)):
        assert line in text, text
    second = job.launch(TEMPLATES["flinkops | dr active-active check"])[0]
    assert second.rc == 0 and second.stats["changed"] == {} and cc.writes() == [], stdout(second)


@CMF_SPECS
def test_the_cmf_bringup_template_brings_the_environment_up(cmf, tmp_path):
    job = on_fake(tmp_path, cmf_env(cmf))

    first, extra = job.launch(TEMPLATES["flinkops | cmf environment bring-up"])
    assert extra == {"flinkops_environment": "cmf_local"}
    assert first.rc == 0 and first.stats["changed"].get("local-cmf"), stdout(first)
    assert hosts_past_the_environment_check(first) == {"local-cmf"}
    assert cmf.envs[CMF_ENV]["flinkApplicationDefaults"]["spec"]["flinkConfiguration"]["state.checkpoints.dir"]
    assert (CMF_ENV, "pool") in cmf.pools and "kafka-local" in cmf.catalogs
    assert cmf.secret_data("kafka-local-credentials")["sasl.jaas.config"] == "jaas-s3cr3t"
    assert (CMF_ENV, "kafka-local") in cmf.mappings and ("kafka-local", "local-kafka") in cmf.databases
    smoke = [e for e in cmf.log if e["path"].endswith("/applications/flinkops-smoke-test") or
             e["path"].endswith("/applications")]
    assert [e["method"] for e in smoke if e["method"] in ("POST", "DELETE")] == ["POST", "DELETE"], smoke
    assert cmf.application(CMF_ENV, "flinkops-smoke-test") is None, "the smoke test was removed"
    assert "jaas-s3cr3t" not in json.dumps(list(first.events)), "the secret is in no event AWX would store"

    writes = [e for e in cmf.log if e["method"] in ("POST", "PUT", "PATCH", "DELETE")]
    second = job.launch(TEMPLATES["flinkops | cmf environment bring-up"])[0]
    assert second.rc == 0 and second.stats["changed"] == {}, stdout(second)
    assert [e for e in cmf.log if e["method"] in ("POST", "PUT", "PATCH", "DELETE")] == writes, \
        "a second launch writes nothing (no smoke test either)"
