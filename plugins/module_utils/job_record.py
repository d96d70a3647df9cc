# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""FOR INTERNAL COLLECTION USE ONLY.

One job view for every backend: the *job record*. Every backend's job/application info module
returns, beside its own keys, a list ``records`` of these, so the recipes' validation,
preconditions and reports (``playbooks/tasks/common/``) are written once (see
``docs/backends.md``).

A record has exactly the keys of ``RECORD_KEYS``:

``platform``        the backend: ``flink``, ``cmf``, ``fko`` (``confluent_cloud`` next)
``name``, ``id``    the job's name and the id of its current run (Flink job id)
``state``           the job state in Flink's vocabulary (``RUNNING``, ``FAILED``, ``SUSPENDED``...)
``version``         the version the collection deployed it with (null when unknown)
``parallelism``     the job's parallelism
``start_time``      start of the current run, epoch milliseconds (null when unknown)
``restored_from``   the checkpoint or savepoint path the current run started from (null: empty state)
``latest_completed``, ``latest_failed``, ``latest_savepoint``
                    snapshots (``SNAPSHOT_KEYS``: ``kind`` checkpoint/savepoint, ``id``, ``path``,
                    ``timestamp`` in epoch ms, ``message`` for a failure), or null
``exceptions``      the exceptions since the current run started, newest first
                    (``EXCEPTION_KEYS``: ``timestamp`` epoch ms, ``name``, ``message``, ``task``)
``raw``             the backend's own object, for those who need more
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import json
import re
import time

RECORD_KEYS = ("platform", "name", "id", "state", "version", "parallelism", "start_time", "restored_from",
               "latest_completed", "latest_failed", "latest_savepoint", "exceptions", "raw")
SNAPSHOT_KEYS = ("kind", "id", "path", "timestamp", "message")
EXCEPTION_KEYS = ("timestamp", "name", "message", "task")
VERSION_LABEL = "flinkops.io/version"


def record(platform, **fields):
    """A job record: every key of RECORD_KEYS, unknown ones null (``exceptions`` an empty list)."""
    unknown = set(fields) - set(RECORD_KEYS)
    if unknown:
        raise ValueError("not job record keys: %s" % ", ".join(sorted(unknown)))
    out = dict((key, None) for key in RECORD_KEYS)
    out.update(fields)
    out["platform"] = platform
    out["exceptions"] = list(out["exceptions"] or [])
    return out


def snapshot(kind, id=None, path=None, timestamp=None, message=None):  # pylint: disable=redefined-builtin
    return {"kind": kind, "id": None if id is None else str(id), "path": path, "timestamp": _ms(timestamp),
            "message": message}


def exception(timestamp=None, name=None, message=None, task=None):
    return {"timestamp": _ms(timestamp), "name": name, "message": message, "task": task}


def _ms(value):
    """Epoch milliseconds from an int, a numeric string or an ISO-8601 UTC time; None when unknown."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value).strip()
    if re.match(r"^\d+$", text):
        return int(text)
    match = re.match(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]00:?00)?$", text)
    if not match:
        return None
    seconds = calendar.timegm(time.strptime("%s %s" % (match.group(1), match.group(2)), "%Y-%m-%d %H:%M:%S"))
    fraction = float(match.group(3)) if match.group(3) else 0.0
    return int(round((seconds + fraction) * 1000))


# -- Flink OSS (REST) -----------------------------------------------------------------------------
def _flink_snapshot(item, failed=False):
    if not item:
        return None
    kind = "savepoint" if item.get("is_savepoint") else "checkpoint"
    return snapshot(kind, id=item.get("id"), path=item.get("external_path"),
                    timestamp=item.get("latest_ack_timestamp") or item.get("trigger_timestamp"),
                    message=item.get("failure_message") if failed else None)


def from_flink_job(job):
    """The record of one job as ``flink_job_info`` describes it (``describe_job``)."""
    checkpoints = job.get("checkpoints") or {}
    restored = checkpoints.get("restored") or {}
    return record(
        "flink", name=job.get("name"), id=job.get("id"), state=job.get("state"), version=job.get("version"),
        parallelism=job.get("parallelism"), start_time=_ms(job.get("start_time")),
        restored_from=restored.get("external_path") or None,
        latest_completed=_flink_snapshot(checkpoints.get("latest_completed")),
        latest_failed=_flink_snapshot(checkpoints.get("latest_failed"), failed=True),
        latest_savepoint=_flink_snapshot(checkpoints.get("latest_savepoint")),
        exceptions=[exception(e.get("timestamp"), e.get("name"), e.get("message"), e.get("task"))
                    for e in job.get("exceptions") or []],
        raw=job)


# -- Confluent Manager for Apache Flink (CMF) -------------------------------------------------------
def _newest(items, key):
    items = [i for i in items if key(i) is not None]
    return max(items, key=key) if items else None


def _cmf_savepoint(sp, failed=False):
    if not sp:
        return None
    meta = sp.get("metadata") or {}
    status = sp.get("status") or {}
    return snapshot("savepoint", id=meta.get("name"), path=status.get("path") or (sp.get("spec") or {}).get("path"),
                    timestamp=status.get("resultTimestamp") or status.get("triggerTimestamp")
                    or meta.get("creationTimestamp"),
                    message=status.get("error") if failed else None)


def _exception_name(text):
    first = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    match = re.match(r"^([\w$.]+(?:Exception|Error|Throwable))\b", first)
    return match.group(1) if match else None


def from_cmf_application(app, restored_from=None, savepoints=None, events=None, instance=None):
    """The record of one FlinkApplication as CMF returns it.

    ``restored_from``: the savepoint path its current instance started from; ``savepoints``: its
    application savepoints (None when CMF cannot list them); ``events``: its FlinkApplicationEvents;
    ``instance``: the name of its current instance (its events count as the current run's).
    """
    app = app or {}
    meta = app.get("metadata") or {}
    spec = app.get("spec") or {}
    job_status = (app.get("status") or {}).get("jobStatus") or {}
    start = _ms(job_status.get("startTime"))
    savepoints = savepoints or []

    def when(sp):
        status = sp.get("status") or {}
        return _ms(status.get("resultTimestamp") or status.get("triggerTimestamp")
                   or (sp.get("metadata") or {}).get("creationTimestamp"))

    completed = _newest([s for s in savepoints if (s.get("status") or {}).get("state") == "COMPLETED"], when)
    failed = _newest([s for s in savepoints if (s.get("status") or {}).get("state") == "FAILED"], when)
    latest = _cmf_savepoint(completed)
    if latest is None:
        last = (job_status.get("savepointInfo") or {}).get("lastSavepoint") or {}
        if last.get("location"):
            latest = snapshot("savepoint", path=last.get("location"), timestamp=last.get("timeStamp"))
    exceptions = []
    for event in events or []:
        emeta = event.get("metadata") or {}
        status = event.get("status") or {}
        if status.get("type") != "JOB_EXCEPTION":
            continue
        stamp = _ms(emeta.get("creationTimestamp"))
        owner = emeta.get("flinkApplicationInstance")
        if instance is not None and owner is not None:
            current = owner == instance
        elif start is not None and stamp is not None:
            current = stamp >= start
        else:
            current = True
        if not current:
            continue
        text = (status.get("data") or {}).get("exceptionString") or status.get("message") or ""
        exceptions.append(exception(stamp, _exception_name(text) or _exception_name(status.get("message")),
                                    "\n".join(text.strip().splitlines()[:3]), None))
    exceptions.sort(key=lambda e: e["timestamp"] or 0, reverse=True)
    parallelism = (spec.get("job") or {}).get("parallelism")
    return record(
        "cmf", name=meta.get("name"), id=job_status.get("jobId"), state=job_status.get("state"),
        version=(meta.get("labels") or {}).get(VERSION_LABEL),
        parallelism=int(parallelism) if parallelism is not None else None, start_time=start,
        restored_from=restored_from or None, latest_completed=latest, latest_failed=_cmf_savepoint(failed, True),
        latest_savepoint=latest, exceptions=exceptions, raw=app)


# -- Flink Kubernetes Operator (FKO) ----------------------------------------------------------------
def _fko_snapshot(snap, failed=False):
    if not snap:
        return None
    status = snap.get("status") or {}
    kind = "savepoint" if (snap.get("spec") or {}).get("savepoint") is not None else "checkpoint"
    return snapshot(kind, id=(snap.get("metadata") or {}).get("name"), path=status.get("path"),
                    timestamp=status.get("resultTimestamp") or status.get("triggerTimestamp")
                    or (snap.get("metadata") or {}).get("creationTimestamp"),
                    message=status.get("error") if failed else None)


def from_fko_deployment(deployment, snapshots=None):
    """The record of one FlinkDeployment as the Kubernetes API returns it.

    ``snapshots``: the FlinkStateSnapshots that reference it. The current run restored from
    ``status.jobStatus.upgradeSavepointPath`` (the savepoint the operator took for the last
    upgrade, or the one it redeployed from), else from ``spec.job.initialSavepointPath``. The
    operator's ``status.error`` is the one exception it reports.
    """
    fd = deployment or {}
    meta = fd.get("metadata") or {}
    spec = fd.get("spec") or {}
    status = fd.get("status") or {}
    job_status = status.get("jobStatus") or {}
    snapshots = snapshots or []

    def when(snap):
        st = snap.get("status") or {}
        return _ms(st.get("resultTimestamp") or st.get("triggerTimestamp")
                   or (snap.get("metadata") or {}).get("creationTimestamp"))

    def of_state(state, kind=None):
        return [s for s in snapshots if (s.get("status") or {}).get("state") == state
                and (kind is None or _fko_snapshot(s)["kind"] == kind)]

    latest = _fko_snapshot(_newest(of_state("COMPLETED"), when))
    latest_savepoint = _fko_snapshot(_newest(of_state("COMPLETED", "savepoint"), when))
    if latest_savepoint is None:
        last = (job_status.get("savepointInfo") or {}).get("lastSavepoint") or {}
        if last.get("location"):
            latest_savepoint = snapshot("savepoint", path=last.get("location"), timestamp=last.get("timeStamp"))
    exceptions = []
    if status.get("error"):
        text = status["error"]
        try:
            parsed = json.loads(text)
            text = parsed.get("message") or text if isinstance(parsed, dict) else text
        except ValueError:
            pass
        exceptions.append(exception(job_status.get("updateTime"), _exception_name(text), text, None))
    parallelism = (spec.get("job") or {}).get("parallelism")
    replicas = (spec.get("taskManager") or {}).get("replicas")
    if replicas is not None:
        # the operator ignores job.parallelism when the TaskManager replicas are set: replicas x slots
        slots = (spec.get("flinkConfiguration") or {}).get("taskmanager.numberOfTaskSlots") or 1
        parallelism = int(replicas) * int(slots)
    return record(
        "fko", name=meta.get("name"), id=job_status.get("jobId"), state=job_status.get("state"),
        version=(meta.get("labels") or {}).get(VERSION_LABEL),
        parallelism=int(parallelism) if parallelism is not None else None, start_time=_ms(job_status.get("startTime")),
        restored_from=job_status.get("upgradeSavepointPath") or (spec.get("job") or {}).get("initialSavepointPath"),
        latest_completed=latest or latest_savepoint, latest_failed=_fko_snapshot(_newest(of_state("FAILED"), when), True),
        latest_savepoint=latest_savepoint, exceptions=exceptions, raw=fd)
