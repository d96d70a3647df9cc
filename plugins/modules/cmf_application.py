#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cmf_application
short_description: A FlinkApplication of Confluent Manager for Apache Flink (CMF) as desired state
version_added: 0.1.0
description:
  - Creates, updates, suspends or deletes a CMF FlinkApplication (a Flink application cluster managed by CMF through
    the Flink Kubernetes Operator), then waits until its job is RUNNING (steady for O(stable_seconds), with no
    C(JOB_EXCEPTION) event) or SUSPENDED.
  - Only the options that are set are compared with the application CMF has, and merged into it; server-set fields
    (C(metadata.uid), timestamps, C(status)) never count as a difference. One create-or-update call writes the
    merged spec.
  - With O(savepoint_name) or O(savepoint_path), a (re)deployment starts from that savepoint
    (C(spec.job.initialSavepointPath) with a new C(savepointRedeployNonce)). An application that already runs the
    desired spec is left alone, whatever savepoint is given.
  - If an update does not reach RUNNING, the previous spec is applied again (from the same savepoint when one was
    given, else from the last savepoint CMF recorded) when O(rollback=true), and the module fails with the cause and
    the application's events.
  - O(state=absent) detaches the application's COMPLETED savepoints before deleting it (O(keep_savepoints)), because
    CMF deletes the savepoints attached to an application with it.
author:
  - flinkops maintainers (@flinkops)
extends_documentation_fragment:
  - flinkops.cookbook.cmf
options:
  environment:
    description: Name of the CMF environment of the application.
    type: str
    required: true
  name:
    description: Name of the application (C(metadata.name)).
    type: str
    required: true
  state:
    description: Desired state of the application's job, or C(absent) to delete the application.
    type: str
    choices: [running, suspended, absent]
    default: running
  image:
    description: Container image with Flink and the job (C(spec.image)).
    type: str
  flink_version:
    description: Flink version of the image, as the operator names it (C(spec.flinkVersion)), for example C(v1_19).
    type: str
  service_account:
    description: Kubernetes service account of the Flink pods (C(spec.serviceAccount)).
    type: str
  jar_uri:
    description: URI of the job jar inside the image, for example C(local:///opt/flink/usrlib/job.jar) (C(spec.job.jarURI)).
    type: str
  entry_class:
    description: Main class of the job (C(spec.job.entryClass)).
    type: str
  args:
    description: Program arguments (C(spec.job.args)). Replaces the list CMF has.
    type: list
    elements: str
  parallelism:
    description: Job parallelism (C(spec.job.parallelism)).
    type: int
  upgrade_mode:
    description:
      - How the operator carries state over a spec change (C(spec.job.upgradeMode)). C(savepoint) keeps the state
        through a savepoint; C(stateless) drops it.
    type: str
    choices: [savepoint, last-state, stateless]
  flink_configuration:
    description: Flink configuration (C(spec.flinkConfiguration)); merged key by key, values sent as strings.
    type: dict
  job_manager:
    description: "JobManager resources, for example C({resource: {memory: 1024m, cpu: 1}}) (C(spec.jobManager))."
    type: dict
  task_manager:
    description: TaskManager resources and replicas (C(spec.taskManager)).
    type: dict
  spec:
    description:
      - Any other part of the FlinkApplication spec (for example C(podTemplate)), merged under the typed options
        above, which take precedence.
    type: dict
  labels:
    description: Labels of the application (C(metadata.labels)), merged key by key.
    type: dict
  annotations:
    description: Annotations of the application (C(metadata.annotations)), merged key by key.
    type: dict
  savepoint_name:
    description:
      - Start a (re)deployment from this savepoint, a savepoint of this application or a detached savepoint. It must
        be COMPLETED. Mutually exclusive with O(savepoint_path).
    type: str
  savepoint_path:
    description: Start a (re)deployment from this savepoint path (for example one taken outside CMF).
    type: str
  allow_non_restored_state:
    description: With a savepoint, let the job start even if some of its state maps to no operator (that state is dropped).
    type: bool
    default: false
  restart_failed:
    description: Redeploy a job that is FAILED although its spec is the desired one.
    type: bool
    default: true
  rollback:
    description: When an update does not reach RUNNING, apply the previous spec again before failing.
    type: bool
    default: true
  keep_savepoints:
    description: With O(state=absent), detach the application's COMPLETED savepoints before deleting it.
    type: bool
    default: true
  wait:
    description: Wait for the job state (RUNNING or SUSPENDED) after a change.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for the job state.
    type: int
    default: 300
  stable_seconds:
    description:
      - After RUNNING, seconds the job must stay RUNNING with no C(JOB_EXCEPTION) event before the change counts as
        done. A job that fails at its first records is caught here.
    type: int
    default: 10
attributes:
  check_mode:
    support: full
    description: Reports what would change; writes nothing.
  diff_mode:
    support: full
    description: Shows the spec and the job state before and after.
notes:
  - Idempotent. A second run with the same options reports C(changed=false).
  - Rollback and the start from a savepoint use C(spec.job.initialSavepointPath) with C(savepointRedeployNonce),
    which needs Flink Kubernetes Operator 1.10 or newer under CMF.
"""

EXAMPLES = r"""
- name: Deploy or update a FlinkApplication and wait until it runs
  flinkops.cookbook.cmf_application:
    url: https://cmf.example.com
    environment: production
    name: orders-enrichment
    image: registry.example.com/orders-enrichment:1.4.2
    flink_version: v1_19
    jar_uri: local:///opt/flink/usrlib/orders-enrichment.jar
    entry_class: com.example.orders.EnrichmentJob
    args: [--topic, orders]
    parallelism: 4
    upgrade_mode: savepoint
    flink_configuration:
      taskmanager.numberOfTaskSlots: 2
    job_manager: {resource: {memory: 1024m, cpu: 1}}
    task_manager: {resource: {memory: 2048m, cpu: 2}}

- name: Start it again from a savepoint taken before
  flinkops.cookbook.cmf_application:
    environment: production
    name: orders-enrichment
    image: registry.example.com/orders-enrichment:1.4.1
    savepoint_name: orders-enrichment-before-1-4-2

- name: Suspend it (the operator keeps its state in a savepoint)
  flinkops.cookbook.cmf_application:
    environment: production
    name: orders-enrichment
    state: suspended
"""

RETURN = r"""
application:
  description: The FlinkApplication as CMF returns it after the run (C(metadata), C(spec), C(status)); null when absent.
  returned: always
  type: dict
job_state:
  description: The job state CMF reports after the run (C(RUNNING), C(SUSPENDED), ...).
  returned: always
  type: str
  sample: RUNNING
outcome:
  description: What was done, one of C(none), C(created), C(updated), C(restarted), C(suspended), C(deleted).
  returned: always
  type: str
  sample: updated
differences:
  description: The fields that differed from what CMF had (dotted spec paths, or C(job state)).
  returned: when changed
  type: list
  elements: str
  sample: [image, job.args]
previous_spec:
  description: The spec the application had before the change (to roll back to).
  returned: when an existing application was changed, and on failure
  type: dict
restored_from:
  description: The savepoint path the new deployment starts from.
  returned: when a savepoint was used
  type: str
  sample: s3://flink-state/savepoints/savepoint-3f0780-27982eaed332
detached_savepoints:
  description: Names of the savepoints detached before the application was deleted.
  returned: with state=absent
  type: list
  elements: str
events:
  description: The application's latest events (time, type, message).
  returned: on failure
  type: list
  elements: str
rolled_back:
  description: On a failed update, whether and how the previous spec was applied again.
  returned: on failure
  type: dict
progress:
  description: Job states seen during the wait.
  returned: when there was a wait
  type: list
  elements: str
"""

import copy

from ansible_collections.flinkops.cookbook.plugins.module_utils.cmf_module import CmfModule, argument_spec
from ansible_collections.flinkops.cookbook.plugins.module_utils.cmf_ops import (
    FAILED_JOB_STATES, MANAGED_JOB_KEYS, differences, event_names, job_id, job_state, merge, resolve_savepoint,
    stringify_configuration, wait_application)
from ansible_collections.flinkops.cookbook.plugins.module_utils.cmf_rest import API_VERSION, CmfError

TYPED = (("image", ("image",)), ("flink_version", ("flinkVersion",)), ("service_account", ("serviceAccount",)),
         ("job_manager", ("jobManager",)), ("task_manager", ("taskManager",)), ("jar_uri", ("job", "jarURI")),
         ("entry_class", ("job", "entryClass")), ("args", ("job", "args")), ("parallelism", ("job", "parallelism")),
         ("upgrade_mode", ("job", "upgradeMode")))


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


def user_metadata(params):
    meta = {}
    for key in ("labels", "annotations"):
        if params[key] is not None:
            meta[key] = dict((str(k), str(v)) for k, v in params[key].items())
    return meta


def spec_view(spec):
    return copy.deepcopy(spec or {})


def body_for(name, spec, metadata):
    return {"apiVersion": API_VERSION, "kind": "FlinkApplication", "metadata": dict(metadata, name=name),
            "spec": spec}


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
    spec = copy.deepcopy(spec)
    spec["restartNonce"] = int((current_spec or {}).get("restartNonce") or 0) + 1
    return spec


def last_recorded_savepoint(app):
    info = ((((app or {}).get("status") or {}).get("jobStatus") or {}).get("savepointInfo") or {})
    return (info.get("lastSavepoint") or {}).get("location")


def apply_and_wait(cm, spec, metadata, want, previous_jid, known_events):
    p = cm.params
    client = cm.client
    client.apply_application(p["environment"], body_for(p["name"], spec, metadata))
    if not p["wait"]:
        return client.get_application(p["environment"], p["name"])
    stable = p["stable_seconds"] if want == "RUNNING" else 0
    # A suspend starts no new deployment (no new job id): only a start waits for a fresh one.
    fresh_from = previous_jid if want == "RUNNING" else None
    app = wait_application(client, p["environment"], p["name"], want, p["wait_timeout"], previous_job_id=fresh_from,
                           stable_seconds=stable, since=known_events, report=cm.report)[0]
    return app


def ensure_running_or_suspended(cm, current):
    p = cm.params
    client = cm.client
    env, name = p["environment"], p["name"]
    want_job = "running" if p["state"] == "running" else "suspended"
    want = "RUNNING" if want_job == "running" else "SUSPENDED"
    desired = user_spec(p)
    desired.setdefault("job", {})["state"] = want_job
    for key in MANAGED_JOB_KEYS:
        desired["job"].pop(key, None)
    metadata = user_metadata(p)
    current_spec = (current or {}).get("spec") or {}
    current_meta = (current or {}).get("metadata") or {}
    state_now = job_state(current)

    diff_keys = differences(current_spec, desired) if current else ["(created)"]
    diff_keys += ["metadata." + k for k in differences(current_meta, metadata)] if current else []
    restart = bool(current) and not diff_keys and want == "RUNNING" and p["restart_failed"] and state_now in FAILED_JOB_STATES
    if current and not diff_keys and not restart:
        result = {"changed": False, "outcome": "none", "application": current, "job_state": state_now}
        if p["wait"] and state_now != want:
            # Nothing to write, but a deployment is still on its way: report where it ends.
            app = wait_application(client, env, name, want, p["wait_timeout"], stable_seconds=0, report=cm.report)[0]
            result.update(application=app, job_state=job_state(app))
        return result

    if current is None and not p["image"] and not (p["spec"] or {}).get("image"):
        raise CmfError("application %s does not exist in environment %s: image (and jar_uri) are needed to create it"
                       % (name, env))
    if client.get_environment(env) is None:
        if not cm.check_mode:
            raise CmfError("environment %s does not exist in CMF at %s" % (env, client.http.base_url))
        cm.module.warn("environment %s does not exist (yet): check mode assumes an earlier task creates it" % env)

    new_spec = merge(current_spec, desired)
    restore_path = None
    if (p["savepoint_name"] or p["savepoint_path"]) and want == "RUNNING":
        restore_path = resolve_savepoint(client, env, name, p["savepoint_name"], p["savepoint_path"])[0]
        new_spec = with_restore(new_spec, current_spec, restore_path, p["allow_non_restored_state"])
    elif restart:
        new_spec = with_restart(new_spec, current_spec)
    new_meta = merge(dict((k, current_meta.get(k)) for k in ("labels", "annotations") if current_meta.get(k)), metadata)

    if current is None:
        outcome = "created"
    elif restart:
        outcome, diff_keys = "restarted", ["job state %s" % state_now]
    elif want == "SUSPENDED":
        outcome = "suspended" if state_now != "SUSPENDED" else "updated"
    else:
        outcome = "updated"
    result = {"changed": True, "outcome": outcome, "differences": diff_keys,
              "diff": {"before": {"spec": spec_view(current_spec), "job_state": state_now} if current else {},
                       "after": {"spec": spec_view(new_spec), "job_state": want}}}
    if current is not None:
        result["previous_spec"] = spec_view(current_spec)
    if restore_path:
        result["restored_from"] = restore_path
    if cm.check_mode:
        result.update(application=dict(current or {}, spec=new_spec), job_state=want)
        return result

    known = event_names(client, env, name) if current else set()
    previous_jid = job_id(current)
    try:
        app = apply_and_wait(cm, new_spec, new_meta, want, previous_jid, known)
    except CmfError as exc:
        exc.details.setdefault("previous_spec", spec_view(current_spec) if current else None)
        exc.details["restored_from"] = restore_path
        if current is not None and p["rollback"] and want == "RUNNING" and state_now == "RUNNING":
            exc.details["rolled_back"] = rollback(cm, current, restore_path)
            raise CmfError("%s. %s" % (exc, exc.details["rolled_back"]["message"]), **exc.details)
        raise
    result.update(application=app, job_state=job_state(app))
    return result


def rollback(cm, previous, restore_path):
    """Apply the previous spec again, from the same savepoint when there is one."""
    p = cm.params
    client = cm.client
    env, name = p["environment"], p["name"]
    failed = client.get_application(env, name)
    spec = copy.deepcopy(previous.get("spec") or {})
    path = restore_path or last_recorded_savepoint(failed) or last_recorded_savepoint(previous)
    if path:
        spec = with_restore(spec, (failed or {}).get("spec"), path, p["allow_non_restored_state"])
    else:
        spec = with_restart(spec, (failed or {}).get("spec"))
    meta = dict((k, v) for k, v in (previous.get("metadata") or {}).items() if k in ("labels", "annotations"))
    try:
        app = apply_and_wait(cm, spec, meta, "RUNNING", job_id(failed), event_names(client, env, name))
    except CmfError as exc:
        return {"done": False, "savepoint_path": path, "error": str(exc),
                "message": "ROLLBACK FAILED too: %s" % exc}
    return {"done": True, "savepoint_path": path, "job_state": job_state(app),
            "message": "The previous spec was applied again%s and is RUNNING" % (
                " from savepoint %s" % path if path else "")}


def ensure_absent(cm, current):
    p = cm.params
    client = cm.client
    if current is None:
        return {"changed": False, "outcome": "none", "application": None, "job_state": None, "detached_savepoints": []}
    detached = []
    if p["keep_savepoints"] and client.supports_savepoints():
        for sp in client.list_app_savepoints(p["environment"], p["name"]):
            if (sp.get("status") or {}).get("state") == "COMPLETED":
                detached.append(sp["metadata"]["name"])
    result = {"changed": True, "outcome": "deleted", "application": None, "job_state": None,
              "detached_savepoints": detached,
              "diff": {"before": {"spec": spec_view(current.get("spec")), "job_state": job_state(current)}, "after": {}}}
    if cm.check_mode:
        return result
    for sp_name in detached:
        client.detach_savepoint(p["environment"], p["name"], sp_name)
    client.delete_application(p["environment"], p["name"])
    return result


def run(cm):
    current = cm.client.get_application(cm.params["environment"], cm.params["name"])
    if cm.params["state"] == "absent":
        return ensure_absent(cm, current)
    return ensure_running_or_suspended(cm, current)


def main():
    spec = argument_spec(
        environment=dict(type="str", required=True),
        name=dict(type="str", required=True),
        state=dict(type="str", default="running", choices=["running", "suspended", "absent"]),
        image=dict(type="str"),
        flink_version=dict(type="str"),
        service_account=dict(type="str"),
        jar_uri=dict(type="str"),
        entry_class=dict(type="str"),
        args=dict(type="list", elements="str"),
        parallelism=dict(type="int"),
        upgrade_mode=dict(type="str", choices=["savepoint", "last-state", "stateless"]),
        flink_configuration=dict(type="dict"),
        job_manager=dict(type="dict"),
        task_manager=dict(type="dict"),
        spec=dict(type="dict"),
        labels=dict(type="dict"),
        annotations=dict(type="dict"),
        savepoint_name=dict(type="str"),
        savepoint_path=dict(type="str"),
        allow_non_restored_state=dict(type="bool", default=False),
        restart_failed=dict(type="bool", default=True),
        rollback=dict(type="bool", default=True),
        keep_savepoints=dict(type="bool", default=True),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=300),
        stable_seconds=dict(type="int", default=10),
    )
    CmfModule(spec, supports_check_mode=True, mutually_exclusive=[("savepoint_name", "savepoint_path")]).run(run)


if __name__ == "__main__":
    main()
