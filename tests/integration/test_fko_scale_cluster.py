"""The FKO branch of scale_cluster.yml (cookbook 000 §1.2, more TaskManagers, more slots),
``ansible-playbook playbooks/scale_cluster.yml -l fko_local``, against the fake Kubernetes API with its
fake operator (tests/support/fake_kubernetes.py, the CRD schemas of ../shared/specs/fko). The oracle is
what the fake API server holds afterwards: the spec, the TaskManagers the operator reports, the
savepoint the new layout runs from, the writes it received.
"""
from __future__ import annotations

import copy
import json

import pytest

from tests.integration.ansible_run import start_playbook, wait_for
from tests.integration.test_fko_upgrade_playbook import (  # noqa: F401  pylint: disable=unused-import
    IMAGE, JOB, deployed, deployment, fko_env, k8s, play, real_writes, running_stable, slow_k8s, snapshots)
from tests.support.crash import crash
from tests.support.fake_kubernetes import specs_dir

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not (specs_dir() / "flinkdeployments.flink.apache.org-v1.yml").is_file(),
                                 reason="the shared FKO specs are not checked out")]

# the job deployed() creates, declared as the inventory does (inventories/group_vars/fko_local.yml)
DECLARED = {"name": JOB, "version": "2.0.0", "entry_class": "flinkops.testjob.StatefulCounter", "args": ["--name", JOB],
            "parallelism": 2,
            "fko": {"image": IMAGE % "2.0.0", "flink_version": "v1_20", "service_account": "flink",
                    "jar_uri": "local:///opt/flink/usrlib/stateful-counter.jar", "upgrade_mode": "savepoint",
                    "flink_configuration": {"state.savepoints.dir": "s3://flinkops-local/flink/savepoints",
                                            "state.checkpoints.dir": "s3://flinkops-local/flink/checkpoints",
                                            "execution.checkpointing.interval": "10s"},
                    "job_manager": {"resource": {"memory": "1024m", "cpu": 1}},
                    "task_manager": {"resource": {"memory": "2048m", "cpu": 1}}}}


def declared(replicas=None, slots=None, parallelism=2, name=JOB):
    job = copy.deepcopy(DECLARED)
    job["name"] = name
    if parallelism is None:
        del job["parallelism"]
    else:
        job["parallelism"] = parallelism
    if replicas is not None:
        job["fko"]["task_manager"]["replicas"] = replicas
    if slots is not None:
        job["fko"]["flink_configuration"]["taskmanager.numberOfTaskSlots"] = slots
    return job


def scale(k8s, tmp_path, jobs, check=False, **extra):
    return play(k8s, "scale_cluster.yml", tmp_path, check=check, flink_jobs=jobs, **extra)


def test_two_taskmanagers_of_two_slots_through_the_operators_savepoint_then_nothing_to_do(k8s, tmp_path):
    deployed(k8s, tmp_path)
    before = deployment(k8s)
    assert before["status"]["taskManager"]["replicas"] == 2  # parallelism 2, one slot each
    snaps_before = snapshots(k8s)
    layout = [declared(replicas=2, slots=2, parallelism=None)]

    check = scale(k8s, tmp_path, layout, check=True)
    assert check.rc == 0, check.stdout[-3000:]
    assert real_writes(k8s) == [] and deployment(k8s)["spec"] == before["spec"]
    planned = check.task("Procedure | write the declared spec; the operator stops the job with a savepoint and "
                         "starts it from it, %s" % JOB)
    after = planned["diff"]["after"]["spec"]
    assert after["taskManager"]["replicas"] == 2 and after["job"]["parallelism"] == 4
    assert after["flinkConfiguration"]["taskmanager.numberOfTaskSlots"] == "2"

    first = scale(k8s, tmp_path, layout)
    assert first.rc == 0, first.stdout[-3000:]
    fd = deployment(k8s)
    assert running_stable(fd), fd["status"]
    assert fd["spec"]["taskManager"] == {"replicas": 2, "resource": {"memory": "2048m", "cpu": 1}}
    assert fd["spec"]["flinkConfiguration"]["taskmanager.numberOfTaskSlots"] == "2"
    # the other settings are kept: only the layout was written
    assert fd["spec"]["flinkConfiguration"]["execution.checkpointing.interval"] == "10s"
    assert fd["spec"]["image"] == before["spec"]["image"]
    assert fd["spec"]["job"]["parallelism"] == 4 and fd["status"]["taskManager"]["replicas"] == 2
    # a new run, restored from the savepoint the operator took to stop the old layout
    js = fd["status"]["jobStatus"]
    assert js["jobId"] != before["status"]["jobStatus"]["jobId"]
    upgrade = [s for s in snapshots(k8s).values() if s["status"]["path"] == js["upgradeSavepointPath"]]
    assert [s["status"]["state"] for s in upgrade] == ["COMPLETED"]
    assert set(snaps_before) <= set(snapshots(k8s))
    assert not (tmp_path / "manifests" / "local-fko" / ("%s.scale-cluster-journal.json" % JOB)).exists()
    result = first.task("Validation | result")
    assert "%s: 2 TaskManagers (2 declared), job RUNNING at parallelism 4" % JOB in result["msg"], result["msg"]

    writes = len(real_writes(k8s))
    second = scale(k8s, tmp_path, layout)
    assert second.rc == 0 and second.changed_count() == 0, second
    assert len(real_writes(k8s)) == writes


def test_layouts_the_operator_would_not_run_as_declared_are_refused_and_nothing_is_sent(k8s, tmp_path):
    deployed(k8s, tmp_path)
    bad = [declared(replicas=3, slots=1, parallelism=2),
           declared(replicas=2, slots="two", name="orders"),
           declared(replicas=0, name="payments", parallelism=None)]
    for job in bad[1:]:
        job["version"] = "1.0.0"
    run = scale(k8s, tmp_path, bad)
    assert run.rc != 0
    msg = run.task("Preconditions | every selected job declares a layout the operator runs as declared")["msg"]
    assert ("flink_jobs entry %s: declares parallelism 2 with 3 TaskManagers of 1 slots: the operator ignores "
            "spec.job.parallelism when task_manager.replicas is set and would run it at 3" % JOB) in msg, msg
    assert "flink_jobs entry orders: taskmanager.numberOfTaskSlots must be an integer of at least 1, got two" in msg
    assert "flink_jobs entry payments: task_manager.replicas must be an integer of at least 1, got 0" in msg
    assert msg.rstrip().endswith("Nothing was changed.")
    assert real_writes(k8s) == [] and k8s.requests == []

    unknown = play(k8s, "scale_cluster.yml", tmp_path, flink_jobs=[declared(replicas=2)], scale_only="nope")
    assert unknown.rc != 0 and "scale_only=nope names no job declared in flink_jobs" in unknown.stdout
    assert k8s.requests == []


def test_taskmanagers_the_cluster_cannot_schedule_are_rolled_back_from_the_operators_savepoint(k8s, tmp_path):
    deployed(k8s, tmp_path)
    before = deployment(k8s)
    k8s.inject("taskmanager_room", taskmanagers=3)
    snaps_before = snapshots(k8s)
    run = scale(k8s, tmp_path, [declared(replicas=4, slots=1, parallelism=4)], flink_start_timeout=6)
    assert run.rc != 0
    failed = run.task("Rollback | the module applied the previous spec itself, FlinkDeployment %s" % JOB)
    assert failed["msg"].startswith("Taskmanager resize of %s failed" % JOB), failed["msg"]
    assert "previous spec was applied again" in failed["msg"], failed["msg"]
    fd = deployment(k8s)
    assert running_stable(fd), fd["status"]
    assert "replicas" not in fd["spec"]["taskManager"] and fd["spec"]["job"]["parallelism"] == 2
    assert fd["status"]["taskManager"]["replicas"] == 2
    # the previous layout runs from the savepoint the operator took before the change
    path = fd["spec"]["job"]["initialSavepointPath"]
    assert fd["status"]["jobStatus"]["upgradeSavepointPath"] == path
    assert [s["status"]["state"] for s in snapshots(k8s).values() if s["status"]["path"] == path] == ["COMPLETED"]
    assert fd["status"]["jobStatus"]["jobId"] != before["status"]["jobStatus"]["jobId"]
    assert set(snaps_before) <= set(snapshots(k8s)), "a snapshot was deleted"


def test_a_resize_killed_once_its_spec_is_written_is_validated_by_the_next_run(k8s, tmp_path):
    deployed(k8s, tmp_path)
    layout = [declared(replicas=3, slots=1, parallelism=3)]
    journal = tmp_path / "manifests" / "local-fko" / ("%s.scale-cluster-journal.json" % JOB)
    proc = start_playbook("scale_cluster.yml", fko_env(k8s, validation_seconds=10),
                          {"flinkops_manifest_dir": str(tmp_path / "manifests"), "flink_jobs": layout},
                          log=tmp_path / "first.log", limit="fko_local")
    try:
        reached = wait_for(lambda: (deployment(k8s)["spec"]["taskManager"].get("replicas") == 3 and journal.exists()),
                           proc, timeout=120)
    finally:
        crash(proc)
    assert reached, (tmp_path / "first.log").read_text()[-3000:]
    assert json.loads(journal.read_text())["action"] == "scale_cluster"

    again = scale(k8s, tmp_path, layout)
    assert again.rc == 0, again.stdout[-3000:]
    validated = again.task("Validation | the operator reconciled the new spec and calls it STABLE, %s" % JOB)
    assert validated.get("failed") is not True
    fd = deployment(k8s)
    assert running_stable(fd) and fd["status"]["taskManager"]["replicas"] == 3
    assert not journal.exists()
    upgrades = [s for s in snapshots(k8s).values() if s["metadata"]["labels"].get("snapshot.type") == "UPGRADE"]
    assert len(upgrades) == 1, "the layout was applied twice"


def test_two_resizes_at_once_make_one_new_run_from_one_savepoint(slow_k8s, tmp_path):
    k8s = slow_k8s
    deployed(k8s, tmp_path)
    snaps_before = snapshots(k8s)
    extra = {"flinkops_manifest_dir": str(tmp_path / "manifests"), "flink_jobs": [declared(replicas=3, slots=1, parallelism=3)]}
    runs = [start_playbook("scale_cluster.yml", fko_env(k8s, validation_seconds=3), extra,
                           log=tmp_path / ("run%d.log" % i), limit="fko_local") for i in (1, 2)]
    codes = [run.wait(300) for run in runs]
    logs = [(tmp_path / ("run%d.log" % i)).read_text() for i in (1, 2)]
    assert 0 in codes, logs[0][-3000:] + logs[1][-3000:]
    for code, log in zip(codes, logs):
        assert code == 0 or ("changed by someone else" in log and "rolls nothing back" in log), log[-3000:]
        assert "ROLLBACK FAILED" not in log and "Rollback | start the previous spec" not in log, log[-3000:]
    fd = deployment(k8s)
    assert running_stable(fd) and fd["status"]["taskManager"]["replicas"] == 3
    new = [s for name, s in snapshots(k8s).items() if name not in snaps_before]
    assert len(new) == 1, "one savepoint upgrade: %s" % [s["metadata"]["name"] for s in new]
    assert fd["status"]["jobStatus"]["upgradeSavepointPath"] == new[0]["status"]["path"]
