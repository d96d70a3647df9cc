"""plugins/modules/fko_session_job.py in real ``ansible-playbook`` runs against the fake Kubernetes API and
its fake operator (tests/support/fake_kubernetes.py: the CRD schemas of ../shared/specs/fko, a session job
waits for a STABLE session cluster, then has the FlinkDeployment lifecycle). The oracle is what the fake API
server holds afterwards, and the writes it received.
"""
from __future__ import annotations

import json
import time

import pytest

from tests.integration.ansible_run import run_tasks
from tests.support.fake_kubernetes import FakeKubernetes, specs_dir

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not (specs_dir() / "flinksessionjobs.flink.apache.org-v1.yml").is_file(),
                                 reason="the shared FKO specs are not checked out")]

NS = "flinkops-local"
JAR = "https://artifacts.example.com/clickstream-%s.jar"
API = "/apis/flink.apache.org/v1beta1/namespaces/%s/" % NS


@pytest.fixture
def k8s():
    with FakeKubernetes(step_delay=0.1, stable_delay=0.2, savepoint_delay=0.1) as fake:
        fake.handle("POST", "/api/v1/namespaces", json.dumps({"apiVersion": "v1", "kind": "Namespace",
                                                              "metadata": {"name": NS}}).encode(),
                    {"Content-Type": "application/json"})
        yield fake


def cluster(k8s, name, job=None):
    """A FlinkDeployment as deploy_job.yml or a platform team leaves it: a session cluster (no job), or an
    application cluster (``job``); STABLE."""
    spec = {"image": "flink:1.20", "flinkVersion": "v1_20", "serviceAccount": "flink",
            "flinkConfiguration": {"state.savepoints.dir": "s3://flinkops-local/flink/savepoints"},
            "jobManager": {"resource": {"memory": "1024m", "cpu": 1}},
            "taskManager": {"resource": {"memory": "2048m", "cpu": 1}}}
    if job:
        spec["job"] = job
    code, _created = k8s.handle("POST", API + "flinkdeployments", json.dumps({
        "apiVersion": "flink.apache.org/v1beta1", "kind": "FlinkDeployment", "metadata": {"name": name},
        "spec": spec}).encode(), {"Content-Type": "application/json"})
    assert code == 201
    deadline = time.time() + 10
    while (k8s.get("flinkdeployments", NS, name).get("status") or {}).get("lifecycleState") != "STABLE":
        assert time.time() < deadline, k8s.get("flinkdeployments", NS, name)
        time.sleep(0.05)
    k8s.requests.clear()


def job_task(name="clicks", register=None, ignore_errors=False, **options):
    args = dict({"name": name, "wait_timeout": 20, "stable_seconds": 1}, **options)
    task = {"name": register or name, "flinkops.cookbook.fko_session_job": args}
    if register:
        task["register"] = register
    if ignore_errors:
        task["ignore_errors"] = True
    return task


def tasks(k8s, steps, check=False):
    return run_tasks(steps, k8s.url, check=check, diff=check, module_group="group/flinkops.cookbook.fko",
                     module_defaults={"namespace": NS})


def session_job(k8s, name="clicks"):
    return k8s.get("flinksessionjobs", NS, name)


def writes(k8s, plural="flinksessionjobs"):
    return [(m, p) for (m, p, q) in k8s.requests if m in ("POST", "PUT", "PATCH", "DELETE") and plural in p
            and q.get("dryRun") != "All"]


def snapshots(k8s):
    return {s["metadata"]["name"]: s for s in k8s.items("flinkstatesnapshots", NS)}


def test_a_session_job_created_upgraded_through_a_savepoint_suspended_resumed_and_deleted(k8s):
    cluster(k8s, "flink-session")
    declared = dict(deployment_name="flink-session", jar_uri=JAR % "1.0", entry_class="com.example.Sessionize",
                    args=["--topic", "clicks"], parallelism=2, upgrade_mode="savepoint",
                    labels={"flinkops.io/version": "1.0"})
    check = tasks(k8s, [job_task(register="create", **declared)], check=True)
    assert check.rc == 0, check.stdout[-3000:]
    planned = check.task("create")
    assert planned["changed"] and planned["outcome"] == "created"
    assert planned["diff"]["after"]["spec"]["deploymentName"] == "flink-session"
    assert session_job(k8s) is None and writes(k8s) == []

    upgraded = {**declared, "jar_uri": JAR % "1.1", "labels": {"flinkops.io/version": "1.1"}}
    res = tasks(k8s, [job_task(register="create", **declared), job_task(register="again", **declared),
                      job_task(register="upgrade", **upgraded),
                      job_task(register="suspend", name="clicks", state="suspended"),
                      job_task(register="resume", name="clicks", state="running"),
                      job_task(register="resumed_again", name="clicks", state="running")])
    assert res.rc == 0, res.stdout[-3000:]
    created = res.task("create")
    assert created["changed"] and created["outcome"] == "created" and created["job_state"] == "RUNNING"
    assert created["session_job"]["spec"]["deploymentName"] == "flink-session"
    assert not res.task("again")["changed"]
    upgrade = res.task("upgrade")
    assert upgrade["changed"] and upgrade["outcome"] == "updated" and "job.jarURI" in upgrade["differences"]
    first_job = created["session_job"]["status"]["jobStatus"]["jobId"]
    assert upgrade["session_job"]["status"]["jobStatus"]["jobId"] != first_job
    # the operator's upgrade savepoint, recorded as a FlinkStateSnapshot of the session job
    taken = [s for s in snapshots(k8s).values() if s["status"]["path"] == upgrade["restored_from"]]
    assert [(s["spec"]["jobReference"]["kind"], s["status"]["state"]) for s in taken] == [("FlinkSessionJob", "COMPLETED")]
    assert res.task("suspend")["job_state"] == "SUSPENDED"
    resume = res.task("resume")
    assert resume["changed"] and resume["job_state"] == "RUNNING"
    assert not res.task("resumed_again")["changed"]
    sj = session_job(k8s)
    assert sj["spec"]["job"]["jarURI"] == JAR % "1.1" and sj["status"]["lifecycleState"] == "STABLE"
    assert "taskManager" not in sj["status"], "a session job's pods are its cluster's"

    gone = tasks(k8s, [job_task(register="delete", name="clicks", state="absent"),
                       job_task(register="delete_again", name="clicks", state="absent")])
    assert gone.rc == 0, gone.stdout[-3000:]
    assert gone.task("delete")["changed"] and not gone.task("delete_again")["changed"]
    assert session_job(k8s) is None and k8s.get("flinkdeployments", NS, "flink-session") is not None
    assert taken[0]["metadata"]["name"] in snapshots(k8s), "deleting the job keeps its snapshots"


def test_what_the_operator_would_refuse_is_refused_first_naming_it_and_nothing_is_written(k8s):
    cluster(k8s, "flink-session")
    cluster(k8s, "orders", job={"jarURI": "local:///opt/flink/usrlib/orders.jar", "parallelism": 1,
                                "upgradeMode": "stateless", "state": "running"})
    cluster(k8s, "flink-session-b")
    seeded = tasks(k8s, [job_task(deployment_name="flink-session", jar_uri=JAR % "1.0", parallelism=1)])
    assert seeded.rc == 0, seeded.stdout[-3000:]
    k8s.requests.clear()
    res = tasks(k8s, [
        job_task(register="no_cluster", name="other", deployment_name="nope", jar_uri=JAR % "1.0", ignore_errors=True),
        job_task(register="application_cluster", name="other", deployment_name="orders", jar_uri=JAR % "1.0",
                 ignore_errors=True),
        job_task(register="no_deployment_name", name="other", jar_uri=JAR % "1.0", ignore_errors=True),
        job_task(register="moved", deployment_name="flink-session-b", jar_uri=JAR % "1.0", ignore_errors=True)])
    assert res.rc == 0, res.stdout[-3000:]
    msg = {name: res.task(name)["msg"] for name in ("no_cluster", "application_cluster", "no_deployment_name", "moved")}
    assert all(res.task(name)["failed"] for name in msg)
    assert ("FlinkSessionJob %s/other needs session cluster nope, and there is no FlinkDeployment %s/nope" % (NS, NS)
            in msg["no_cluster"]), msg["no_cluster"]
    assert "FlinkDeployment %s/orders is an application cluster (it has spec.job)" % NS in msg["application_cluster"]
    assert "deployment_name is needed to create it" in msg["no_deployment_name"], msg["no_deployment_name"]
    assert ("runs on session cluster flink-session: its deploymentName cannot change to flink-session-b"
            in msg["moved"]), msg["moved"]
    assert all(m.endswith("Nothing was changed.") for key, m in msg.items() if key != "no_deployment_name")
    assert writes(k8s) == [] and session_job(k8s, "other") is None
    assert session_job(k8s)["spec"]["deploymentName"] == "flink-session"


def test_an_upgrade_that_fails_is_rolled_back_from_the_operators_savepoint(k8s):
    cluster(k8s, "flink-session")
    declared = dict(deployment_name="flink-session", jar_uri=JAR % "1.0", parallelism=2, upgrade_mode="savepoint")
    seeded = tasks(k8s, [job_task(**declared)])
    assert seeded.rc == 0, seeded.stdout[-3000:]
    before = session_job(k8s)
    k8s.inject("fails_after", parallelism=3, after=0.3, error="java.lang.IllegalStateException: poison record")
    res = tasks(k8s, [job_task(register="rescale", ignore_errors=True, **{**declared, "parallelism": 3, "stable_seconds": 3})])
    failed = res.task("rescale")
    assert failed["failed"] and "poison record" in failed["msg"], failed["msg"]
    assert failed["rolled_back"], failed
    sj = session_job(k8s)
    assert sj["spec"]["job"]["parallelism"] == 2 and sj["status"]["jobStatus"]["state"] == "RUNNING"
    path = sj["spec"]["job"]["initialSavepointPath"]
    assert path and sj["status"]["jobStatus"]["upgradeSavepointPath"] == path
    assert [s["status"]["state"] for s in snapshots(k8s).values() if s["status"]["path"] == path] == ["COMPLETED"]
    assert sj["status"]["jobStatus"]["jobId"] != before["status"]["jobStatus"]["jobId"]
