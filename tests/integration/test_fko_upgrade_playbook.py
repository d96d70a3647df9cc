"""The FKO branches of deploy_job.yml and upgrade_job.yml, ``ansible-playbook playbooks/<recipe>.yml
-l fko_local``, against the fake Kubernetes API with its fake operator (tests/support/fake_kubernetes.py,
the CRD schemas of ../shared/specs/fko). Each: a run, a second run that changes nothing, a
``--check --diff`` run that sends no write; each injected failure ends with the last good spec
running from the savepoint the operator took before the upgrade, and no snapshot deleted.
The oracle is what the fake API server holds afterwards.
"""
from __future__ import annotations

import contextlib
import json
import time

import pytest

from tests.integration.ansible_run import run_playbook, start_playbook, wait_for
from tests.support.crash import crash
from tests.support.fake_kubernetes import FakeKubernetes, specs_dir

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not (specs_dir() / "flinkdeployments.flink.apache.org-v1.yml").is_file(),
                                 reason="the shared FKO specs are not checked out")]

NS = "flinkops-local"
JOB = "stateful-counter"
IMAGE = "registry.example.com/flinkops/stateful-counter:%s"


@contextlib.contextmanager
def fake_cluster(tmp_path, step_delay=0.1, savepoint_delay=0.1):
    with FakeKubernetes(step_delay=step_delay, stable_delay=0.2, savepoint_delay=savepoint_delay) as fake:
        fake.handle("POST", "/api/v1/namespaces", b'{"apiVersion": "v1", "kind": "Namespace", "metadata": '
                    b'{"name": "%s"}}' % NS.encode(), {"Content-Type": "application/json"})
        fake.kubeconfig_path = fake.kubeconfig(tmp_path / "kubeconfig")
        fake.requests.clear()
        yield fake


@pytest.fixture
def k8s(tmp_path):
    with fake_cluster(tmp_path) as fake:
        yield fake


@pytest.fixture
def slow_k8s(tmp_path):
    """An operator that takes seconds for a savepoint upgrade, as a real one does: a second run reads
    the deployment while the operator is still at it."""
    with fake_cluster(tmp_path, step_delay=1.5, savepoint_delay=1.5) as fake:
        yield fake


def fko_env(k8s, validation_seconds=1):
    return {"FLINKOPS_FKO_KUBECONFIG": str(k8s.kubeconfig_path), "FLINKOPS_VALIDATION_SECONDS": str(validation_seconds),
            "FLINKOPS_FKO_STABLE_SECONDS": "1", "FLINKOPS_FKO_START_TIMEOUT": "30"}


def play(k8s, playbook, tmp_path, check=False, **extra):
    env = fko_env(k8s)
    extra_vars = dict({"flinkops_manifest_dir": str(tmp_path / "manifests")}, **extra)
    if check:
        return run_playbook(playbook, "fko_local", extra_vars=extra_vars, extra_env=env, check=True, timeout=300,
                            diff=True)
    return run_playbook(playbook, "fko_local", extra_vars=extra_vars, extra_env=env, timeout=300)


def deployment(k8s):
    return k8s.get("flinkdeployments", NS, JOB)


def running_stable(fd):
    st = fd["status"]
    return st["lifecycleState"] == "STABLE" and st["jobStatus"]["state"] == "RUNNING" \
        and st["observedGeneration"] == fd["metadata"]["generation"]


def snapshots(k8s):
    return {s["metadata"]["name"]: s for s in k8s.items("flinkstatesnapshots", NS)}


def real_writes(k8s):
    return [(m, p, q) for (m, p, q) in k8s.requests if m in ("POST", "PUT", "PATCH", "DELETE")
            and q.get("dryRun") != "All"]


def deployed(k8s, tmp_path, version="2.0.0"):
    """The declared job as deploy_job.yml leaves it (that playbook has its own test): created through
    the API, STABLE and RUNNING."""
    body = {"apiVersion": "flink.apache.org/v1beta1", "kind": "FlinkDeployment",
            "metadata": {"name": JOB, "labels": {"flinkops.io/version": version}},
            "spec": {"image": IMAGE % version, "flinkVersion": "v1_20", "serviceAccount": "flink",
                     "flinkConfiguration": {"state.savepoints.dir": "s3://flinkops-local/flink/savepoints",
                                            "state.checkpoints.dir": "s3://flinkops-local/flink/checkpoints",
                                            "execution.checkpointing.interval": "10s"},
                     "jobManager": {"resource": {"memory": "1024m", "cpu": 1}},
                     "taskManager": {"resource": {"memory": "2048m", "cpu": 1}},
                     "job": {"jarURI": "local:///opt/flink/usrlib/stateful-counter.jar",
                             "entryClass": "flinkops.testjob.StatefulCounter", "args": ["--name", JOB],
                             "parallelism": 2, "upgradeMode": "savepoint", "state": "running"}}}
    code, _created = k8s.handle("POST", "/apis/flink.apache.org/v1beta1/namespaces/%s/flinkdeployments" % NS,
                                json.dumps(body).encode(), {"Content-Type": "application/json"})
    assert code == 201
    deadline = time.time() + 10
    while not (deployment(k8s).get("status") and running_stable(deployment(k8s))):
        assert time.time() < deadline, deployment(k8s)
        time.sleep(0.05)
    k8s.requests.clear()


def test_deploy_creates_the_declared_job_then_nothing_to_do(k8s, tmp_path):
    check = play(k8s, "deploy_job.yml", tmp_path, check=True)
    assert check.rc == 0, check.stdout[-3000:]
    assert deployment(k8s) is None and real_writes(k8s) == []

    first = play(k8s, "deploy_job.yml", tmp_path)
    assert first.rc == 0, first.stdout[-3000:]
    fd = deployment(k8s)
    assert running_stable(fd), fd["status"]
    assert fd["spec"]["image"] == IMAGE % "2.0.0" and fd["spec"]["job"]["upgradeMode"] == "savepoint"
    assert fd["spec"]["flinkConfiguration"]["execution.checkpointing.interval"] == "10s"
    assert fd["metadata"]["labels"]["flinkops.io/version"] == "2.0.0"
    assert first.changed_count() >= 1

    writes = len(real_writes(k8s))
    second = play(k8s, "deploy_job.yml", tmp_path)
    assert second.rc == 0 and second.changed_count() == 0, second
    assert len(real_writes(k8s)) == writes


def test_an_environment_chosen_by_variable_is_the_only_one_run_and_an_unknown_one_changes_nothing(k8s, tmp_path):
    """flinkops_environment (the AWX surveys' environment question: a survey cannot set --limit)."""
    env = fko_env(k8s)
    extra = {"flinkops_manifest_dir": str(tmp_path / "manifests")}
    unknown = run_playbook("deploy_job.yml", "all", dict(extra, flinkops_environment="production"), env, timeout=300)
    assert unknown.rc != 0
    msg = unknown.task("flinkops.cookbook.recipe_defaults : Environment | the environment asked for is a group of this inventory")["msg"]
    assert "flinkops_environment 'production' is not a group of this inventory" in msg and "fko_local" in msg, msg
    assert real_writes(k8s) == [] and deployment(k8s) is None

    chosen = run_playbook("deploy_job.yml", "all", dict(extra, flinkops_environment="fko_local"), env, timeout=300)
    assert chosen.rc == 0, chosen.stdout[-3000:]
    assert running_stable(deployment(k8s))
    past = {t["_host"] for t in chosen.tasks if "Environment |" not in t["_task"]}
    assert past == {"local-fko"}, "the hosts of the other environments ended before any other task"
    assert len(chosen.stats) > 1, "the run saw the whole inventory"


def test_two_deploys_at_once_make_one_deployment_and_both_report_it(slow_k8s, tmp_path):
    k8s = slow_k8s
    extra = {"flinkops_manifest_dir": str(tmp_path / "manifests")}
    runs = [start_playbook("deploy_job.yml", fko_env(k8s), extra, log=tmp_path / ("run%d.log" % i), limit="fko_local")
            for i in (1, 2)]
    codes = [run.wait(300) for run in runs]
    logs = [(tmp_path / ("run%d.log" % i)).read_text() for i in (1, 2)]
    assert 0 in codes, logs[0][-3000:] + logs[1][-3000:]
    for code, log in zip(codes, logs):
        assert code == 0 or "already exists" in log, log[-3000:]
    assert len(k8s.items("flinkdeployments", NS)) == 1
    creates = [w for w in real_writes(k8s) if w[0] == "POST" and w[1].endswith("/flinkdeployments")]
    assert 1 <= len(creates) <= 2 and running_stable(deployment(k8s))
    assert not [w for w in real_writes(k8s) if w[0] == "DELETE"], "nothing was deleted"


def test_upgrade_through_the_operators_savepoint_then_nothing_to_do_and_check_mode_writes_nothing(k8s, tmp_path):
    deployed(k8s, tmp_path)
    before = deployment(k8s)
    writes = len(real_writes(k8s))
    check = play(k8s, "upgrade_job.yml", tmp_path, check=True, fko_local_version="2.1.0")
    assert check.rc == 0, check.stdout[-3000:]
    assert len(real_writes(k8s)) == writes and deployment(k8s)["spec"] == before["spec"]
    planned = check.task("Procedure | write the declared spec; the operator stops the job with a savepoint and "
                         "starts it from it, %s" % JOB)
    assert planned["changed"] and planned["diff"]["after"]["spec"]["image"] == IMAGE % "2.1.0"

    up = play(k8s, "upgrade_job.yml", tmp_path, fko_local_version="2.1.0")
    assert up.rc == 0, up.stdout[-4000:]
    fd = deployment(k8s)
    assert running_stable(fd) and fd["spec"]["image"] == IMAGE % "2.1.0"
    assert fd["metadata"]["labels"]["flinkops.io/version"] == "2.1.0"
    js = fd["status"]["jobStatus"]
    assert js["jobId"] != before["status"]["jobStatus"]["jobId"]
    # the new run restored from the savepoint the operator took of the old one, COMPLETED with a path
    upgrade_snaps = [s for s in snapshots(k8s).values() if s["status"]["path"] == js["upgradeSavepointPath"]]
    assert upgrade_snaps and upgrade_snaps[0]["status"]["state"] == "COMPLETED"
    assert js["upgradeSavepointPath"].startswith("s3://flinkops-local/flink/savepoints/savepoint-")
    result = up.task("Procedure | write the declared spec; the operator stops the job with a savepoint and starts "
                     "it from it, %s" % JOB)
    assert result["restored_from"] == js["upgradeSavepointPath"]
    assert (tmp_path / "manifests" / "local-fko" / ("%s-upgrade-2.json" % JOB)).is_file()

    writes = len(real_writes(k8s))
    again = play(k8s, "upgrade_job.yml", tmp_path, fko_local_version="2.1.0")
    assert again.rc == 0 and again.changed_count() == 0, again
    assert len(real_writes(k8s)) == writes


def assert_last_good_spec_runs_from_the_pre_upgrade_savepoint(k8s, good_image, snaps_before):
    fd = deployment(k8s)
    assert running_stable(fd), fd["status"]
    assert fd["spec"]["image"] == good_image
    js = fd["status"]["jobStatus"]
    upgrade = [s for name, s in snapshots(k8s).items() if name not in snaps_before]
    assert len(upgrade) == 1 and upgrade[0]["status"]["state"] == "COMPLETED", upgrade
    # the savepoint the operator took before the upgrade is the one the good spec runs from
    assert js["upgradeSavepointPath"] == upgrade[0]["status"]["path"]
    assert fd["spec"]["job"]["initialSavepointPath"] == upgrade[0]["status"]["path"]
    assert set(snaps_before) <= set(snapshots(k8s)), "a snapshot was deleted"


def test_a_spec_that_never_becomes_stable_is_rolled_back_from_the_operators_savepoint(k8s, tmp_path):
    deployed(k8s, tmp_path)
    k8s.inject("unstable", image=":2.2.0")
    snaps_before = snapshots(k8s)
    up = play(k8s, "upgrade_job.yml", tmp_path, fko_local_version="2.2.0")
    assert up.rc != 0
    failed = up.task("Rollback | the module applied the previous spec itself, FlinkDeployment %s" % JOB)
    assert "RESTARTING" in failed["msg"] and "previous spec was applied again" in failed["msg"], failed["msg"]
    assert_last_good_spec_runs_from_the_pre_upgrade_savepoint(k8s, IMAGE % "2.0.0", snaps_before)


def test_a_job_that_fails_validation_is_rolled_back_by_the_rescue(k8s, tmp_path):
    deployed(k8s, tmp_path)
    k8s.inject("fails_after", image=":2.3.0", after=1.5, error="java.lang.IllegalStateException: poison record")
    snaps_before = snapshots(k8s)
    up = play(k8s, "upgrade_job.yml", tmp_path, fko_local_version="2.3.0", flink_validation_seconds=2,
              fko_stable_seconds=0)
    assert up.rc != 0
    cause = up.task("Rollback | fail with the cause")
    assert "rolled back" in cause["msg"] and "poison record" in cause["msg"], cause["msg"]
    assert_last_good_spec_runs_from_the_pre_upgrade_savepoint(k8s, IMAGE % "2.0.0", snaps_before)


def test_an_operator_restart_mid_upgrade_ends_with_the_new_spec_restored_from_its_savepoint(k8s, tmp_path):
    deployed(k8s, tmp_path)
    k8s.inject("operator_restart", down=1.0)
    up = play(k8s, "upgrade_job.yml", tmp_path, fko_local_version="2.1.0")
    assert up.rc == 0, up.stdout[-3000:]
    assert k8s.operator.restarts == 1
    fd = deployment(k8s)
    assert running_stable(fd) and fd["spec"]["image"] == IMAGE % "2.1.0"
    path = fd["status"]["jobStatus"]["upgradeSavepointPath"]
    assert [s["status"]["state"] for s in snapshots(k8s).values() if s["status"]["path"] == path] == ["COMPLETED"]


def journal(tmp_path):
    return tmp_path / "manifests" / "local-fko" / ("%s.journal.json" % JOB)


UPGRADE_KILL_POINTS = {
    # journaled, the spec not written yet
    "journaled": lambda k8s, tmp: journal(tmp).exists() and deployment(k8s)["spec"]["image"] == IMAGE % "2.0.0",
    # the spec written, the operator busy with the savepoint upgrade
    "spec_written": lambda k8s, tmp: deployment(k8s)["spec"]["image"] == IMAGE % "2.1.0",
    # the new run STABLE, the validation window open
    "validation_window": lambda k8s, tmp: journal(tmp).exists() and deployment(k8s)["spec"]["image"] == IMAGE % "2.1.0"
    and running_stable(deployment(k8s)),
}


def crash_upgrade_at(k8s, tmp_path, version, moment):
    proc = start_playbook("upgrade_job.yml", fko_env(k8s, validation_seconds=10),
                          {"flinkops_manifest_dir": str(tmp_path / "manifests"), "fko_local_version": version},
                          log=tmp_path / "first.log", limit="fko_local")
    try:
        reached = wait_for(lambda: moment(k8s, tmp_path), proc, timeout=120)
    finally:
        crash(proc)
    assert reached, (tmp_path / "first.log").read_text()[-3000:]


@pytest.mark.parametrize("moment", sorted(UPGRADE_KILL_POINTS))
def test_an_upgrade_crashed_at_any_step_is_finished_and_validated_by_the_next_run(k8s, tmp_path, moment):
    """Repro: killed after the spec write, the re-run found the declared spec and reported nothing to
    do: the validation the crashed run owed was never run."""
    deployed(k8s, tmp_path)
    snaps_before = snapshots(k8s)
    crash_upgrade_at(k8s, tmp_path, "2.1.0", UPGRADE_KILL_POINTS[moment])

    second = play(k8s, "upgrade_job.yml", tmp_path, fko_local_version="2.1.0")
    assert second.rc == 0, second.stdout[-4000:]
    validated = [t for t in second.tasks if t["_task"].startswith("Validation | the new version runs")]
    assert validated and not validated[0].get("skipped") and not validated[0].get("failed"), \
        "the validation the crashed run missed was run"
    fd = deployment(k8s)
    assert running_stable(fd) and fd["spec"]["image"] == IMAGE % "2.1.0"
    upgrade = [s for name, s in snapshots(k8s).items() if name not in snaps_before]
    assert len(upgrade) == 1 and upgrade[0]["status"]["state"] == "COMPLETED", "one upgrade savepoint: %s" % upgrade
    assert fd["status"]["jobStatus"]["upgradeSavepointPath"] == upgrade[0]["status"]["path"]
    assert not journal(tmp_path).exists(), "the journal is closed once the new version is validated"

    third = play(k8s, "upgrade_job.yml", tmp_path, fko_local_version="2.1.0")
    assert third.rc == 0 and third.changed_count() == 0, third.stdout[-3000:]


def test_an_upgrade_crashed_in_its_validation_of_a_failing_version_is_rolled_back_by_the_next_run(k8s, tmp_path):
    deployed(k8s, tmp_path)
    k8s.inject("fails_after", image=":2.3.0", after=4, error="java.lang.IllegalStateException: poison record")
    snaps_before = snapshots(k8s)
    crash_upgrade_at(k8s, tmp_path, "2.3.0", lambda k, t: journal(t).exists() and running_stable(deployment(k))
                     and deployment(k)["spec"]["image"] == IMAGE % "2.3.0")
    recorded = json.loads(journal(tmp_path).read_text())
    assert recorded["previous_spec"]["image"] == IMAGE % "2.0.0"

    second = play(k8s, "upgrade_job.yml", tmp_path, fko_local_version="2.3.0", flink_validation_seconds=8)
    assert second.rc != 0
    rollback = second.task("Rollback | start the previous spec from the operator's upgrade savepoint, "
                           "FlinkDeployment %s" % JOB)
    assert not rollback.get("failed"), rollback.get("msg")
    cause = second.task("Rollback | fail with the cause")
    assert "rolled back" in cause["msg"] and "poison record" in cause["msg"], cause["msg"]
    assert_last_good_spec_runs_from_the_pre_upgrade_savepoint(k8s, IMAGE % "2.0.0", snaps_before)
    assert not journal(tmp_path).exists()


def settled(k8s, timeout=30):
    """Wait until the operator has reconciled the deployment, STABLE and RUNNING."""
    deadline = time.time() + timeout
    while not running_stable(deployment(k8s)):
        assert time.time() < deadline, deployment(k8s)["status"]
        time.sleep(0.05)


def spec_puts(k8s):
    return [w for w in real_writes(k8s) if w[0] == "PUT" and w[1].endswith("/flinkdeployments/%s" % JOB)]


def test_an_upgrade_that_loses_the_race_to_another_run_rolls_nothing_back_and_the_next_run_validates(k8s, tmp_path):
    """Repro (CI, two upgrades at once): the run whose PUT met the other run's new generation wrote
    nothing, yet rolled back: its previous spec went over the other run's upgrade and both runs failed.
    The race is made deterministic here: the other run's change lands right before this run's PUT."""
    deployed(k8s, tmp_path)
    k8s.inject("race_on_put", name=JOB,
               patch={"metadata": {"labels": {"flinkops.io/version": "2.1.0"}}, "spec": {"image": IMAGE % "2.1.0"}})
    lost = play(k8s, "upgrade_job.yml", tmp_path, fko_local_version="2.1.0")
    assert lost.rc != 0
    msg = lost.task("Rollback | none, this run wrote nothing: another run changed it first, %s" % JOB)["msg"]
    assert "changed by someone else (generation 1, now 2)" in msg and "rolls nothing back" in msg, msg
    assert len(spec_puts(k8s)) == 1, "only the refused PUT: no rollback over the other run's change"
    assert journal(tmp_path).exists(), "kept for the run that made the change"
    settled(k8s)
    assert deployment(k8s)["spec"]["image"] == IMAGE % "2.1.0"

    again = play(k8s, "upgrade_job.yml", tmp_path, fko_local_version="2.1.0")
    assert again.rc == 0, again.stdout[-3000:]
    watched = again.task("Validation | what the watch saw last, job %s" % JOB)["ansible_facts"]["validate_result"]
    assert watched["verdict"] == "passed" and not journal(tmp_path).exists()
    assert len(spec_puts(k8s)) == 1 and deployment(k8s)["spec"]["image"] == IMAGE % "2.1.0"


def test_two_upgrades_at_once_make_one_new_run_from_one_savepoint(slow_k8s, tmp_path):
    """Repro: the run whose write found the spec already written returned the old job (the operator had
    not acted yet), validated that id, saw the new run as "another run" and rolled back the healthy
    upgrade (1 in 3 tries with a fast fake operator; every time with a slow one)."""
    k8s = slow_k8s
    deployed(k8s, tmp_path)
    snaps_before = snapshots(k8s)
    extra = {"flinkops_manifest_dir": str(tmp_path / "manifests"), "fko_local_version": "2.1.0"}
    runs = [start_playbook("upgrade_job.yml", fko_env(k8s, validation_seconds=3), extra, log=tmp_path / ("run%d.log" % i),
                           limit="fko_local") for i in (1, 2)]
    codes = [run.wait(300) for run in runs]
    logs = [(tmp_path / ("run%d.log" % i)).read_text() for i in (1, 2)]
    assert 0 in codes, logs[0][-3000:] + logs[1][-3000:]
    for code, log in zip(codes, logs):
        # the other run either found the upgrade done or in progress, or was refused naming the conflict
        assert code == 0 or ("changed by someone else" in log and "rolls nothing back" in log), log[-3000:]
        assert "ROLLBACK FAILED" not in log and "Rollback | start the previous spec" not in log, log[-3000:]
    fd = deployment(k8s)
    assert running_stable(fd) and fd["spec"]["image"] == IMAGE % "2.1.0"
    upgrade = [s for name, s in snapshots(k8s).items() if name not in snaps_before]
    assert len(upgrade) == 1, "one savepoint upgrade: %s" % [s["metadata"]["name"] for s in upgrade]
    assert fd["status"]["jobStatus"]["upgradeSavepointPath"] == upgrade[0]["status"]["path"]
    assert not journal(tmp_path).exists()
