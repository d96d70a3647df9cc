# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""FOR INTERNAL COLLECTION USE ONLY.

CMF operations on top of ``CmfRestClient``: comparing desired and current resources and
converging them (``Resource``, ``converge``, ``sync``: one present/absent/check-mode logic for
every CMF module), waiting for application, savepoint and statement states (``_wait``), the
applications of one environment as ``operator_application`` reaches them (``CmfApplications``),
and reporting an application's events.

Rules kept here, for every CMF module:
* only the keys the user set are compared; server-set fields (``metadata.uid``,
  timestamps, ``status``) never count as a difference;
* a savepoint counts only when it is COMPLETED with a path; a FAILED savepoint is an
  error with CMF's own message; a timeout is "unknown", never "failed", and nothing is
  deleted because of it;
* an application counts as started when its job is RUNNING in a *new* deployment (a new
  job id) and stays RUNNING, with no JOB_EXCEPTION event, for ``stable_seconds``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.flinkops.cookbook.plugins.module_utils._errors import CmfError, CmfTimeout
from ansible_collections.flinkops.cookbook.plugins.module_utils._wait import Clock, wait_until

FAILED_JOB_STATES = frozenset(("FAILED", "FAILING"))
UNSTABLE_JOB_STATES = frozenset(("RESTARTING",))
# Fields of spec.job the operator-application rules manage themselves (restores), never user-compared.
MANAGED_JOB_KEYS = ("initialSavepointPath", "savepointRedeployNonce", "allowNonRestoredState")


# -- comparison ---------------------------------------------------------------------------------
def merge(current, desired):
    """``desired`` laid over ``current``: dicts merge key by key, anything else replaces."""
    out = copy.deepcopy(current) if isinstance(current, dict) else {}
    for key, value in (desired or {}).items():
        if value is None:
            continue
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def differences(current, desired, prefix=""):
    """Dotted paths of the keys set in ``desired`` whose value differs in ``current``."""
    out = []
    current = current if isinstance(current, dict) else {}
    for key, value in (desired or {}).items():
        if value is None:
            continue
        path = prefix + str(key)
        if isinstance(value, dict) and isinstance(current.get(key), dict):
            out.extend(differences(current[key], value, path + "."))
        elif _normal(current.get(key)) != _normal(value):
            out.append(path)
    return out


def _normal(value):
    """Compare as CMF stores: configuration values are strings, numbers may come back as such."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, dict):
        return dict((k, _normal(v)) for k, v in value.items())
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return value


def stringify_configuration(conf):
    """Flink configuration values are strings in CMF (and in FlinkDeployment)."""
    if conf is None:
        return None
    out = {}
    for key, value in conf.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        out[str(key)] = value if isinstance(value, str) else str(value)
    return out


# -- applications -------------------------------------------------------------------------------
def job_state(app):
    return (((app or {}).get("status") or {}).get("jobStatus") or {}).get("state")


def job_id(app):
    return (((app or {}).get("status") or {}).get("jobStatus") or {}).get("jobId")


def event_names(client, env, name):
    """The names of the events an application has now (to tell new events from old ones)."""
    try:
        return set((e.get("metadata") or {}).get("name") for e in client.application_events(env, name))
    except Exception:  # the events endpoint is alpha: never fail an operation because of it
        return set()


def event_summary(client, env, name, since=None, limit=8):
    """The application's latest events, newest last, as short strings (for failure messages).

    ``since``: names of events to leave out (those that existed before the operation)."""
    try:
        events = client.application_events(env, name)
    except Exception:  # the events endpoint is alpha: never hide the real failure behind it
        return []
    out = []
    for event in events:
        meta = event.get("metadata") or {}
        status = event.get("status") or {}
        stamp = meta.get("creationTimestamp") or ""
        if since and meta.get("name") in since:
            continue
        text = status.get("message") or ""
        data = status.get("data") or {}
        if data.get("exceptionString"):
            first = data["exceptionString"].strip().splitlines()[0]
            if first not in text:
                text = "%s: %s" % (text, first) if text else first
        out.append("%s %s %s" % (stamp, status.get("type") or "EVENT", text))
    return out[-limit:]


def has_exception_event(client, env, name, since):
    for line in event_summary(client, env, name, since=since, limit=50):
        if " JOB_EXCEPTION " in line:
            return line
    return None


def wait_application(client, env, name, want, timeout, previous_job_id=None, stable_seconds=0,
                     since=None, report=None, clock=None):
    """Wait until the application's job is ``want`` (RUNNING or SUSPENDED).

    For RUNNING: in a deployment newer than ``previous_job_id``, then steady for
    ``stable_seconds`` without a failure or a JOB_EXCEPTION event. Raises CmfError (failed,
    with the events) or CmfTimeout.
    """
    clock = clock or Clock(timeout, interval=0.1, max_interval=1.0)
    running_since = [None]
    seen_states = []

    def fresh(app):
        jid = job_id(app)
        return previous_job_id is None or (jid and jid != previous_job_id)

    def failed(app, seen):
        if app is None:
            return CmfError("application %s disappeared from environment %s while waiting for %s" % (name, env, want),
                            states=seen)
        state = job_state(app)
        if want == "RUNNING" and fresh(app) and (state in FAILED_JOB_STATES or state in UNSTABLE_JOB_STATES):
            events = event_summary(client, env, name, since=since)
            return CmfError("application %s in environment %s went %s instead of RUNNING; events: %s"
                            % (name, env, state, " | ".join(events) or "(none)"),
                            states=seen, events=events, application=app)
        return None

    def steady(app):
        if not (job_state(app) == want and fresh(app)):
            running_since[0] = None
            return False
        if want != "RUNNING" or stable_seconds <= 0:
            return True
        now = clock.now()
        running_since[0] = running_since[0] or now
        exception = has_exception_event(client, env, name, since)
        if exception:
            events = event_summary(client, env, name, since=since)
            raise CmfError("application %s in environment %s reported an exception while RUNNING: %s; events: %s"
                           % (name, env, exception, " | ".join(events)), states=seen_states, events=events,
                           application=app)
        return now - running_since[0] >= stable_seconds

    def timed_out(app, seen):
        events = event_summary(client, env, name, since=since)
        return CmfTimeout("application %s in environment %s is %s, not %s%s, after %ss; events: %s"
                          % (name, env, job_state(app), want,
                             " (steady for %ss)" % stable_seconds if stable_seconds else "",
                             timeout, " | ".join(events) or "(none)"),
                          states=seen, events=events, application=app)

    return wait_until(lambda: client.get_application(env, name), steady, failed, what="application %s/%s" % (env, name),
                      state=lambda app: job_state(app) if app else "ABSENT", report=report, timed_out=timed_out,
                      clock=clock, seen=seen_states)


class CmfApplications(object):
    """The FlinkApplications of one CMF environment, as ``operator_application`` asks for them."""

    error = CmfError

    def __init__(self, client, env):
        self.client = client
        self.env = env
        self.scope = "environment %s" % env

    def get(self, name):
        return self.client.get_application(self.env, name)

    def apply(self, name, spec, metadata):
        return self.client.apply_application(self.env, resource_body("FlinkApplication", name, spec, metadata))

    def require_target(self, check_mode, warn):
        """The environment must exist (in check mode, an earlier task may create it)."""
        if self.client.get_environment(self.env) is None:
            if not check_mode:
                raise CmfError("environment %s does not exist in CMF at %s" % (self.env, self.client.http.base_url))
            warn("environment %s does not exist (yet): check mode assumes an earlier task creates it" % self.env)

    def event_names(self, name):
        return event_names(self.client, self.env, name)

    def wait(self, name, want, timeout, previous_job_id=None, stable_seconds=0, since=None, report=None):
        return wait_application(self.client, self.env, name, want, timeout, previous_job_id=previous_job_id,
                                stable_seconds=stable_seconds, since=since, report=report)[0]

    def resolve_savepoint(self, name, savepoint_name=None, savepoint_path=None):
        return resolve_savepoint(self.client, self.env, name, savepoint_name, savepoint_path)[0]

    def completed_savepoints(self, name):
        """Names of the application's COMPLETED savepoints (none on a CMF without savepoints)."""
        if not self.client.supports_savepoints():
            return []
        return [sp["metadata"]["name"] for sp in self.client.list_app_savepoints(self.env, name)
                if (sp.get("status") or {}).get("state") == "COMPLETED"]

    def detach_savepoint(self, name, savepoint):
        return self.client.detach_savepoint(self.env, name, savepoint)

    def delete(self, name):
        return self.client.delete_application(self.env, name)


# -- savepoints ---------------------------------------------------------------------------------
def savepoint_state(sp):
    return ((sp or {}).get("status") or {}).get("state")


def wait_savepoint(client, env, app, name, timeout, report=None, clock=None):
    """Wait until the application savepoint ``name`` is COMPLETED with a path; return it."""
    def failed(sp, seen):
        state, status = savepoint_state(sp), (sp or {}).get("status") or {}
        if state == "COMPLETED" and not status.get("path"):
            return CmfError("savepoint %s of application %s is COMPLETED but has no path" % (name, app), savepoint=sp)
        if state == "FAILED":
            reason = status.get("error") or "no reason given"
            return CmfError("savepoint %s of application %s in environment %s FAILED: %s (failures: %s). "
                            "The application was not touched." % (name, app, env, reason, status.get("failures")),
                            savepoint=sp, states=seen)
        if sp is None:
            return CmfError("savepoint %s of application %s is gone (deleted while waiting?)" % (name, app),
                            states=seen)
        return None

    def timed_out(sp, seen):
        return CmfTimeout("savepoint %s of application %s in environment %s is still %s after %ss: its outcome is "
                          "unknown. The application was not touched and the savepoint was not deleted; run again "
                          "with the same name to keep waiting." % (name, app, env, savepoint_state(sp), timeout),
                          savepoint=sp, states=seen)

    return wait_until(lambda: client.get_app_savepoint(env, app, name), lambda sp: savepoint_state(sp) == "COMPLETED",
                      failed, what="savepoint %s of %s/%s" % (name, env, app), report=report,
                      state=lambda sp: savepoint_state(sp) if sp else "ABSENT", timed_out=timed_out,
                      clock=clock or Clock(timeout, interval=0.1, max_interval=2.0))


def savepoint_view(sp, detached=False):
    """The savepoint in snake_case, as the modules return it."""
    meta = (sp or {}).get("metadata") or {}
    spec = (sp or {}).get("spec") or {}
    status = (sp or {}).get("status") or {}
    return {"name": meta.get("name"), "uid": meta.get("uid"), "state": status.get("state"),
            "path": status.get("path") or spec.get("path"), "format_type": spec.get("formatType"),
            "trigger_timestamp": status.get("triggerTimestamp"), "result_timestamp": status.get("resultTimestamp"),
            "error": status.get("error"), "detached": detached, "created": meta.get("creationTimestamp")}


def resolve_savepoint(client, env, app, name=None, path=None):
    """(path, description) of a savepoint to start from: a path as given, or an application
    savepoint of that name, or a detached savepoint of that name. It must be COMPLETED."""
    if path:
        return path, "path %s" % path
    sp = client.get_app_savepoint(env, app, name) if app else None
    detached = False
    if sp is None:
        sp = client.get_detached_savepoint(name)
        detached = True
    if sp is None:
        raise CmfError("savepoint %s not found: neither a savepoint of application %s in environment %s nor a "
                       "detached savepoint" % (name, app, env), savepoint_name=name)
    status = sp.get("status") or {}
    if status.get("state") != "COMPLETED" or not (status.get("path") or (sp.get("spec") or {}).get("path")):
        raise CmfError("savepoint %s is %s, not COMPLETED with a path: refusing to start from it"
                       % (name, status.get("state")), savepoint=sp)
    where = "detached savepoint" if detached else "savepoint"
    return status.get("path") or sp["spec"]["path"], "%s %s" % (where, name)


# -- resources with metadata and spec (compute pools, catalogs, databases, secrets, statements) ---
def resource_body(kind, name, spec, metadata=None):
    """A CMF resource as sent in a create or update (``metadata.name`` always set)."""
    from ansible_collections.flinkops.cookbook.plugins.module_utils.cmf_rest import API_VERSION

    meta = dict((k, v) for k, v in (metadata or {}).items() if v is not None)
    meta["name"] = name
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": meta, "spec": spec}


def user_metadata(labels=None, annotations=None):
    """``labels`` and ``annotations`` the user set (values as strings; None when unset)."""
    meta = {}
    for key, value in (("labels", labels), ("annotations", annotations)):
        if value is not None:
            meta[key] = dict((str(k), str(v)) for k, v in value.items())
    return meta


def kept_metadata(current):
    """The user-settable part of a resource's current metadata (labels, annotations)."""
    meta = (current or {}).get("metadata") or {}
    return dict((k, copy.deepcopy(meta[k])) for k in ("labels", "annotations") if meta.get(k))


def plan_resource(current, spec, metadata, write_only=False):
    """Compare a resource with what the user set.

    Returns ``(differences, new_spec, new_metadata)``: the dotted paths that differ (only keys
    the user set; server-set fields never count), the spec to write (``spec`` laid over the
    current one) and the metadata to write. ``write_only``: the spec cannot be read back (a
    secret), so it is not compared; the caller decides (``update_secrets``).
    """
    if current is None:
        return ["(created)"], copy.deepcopy(spec), dict(metadata)
    current_spec = current.get("spec") or {}
    found = [] if write_only else differences(current_spec, spec)
    found += ["metadata." + k for k in differences((current.get("metadata") or {}), metadata)]
    new_spec = copy.deepcopy(spec) if write_only else merge(current_spec, spec)
    return found, new_spec, merge(kept_metadata(current), metadata)


def resource_view(obj, hidden=("uid",)):
    """A resource for diffs: metadata without server-set fields, spec, no status."""
    if obj is None:
        return {}
    meta = dict((k, v) for k, v in ((obj.get("metadata") or {}).items())
                if k not in hidden and k not in ("creationTimestamp", "updateTimestamp"))
    return {"metadata": meta, "spec": copy.deepcopy(obj.get("spec") or {})}


# -- converging (after sensu.sensu_go's sync()) ------------------------------------------------
class Resource(object):
    """One CMF resource as the converge helpers reach it: its kind and name, the result key it is
    returned under, its client calls (``get()``, ``create(body)``, ``update(body)``, ``delete()``)
    and ``extra(obj)``, further result keys computed from it (a phase)."""

    def __init__(self, kind, name, key, get, create, update, delete, extra=None):
        self.kind = kind
        self.name = name
        self.key = key
        self.get = get
        self.create = create
        self.update = update
        self.delete = delete
        self.extra = extra or (lambda obj: {})

    def result(self, obj, **fields):
        fields[self.key] = obj
        fields.update(self.extra(obj))
        return fields


def converge(cm, resource, present, absent=None):
    """Read the resource once, then ``absent(cm, resource, current)`` (``state=absent``; default
    ``remove``) or ``present(cm, resource, current)``: each returns the module result."""
    current = resource.get()
    if cm.params["state"] == "absent":
        return (absent or remove)(cm, resource, current)
    return present(cm, resource, current)


def sync(cm, resource, current, spec, metadata, write_only=False, check=None):
    """Compare (``plan_resource``) and write the smallest change; ``(outcome, differences, body)``.

    ``check(differences)`` may refuse a change (raise) or return the differences to act on. In
    check mode nothing is written; an unchanged resource returns ``("none", [], current)``.
    """
    found, new_spec, meta = plan_resource(current, spec, metadata, write_only=write_only)
    if check:
        found = check(found)
    if not found:
        return "none", [], current
    body = resource_body(resource.kind, resource.name, new_spec, meta)
    if not cm.check_mode:
        if current is None:
            resource.create(body)
        else:
            resource.update(body)
    return ("created" if current is None else "updated"), found, body


def ensure(cm, resource, current, spec, metadata, check=None):
    """``state=present`` of a plain resource: ``sync``, then the result with the object read back."""
    outcome, found, body = sync(cm, resource, current, spec, metadata, check=check)
    if outcome == "none":
        return resource.result(current, changed=False, outcome="none")
    result = {"changed": True, "outcome": outcome, "differences": found,
              "diff": {"before": resource_view(current), "after": resource_view(body)}}
    if cm.check_mode:
        result.update(resource.result(body))
        result.update(resource.extra(current))
        return result
    return dict(result, **resource.result(resource.get()))


def remove(cm, resource, current):
    """``state=absent`` of a plain resource: delete it when it exists."""
    if current is None:
        return resource.result(None, changed=False, outcome="none")
    if not cm.check_mode:
        resource.delete()
    return resource.result(None, changed=True, outcome="deleted", diff={"before": resource_view(current), "after": {}})


def phase(obj):
    return ((obj or {}).get("status") or {}).get("phase")


def wait_phase(read, what, want, failed, timeout, report=None, clock=None):
    """Poll ``read()`` until its ``status.phase`` is in ``want``; a phase in ``failed`` raises.

    Returns ``(object, phases seen)``; raises CmfError (failed, ``object`` in details) or CmfTimeout.
    """
    def failure(obj, seen):
        if obj is None:
            return CmfError("%s disappeared while waiting for %s" % (what, "/".join(want)), phases=seen)
        now = phase(obj)
        if now in failed and now not in want:
            detail = ((obj.get("status") or {}).get("detail") or "").strip()
            return CmfError("%s is %s, not %s%s" % (what, now, "/".join(want), ": %s" % detail if detail else ""),
                            phases=seen, resource=obj)
        return None

    def timed_out(obj, seen):
        return CmfTimeout("%s is still %s, not %s, after %ss: the outcome is unknown"
                          % (what, phase(obj), "/".join(want), timeout), phases=seen, resource=obj)

    return wait_until(read, lambda obj: phase(obj) in want, failure, what=what, report=report,
                      state=lambda obj: phase(obj) if obj else "ABSENT", timed_out=timed_out,
                      clock=clock or Clock(timeout, interval=0.1, max_interval=2.0))
