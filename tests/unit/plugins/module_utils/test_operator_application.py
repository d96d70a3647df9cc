"""Unit tests of module_utils/operator_application.py: the FlinkDeployment spec rules and the converge of
one operator-managed application, over a minimal in-memory client (no CMF, no HTTP): the rules only use
the client interface, so any backend that hosts a FlinkDeployment spec can reuse them."""
from __future__ import annotations

import copy

import pytest

from ansible_collections.flinkops.cookbook.plugins.module_utils._errors import CmfError, OpsError
from ansible_collections.flinkops.cookbook.plugins.module_utils import operator_application as oa

SAVEPOINT = "s3://state/savepoints/savepoint-1"


def params(**kw):
    out = {"state": "running", "image": None, "flink_version": None, "service_account": None, "jar_uri": None,
           "entry_class": None, "args": None, "parallelism": None, "upgrade_mode": None, "flink_configuration": None,
           "job_manager": None, "task_manager": None, "spec": None, "labels": None, "annotations": None,
           "savepoint_name": None, "savepoint_path": None, "allow_non_restored_state": False, "restart_failed": True,
           "rollback": True, "keep_savepoints": True, "wait": True, "wait_timeout": 30, "stable_seconds": 0}
    out.update(kw)
    return out


class FakeApps(object):
    """The client interface of operator_application, in memory. ``fails(spec)`` says whether a deployment
    of that spec goes FAILED; every apply starts a new deployment (a new job id)."""

    error = CmfError
    scope = "namespace test"

    def __init__(self, fails=lambda spec: False, savepoints=None):
        self.apps = {}
        self.applied = []
        self.fails = fails
        self.savepoints = dict(savepoints or {})
        self.detached = []
        self.deleted = []
        self.deployments = 0

    def add(self, name, spec, state="RUNNING", last_savepoint=None, labels=None):
        self.deployments += 1
        status = {"jobStatus": {"state": state, "jobId": "job-%d" % self.deployments}}
        if last_savepoint:
            status["jobStatus"]["savepointInfo"] = {"lastSavepoint": {"location": last_savepoint}}
        self.apps[name] = {"metadata": {"name": name, "labels": labels or {}}, "spec": copy.deepcopy(spec),
                           "status": status}

    def get(self, name):
        return copy.deepcopy(self.apps.get(name))

    def apply(self, name, spec, metadata):
        self.applied.append((name, copy.deepcopy(spec), copy.deepcopy(metadata)))
        previous = self.apps.get(name, {}).get("status", {}).get("jobStatus", {})
        self.add(name, spec, state="FAILED" if self.fails(spec) else "RUNNING")
        if previous.get("savepointInfo"):
            self.apps[name]["status"]["jobStatus"]["savepointInfo"] = previous["savepointInfo"]

    def require_target(self, check_mode, warn):
        pass

    def event_names(self, name):
        return set()

    def wait(self, name, want, timeout, previous_job_id=None, stable_seconds=0, since=None, report=None):
        app = self.get(name)
        state = oa.job_state(app)
        if want == "RUNNING" and state == "FAILED":
            raise CmfError("application %s went FAILED instead of RUNNING" % name, states=[state])
        return app

    def resolve_savepoint(self, name, savepoint_name=None, savepoint_path=None):
        return savepoint_path or self.savepoints[savepoint_name]

    def completed_savepoints(self, name):
        return sorted(self.savepoints)

    def detach_savepoint(self, name, savepoint):
        self.detached.append(savepoint)

    def delete(self, name):
        self.deleted.append(name)
        self.apps.pop(name, None)


SPEC = {"image": "orders:1", "job": {"jarURI": "local:///job.jar", "state": "running", "parallelism": 2}}


def converge(apps, check_mode=False, **kw):
    return oa.OperatorApplication(apps, "orders", params(**kw), check_mode=check_mode).run()


# -- the spec rules --------------------------------------------------------------------------------
def test_typed_options_go_over_the_free_spec():
    spec = oa.user_spec(params(image="orders:2", parallelism=4, flink_configuration={"a": 1, "b": True},
                               spec={"image": "ignored", "podTemplate": {"x": 1}, "job": {"parallelism": 1}}))
    assert spec == {"image": "orders:2", "podTemplate": {"x": 1}, "job": {"parallelism": 4},
                    "flinkConfiguration": {"a": "1", "b": "true"}}


def test_the_managed_job_keys_are_never_compared():
    desired = oa.desired_spec(params(spec={"job": {"initialSavepointPath": "x", "savepointRedeployNonce": 3,
                                                   "allowNonRestoredState": True}}), "suspended")
    assert desired == {"job": {"state": "suspended"}}


def test_a_restore_sets_the_path_and_a_new_nonce():
    spec = oa.with_restore({"job": {"allowNonRestoredState": True}}, {"job": {"savepointRedeployNonce": 4}},
                           SAVEPOINT, False)
    assert spec == {"job": {"initialSavepointPath": SAVEPOINT, "savepointRedeployNonce": 5}}
    assert oa.with_restore({}, None, SAVEPOINT, True)["job"] == {
        "initialSavepointPath": SAVEPOINT, "savepointRedeployNonce": 1, "allowNonRestoredState": True}


def test_a_restart_bumps_the_restart_nonce():
    assert oa.with_restart({"image": "a"}, {"restartNonce": "2"}) == {"image": "a", "restartNonce": 3}
    assert oa.with_restart({}, None) == {"restartNonce": 1}


def test_the_last_recorded_savepoint():
    app = {"status": {"jobStatus": {"savepointInfo": {"lastSavepoint": {"location": SAVEPOINT}}}}}
    assert oa.last_recorded_savepoint(app) == SAVEPOINT
    assert oa.last_recorded_savepoint(None) is None and oa.last_recorded_savepoint({"status": {}}) is None


# -- converging -------------------------------------------------------------------------------------
def test_the_desired_spec_running_is_no_change():
    apps = FakeApps()
    apps.add("orders", SPEC)
    result = converge(apps, image="orders:1", savepoint_path=SAVEPOINT)
    assert result["changed"] is False and result["outcome"] == "none" and apps.applied == []


def test_the_desired_spec_not_yet_reconciled_is_waited_for_and_the_new_run_returned():
    """Repro: a second run found the spec a concurrent run had just written, returned the old job (the
    operator had not acted yet), validated that id and rolled back the healthy upgrade."""
    class Reconciling(FakeApps):
        waits = []
        pending = True

        def reconciling(self, obj):
            return self.pending

        def wait(self, name, want, timeout, previous_job_id=None, stable_seconds=0, since=None, report=None):
            self.waits.append(want)
            self.add(name, SPEC)  # the operator started the new spec: a new run
            self.pending = False
            return self.get(name)

    apps = Reconciling()
    apps.add("orders", SPEC)
    result = converge(apps, image="orders:1")
    assert result["changed"] is False and apps.applied == [] and apps.waits == ["RUNNING"]
    assert result["application"]["status"]["jobStatus"]["jobId"] == "job-2"
    apps.pending = True
    assert converge(apps, check_mode=True, image="orders:1")["outcome"] == "none" and apps.waits == ["RUNNING"], \
        "check mode does not wait for the operator"


def test_create_needs_an_image():
    with pytest.raises(CmfError, match="does not exist in namespace test: image"):
        converge(FakeApps(), jar_uri="local:///job.jar")


def test_check_mode_writes_nothing_and_shows_the_change():
    apps = FakeApps()
    apps.add("orders", SPEC)
    result = converge(apps, check_mode=True, image="orders:2")
    assert result["changed"] is True and result["differences"] == ["image"] and apps.applied == []
    assert result["diff"]["after"]["spec"]["image"] == "orders:2" and result["previous_spec"] == SPEC


def test_an_update_from_a_savepoint_restores_from_it():
    apps = FakeApps(savepoints={"before-2": SAVEPOINT})
    apps.add("orders", SPEC)
    result = converge(apps, image="orders:2", savepoint_name="before-2")
    assert result["outcome"] == "updated" and result["restored_from"] == SAVEPOINT
    job = apps.applied[0][1]["job"]
    assert job["initialSavepointPath"] == SAVEPOINT and job["savepointRedeployNonce"] == 1


def test_a_failed_job_with_the_desired_spec_is_restarted():
    apps = FakeApps()
    apps.add("orders", SPEC, state="FAILED")
    result = converge(apps, image="orders:1")
    assert result["outcome"] == "restarted" and result["differences"] == ["job state FAILED"]
    assert apps.applied[0][1]["restartNonce"] == 1


def test_a_failed_update_rolls_back_from_the_same_savepoint():
    apps = FakeApps(fails=lambda spec: spec.get("image") == "orders:bad")
    apps.add("orders", SPEC, labels={"team": "data"})
    with pytest.raises(CmfError) as err:
        converge(apps, image="orders:bad", savepoint_path=SAVEPOINT)
    assert "went FAILED" in str(err.value) and "applied again from savepoint %s" % SAVEPOINT in str(err.value)
    details = err.value.details
    assert details["rolled_back"]["done"] is True and details["rolled_back"]["savepoint_path"] == SAVEPOINT
    assert details["previous_spec"] == SPEC and details["restored_from"] == SAVEPOINT
    name, spec, metadata = apps.applied[-1]
    assert spec["image"] == "orders:1" and spec["job"]["initialSavepointPath"] == SAVEPOINT
    assert spec["job"]["savepointRedeployNonce"] == 2 and metadata == {"labels": {"team": "data"}}


def test_a_rollback_without_a_given_savepoint_uses_the_last_recorded_one():
    apps = FakeApps(fails=lambda spec: spec.get("image") == "orders:bad")
    apps.add("orders", SPEC, last_savepoint="s3://state/last")
    with pytest.raises(CmfError) as err:
        converge(apps, image="orders:bad")
    assert err.value.details["rolled_back"]["savepoint_path"] == "s3://state/last"
    assert apps.applied[-1][1]["job"]["initialSavepointPath"] == "s3://state/last"


def test_a_rollback_with_no_savepoint_at_all_is_a_restart():
    apps = FakeApps(fails=lambda spec: spec.get("image") == "orders:bad")
    apps.add("orders", SPEC)
    with pytest.raises(CmfError) as err:
        converge(apps, image="orders:bad")
    assert err.value.details["rolled_back"]["message"] == "The previous spec was applied again and is RUNNING"
    assert apps.applied[-1][1]["restartNonce"] == 1 and apps.applied[-1][1]["image"] == "orders:1"


def test_a_failed_rollback_says_so():
    apps = FakeApps(fails=lambda spec: True)
    apps.add("orders", SPEC)
    with pytest.raises(CmfError, match="ROLLBACK FAILED too") as err:
        converge(apps, image="orders:bad")
    assert err.value.details["rolled_back"]["done"] is False


def test_no_rollback_when_it_is_off_or_the_job_was_not_running():
    apps = FakeApps(fails=lambda spec: spec.get("image") == "orders:bad")
    apps.add("orders", SPEC)
    with pytest.raises(CmfError) as err:
        converge(apps, image="orders:bad", rollback=False)
    assert "rolled_back" not in err.value.details and len(apps.applied) == 1
    apps = FakeApps(fails=lambda spec: spec.get("image") == "orders:bad")
    apps.add("orders", SPEC, state="SUSPENDED")
    with pytest.raises(CmfError) as err:
        converge(apps, image="orders:bad")
    assert "rolled_back" not in err.value.details


def test_a_write_that_lost_the_race_to_another_run_is_not_rolled_back():
    apps = FakeApps()
    apps.add("orders", SPEC)

    def apply(name, spec, metadata):
        apps.applied.append((name, spec, metadata))
        raise CmfError("orders: its spec was changed by someone else; nothing was written", status=409, written=False)
    apps.apply = apply
    with pytest.raises(CmfError, match="nothing was written$") as err:
        converge(apps, image="orders:2")
    assert "rolled_back" not in err.value.details and len(apps.applied) == 1, "the other run's change was undone"
    assert err.value.details["written"] is False


def test_the_rollback_errors_are_the_client_errors():
    class Other(OpsError):
        pass

    apps = FakeApps()
    apps.error = Other
    apps.add("orders", SPEC)

    def wait(*args, **kwargs):
        raise Other("went FAILED")
    apps.wait = wait
    with pytest.raises(Other, match="went FAILED. ROLLBACK FAILED too: went FAILED"):
        converge(apps, image="orders:bad")


def test_absent_detaches_the_completed_savepoints_before_the_delete():
    apps = FakeApps(savepoints={"sp-1": SAVEPOINT, "sp-2": SAVEPOINT})
    apps.add("orders", SPEC)
    result = converge(apps, state="absent")
    assert result["outcome"] == "deleted" and result["detached_savepoints"] == ["sp-1", "sp-2"]
    assert apps.detached == ["sp-1", "sp-2"] and apps.deleted == ["orders"]
    assert converge(apps, state="absent")["changed"] is False


def test_absent_in_check_mode_deletes_nothing():
    apps = FakeApps(savepoints={"sp-1": SAVEPOINT})
    apps.add("orders", SPEC)
    result = converge(apps, check_mode=True, state="absent", keep_savepoints=False)
    assert result["changed"] is True and result["detached_savepoints"] == [] and apps.deleted == []
