# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""FOR INTERNAL COLLECTION USE ONLY.

The rules for a Flink application that the Flink Kubernetes Operator deploys from a
FlinkDeployment spec, whoever hosts the object: a CMF FlinkApplication (its ``spec`` is the
FlinkDeployment spec) today, an FKO FlinkDeployment next. The rules take a *client* that knows
where the object lives (``cmf_ops.CmfApplications`` for CMF); they are:

* the typed options map onto the spec (``user_spec``); only the keys the user set are compared;
* a (re)deployment from a savepoint sets ``job.initialSavepointPath`` with a new
  ``savepointRedeployNonce`` (``with_restore``); a FAILED job with the desired spec is
  redeployed with a new ``restartNonce`` (``with_restart``);
* an update that does not reach RUNNING applies the previous spec again, from the same
  savepoint, else from the last savepoint the operator recorded (``rollback``);
* a delete first detaches the completed savepoints, which would go with the application.

A client provides: ``error`` (its error class), ``scope`` (where the applications live, for
messages), ``get(name)``,
``apply(name, spec, metadata)``, ``require_target(check_mode, warn)``, ``event_names(name)``,
``wait(name, want, timeout, previous_job_id, stable_seconds, since, report)``,
``resolve_savepoint(name, savepoint_name, savepoint_path)``, ``completed_savepoints(name)``,
``detach_savepoint(name, savepoint)`` and ``delete(name)``; optionally
``rollback_spec(previous, failed, restore_path, allow_non_restored) -> (spec, path)``, when the
client knows better than the last recorded savepoint what to roll back from (FKO: the upgrade
savepoint its operator took, or nothing when the old job was never stopped).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.flinkops.cookbook.plugins.module_utils.cmf_ops import (
    FAILED_JOB_STATES, MANAGED_JOB_KEYS, job_id, job_state, kept_metadata, merge, plan_resource,
    stringify_configuration, user_metadata)


# The options of the cluster an application brings (doc fragment operator_application), which a
# FlinkSessionJob has not: it runs on a session cluster.
CLUSTER_OPTIONS = ("image", "flink_version", "service_account", "job_manager", "task_manager")


def application_options():
    """The argument spec of the options documented in doc_fragments/operator_application.py
    (DOCUMENTATION, the cluster's, and JOB, the job's)."""
    return dict(
        image=dict(type="str"),
        flink_version=dict(type="str"),
        service_account=dict(type="str"),
        jar_uri=dict(type="str"),
        entry_class=dict(type="str"),
        parallelism=dict(type="int"),
        upgrade_mode=dict(type="str", choices=["savepoint", "last-state", "stateless"]),
        flink_configuration=dict(type="dict"),
        job_manager=dict(type="dict"),
        task_manager=dict(type="dict"),
        allow_non_restored_state=dict(type="bool", default=False),
        restart_failed=dict(type="bool", default=True),
        rollback=dict(type="bool", default=True),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=300),
    )


def job_options():
    """The argument spec of the job's options alone (doc fragment operator_application.job)."""
    return dict((name, spec) for name, spec in application_options().items() if name not in CLUSTER_OPTIONS)


# Typed options and where they go in the FlinkDeployment spec.
TYPED = (("image", ("image",)), ("flink_version", ("flinkVersion",)), ("service_account", ("serviceAccount",)),
         ("job_manager", ("jobManager",)), ("task_manager", ("taskManager",)), ("jar_uri", ("job", "jarURI")),
         ("entry_class", ("job", "entryClass")), ("args", ("job", "args")), ("parallelism", ("job", "parallelism")),
         ("upgrade_mode", ("job", "upgradeMode")))


# -- the spec -----------------------------------------------------------------------------------
def user_spec(params):
    """The spec parts the user set, typed options over ``spec``."""
    typed = {}
    for option, path in TYPED:
        if params[option] is not None:
            target = typed
            for part in path[:-1]:
                target = target.setdefault(part, {})
            target[path[-1]] = params[option]
    if params["flink_configuration"] is not None:
        typed["flinkConfiguration"] = stringify_configuration(params["flink_configuration"])
    return merge(params["spec"] or {}, typed)


def desired_spec(params, want_job):
    """The spec to compare: the user's, with ``job.state`` and without the managed job keys."""
    desired = user_spec(params)
    desired.setdefault("job", {})["state"] = want_job
    for key in MANAGED_JOB_KEYS:
        desired["job"].pop(key, None)
    return desired


def with_restore(spec, current_spec, path, allow_non_restored):
    """Start ``spec`` from ``path``: initialSavepointPath and a new redeploy nonce."""
    spec = copy.deepcopy(spec)
    job = spec.setdefault("job", {})
    job["initialSavepointPath"] = path
    previous = ((current_spec or {}).get("job") or {}).get("savepointRedeployNonce") or 0
    job["savepointRedeployNonce"] = int(previous) + 1
    if allow_non_restored:
        job["allowNonRestoredState"] = True
    else:
        job.pop("allowNonRestoredState", None)
    return spec


def with_restart(spec, current_spec):
    """Redeploy ``spec`` unchanged: a new ``restartNonce``."""
    spec = copy.deepcopy(spec)
    spec["restartNonce"] = int((current_spec or {}).get("restartNonce") or 0) + 1
    return spec


def last_recorded_savepoint(app):
    """The location of the last savepoint the operator recorded for ``app``, or None."""
    info = ((((app or {}).get("status") or {}).get("jobStatus") or {}).get("savepointInfo") or {})
    return (info.get("lastSavepoint") or {}).get("location")


# -- converging -----------------------------------------------------------------------------------
class OperatorApplication(object):
    """One application ``name`` behind ``client``, converged to the module's ``params``
    (the ``cmf_application`` options: state, typed spec options, savepoint, rollback, wait...)."""

    def __init__(self, client, name, params, check_mode=False, report=None, warn=None):
        self.client = client
        self.name = name
        self.params = params
        self.check_mode = check_mode
        self.report = report
        self.warn = warn or (lambda message: None)

    def run(self):
        current = self.client.get(self.name)
        if self.params["state"] == "absent":
            return self.ensure_absent(current)
        return self.ensure_state(current)

    def apply_and_wait(self, spec, metadata, want, previous_jid, known_events):
        p = self.params
        self.client.apply(self.name, spec, metadata)
        if not p["wait"]:
            return self.client.get(self.name)
        stable = p["stable_seconds"] if want == "RUNNING" else 0
        # A suspend starts no new deployment (no new job id): only a start waits for a fresh one.
        fresh_from = previous_jid if want == "RUNNING" else None
        return self.client.wait(self.name, want, p["wait_timeout"], previous_job_id=fresh_from, stable_seconds=stable,
                                since=known_events, report=self.report)

    def ensure_state(self, current):
        """Converge to a RUNNING (``state=running``) or SUSPENDED job."""
        p = self.params
        want_job = "running" if p["state"] == "running" else "suspended"
        want = "RUNNING" if want_job == "running" else "SUSPENDED"
        desired = desired_spec(p, want_job)
        current_spec = (current or {}).get("spec") or {}
        state_now = job_state(current)

        diff_keys, _spec, new_meta = plan_resource(current, desired, user_metadata(p["labels"], p["annotations"]))
        restart = bool(current) and not diff_keys and want == "RUNNING" and p["restart_failed"] \
            and state_now in FAILED_JOB_STATES
        if current and not diff_keys and not restart:
            result = {"changed": False, "outcome": "none", "application": current, "job_state": state_now}
            # the declared spec is there but the operator has not acted on it yet (a concurrent run
            # wrote it): the old job still runs, and what counts is the run the new spec starts
            reconciling = getattr(self.client, "reconciling", lambda obj: False)(current)
            if p["wait"] and (state_now != want or (reconciling and not self.check_mode)):
                # Nothing to write, but a deployment is still on its way: report where it ends.
                app = self.client.wait(self.name, want, p["wait_timeout"], stable_seconds=0, report=self.report)
                result.update(application=app, job_state=job_state(app))
            return result

        if current is None:
            needs = getattr(self.client, "creation_problem", None)
            problem = needs(p) if needs else (None if p["image"] or (p["spec"] or {}).get("image")
                                              else "image (and jar_uri) are needed to create it")
            if problem:
                raise self.client.error("application %s does not exist in %s: %s" % (self.name, self.client.scope, problem))
        self.client.require_target(self.check_mode, self.warn)

        new_spec = merge(current_spec, desired)
        restore_path = None
        if (p["savepoint_name"] or p["savepoint_path"]) and want == "RUNNING":
            restore_path = self.client.resolve_savepoint(self.name, p["savepoint_name"], p["savepoint_path"])
            new_spec = with_restore(new_spec, current_spec, restore_path, p["allow_non_restored_state"])
        elif restart:
            new_spec = with_restart(new_spec, current_spec)

        if current is None:
            outcome = "created"
        elif restart:
            outcome, diff_keys = "restarted", ["job state %s" % state_now]
        elif want == "SUSPENDED":
            outcome = "suspended" if state_now != "SUSPENDED" else "updated"
        else:
            outcome = "updated"
        result = {"changed": True, "outcome": outcome, "differences": diff_keys,
                  "diff": {"before": {"spec": copy.deepcopy(current_spec), "job_state": state_now} if current else {},
                           "after": {"spec": copy.deepcopy(new_spec), "job_state": want}}}
        if current is not None:
            result["previous_spec"] = copy.deepcopy(current_spec)
        if restore_path:
            result["restored_from"] = restore_path
        if self.check_mode:
            result.update(application=dict(current or {}, spec=new_spec), job_state=want)
            return result

        known = self.client.event_names(self.name) if current else set()
        try:
            app = self.apply_and_wait(new_spec, new_meta, want, job_id(current), known)
        except self.client.error as exc:
            exc.details.setdefault("previous_spec", copy.deepcopy(current_spec) if current else None)
            exc.details["restored_from"] = restore_path
            # a write refused because another run changed the spec first wrote nothing: there is
            # nothing of this run to roll back, and rolling back would undo the other run's change
            if current is not None and p["rollback"] and want == "RUNNING" and state_now == "RUNNING" \
                    and exc.details.get("written") is not False:
                exc.details["rolled_back"] = self.rollback(current, restore_path)
                raise self.client.error("%s. %s" % (exc, exc.details["rolled_back"]["message"]), **exc.details)
            raise
        result.update(application=app, job_state=job_state(app))
        return result

    def rollback(self, previous, restore_path):
        """Apply the previous spec again, from the same savepoint when there is one, else from
        the last savepoint the operator recorded, else as a restart."""
        failed = self.client.get(self.name)
        fresh_from = job_id(failed)
        if hasattr(self.client, "rollback_spec"):
            # the client knows whether its operator stopped the old job, and with which savepoint
            spec, path = self.client.rollback_spec(previous, failed, restore_path,
                                                   self.params["allow_non_restored_state"])
            fresh_from = fresh_from if path else None
        else:
            spec = copy.deepcopy(previous.get("spec") or {})
            path = restore_path or last_recorded_savepoint(failed) or last_recorded_savepoint(previous)
            if path:
                spec = with_restore(spec, (failed or {}).get("spec"), path, self.params["allow_non_restored_state"])
            else:
                spec = with_restart(spec, (failed or {}).get("spec"))
        meta = kept_metadata(previous)
        try:
            app = self.apply_and_wait(spec, meta, "RUNNING", fresh_from, self.client.event_names(self.name))
        except self.client.error as exc:
            return {"done": False, "savepoint_path": path, "error": str(exc),
                    "message": "ROLLBACK FAILED too: %s" % exc}
        return {"done": True, "savepoint_path": path, "job_state": job_state(app),
                "message": "The previous spec was applied again%s and is RUNNING" % (
                    " from savepoint %s" % path if path else "")}

    def ensure_absent(self, current):
        """Delete the application, detaching its completed savepoints first (``keep_savepoints``)."""
        if current is None:
            return {"changed": False, "outcome": "none", "application": None, "job_state": None,
                    "detached_savepoints": []}
        detached = self.client.completed_savepoints(self.name) if self.params["keep_savepoints"] else []
        result = {"changed": True, "outcome": "deleted", "application": None, "job_state": None,
                  "detached_savepoints": detached,
                  "diff": {"before": {"spec": copy.deepcopy(current.get("spec") or {}),
                                      "job_state": job_state(current)}, "after": {}}}
        if self.check_mode:
            return result
        for savepoint in detached:
            self.client.detach_savepoint(self.name, savepoint)
        self.client.delete(self.name)
        return result
