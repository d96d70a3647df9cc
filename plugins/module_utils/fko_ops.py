# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""FOR INTERNAL COLLECTION USE ONLY.

The rules of the FKO backend over ``fko_k8s.FkoClient``:

* ``FkoDeployments``: the FlinkDeployments of one namespace as ``operator_application`` asks for
  them (get, apply, wait, savepoints, rollback), so ``fko_deployment`` has the same rules as
  ``cmf_application``; ``FkoSessionJobs`` the same for FlinkSessionJobs (``fko_session_job``), with
  the session cluster they run on checked first; ``converge`` runs either for a module. A write
  replaces the spec and the user's labels and annotations only, with the ``resourceVersion`` that
  was read (409 on a concurrent change), never the status;
* ``wait_deployment``: the operator took the change (``status.observedGeneration`` equals
  ``metadata.generation``, ``reconciliationStatus.state`` DEPLOYED), then the lifecycle is STABLE
  and the job RUNNING in a new run (or SUSPENDED); a FAILED lifecycle or job, or a RESTARTING job
  of the new generation, is a failure with the status' error;
* the upgrade savepoint: with ``upgradeMode: savepoint`` the operator stops the job with a
  savepoint and starts the new spec from it; it records the path in
  ``status.jobStatus.upgradeSavepointPath``. The rollback of a spec that never became STABLE is
  the previous spec with ``initialSavepointPath`` = that path and a new ``savepointRedeployNonce``;
  when the operator did not take the savepoint (the old job still runs), the previous spec alone;
* FlinkStateSnapshot savepoints: create, wait until COMPLETED with a path, FAILED with the
  operator's error.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json

from ansible_collections.flinkops.cookbook.plugins.module_utils._errors import FkoError, FkoTimeout
from ansible_collections.flinkops.cookbook.plugins.module_utils._wait import Clock, wait_until
from ansible_collections.flinkops.cookbook.plugins.module_utils.cmf_ops import (
    FAILED_JOB_STATES, MANAGED_JOB_KEYS, UNSTABLE_JOB_STATES, job_id, job_state)
from ansible_collections.flinkops.cookbook.plugins.module_utils.fko_k8s import API_VERSION
from ansible_collections.flinkops.cookbook.plugins.module_utils.operator_application import (
    OperatorApplication, user_spec, with_restore)

DEPLOYMENT = "FlinkDeployment"
SESSION_JOB = "FlinkSessionJob"
SNAPSHOT = "FlinkStateSnapshot"


def status_of(obj):
    return (obj or {}).get("status") or {}


def lifecycle(obj):
    return status_of(obj).get("lifecycleState")


def observed(obj):
    """The operator reconciled the object's current generation."""
    st = status_of(obj)
    return (obj is not None and st.get("observedGeneration") == (obj.get("metadata") or {}).get("generation")
            and (st.get("reconciliationStatus") or {}).get("state") in ("DEPLOYED", "ROLLED_BACK"))


def reconciled_spec(obj):
    """The spec the operator last reconciled (``lastReconciledSpec`` without its metadata), or None."""
    text = (status_of(obj).get("reconciliationStatus") or {}).get("lastReconciledSpec")
    if not text:
        return None
    try:
        spec = json.loads(text)
    except ValueError:
        return None
    spec.pop("resource_metadata", None)
    return spec


def upgrade_savepoint(obj):
    """The savepoint path the current run was started from (``jobStatus.upgradeSavepointPath``)."""
    return (status_of(obj).get("jobStatus") or {}).get("upgradeSavepointPath")


def restored_from(obj):
    """The path the current run restored from: the upgrade savepoint, else the initial savepoint."""
    return upgrade_savepoint(obj) or (((obj or {}).get("spec") or {}).get("job") or {}).get("initialSavepointPath")


def deployment_body(name, namespace, spec, metadata, current=None, kind=DEPLOYMENT):
    """The FlinkDeployment (or FlinkSessionJob, ``kind``) to write: the current object's metadata (with
    its resourceVersion) and the user's labels/annotations, the new spec, no status."""
    meta = copy.deepcopy((current or {}).get("metadata") or {})
    for key in ("managedFields",):
        meta.pop(key, None)
    for key in ("labels", "annotations"):
        if (metadata or {}).get(key):
            meta[key] = dict(meta.get(key) or {}, **metadata[key])
    meta.update(name=name, namespace=namespace)
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": meta, "spec": copy.deepcopy(spec)}


def summary(obj):
    """One line on where a FlinkDeployment is, for messages."""
    st = status_of(obj)
    js = st.get("jobStatus") or {}
    return ("lifecycle %s, job %s %s, generation %s observed %s%s" % (
        st.get("lifecycleState"), js.get("jobId"), js.get("state"), (obj.get("metadata") or {}).get("generation"),
        st.get("observedGeneration"), ", error: %s" % st["error"] if st.get("error") else "")) if obj else "absent"


def wait_deployment(client, name, want, timeout, previous_job_id=None, stable_seconds=0, report=None, clock=None,
                    kind=DEPLOYMENT):
    """Wait until FlinkDeployment (or FlinkSessionJob, ``kind``) ``name`` is reconciled and ``want``
    (RUNNING: lifecycle STABLE, job RUNNING in a run newer than ``previous_job_id``, steady
    ``stable_seconds``; SUSPENDED)."""
    clock = clock or Clock(timeout, interval=0.1, max_interval=1.0)
    since = [None]
    what = "%s %s/%s" % (kind, client.namespace, name)

    def fresh(obj):
        jid = job_id(obj)
        return previous_job_id is None or (jid and jid != previous_job_id)

    def failed(obj, seen):
        if obj is None:
            return FkoError("%s disappeared while waiting for %s" % (what, want), states=seen)
        if not observed(obj) or want != "RUNNING":
            return None
        state = job_state(obj)
        if lifecycle(obj) == "FAILED" or (fresh(obj) and (state in FAILED_JOB_STATES or state in UNSTABLE_JOB_STATES)):
            return FkoError("%s went %s instead of STABLE and RUNNING: %s" % (what, state if state in (
                FAILED_JOB_STATES | UNSTABLE_JOB_STATES) else lifecycle(obj), summary(obj)), states=seen,
                deployment=obj)
        return None

    def done(obj):
        if not observed(obj):
            return False
        if want == "SUSPENDED":
            return lifecycle(obj) == "SUSPENDED" and job_state(obj) in ("SUSPENDED", "FINISHED", "CANCELED", None)
        if not (lifecycle(obj) == "STABLE" and job_state(obj) == "RUNNING" and fresh(obj)):
            since[0] = None
            return False
        if stable_seconds <= 0:
            return True
        since[0] = since[0] or clock.now()
        return clock.now() - since[0] >= stable_seconds

    def timed_out(obj, seen):
        return FkoTimeout("%s is not %s after %ss: %s" % (
            what, "STABLE and RUNNING" if want == "RUNNING" else want, timeout, summary(obj)), states=seen,
            deployment=obj)

    def state(obj):
        if obj is None:
            return "ABSENT"
        return "%s/%s%s" % (lifecycle(obj), job_state(obj), "" if observed(obj) else " (reconciling)")

    return wait_until(lambda: client.get(kind, name), done, failed, what=what, state=state, report=report,
                      timed_out=timed_out, clock=clock)


# PUTs met by a status write of the operator (409 Conflict) before the write gives up
CONFLICT_ATTEMPTS = 5


class FkoDeployments(object):
    """The FlinkDeployments of one namespace, as ``operator_application.OperatorApplication`` asks."""

    error = FkoError
    KIND = DEPLOYMENT

    def __init__(self, client):
        self.client = client
        self.scope = "namespace %s" % client.namespace
        self.spec_changed = True

    def get(self, name):
        return self.client.get(self.KIND, name)

    def apply(self, name, spec, metadata):
        """Write ``spec`` and ``metadata``. The operator writes the status all the time, so a PUT can
        meet a newer ``resourceVersion`` (409): it is read and written again as long as the spec is
        the one this write was planned on (same ``generation``); a spec changed by someone else in
        between is never overwritten."""
        for attempt in range(CONFLICT_ATTEMPTS):
            current = self.get(name)
            body = deployment_body(name, self.client.namespace, spec, metadata, current, kind=self.KIND)
            if current is None:
                body["metadata"].pop("resourceVersion", None)
                self.spec_changed = True
                return self.client.create(self.KIND, body)
            try:
                written = self.client.replace(self.KIND, body)
            except FkoError as exc:
                if exc.details.get("status") != 409 or attempt == CONFLICT_ATTEMPTS - 1:
                    raise
                now = self.get(name)
                generation = current["metadata"].get("generation")
                if now is not None and (now.get("metadata") or {}).get("generation") != generation:
                    raise FkoError("%s %s/%s: its spec was changed by someone else (generation %s, now %s) while it was "
                                   "being written; nothing was written. Read it and run again."
                                   % (self.KIND, self.client.namespace, name, generation,
                                      now["metadata"].get("generation")), status=409, written=False)
                continue
            # a change of labels alone is no new generation: the operator starts no new job
            self.spec_changed = (written.get("metadata") or {}).get("generation") != current["metadata"].get("generation")
            return written
        raise FkoError("%s %s/%s: not written" % (self.KIND, self.client.namespace, name))  # pragma: no cover

    def reconciling(self, obj):
        """Whether the operator has yet to reconcile the current generation of ``obj``."""
        return obj is not None and not observed(obj)

    def require_target(self, check_mode, warn):
        if not self.client.namespace_exists():
            if not check_mode:
                raise FkoError("namespace %s does not exist in the Kubernetes cluster" % self.client.namespace)
            warn("namespace %s does not exist (yet): check mode assumes an earlier task creates it"
                 % self.client.namespace)

    def event_names(self, name):
        """Kubernetes Events are not read (yet): the status is the evidence."""
        return set()

    def wait(self, name, want, timeout, previous_job_id=None, stable_seconds=0, since=None, report=None):
        return wait_deployment(self.client, name, want, timeout,
                               previous_job_id=previous_job_id if self.spec_changed else None,
                               stable_seconds=stable_seconds, report=report, kind=self.KIND)[0]

    def resolve_savepoint(self, name, savepoint_name=None, savepoint_path=None):
        if savepoint_path:
            return savepoint_path
        snap = self.client.get(SNAPSHOT, savepoint_name)
        if snap is None:
            raise FkoError("FlinkStateSnapshot %s/%s does not exist: refusing to start %s from it"
                           % (self.client.namespace, savepoint_name, name), savepoint_name=savepoint_name)
        st = status_of(snap)
        if st.get("state") != "COMPLETED" or not st.get("path"):
            raise FkoError("FlinkStateSnapshot %s/%s is %s, not COMPLETED with a path: refusing to start %s from it"
                           % (self.client.namespace, savepoint_name, st.get("state"), name), snapshot=snap)
        return st["path"]

    def completed_savepoints(self, name):
        """FlinkStateSnapshots are resources of their own: deleting the deployment keeps them."""
        return []

    def detach_savepoint(self, name, savepoint):  # pragma: no cover - nothing to detach on FKO
        return None

    def delete(self, name):
        return self.client.delete(self.KIND, name)

    def rollback_spec(self, previous, failed, restore_path, allow_non_restored):
        """The spec that puts ``previous`` back after a failed change, and the savepoint it starts from.

        The operator stopped the old job with a savepoint (its path in ``upgradeSavepointPath``,
        newer than what the previous object had): start the previous spec from it. The operator
        never stopped it (its last reconciled spec is still the previous one): the previous spec
        alone, and the running job is left alone."""
        spec = copy.deepcopy(previous.get("spec") or {})
        path = restore_path
        if path is None and upgrade_savepoint(failed) and upgrade_savepoint(failed) != upgrade_savepoint(previous):
            path = upgrade_savepoint(failed)
        if path is None and reconciled_spec(failed) != reconciled_spec(previous):
            path = upgrade_savepoint(failed) or restored_from(previous)
        if path:
            return with_restore(spec, (failed or {}).get("spec"), path, allow_non_restored), path
        for key in MANAGED_JOB_KEYS:
            value = (((failed or {}).get("spec") or {}).get("job") or {}).get(key)
            if value is not None:  # keep what the operator already saw: no new redeploy
                spec.setdefault("job", {})[key] = value
        return spec, None


class FkoSessionJobs(FkoDeployments):
    """The FlinkSessionJobs of one namespace, as ``operator_application.OperatorApplication`` asks: the
    FlinkDeployment rules (spec-only writes, savepoint upgrades, the wait on ``observedGeneration``,
    rollback) for a job the operator submits to a session cluster, the FlinkDeployment without
    ``spec.job`` that ``spec.deploymentName`` names."""

    KIND = SESSION_JOB

    def creation_problem(self, params):
        spec = user_spec(params)
        missing = [option for option, value in (("deployment_name", spec.get("deploymentName")),
                                                ("jar_uri", (spec.get("job") or {}).get("jarURI"))) if not value]
        return ("%s %s needed to create it" % (" and ".join(missing), "is" if len(missing) == 1 else "are")
                if missing else None)

    def session_cluster_problem(self, name, deployment_name, current):
        """What stops FlinkSessionJob ``name`` from running on ``deployment_name`` (None: nothing).

        The operator refuses a change of ``deploymentName``; the session cluster must exist and be one
        (a FlinkDeployment without ``spec.job``: an application cluster takes no session jobs)."""
        where = "%s %s/%s" % (SESSION_JOB, self.client.namespace, name)
        had = ((current or {}).get("spec") or {}).get("deploymentName")
        if current is not None and deployment_name and had and deployment_name != had:
            return ("%s runs on session cluster %s: its deploymentName cannot change to %s (the operator refuses it); "
                    "delete it and create it on %s, from a savepoint" % (where, had, deployment_name, deployment_name))
        target = deployment_name or had
        if not target:
            return None
        cluster = self.client.get(DEPLOYMENT, target)
        if cluster is None:
            return ("%s needs session cluster %s, and there is no FlinkDeployment %s/%s: deploy the session cluster "
                    "(a FlinkDeployment without spec.job) first" % (where, target, self.client.namespace, target))
        if (cluster.get("spec") or {}).get("job"):
            return ("%s needs a session cluster, and FlinkDeployment %s/%s is an application cluster (it has spec.job): "
                    "it takes no session jobs" % (where, self.client.namespace, target))
        return None


def converge(fm, resources, params, current, key):
    """``operator_application`` over ``resources`` (FkoDeployments, FkoSessionJobs) for ``params``, the object
    ``current`` as read before; the result carries the object under ``key`` and, when the change made the
    operator take an upgrade savepoint, that savepoint as ``restored_from``."""
    before = upgrade_savepoint(current)
    result = OperatorApplication(resources, params["name"], params, check_mode=fm.check_mode, report=fm.report,
                                 warn=fm.module.warn).run()
    result[key] = result.pop("application", None)
    after = upgrade_savepoint(result[key])
    if result.get("changed") and not fm.check_mode and not result.get("restored_from") and after and after != before:
        result["restored_from"] = after  # the savepoint the operator took for the upgrade
    return result


# -- FlinkStateSnapshot ---------------------------------------------------------------------------
def snapshot_state(snap):
    return status_of(snap).get("state")


def snapshot_body(name, namespace, deployment, path=None, format_type="CANONICAL", dispose_on_delete=False,
                  backoff_limit=1, labels=None, already_exists=False):
    savepoint = {"formatType": format_type, "disposeOnDelete": dispose_on_delete}
    if path:
        savepoint["path"] = path
    if already_exists:
        savepoint["alreadyExists"] = True
    meta = {"name": name, "namespace": namespace}
    if labels:
        meta["labels"] = dict((str(k), str(v)) for k, v in labels.items())
    return {"apiVersion": API_VERSION, "kind": SNAPSHOT, "metadata": meta,
            "spec": {"backoffLimit": backoff_limit, "jobReference": {"kind": DEPLOYMENT, "name": deployment},
                     "savepoint": savepoint}}


def wait_snapshot(client, name, timeout, report=None, clock=None):
    """Wait until FlinkStateSnapshot ``name`` is COMPLETED with a path; FAILED is an error with
    the operator's reason, a timeout an unknown outcome."""
    what = "%s %s/%s" % (SNAPSHOT, client.namespace, name)

    def failed(snap, seen):
        if snap is None:
            return FkoError("%s disappeared while waiting for it" % what, states=seen)
        st = status_of(snap)
        if st.get("state") in ("FAILED", "ABANDONED"):
            return FkoError("%s is %s after %s attempt(s): %s" % (what, st["state"], st.get("failures"),
                                                                  st.get("error") or "no error recorded"),
                            states=seen, snapshot=snap)
        return None

    def timed_out(snap, seen):
        return FkoTimeout("%s is %s, not COMPLETED, after %ss: its outcome is unknown, the job was left alone"
                          % (what, snapshot_state(snap), timeout), states=seen, snapshot=snap)

    return wait_until(lambda: client.get(SNAPSHOT, name),
                      lambda s: snapshot_state(s) == "COMPLETED" and bool(status_of(s).get("path")), failed,
                      what=what, state=lambda s: snapshot_state(s) or "NEW", report=report, timed_out=timed_out,
                      clock=clock or Clock(timeout, interval=0.1, max_interval=1.0))


def snapshots_of(client, deployment):
    """The FlinkStateSnapshots that reference FlinkDeployment ``deployment``, oldest first."""
    out = [s for s in client.list(SNAPSHOT)
           if ((s.get("spec") or {}).get("jobReference") or {}).get("name") == deployment
           and ((s.get("spec") or {}).get("jobReference") or {}).get("kind", DEPLOYMENT) == DEPLOYMENT]
    return sorted(out, key=lambda s: (s.get("metadata") or {}).get("creationTimestamp") or "")


def snapshot_view(snap):
    st = status_of(snap)
    spec = (snap or {}).get("spec") or {}
    return {"name": (snap.get("metadata") or {}).get("name"), "state": st.get("state"), "path": st.get("path"),
            "error": st.get("error"), "kind": "savepoint" if spec.get("savepoint") is not None else "checkpoint",
            "deployment": (spec.get("jobReference") or {}).get("name"),
            "trigger_timestamp": st.get("triggerTimestamp"), "result_timestamp": st.get("resultTimestamp")}
