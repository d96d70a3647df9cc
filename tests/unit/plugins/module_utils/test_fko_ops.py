"""module_utils/fko_ops.py: the FKO backend's rules, on objects shaped as the operator writes them."""
from __future__ import annotations

import json

import pytest

from ansible_collections.flinkops.cookbook.plugins.module_utils._errors import FkoError, FkoTimeout
from ansible_collections.flinkops.cookbook.plugins.module_utils._wait import Clock
from ansible_collections.flinkops.cookbook.plugins.module_utils import fko_ops


def fd(generation=2, observed=2, lifecycle="STABLE", state="RUNNING", job_id="j2", upgrade=None, reconciled=None,
       spec=None):
    spec = spec or {"image": "app:2", "job": {"state": "running", "upgradeMode": "savepoint"}}
    rec = dict(reconciled or spec, resource_metadata={"metadata": {"generation": observed}})
    return {"metadata": {"name": "app", "generation": generation}, "spec": spec,
            "status": {"observedGeneration": observed, "lifecycleState": lifecycle,
                       "reconciliationStatus": {"state": "DEPLOYED", "lastReconciledSpec": json.dumps(rec)},
                       "jobStatus": {"state": state, "jobId": job_id, "upgradeSavepointPath": upgrade}}}


class Reads(object):
    namespace = "flink"

    def __init__(self, *objs):
        self.objs = list(objs)

    def get(self, kind, name):
        return self.objs.pop(0) if len(self.objs) > 1 else self.objs[0]


class FakeClock(Clock):
    def __init__(self, timeout):
        self.t = [0.0]
        super(FakeClock, self).__init__(timeout, interval=1.0, sleep=self._sleep_fake, now=lambda: self.t[0])

    def _sleep_fake(self, seconds):
        self.t[0] += seconds


def test_observed_needs_the_current_generation_reconciled():
    assert fko_ops.observed(fd())
    assert not fko_ops.observed(fd(generation=3, observed=2))
    upgrading = fd()
    upgrading["status"]["reconciliationStatus"]["state"] = "UPGRADING"
    assert not fko_ops.observed(upgrading)
    assert fko_ops.reconciled_spec(fd())["image"] == "app:2"


def test_wait_for_a_new_generation_stable_and_running_in_a_new_run():
    reads = Reads(fd(generation=3, observed=2, job_id="j1"),
                  fd(generation=3, observed=3, lifecycle="DEPLOYED", state="RECONCILING", job_id="j1"),
                  fd(generation=3, observed=3, lifecycle="DEPLOYED", job_id="j3"),
                  fd(generation=3, observed=3, job_id="j3"))
    obj, seen = fko_ops.wait_deployment(reads, "app", "RUNNING", 30, previous_job_id="j1", clock=FakeClock(30))
    assert obj["status"]["jobStatus"]["jobId"] == "j3"
    assert seen[0].endswith("(reconciling)") and seen[-1] == "STABLE/RUNNING"


def test_a_restarting_job_of_the_new_generation_is_a_failure_naming_the_resource():
    reads = Reads(fd(generation=3, observed=3, lifecycle="DEPLOYED", state="RESTARTING", job_id="j3"))
    with pytest.raises(FkoError) as err:
        fko_ops.wait_deployment(reads, "app", "RUNNING", 30, previous_job_id="j1", clock=FakeClock(30))
    assert "FlinkDeployment flink/app went RESTARTING" in str(err.value)


def test_a_wait_that_runs_out_is_a_timeout_with_where_it_stands():
    reads = Reads(fd(generation=3, observed=2))
    with pytest.raises(FkoTimeout) as err:
        fko_ops.wait_deployment(reads, "app", "RUNNING", 3, clock=FakeClock(3))
    assert "generation 3 observed 2" in str(err.value)


def test_rollback_from_the_savepoint_the_operator_took_for_the_upgrade():
    previous = fd(spec={"image": "app:1", "job": {"state": "running"}}, upgrade="s3://sp/savepoint-old")
    failed = fd(generation=3, observed=3, state="RESTARTING", upgrade="s3://sp/savepoint-new",
                spec={"image": "app:2", "job": {"state": "running", "savepointRedeployNonce": 4}})
    spec, path = fko_ops.FkoDeployments(Reads(failed)).rollback_spec(previous, failed, None, False)
    assert path == "s3://sp/savepoint-new" and spec["image"] == "app:1"
    assert spec["job"]["initialSavepointPath"] == "s3://sp/savepoint-new" and spec["job"]["savepointRedeployNonce"] == 5


def test_rollback_when_the_operator_never_stopped_the_old_job_is_the_previous_spec_alone():
    previous = fd(spec={"image": "app:1", "job": {"state": "running"}}, upgrade="s3://sp/savepoint-old")
    # the new generation was never reconciled: the old job still runs the previous spec
    failed = fd(generation=3, observed=2, upgrade="s3://sp/savepoint-old", reconciled=previous["spec"],
                spec={"image": "app:2", "job": {"state": "running"}})
    spec, path = fko_ops.FkoDeployments(Reads(failed)).rollback_spec(previous, failed, None, False)
    assert path is None and spec == {"image": "app:1", "job": {"state": "running"}}


def test_deployment_body_keeps_the_resource_version_and_never_the_status():
    current = fd()
    current["metadata"].update(resourceVersion="41", labels={"team": "a"})
    body = fko_ops.deployment_body("app", "flink", {"image": "app:3"}, {"labels": {"flinkops.io/version": "3"}},
                                   current)
    assert body["metadata"]["resourceVersion"] == "41" and "status" not in body
    assert body["metadata"]["labels"] == {"team": "a", "flinkops.io/version": "3"}


class Conflicting(object):
    """A namespace whose first ``conflicts`` PUTs meet a status write (409); ``spec_write`` makes
    the object's generation move on at the first conflict, as a write of someone else does."""
    namespace = "flink"

    def __init__(self, conflicts, spec_write=False):
        self.obj = fd()
        self.obj["metadata"]["resourceVersion"] = "1"
        self.conflicts, self.spec_write, self.puts = conflicts, spec_write, []

    def get(self, kind, name):
        return json.loads(json.dumps(self.obj))

    def replace(self, kind, body):
        self.puts.append(body["metadata"]["resourceVersion"])
        if self.conflicts:
            self.conflicts -= 1
            self.obj["metadata"]["resourceVersion"] = str(int(self.obj["metadata"]["resourceVersion"]) + 1)
            if self.spec_write:
                self.obj["metadata"]["generation"] += 1
            raise FkoError("update of FlinkDeployment flink/app: HTTP 409 Conflict", status=409)
        self.obj = dict(body, metadata=dict(body["metadata"], generation=self.obj["metadata"]["generation"] + 1))
        return self.obj


def test_a_put_that_meets_a_status_write_is_read_and_written_again():
    ns = Conflicting(conflicts=2)
    written = fko_ops.FkoDeployments(ns).apply("app", {"image": "app:3", "job": {"state": "running"}}, {})
    assert written["spec"]["image"] == "app:3"
    assert ns.puts == ["1", "2", "3"], "each attempt carries the resourceVersion it read"


def test_a_spec_changed_by_someone_else_meanwhile_is_never_overwritten():
    ns = Conflicting(conflicts=1, spec_write=True)
    with pytest.raises(FkoError) as err:
        fko_ops.FkoDeployments(ns).apply("app", {"image": "app:3", "job": {"state": "running"}}, {})
    assert "changed by someone else (generation 2, now 3)" in str(err.value) and "nothing was written" in str(err.value)
    assert ns.puts == ["1"] and ns.obj["spec"]["image"] == "app:2"
    assert err.value.details["written"] is False, "the caller must know that there is nothing of its own to roll back"


def test_a_conflict_that_does_not_clear_fails_with_the_server_message():
    ns = Conflicting(conflicts=fko_ops.CONFLICT_ATTEMPTS)
    with pytest.raises(FkoError) as err:
        fko_ops.FkoDeployments(ns).apply("app", {"image": "app:3", "job": {"state": "running"}}, {})
    assert "409 Conflict" in str(err.value) and len(ns.puts) == fko_ops.CONFLICT_ATTEMPTS
