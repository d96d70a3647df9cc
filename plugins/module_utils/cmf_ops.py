# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""FOR INTERNAL COLLECTION USE ONLY.

CMF operations on top of ``CmfRestClient``: comparing desired and current resources,
waiting for application and savepoint states, and reporting an application's events.

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
import time

from ansible_collections.flinkops.cookbook.plugins.module_utils.cmf_rest import CmfError

FAILED_JOB_STATES = frozenset(("FAILED", "FAILING"))
UNSTABLE_JOB_STATES = frozenset(("RESTARTING",))
# Fields of spec.job the modules manage themselves (restores, restarts), never user-compared.
MANAGED_JOB_KEYS = ("initialSavepointPath", "savepointRedeployNonce", "allowNonRestoredState")
MANAGED_SPEC_KEYS = ("restartNonce",)


class CmfTimeout(CmfError):
    """A wait ran out: the outcome is unknown."""


class Clock(object):
    """A deadline with a growing poll interval; ``sleep``/``now`` injectable for tests."""

    def __init__(self, timeout, interval=0.1, max_interval=2.0, growth=1.5, sleep=time.sleep, now=time.time):
        self.now = now
        self.deadline = now() + timeout
        self.interval = interval
        self.max_interval = max(interval, max_interval)
        self.growth = growth
        self._sleep = sleep

    def expired(self):
        return self.now() >= self.deadline

    def tick(self):
        self._sleep(self.interval)
        self.interval = min(self.max_interval, self.interval * self.growth)


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
    seen = []
    running_since = None
    while True:
        app = client.get_application(env, name)
        state = job_state(app) if app else "ABSENT"
        jid = job_id(app)
        if not seen or seen[-1] != state:
            seen.append(state)
            if report:
                report("application %s/%s: %s" % (env, name, state))
        fresh = previous_job_id is None or (jid and jid != previous_job_id)
        if app is None:
            raise CmfError("application %s disappeared from environment %s while waiting for %s" % (name, env, want),
                           states=seen)
        if want == "RUNNING" and fresh and (state in FAILED_JOB_STATES or state in UNSTABLE_JOB_STATES):
            events = event_summary(client, env, name, since=since)
            raise CmfError("application %s in environment %s went %s instead of RUNNING; events: %s"
                           % (name, env, state, " | ".join(events) or "(none)"),
                           states=seen, events=events, application=app)
        if state == want and fresh:
            if want != "RUNNING" or stable_seconds <= 0:
                return app, seen
            now = clock.now()
            running_since = running_since or now
            exception = has_exception_event(client, env, name, since)
            if exception:
                events = event_summary(client, env, name, since=since)
                raise CmfError("application %s in environment %s reported an exception while RUNNING: %s; events: %s"
                               % (name, env, exception, " | ".join(events)), states=seen, events=events,
                               application=app)
            if now - running_since >= stable_seconds:
                return app, seen
        else:
            running_since = None
        if clock.expired():
            events = event_summary(client, env, name, since=since)
            raise CmfTimeout("application %s in environment %s is %s, not %s%s, after %ss; events: %s"
                             % (name, env, state, want, " (steady for %ss)" % stable_seconds if stable_seconds else "",
                                timeout, " | ".join(events) or "(none)"),
                             states=seen, events=events, application=app)
        clock.tick()


# -- savepoints ---------------------------------------------------------------------------------
def savepoint_state(sp):
    return ((sp or {}).get("status") or {}).get("state")


def wait_savepoint(client, env, app, name, timeout, report=None, clock=None):
    """Wait until the application savepoint ``name`` is COMPLETED with a path; return it."""
    clock = clock or Clock(timeout, interval=0.1, max_interval=2.0)
    seen = []
    while True:
        sp = client.get_app_savepoint(env, app, name)
        state = savepoint_state(sp) if sp else "ABSENT"
        if not seen or seen[-1] != state:
            seen.append(state)
            if report:
                report("savepoint %s of %s/%s: %s" % (name, env, app, state))
        status = (sp or {}).get("status") or {}
        if state == "COMPLETED":
            if not status.get("path"):
                raise CmfError("savepoint %s of application %s is COMPLETED but has no path" % (name, app),
                               savepoint=sp)
            return sp, seen
        if state == "FAILED":
            reason = status.get("error") or "no reason given"
            raise CmfError("savepoint %s of application %s in environment %s FAILED: %s (failures: %s). "
                           "The application was not touched." % (name, app, env, reason, status.get("failures")),
                           savepoint=sp, states=seen)
        if sp is None:
            raise CmfError("savepoint %s of application %s is gone (deleted while waiting?)" % (name, app), states=seen)
        if clock.expired():
            raise CmfTimeout("savepoint %s of application %s in environment %s is still %s after %ss: its outcome is "
                             "unknown. The application was not touched and the savepoint was not deleted; run again "
                             "with the same name to keep waiting." % (name, app, env, state, timeout),
                             savepoint=sp, states=seen)
        clock.tick()


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


def phase(obj):
    return ((obj or {}).get("status") or {}).get("phase")


def wait_phase(read, what, want, failed, timeout, report=None, clock=None):
    """Poll ``read()`` until its ``status.phase`` is in ``want``; a phase in ``failed`` raises.

    Returns ``(object, phases seen)``; raises CmfError (failed, ``object`` in details) or CmfTimeout.
    """
    clock = clock or Clock(timeout, interval=0.1, max_interval=2.0)
    seen = []
    while True:
        obj = read()
        now = phase(obj) if obj else "ABSENT"
        if not seen or seen[-1] != now:
            seen.append(now)
            if report:
                report("%s: %s" % (what, now))
        if obj is None:
            raise CmfError("%s disappeared while waiting for %s" % (what, "/".join(want)), phases=seen)
        if now in want:
            return obj, seen
        if now in failed:
            detail = ((obj.get("status") or {}).get("detail") or "").strip()
            raise CmfError("%s is %s, not %s%s" % (what, now, "/".join(want), ": %s" % detail if detail else ""),
                           phases=seen, resource=obj)
        if clock.expired():
            raise CmfTimeout("%s is still %s, not %s, after %ss: the outcome is unknown"
                             % (what, now, "/".join(want), timeout), phases=seen, resource=obj)
        clock.tick()
