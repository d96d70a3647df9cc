# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Job operations on top of ``FlinkRestClient``: lookup, labels, savepoints, waits,
submission and the redeploy-from-savepoint procedure with automatic rollback.

The safety rules are enforced here so that every module gets them:

* no job is stopped except by a stop-with-savepoint whose result is COMPLETED with a
  location; a savepoint timeout is "unknown", never "failed", and never escalates;
* trigger ids and job ids are chosen by the client, so a retried call cannot take two
  savepoints or start two jobs;
* a new job counts as started only when it is RUNNING with every vertex RUNNING, has
  restored from the intended savepoint and has no entry in its exception history;
* if it does not start, it is cancelled and the previous spec is started again from
  the same savepoint.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import json
import os
import re
import time

from ansible_collections.flinkops.cookbook.plugins.module_utils._errors import FlinkOpsError, SavepointTimeout
from ansible_collections.flinkops.cookbook.plugins.module_utils._http import HttpError
from ansible_collections.flinkops.cookbook.plugins.module_utils._wait import Clock, wait_until
from ansible_collections.flinkops.cookbook.plugins.module_utils.flink_rest import (
    ACTIVE_STATES, LEADER_CHANGE_RE, TERMINAL_STATES, check_job_id, new_id)

LABEL_PREFIX = "flinkops."
SPEC_LABEL = "flinkops.spec"
VERSION_LABEL = "flinkops.version"
STOPPING_SAVEPOINT_RE = re.compile(r"savepoint has been created at:?\s*'?([^\s',]+)", re.IGNORECASE)


# -- input checks ------------------------------------------------------------------------
def check_savepoint_uri(path, shared_fs=False, what="savepoint directory"):
    """Reject paths that a cluster cannot use safely; return the path unchanged.

    Relative paths are always refused. ``file://`` and bare absolute paths are refused
    unless ``shared_fs`` says the directory is shared by every JobManager and TaskManager.
    """
    if path is None:
        return None
    text = str(path).strip()
    # Flink itself reports locations as scheme:/path (Hadoop style); users write scheme://...
    match = re.match(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):(.*)$", text)
    if not match:
        if not text.startswith("/"):
            raise FlinkOpsError(
                "%s %r is a relative path: give an absolute URI such as s3://bucket/savepoints "
                "or file:///shared/savepoints" % (what, text), path=text)
        scheme = "file"
    else:
        scheme, rest = match.group(1).lower(), match.group(2)
        if not rest.startswith("/"):
            raise FlinkOpsError("%s %r is not an absolute URI (use file:///abs/path or s3://bucket/path)"
                                % (what, text), path=text)
    if scheme == "file" and not shared_fs:
        raise FlinkOpsError(
            "%s %r is on a local filesystem: it must be reachable by every JobManager and "
            "TaskManager. Use a distributed store (s3://, gs://, abfs://, hdfs://) or set "
            "shared_fs=true if this path is a shared mount (or a single-host cluster)." % (what, text),
            path=text)
    return text


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# -- labels: how a job tells which spec it runs --------------------------------------------
def encode_labels(spec):
    """The ``pipeline.global-job-parameters`` value that tags a job with its spec."""
    spec = dict((k, v) for k, v in spec.items() if v is not None)
    blob = base64.b64encode(json.dumps(spec, sort_keys=True).encode("utf-8")).decode("ascii")
    version = re.sub(r"[^A-Za-z0-9._\-]", "_", str(spec.get("version") or spec.get("jar_sha256", "")[:12]))
    return "%s:%s,%s:%s" % (VERSION_LABEL, version, SPEC_LABEL, blob)


def decode_labels(user_config):
    """The spec a job was started with, or ``None`` for a job not started by this collection."""
    if not isinstance(user_config, dict) or SPEC_LABEL not in user_config:
        return None
    try:
        return json.loads(base64.b64decode(user_config[SPEC_LABEL]).decode("utf-8"))
    except (ValueError, TypeError):
        return None


def job_spec(client, job_id, settle_timeout=15, clock=None):
    """The spec the job was started with (``decode_labels``).

    A job that is still initializing (just submitted, by this run or by a concurrent one) has no
    execution config yet: Flink answers its config without ``execution-config``. It is read again
    until it has one, for up to ``settle_timeout`` seconds, so that such a job is never taken for
    one this collection did not start (a concurrent upgrade did exactly that, and tried to stop the
    new job while its tasks were still being deployed).
    """
    clock = clock or Clock(settle_timeout, interval=0.2, max_interval=1.0)
    while True:
        config = client.job_config(job_id) or {}
        if config.get("execution-config") or clock.expired():
            return decode_labels((config.get("execution-config") or {}).get("user-config"))
        clock.tick()


def job_parallelism(job):
    """The largest vertex parallelism (= slots used with default slot sharing)."""
    return max([v.get("parallelism", 0) for v in job.get("vertices", [])] or [0])


# -- lookup ----------------------------------------------------------------------------
def find_jobs(client, name=None, job_id=None, active_only=True):
    jobs = client.jobs_overview()
    out = []
    for job in jobs:
        if job_id and job.get("jid") != job_id:
            continue
        if name and job.get("name") != name:
            continue
        if active_only and job.get("state") not in ACTIVE_STATES:
            continue
        out.append(job)
    return sorted(out, key=lambda j: j.get("start-time", 0))


def find_active_job(client, name=None, job_id=None):
    """The one active job with that name or id, ``None`` if there is none.

    Two active jobs with one name is an error: the caller must say which one.
    """
    check_job_id(job_id)
    jobs = find_jobs(client, name=name, job_id=job_id)
    if len(jobs) > 1:
        raise FlinkOpsError(
            "%d active jobs are named %r (%s): pass job_id to choose one"
            % (len(jobs), name, ", ".join("%s %s" % (j["jid"], j["state"]) for j in jobs)),
            jobs=jobs)
    return jobs[0] if jobs else None


def require_active_job(client, name=None, job_id=None):
    job = find_active_job(client, name=name, job_id=job_id)
    if job is None:
        known = sorted(set("%s (%s)" % (j.get("name"), j.get("state")) for j in client.jobs_overview()))
        raise FlinkOpsError(
            "no active job %s on %s; jobs known to the cluster: %s"
            % ("named %r" % name if name else "with id %s" % job_id, client.http.base_url,
               ", ".join(known) or "none"))
    return job


def latest_root_exception(client, job_id):
    """``(name, first line)`` of the newest root exception, or ``None``."""
    try:
        data = client.job_exceptions(job_id, max_exceptions=5) or {}
    except HttpError:
        return None
    entries = (data.get("exceptionHistory") or {}).get("entries") or []
    if entries:
        entry = entries[0]
        # "Recovery is suppressed by ..." wraps the task failure that caused it: report that.
        concurrent = entry.get("concurrentExceptions") or []
        if concurrent and "Recovery is suppressed" in (entry.get("stacktrace") or ""):
            entry = concurrent[0]
        return {"name": entry.get("exceptionName"), "message": _first_lines(entry.get("stacktrace")),
                "task": entry.get("taskName"), "timestamp": entry.get("timestamp")}
    if data.get("root-exception"):
        return {"name": None, "message": _first_lines(data.get("root-exception"))}
    return None


def _first_lines(text, count=3):
    lines = [ln.strip() for ln in str(text or "").splitlines()
             if ln.strip() and not ln.strip().startswith("at ")]
    return " / ".join(lines[:count])


# -- waiting -----------------------------------------------------------------------------
def _savepoint_progress(client, job_id):
    """Acknowledged subtasks and bytes of the savepoint in progress, for progress reports."""
    try:
        history = (client.job_checkpoints(job_id) or {}).get("history") or []
    except HttpError:
        return None
    for item in history:
        if item.get("is_savepoint") and item.get("status") == "IN_PROGRESS":
            return {"id": item.get("id"), "acknowledged": item.get("num_acknowledged_subtasks"),
                    "subtasks": item.get("num_subtasks"),
                    "bytes": item.get("checkpointed_size", item.get("state_size"))}
    return None


def _reconcile_savepoint(client, job_id, since_ms):
    """After a lost trigger id (404): a savepoint completed since we asked, if any.

    Flink keeps the result of a trigger for ``rest.async.store-duration`` (5 minutes) and loses it
    in a JobManager failover; the checkpoint history still lists the savepoint."""
    try:
        history = (client.job_checkpoints(job_id) or {}).get("history") or []
    except HttpError:
        return None
    for item in history:
        if (item.get("is_savepoint") and item.get("status") == "COMPLETED"
                and item.get("trigger_timestamp", 0) >= since_ms and item.get("external_path")):
            return item["external_path"]
    return None


def wait_savepoint(client, job_id, trigger_id, timeout, stop=False, report=None, clock=None,
                   since_ms=None):
    """Poll a savepoint trigger until it has a location.

    Returns ``(location, progress_samples)``. Raises ``FlinkOpsError`` with Flink's failure
    cause, or ``SavepointTimeout`` when the outcome is still unknown.
    """
    # A stop: from the trigger on the job processes nothing, so each poll after the savepoint
    # completes is downtime; polls stay at most 0.25 s apart (a plain savepoint: 1 s).
    clock = clock or Clock(timeout, interval=0.02, max_interval=0.25 if stop else 1.0)
    samples = []
    last_report = [clock.now()]
    since_ms = since_ms or int(time.time() * 1000) - 1000

    def read():
        try:
            return client.savepoint_status(job_id, trigger_id) or {}
        except HttpError as exc:
            if exc.status != 404:
                raise
            found = _reconcile_savepoint(client, job_id, since_ms)
            if found:
                return {"status": {"id": "COMPLETED"}, "operation": {"location": found}}
            raise FlinkOpsError(
                "savepoint trigger %s of job %s is unknown to the JobManager (expired or lost in a "
                "failover) and no savepoint completed since it was asked for" % (trigger_id, job_id),
                trigger_id=trigger_id)

    def location(status):
        """The savepoint's location, or None while it has none."""
        operation = status.get("operation") or {}
        if (status.get("status") or {}).get("id") != "COMPLETED":
            return None
        if operation.get("location"):
            return operation["location"]
        # The job failed while stopping (StopWithSavepointStoppingException), after its savepoint
        # was written: the savepoint is consistent, and the upgrade goes on from it.
        match = STOPPING_SAVEPOINT_RE.search(_failure_text(operation) or "") if stop else None
        return match.group(1) if match else None

    def failed(status, _seen):
        operation = status.get("operation") or {}
        if location(status) is None and (status.get("status") or {}).get("id") == "COMPLETED" \
                and operation.get("failure-cause"):
            text = _failure_text(operation)
            return FlinkOpsError("savepoint of job %s failed: %s" % (job_id, _first_lines(text, 4)),
                                 trigger_id=trigger_id, failure_cause=_first_lines(text, 12))
        return None

    def on_poll(status, clock):
        progress = _savepoint_progress(client, job_id)
        if report and not progress and clock.now() - last_report[0] >= 10:
            report("savepoint trigger %s of job %s: %s, %ds elapsed"
                   % (trigger_id, job_id, (status.get("status") or {}).get("id") or "pending", int(clock.elapsed())))
            last_report[0] = clock.now()
        if progress:
            progress["elapsed_s"] = round(timeout - (clock.deadline - clock.now()), 1)
            if not samples or samples[-1]["acknowledged"] != progress["acknowledged"]:
                samples.append(progress)
                if report:
                    report("savepoint %(id)s of job %(job)s: %(acknowledged)s/%(subtasks)s subtasks, "
                           "%(bytes)s bytes" % dict(progress, job=job_id))
                    last_report[0] = clock.now()

    def timed_out(_status, _seen):
        return SavepointTimeout(
            "savepoint %s of job %s did not finish within %ss; its outcome is unknown, the job "
            "was left as it is. Re-run with trigger_id=%s to keep waiting for it, and raise the "
            "timeout to at least execution.checkpointing.timeout." % (trigger_id, job_id, timeout, trigger_id),
            trigger_id=trigger_id, progress=samples)

    found = wait_until(read, location, failed, clock=clock, on_poll=on_poll, timed_out=timed_out)[0]
    return found, samples


def _failure_text(operation):
    cause = operation.get("failure-cause") or {}
    return cause.get("stack-trace") or cause.get("class") or json.dumps(cause)


def fenced_id(*parts):
    """A 32-hex id derived from ``parts``: the same operation on the same cluster state gets
    the same id in every run, from any controller.

    This is how the cluster becomes the arbiter between two runs, and how a retried POST
    after a lost answer cannot take a second savepoint or start a second job:
    Flink keeps one operation per savepoint trigger id (a second trigger with the same id
    is acknowledged, not repeated) and refuses a second job with the same job id, so two
    runs that do the same thing at the same time take one savepoint and start one job.
    """
    text = "\0".join(json.dumps(p, sort_keys=True) if isinstance(p, (dict, list)) else str(p) for p in parts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def spec_digest(spec):
    """What identifies a desired spec for the fence: its labelled fields but the upload id
    (two runs may upload the same jar content under two ids)."""
    return fenced_id(dict((k, v) for k, v in _label_spec(spec or {}).items() if k != "jar_id"))


def newest_ended_job(client, name):
    """The overview of the job named ``name`` that ended last, or None when none has ended."""
    ended = [j for j in client.jobs_overview() if j.get("name") == name and j.get("state") in TERMINAL_STATES]
    return max(ended, key=lambda j: j.get("end-time") or 0) if ended else None


def last_stop_savepoint(client, name, settle_timeout=6.0, clock=None):
    """``(job_id, location)`` when the newest ended job named ``name`` was stopped with a
    savepoint (it FINISHED, and the last checkpoint it took is a savepoint), else None.

    A job of that name that is not running but was just stopped this way was being
    upgraded, scaled or suspended by someone (a concurrent run, a run that crashed, an
    operator): its state is in that savepoint, and starting it empty would lose it.
    """
    newest = newest_ended_job(client, name)
    if not newest or newest.get("state") != "FINISHED":
        return None

    def stop_savepoint():
        try:
            latest = (client.job_checkpoints(newest["jid"]) or {}).get("latest") or {}
        except HttpError:
            return None
        # Flink reports the newest savepoint apart from the newest checkpoint: the stop savepoint is the
        # last one the job took when no checkpoint came after it.
        completed, savepoint = latest.get("completed") or {}, latest.get("savepoint") or {}
        if savepoint.get("external_path") and savepoint.get("id", 0) >= completed.get("id", 0):
            return savepoint["external_path"]
        return None

    # The checkpoint statistics are cached by the REST API (rest.cache.checkpoint-statistics.timeout, 3 s by
    # default): right after a stop-with-savepoint the job is FINISHED but its statistics may not show the
    # savepoint yet. Seen in CI: a concurrent upgrade read them too early and started the job from empty
    # state. So they are read again for a while before the job counts as finished without a savepoint.
    location = wait_until(stop_savepoint, bool, clock=clock or Clock(settle_timeout, interval=0.5),
                          timed_out=lambda _value, _seen: None)[0]
    return (newest["jid"], location) if location else None


def last_cancel_checkpoint(client, name):
    """``(job_id, location)`` when the newest ended job named ``name`` was CANCELED and left a
    retained checkpoint, else None: what a last-state upgrade leaves between its cancel and the new
    job's submission, where a concurrent last-state run (another controller) must start from the
    same checkpoint, under the same fenced job id, and never from empty state."""
    newest = newest_ended_job(client, name)
    if not newest or newest.get("state") != "CANCELED":
        return None
    try:
        checkpoint = retained_checkpoint(client, newest["jid"])
    except (FlinkOpsError, HttpError):
        return None
    return newest["jid"], checkpoint["location"]


def _probe_trigger(client, job_id, trigger_id):
    """``(state, location)`` of a trigger id as the JobManager knows it: ``("unknown", None)``,
    ``("pending", None)``, ``("completed", location)`` or ``("failed", cause)``."""
    try:
        status = client.savepoint_status(job_id, trigger_id) or {}
    except HttpError as exc:
        if exc.status == 404:
            return "unknown", None
        raise
    if (status.get("status") or {}).get("id") != "COMPLETED":
        return "pending", None
    operation = status.get("operation") or {}
    if operation.get("location"):
        return "completed", operation["location"]
    cause = operation.get("failure-cause") or {}
    text = cause.get("stack-trace") or cause.get("class") or ""
    match = STOPPING_SAVEPOINT_RE.search(text)
    if match:  # a savepoint exists although the job failed while stopping
        return "completed", match.group(1)
    return "failed", _first_lines(text, 4)


def fenced_trigger(client, job_id, fence, attempts=8):
    """The trigger id for operation ``fence`` on ``job_id``, and what Flink knows of it.

    Returns ``(trigger_id, state, location)``. Ids are tried in a fixed sequence: one that
    failed earlier is passed over (Flink answers 409 to a failed id), one that is pending
    or completed is joined instead of taking a second savepoint.
    """
    for attempt in range(attempts):
        trigger_id = fenced_id("savepoint", job_id, fence, attempt)
        state, value = _probe_trigger(client, job_id, trigger_id)
        if state != "failed":
            return trigger_id, state, value
    return new_id(), "unknown", None


# The names a state backend goes by in the configuration, as the class Flink reports for a
# running job (GET /jobs/:id/checkpoints/config, ``state_backend``).
STATE_BACKEND_CLASSES = {"hashmap": "HashMapStateBackend", "rocksdb": "EmbeddedRocksDBStateBackend",
                         "forst": "ForStStateBackend"}
STATE_BACKEND_KEYS = ("state.backend.type", "state.backend")


def state_backend_class(value):
    """``hashmap``, ``rocksdb``, a factory or a class name as the class name Flink reports."""
    if not value:
        return None
    text = str(value).strip()
    if text.lower() in STATE_BACKEND_CLASSES:
        return STATE_BACKEND_CLASSES[text.lower()]
    short = text.rsplit(".", 1)[-1]
    return short[:-len("Factory")] if short.endswith("Factory") else short


def savepoint_format(client, job_id, new_spec, asked="auto"):
    """``(format, reason)`` of the savepoint that carries ``job_id``'s state to ``new_spec``.

    ``auto``: NATIVE, faster to write and to restore (the backend's own files), when the state
    backend stays the same; CANONICAL, the only format another backend restores, when it changes
    or when the running job's backend cannot be read (RELIABILITY B14). The new job starts with
    NO_CLAIM either way, so the savepoint stays intact for a rollback. The state backend of the
    new spec is its ``flink_configuration``'s, else the cluster's, else Flink's default (hashmap).
    """
    if asked != "auto":
        return asked, "asked for (format_type=%s)" % asked
    try:
        running = (client.job_checkpoint_config(job_id) or {}).get("state_backend")
    except HttpError:
        running = None
    if not running:
        return "CANONICAL", "the running job's state backend is unknown: CANONICAL, which any state backend restores"

    def declared_in(conf):
        return next((conf[k] for k in STATE_BACKEND_KEYS if conf.get(k)), None)

    declared = declared_in((new_spec or {}).get("flink_configuration") or {})
    if not declared:
        try:
            declared = declared_in(client.jobmanager_config())
        except HttpError:
            return "CANONICAL", "the cluster's state backend is unknown: CANONICAL, which any state backend restores"
    new_backend = state_backend_class(declared or "hashmap")
    if state_backend_class(running) == new_backend:
        return "NATIVE", "the state backend stays %s: NATIVE, faster to write and to restore" % new_backend
    return "CANONICAL", ("the state backend changes from %s to %s: CANONICAL, the only format another state backend "
                         "restores" % (state_backend_class(running), new_backend))


def take_savepoint(client, job_id, target_directory=None, format_type="CANONICAL", timeout=600,
                   stop=False, drain=False, trigger_id=None, report=None, clock=None, on_trigger=None,
                   fence=None):
    """Trigger (or resume, with ``trigger_id``) a savepoint; return a result dict.

    With ``fence`` (what the savepoint is for), the trigger id is derived from the job and
    the fence, so a concurrent run doing the same joins this savepoint instead of taking a
    second one (``joined`` in the result). ``on_trigger(trigger_id)`` is called before the
    trigger is sent, so the caller can persist the id first (a run killed after the trigger
    finds the savepoint by that id instead of taking a second one).
    """
    started = time.time()
    resumed = bool(trigger_id)
    state, location = ("pending", None) if resumed else ("unknown", None)
    if not trigger_id and fence is not None:
        trigger_id, state, location = fenced_trigger(client, job_id, fence)
    trigger_id = trigger_id or new_id()
    if on_trigger:
        on_trigger(trigger_id)
    if state == "unknown":
        if stop:
            client.stop_with_savepoint(job_id, trigger_id, target_directory, drain=drain, format_type=format_type)
        else:
            client.trigger_savepoint(job_id, trigger_id, target_directory, format_type=format_type)
    elif report:
        report("savepoint trigger %s of job %s is already %s: joining it, no second savepoint"
               % (trigger_id, job_id, state))
    samples = []
    if location is None:
        location, samples = wait_savepoint(client, job_id, trigger_id, timeout, stop=stop, report=report,
                                           clock=clock, since_ms=int(started * 1000) - 1000)
    return {"location": location, "trigger_id": trigger_id, "job_id": job_id, "stopped": bool(stop),
            "format_type": format_type, "duration_s": round(time.time() - started, 3),
            "progress": samples, "joined": state != "unknown"}


def wait_job_terminal(client, job_id, timeout=120, clock=None):
    def timed_out(job, _seen):
        return FlinkOpsError("job %s did not reach a terminal state within %ss (state %s)"
                             % (job_id, timeout, job.get("state")))

    return wait_until(lambda: client.job_or_none(job_id),
                      lambda job: job is None or job.get("state") in TERMINAL_STATES,
                      clock=clock or Clock(timeout, interval=0.2), timed_out=timed_out)[0]


def wait_running(client, job_id, timeout=300, expected_restore=None, require_checkpoint=False,
                 report=None, clock=None):
    """Wait until the job is RUNNING, every vertex RUNNING, and (optionally) restored and
    checkpointing. Fails fast on a terminal state or on any entry in the exception history.

    Returns a dict with the job's state, the restored path and the states seen on the way.
    """
    def failed(job, seen):
        state = job.get("state") if job else None
        if job and state in TERMINAL_STATES:
            return FlinkOpsError("job %s ended %s while starting: %s" % (job_id, state, _exception_text(client, job_id)),
                                 job_id=job_id, states=seen, root_exception=latest_root_exception(client, job_id))
        if job and state in ("RUNNING", "RESTARTING", "FAILING"):
            root = latest_root_exception(client, job_id)
            if root:
                return FlinkOpsError("job %s failed while starting (%s): %s" % (job_id, state, root.get("message")),
                                     job_id=job_id, states=seen, root_exception=root)
        return None

    def done(job):
        if not (job and job.get("state") == "RUNNING"
                and all(v.get("status") == "RUNNING" for v in job.get("vertices", []))):
            return None
        checkpoints = client.job_checkpoints(job_id) or {}
        restored = ((checkpoints.get("latest") or {}).get("restored") or {}).get("external_path")
        completed = (checkpoints.get("counts") or {}).get("completed", 0)
        restore_ok = expected_restore is None or restored_as_expected(restored, expected_restore, job_id)
        if restored and expected_restore and not restore_ok:
            raise FlinkOpsError("job %s restored from %s, not from %s" % (job_id, restored, expected_restore),
                                job_id=job_id, restored_from=restored)
        if restore_ok and (completed > 0 or not require_checkpoint):
            return {"job_id": job_id, "state": "RUNNING", "states": seen, "restored_from": restored,
                    "completed_checkpoints": completed, "parallelism": job_parallelism(job)}
        return None

    def timed_out(_job, seen):
        return FlinkOpsError("job %s was not RUNNING%s within %ss (states seen: %s)"
                             % (job_id, " with a completed checkpoint" if require_checkpoint else "",
                                timeout, " -> ".join(seen)), job_id=job_id, states=seen)

    seen = []
    return wait_until(
        lambda: client.job_or_none(job_id), done, failed, what="job %s" % job_id, report=report,
        state=lambda job: job.get("state") if job else "UNKNOWN", timed_out=timed_out,
        clock=clock or Clock(timeout, interval=0.05, max_interval=0.5), seen=seen)[0]


def _exception_text(client, job_id):
    root = latest_root_exception(client, job_id)
    return root.get("message") if root else "no exception recorded"


def restored_as_expected(restored, expected, job_id):
    """True when a job restored from ``expected``, or from a later checkpoint of its own.

    After a JobManager leader failover (or a task failure) the job restores from its own
    latest checkpoint, ``.../<job_id>/chk-N``: the upgrade's savepoint was restored before
    that, so the job is healthy and must not be rolled back for it.
    """
    if _same_path(restored, expected):
        return True
    return bool(restored and job_id) and ("/%s/chk-" % job_id) in str(restored)


def _same_path(a, b):
    def norm(p):
        p = str(p or "").rstrip("/")
        return p[len("file:"):].lstrip("/") if p.startswith("file:") else p.lstrip("/")
    return bool(a) and norm(a) == norm(b)


# -- jars and submission -------------------------------------------------------------------
def jar_display_name(path, sha256):
    return "%s-%s" % (sha256[:16], os.path.basename(path))


def find_uploaded_jar(client, path, sha256):
    name = jar_display_name(path, sha256)
    for item in client.jars():
        if item.get("name") == name:
            return item.get("id")
    return None


def ensure_jar(client, path, sha256=None, check_mode=False):
    """Upload the jar unless the same content is there already; ``(jar_id, uploaded)``."""
    if not os.path.isfile(path):
        raise FlinkOpsError("jar %s does not exist (or is not a file) on the controller" % path, jar=path)
    sha256 = sha256 or file_sha256(path)
    existing = find_uploaded_jar(client, path, sha256)
    if existing:
        return existing, False
    if check_mode:
        return None, True
    return client.upload_jar(path, jar_display_name(path, sha256)), True


def submit_job(client, spec, savepoint_path=None, allow_non_restored_state=False, claim_mode="NO_CLAIM",
               job_id=None, reconcile_timeout=15.0):
    """Run ``spec['jar_id']`` with a client-chosen job id; return ``(job_id, concurrent)``.

    The POST is never repeated blindly: after an error the job id is looked up (a lost answer,
    a duplicate refused by Flink, a job a new leader recovered). A job with that id means the submission went through: its answer was
    lost (transport error, or a 5xx from a JobManager losing leadership), or, when Flink
    refused it as a duplicate (4xx), a concurrent run submitted it first (``concurrent``).
    Any other 4xx is raised at once. After a transport error or a 5xx with no such job
    within ``reconcile_timeout``, the same id is submitted once more (Flink refuses a second
    job with one id, so this cannot make two jobs); after that the error is raised.
    """
    job_id = job_id or new_id()
    flink_conf = dict(spec.get("flink_configuration") or {})
    # The Flink version the job is started on goes with its spec: a last-state upgrade is refused
    # when the cluster runs another one by then (last_state_refusal).
    labels = encode_labels(dict(_label_spec(spec), flink_version=client.version_string or None))
    own = flink_conf.get("pipeline.global-job-parameters")
    flink_conf["pipeline.global-job-parameters"] = "%s,%s" % (own, labels) if own else labels
    for attempt in (1, 2):
        try:
            client.run_jar(spec["jar_id"], job_id, entry_class=spec.get("entry_class"), args=spec.get("args"),
                           parallelism=spec.get("parallelism"), savepoint_path=savepoint_path,
                           allow_non_restored_state=allow_non_restored_state, claim_mode=claim_mode,
                           flink_configuration=flink_conf)
            return job_id, False
        except HttpError as exc:
            if exc.status is not None and 400 <= exc.status < 500 and not uncertain_submission(exc):
                # An answer, not an accident: only a duplicate is looked up (a concurrent run's job).
                if duplicate_submission(exc) and _job_appears(client, job_id, 2.0):
                    return job_id, True
                raise
            # a leader change can take the failover window before the new leader lists the job
            wait = max(reconcile_timeout, getattr(client.http, "failover_timeout", 0)) \
                if uncertain_submission(exc) else reconcile_timeout
            if _job_appears(client, job_id, wait):
                return job_id, False  # the answer was lost, the submission was not
            if attempt == 2:
                raise
    return job_id, False  # pragma: no cover - the loop returns or raises


def duplicate_submission(exc):
    """True when Flink refused a submission because a job with its id exists or existed."""
    text = "%s %s" % (exc, json.dumps(exc.body) if getattr(exc, "body", None) is not None else "")
    return bool(exc.status) and 400 <= exc.status < 500 and bool(
        re.search(r"DuplicateJobSubmission|already been submitted|job id .* already", text, re.IGNORECASE))


# A submission that reached the Dispatcher but whose outcome the answer does not tell: the
# JobManager lost leadership while the job was being initialized (Flink answers 400 "Error while
# waiting for job to be initialized"), or an RPC to a leader that is gone. With HA the new leader
# may recover and run the job: it is looked up by its id, never cancelled or submitted blindly.
UNCERTAIN_SUBMISSION_RE = re.compile(r"waiting for job to be initialized|" + LEADER_CHANGE_RE.pattern, re.IGNORECASE)


def uncertain_submission(exc):
    text = "%s %s" % (exc, json.dumps(exc.body) if getattr(exc, "body", None) is not None else "")
    return bool(UNCERTAIN_SUBMISSION_RE.search(text))


def _job_appears(client, job_id, timeout):
    """True once the JobManager knows ``job_id``; GETs ride through a leader change."""
    def known():
        try:
            return client.job_or_none(job_id) is not None
        except HttpError:
            return False  # still failing over: keep asking until the deadline

    return wait_until(known, bool, clock=Clock(timeout, interval=0.2, max_interval=2.0),
                      timed_out=lambda _known, _seen: False)[0]


def _label_spec(spec):
    keys = ("name", "version", "jar_sha256", "jar_name", "jar_id", "entry_class", "args", "parallelism",
            "flink_configuration")
    return dict((k, spec.get(k)) for k in keys if spec.get(k) is not None)


def check_slots(client, needed, freed=0, what="job"):
    overview = client.overview()
    available = overview.get("slots-available", 0) + freed
    if needed > available:
        raise FlinkOpsError(
            "%s needs %d slots but only %d are free (%d total on %d TaskManagers%s): add "
            "TaskManagers or lower the parallelism; nothing was changed"
            % (what, needed, available, overview.get("slots-total", 0), overview.get("taskmanagers", 0),
               ", counting the %d the current job frees" % freed if freed else ""),
            slots_needed=needed, slots_available=available)
    return available


def cancel_and_wait(client, job_id, timeout=120):
    job = client.job_or_none(job_id)
    if job and job.get("state") not in TERMINAL_STATES:
        client.cancel(job_id)
        wait_job_terminal(client, job_id, timeout)


def redeploy_from_savepoint(client, old_job_id, old_spec, new_spec, target_directory=None,
                            format_type="CANONICAL", savepoint_timeout=600, start_timeout=300,
                            require_checkpoint=True, allow_non_restored_state=False, report=None,
                            journal=None, resume=None):
    """Stop ``old_job_id`` with a savepoint, start ``new_spec`` from it, verify, roll back.

    Everything between the stop and the new job's submission is two REST calls, so the
    job is down for as little time as the cluster allows. Returns a result dict; on a
    failed start raises ``FlinkOpsError`` after starting ``old_spec`` again from the same
    savepoint (``details['rolled_back']``).

    Every id is fenced (``fenced_id``): the trigger id from the old job and the new spec,
    the new job id from the savepoint, so a concurrent run joins this one instead of taking
    a second savepoint or starting a second job (``concurrent`` in the result).

    With a ``journal``, every step is recorded before it is taken, and the journal is left
    in phase ``validate`` for the caller's validation window. ``resume`` (from
    ``plan_resume``) continues an interrupted run: ``trigger_id`` waits for a savepoint
    already asked for, ``savepoint`` skips the stop, ``new_job_id`` with ``submitted``
    verifies a job already submitted instead of submitting again.
    """
    resume = resume or {}

    def record(**fields):
        if journal:
            journal.record(**fields)

    if resume.get("savepoint"):
        savepoint = {"location": resume["savepoint"], "trigger_id": resume.get("trigger_id"),
                     "job_id": old_job_id, "stopped": True, "resumed": True}
    else:
        record(phase="savepoint", old_job_id=old_job_id, previous_spec=old_spec, spec=new_spec,
               savepoint_asked=time.time())
        savepoint = take_savepoint(client, old_job_id, target_directory, format_type, savepoint_timeout,
                                   stop=True, report=report, trigger_id=resume.get("trigger_id"),
                                   fence=spec_digest(new_spec),
                                   on_trigger=lambda trigger_id: record(trigger_id=trigger_id))
    location = savepoint["location"]
    new_job_id = resume.get("new_job_id") or fenced_id("run", old_job_id, location, spec_digest(new_spec))
    record(phase="submit", old_job_id=old_job_id, previous_spec=old_spec, spec=new_spec, savepoint=location,
           trigger_id=savepoint.get("trigger_id"), new_job_id=new_job_id)
    outcome = _start_new_version(client, old_spec, new_spec, location, new_job_id, start_timeout, require_checkpoint,
                                 allow_non_restored_state, report, journal, resume, {"savepoint": savepoint})
    return dict(outcome, savepoint=savepoint, previous_job_id=old_job_id)


def _start_new_version(client, old_spec, new_spec, location, new_job_id, start_timeout, require_checkpoint,
                       allow_non_restored_state, report, journal, resume, restore_point):
    """Submit ``new_spec`` from ``location`` under ``new_job_id`` (unless ``resume`` says it was
    submitted), verify it, and on failure roll back to ``old_spec`` from the same ``location``.
    ``restore_point`` (``{"savepoint": ...}`` or ``{"checkpoint": ...}``) goes into the error's details."""
    kind = "checkpoint" if "checkpoint" in restore_point else "savepoint"

    def record(**fields):
        if journal:
            journal.record(**fields)

    concurrent = False
    try:
        if not resume.get("submitted"):
            _job_id, concurrent = submit_job(client, new_spec, savepoint_path=location,
                                             allow_non_restored_state=allow_non_restored_state, job_id=new_job_id)
            if concurrent and report:
                report("job %s was already submitted by a concurrent run: verifying it" % new_job_id)
        started = wait_running(client, new_job_id, start_timeout, expected_restore=location,
                               require_checkpoint=require_checkpoint, report=report)
    except (FlinkOpsError, HttpError) as exc:
        record(phase="rollback")
        rollback = roll_back(client, new_job_id, old_spec, location, start_timeout, report, kind=kind)
        details = dict(getattr(exc, "details", {}) or {})
        details.update(restore_point)
        details.update({"failed_job_id": new_job_id, "rolled_back": rollback})
        if isinstance(exc, HttpError):
            details["http"] = exc.to_dict()
        if journal and rollback["ok"]:
            journal.clear()  # the previous version runs again: nothing left to resume
        raise FlinkOpsError(
            "the new version did not start (%s); %s" % (exc, rollback["summary"]), **details)
    record(phase="validate", new_job_id=new_job_id, verified=time.time())
    return {"job_id": new_job_id, "restored_from": started["restored_from"], "states": started["states"],
            "completed_checkpoints": started["completed_checkpoints"], "parallelism": started["parallelism"],
            "concurrent": concurrent}


def last_state_refusal(client, job_id, old_spec, new_spec):
    """Why ``job_id`` cannot be upgraded to ``new_spec`` from its latest retained checkpoint, or None.

    A last-state upgrade cancels the job and starts the new spec from the checkpoint the cancel
    leaves (RELIABILITY B4, B15). It is refused, before anything is touched, when:

    * the job's checkpoints do not outlive a cancel (not externalized, or DELETE_ON_CANCELLATION);
    * the job has no completed checkpoint with a location;
    * the state backend changes (a checkpoint is in the backend's own format, which another
      state backend does not restore: only a CANONICAL savepoint does);
    * the Flink version changes: the job was started on another Flink version than the cluster
      runs now, or that version is unknown (a job not started by this collection, or before it
      recorded it): checkpoints are not guaranteed restorable across Flink versions.
    """
    conf = client.job_checkpoint_config(job_id) or {}
    ext = conf.get("externalization") or {}
    latest = ((client.job_checkpoints(job_id) or {}).get("latest") or {}).get("completed") or {}
    problems = []
    if not ext.get("enabled"):
        problems.append("its checkpoints are not retained (externalized checkpoints are off: set "
                        "execution.checkpointing.externalized-checkpoint-retention to RETAIN_ON_CANCELLATION)")
    elif ext.get("delete_on_cancellation"):
        problems.append("its checkpoints are deleted when it is cancelled (externalized-checkpoint-retention is "
                        "DELETE_ON_CANCELLATION, not RETAIN_ON_CANCELLATION)")
    if not latest.get("external_path"):
        problems.append("it has no completed checkpoint with a location")
    chosen, reason = savepoint_format(client, job_id, new_spec, "auto")
    if chosen != "NATIVE":
        problems.append("%s, and a checkpoint is in the state backend's own format" % reason.split(":")[0])
    started_on = (old_spec or {}).get("flink_version")
    runs = client.version_string
    if not started_on:
        problems.append("the Flink version it was started on is unknown (it was started by another tool or an "
                        "earlier flinkops), so a Flink version change cannot be ruled out")
    elif runs and started_on != runs:
        problems.append("it was started on Flink %s and the cluster runs Flink %s: a checkpoint is not guaranteed "
                        "restorable by another Flink version" % (started_on, runs))
    if not problems:
        return None
    return "; ".join(problems)


def redeploy_from_checkpoint(client, old_job_id, old_spec, new_spec, start_timeout=300, require_checkpoint=True,
                             allow_non_restored_state=False, report=None, journal=None, resume=None):
    """The last-state upgrade: cancel ``old_job_id``, start ``new_spec`` from the latest checkpoint
    the cancel retained, verify it restored from it, and on a failed start roll back to
    ``old_spec`` from the same checkpoint. No savepoint is written, so the job is down only for
    the cancel and the restore. The caller has checked ``last_state_refusal`` first.

    The checkpoint is read once the old job is CANCELED, so none can complete after it. The new
    job starts with NO_CLAIM: the checkpoint stays intact for a rollback and is never deleted by
    the new job (the cancelled job's retained checkpoints are the user's to clean up).

    With a ``journal``, phase ``cancel`` is recorded before the cancel and the checkpoint before
    the submission; ``resume`` (from ``plan_resume``) continues a run killed after the cancel
    from the checkpoint it left. The new job id is fenced on the checkpoint, so a concurrent run
    starts the same job.
    """
    resume = resume or {}
    if resume.get("savepoint"):
        location = resume["savepoint"]
        checkpoint = {"location": location, "id": resume.get("checkpoint_id"), "job_id": old_job_id, "resumed": True}
    else:
        if journal:
            # The newest checkpoint before the cancel, recorded in case the old job's history is gone when a
            # killed run is resumed (a JobManager restarted in between); the one read after the cancel is
            # at least as new and is the one used whenever Flink still reports it.
            before = ((client.job_checkpoints(old_job_id) or {}).get("latest") or {}).get("completed") or {}
            journal.record(phase="cancel", mode="last-state", old_job_id=old_job_id, previous_spec=old_spec,
                           spec=new_spec, cancel_asked=time.time(), checkpoint_before_cancel=before.get("external_path"))
        started = time.time()
        if report:
            report("last-state upgrade: cancelling job %s; it restarts from the checkpoint the cancel retains"
                   % old_job_id)
        cancel_and_wait(client, old_job_id)
        checkpoint = retained_checkpoint(client, old_job_id)
        checkpoint["duration_s"] = round(time.time() - started, 3)
        location = checkpoint["location"]
    new_job_id = resume.get("new_job_id") or fenced_id("run", old_job_id, location, spec_digest(new_spec))
    if journal:
        journal.record(phase="submit", mode="last-state", old_job_id=old_job_id, previous_spec=old_spec,
                       spec=new_spec, savepoint=location, checkpoint_id=checkpoint.get("id"), new_job_id=new_job_id)
    outcome = _start_new_version(client, old_spec, new_spec, location, new_job_id, start_timeout, require_checkpoint,
                                 allow_non_restored_state, report, journal, resume, {"checkpoint": checkpoint})
    return dict(outcome, checkpoint=checkpoint, previous_job_id=old_job_id)


def retained_checkpoint(client, job_id):
    """The latest completed checkpoint of the ended ``job_id``, as ``{location, id, job_id}``."""
    latest = ((client.job_checkpoints(job_id) or {}).get("latest") or {}).get("completed") or {}
    if not latest.get("external_path"):
        raise FlinkOpsError("job %s was cancelled but Flink reports no retained checkpoint of it: start it from its "
                            "newest chk-N directory under the checkpoint directory" % job_id, job_id=job_id)
    return {"location": latest["external_path"], "id": latest.get("id"), "job_id": job_id}


def roll_back(client, failed_job_id, old_spec, location, timeout, report, kind="savepoint"):
    """Cancel the failed new job and start ``old_spec`` again from ``location`` (a ``kind``:
    the upgrade's savepoint, or for a last-state upgrade the retained checkpoint).

    The rollback job id is fenced too: two runs rolling back the same failure start one job.
    """
    if failed_job_id:
        try:
            # The job may not be visible yet if its submission answer was lost: give it a moment.
            _job_appears(client, failed_job_id, 5.0)
            cancel_and_wait(client, failed_job_id)
        except (FlinkOpsError, HttpError) as exc:
            return {"ok": False, "summary": "could not cancel the failed job %s (%s); the previous version "
                    "was NOT restarted; its %s is %s" % (failed_job_id, exc, kind, location)}
    if not old_spec or not old_spec.get("jar_id"):
        return {"ok": False, "summary": "the previous job carries no flinkops spec, so it cannot be restarted "
                "automatically: start it from %s %s" % (kind, location)}
    try:
        job_id, _concurrent = submit_job(client, old_spec, savepoint_path=location,
                                         job_id=fenced_id("rollback", failed_job_id, location))
        wait_running(client, job_id, timeout, expected_restore=location, report=report)
    except (FlinkOpsError, HttpError) as exc:
        return {"ok": False, "summary": "rollback to the previous version FAILED (%s); its %s is %s"
                % (exc, kind, location)}
    return {"ok": True, "job_id": job_id, "savepoint": location,
            "summary": "rolled back: the previous version runs again as job %s from %s %s" % (job_id, kind, location)}


# -- resuming an interrupted run -----------------------------------------------------------
def plan_resume(client, pending, current, report=None):
    """How to continue the operation a killed (or failed-over) run left in its journal.

    ``pending`` is the journal, ``current`` the active job of that name (or None). Returns
    a dict whose ``action`` is one of:

    * ``none``: nothing to resume; the journal is stale and is cleared (``reason`` says why);
    * ``validate``: the new job was verified; the caller's validation window was missed
      and must run again (``job_id``, ``savepoint``);
    * ``resume``: continue ``redeploy_from_savepoint`` with ``resume`` (wait for the
      savepoint, start from it, or verify the job already submitted).

    Raises ``FlinkOpsError`` only when the job is down and no savepoint exists to start it
    from; the message names the latest retained checkpoint.
    """
    old_job_id, new_job_id = pending.get("old_job_id"), pending.get("new_job_id")
    trigger_id, location = pending.get("trigger_id"), pending.get("savepoint")
    current_id = current.get("jid") if current else None
    last_state = pending.get("mode") == "last-state"
    base = {"old_job_id": old_job_id, "previous_spec": pending.get("previous_spec"), "spec": pending.get("spec"),
            "mode": "last-state" if last_state else "savepoint"}
    if new_job_id and current_id == new_job_id:
        if pending.get("phase") == "validate":
            return dict(base, action="validate", job_id=new_job_id, savepoint=location, trigger_id=trigger_id)
        return dict(base, action="resume", resume={"savepoint": location, "trigger_id": trigger_id,
                                                   "new_job_id": new_job_id, "submitted": True})
    if current_id and current_id == old_job_id and last_state and not location:
        if (current or {}).get("state") == "CANCELLING":
            # The cancel of the interrupted last-state upgrade is under way: let it end, then start from
            # the checkpoint it retains.
            wait_job_terminal(client, old_job_id)
            return dict(base, action="resume", resume={"savepoint": retained_checkpoint(client, old_job_id)["location"],
                                                       "new_job_id": None, "submitted": False})
        return dict(base, action="none", reason="job %s still runs: the cancel of the interrupted last-state upgrade "
                    "never took effect" % old_job_id)
    if current_id and current_id == old_job_id:
        if location:
            return dict(base, action="none", reason="job %s runs again after its savepoint %s was taken; the "
                        "interrupted operation is abandoned" % (old_job_id, location))
        if trigger_id:
            state, value = _probe_trigger(client, old_job_id, trigger_id)
            if state == "pending":
                return dict(base, action="resume", resume={"trigger_id": trigger_id})
            if state == "completed":
                return dict(base, action="none", reason="savepoint %s completed but job %s still runs: the stop "
                            "did not take effect" % (value, old_job_id))
        return dict(base, action="none", reason="job %s still runs and the savepoint trigger %s of the interrupted "
                    "run is %s" % (old_job_id, trigger_id, "gone (expired or lost in a failover)" if trigger_id
                                   else "not recorded (it was never sent)"))
    if current_id:
        return dict(base, action="none", reason="job %s runs, which is neither the job the journal replaced (%s) "
                    "nor the one it started (%s)" % (current_id, old_job_id, new_job_id))
    # No active job of that name: the old one was stopped (or, last-state, cancelled). Find the savepoint it
    # was stopped with, or the checkpoint its cancel retained.
    if not location and last_state and old_job_id:
        try:
            location = retained_checkpoint(client, old_job_id)["location"]
        except (FlinkOpsError, HttpError):
            location = pending.get("checkpoint_before_cancel")
            if location and report:
                report("job %s is no longer known to the JobManager: starting from the checkpoint recorded before "
                       "its cancel, %s (records after it are processed again)" % (old_job_id, location))
    if not location and trigger_id and old_job_id:
        state, value = _probe_trigger(client, old_job_id, trigger_id)
        if state == "completed":
            location = value
        elif state in ("unknown", "pending"):
            location = _reconcile_savepoint(client, old_job_id, int((pending.get("savepoint_asked") or 0) * 1000) - 1000)
            if not location and state == "pending":
                return dict(base, action="resume", resume={"trigger_id": trigger_id})
    if location:
        submitted = bool(new_job_id) and _job_appears(client, new_job_id, 0.0)
        if submitted:
            job = client.job_or_none(new_job_id) or {}
            if job.get("state") in TERMINAL_STATES:
                # The new version was started and ended: restart from the same savepoint and verify it.
                submitted, new_job_id = False, fenced_id("run", new_job_id, location)
        return dict(base, action="resume", resume={"savepoint": location, "trigger_id": trigger_id,
                                                   "new_job_id": new_job_id if new_job_id else None,
                                                   "submitted": submitted})
    retained = None
    if old_job_id:
        try:
            latest = ((client.job_checkpoints(old_job_id) or {}).get("latest") or {}).get("completed") or {}
            retained = latest.get("external_path")
        except HttpError:
            retained = None
    raise FlinkOpsError(
        "job %s is down after an interrupted operation and no savepoint of it exists (trigger %s is unknown to the "
        "JobManager and its checkpoint history has none): start it from its latest retained checkpoint %s, then "
        "remove the journal" % (old_job_id, trigger_id, retained or "(none found)"), journal=pending,
        latest_checkpoint=retained)
