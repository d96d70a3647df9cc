# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The ``job_record_validation`` filter: the verdict on a changed job while its validation window runs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: job_record_validation
short_description: Verdict on a job after a change (upgrade, rescale, restore), from its job records, on any backend
version_added: 0.1.0
description:
  - Reads the job records of one job name (the C(records) that M(flinkops.cookbook.flink_job_info) and
    M(flinkops.cookbook.cmf_application_info) return, see C(docs/backends.md)) at one moment of the validation
    window that follows a change, and says whether the change is C(watching) (keep looking), C(passed) or
    C(failed), with the reason in words.
  - "It fails at once, without waiting for the end of the window, when: more than one job of that name runs;
    the job is another run than the one the change started (O(job_id)); the job is FAILED, FAILING, CANCELED,
    CANCELLING, FINISHED or SUSPENDED; the job reports an exception newer than O(exceptions_after_ms)."
  - "It passes once O(elapsed_seconds) reaches O(window_seconds) and the job is healthy: one job, RUNNING, a
    completed checkpoint or savepoint, at O(parallelism) when given, restored from O(restored_from) (or, after a
    JobManager failover, from a later checkpoint of its own) when given."
  - A job that is not healthy at the end of the window (failing over, restarting, no checkpoint yet) is watched
    for up to O(recovery_seconds) more before it fails.
options:
  _input:
    description: The job records of the job's name (zero, one or more).
    type: list
    elements: dict
    required: true
  elapsed_seconds:
    description: Seconds since the window started.
    type: float
    required: true
  window_seconds:
    description: The validation window.
    type: float
    required: true
  recovery_seconds:
    description: After the window, how long a job that is not healthy yet is watched before it fails.
    type: float
    default: 60
  job_id:
    description: The id of the run the change started; another run of that name fails the validation.
    type: str
  restored_from:
    description: The savepoint the new run must have started from.
    type: str
  parallelism:
    description: The parallelism the job must run at.
    type: int
  exceptions_after_ms:
    description: Exceptions at or before this time (epoch ms) were there before the change and do not count.
    type: int
    default: 0
"""

EXAMPLES = r"""
- name: Validation | watch the new version, fail at the first sign of trouble
  flinkops.cookbook.flink_job_info:
    name: orders
  register: watch
  until: verdict.verdict != 'watching'
  retries: 200
  delay: 5
  vars:
    verdict: >-
      {{ watch.records | default([]) | flinkops.cookbook.job_record_validation(
           elapsed_seconds=now().timestamp() - started | float, window_seconds=600, job_id=new_job_id,
           restored_from=savepoint_path) }}
"""

RETURN = r"""
_value:
  description:
    - C(verdict) (C(watching), C(passed) or C(failed)), C(reason) (what was seen, in words), C(phase)
      (C(window), C(recovery) or C(done)), C(elapsed_seconds) and C(record), the job's record without C(raw)
      (null when no single job of that name runs).
  type: dict
"""

from ansible_collections.flinkops.cookbook.plugins.module_utils.flink_ops import _same_path

ENDED_STATES = ("FAILED", "FAILING", "CANCELED", "CANCELLING", "FINISHED", "SUSPENDED")


def _short(record):
    return dict((k, v) for k, v in (record or {}).items() if k != "raw")


def _restored_ok(record, restored_from):
    path = record.get("restored_from") or ""
    if _same_path(path, restored_from):
        return True
    # a JobManager failover restarts the job from its own latest checkpoint: the state is the same lineage
    return bool(record.get("id")) and ("/%s/chk-" % record["id"]) in path


def _fatal(records, job_id, exceptions_after_ms):
    if len(records) > 1:
        return "%d jobs of that name run (ids %s, states %s)" % (
            len(records), ", ".join(str(r.get("id")) for r in records), ", ".join(str(r.get("state")) for r in records))
    if not records:
        return None
    rec = records[0]
    if job_id and rec.get("id") and rec["id"] != job_id:
        return "job %s runs, not %s, the run the change started" % (rec["id"], job_id)
    new = [e for e in rec.get("exceptions") or []
           if e.get("timestamp") is None or int(e["timestamp"]) > int(exceptions_after_ms or 0)]
    newest = (new[0].get("message") or new[0].get("name") or "(no message)") if new else None
    if rec.get("state") in ENDED_STATES:
        return "job %s is %s%s" % (rec.get("id"), rec["state"], (", the newest exception: %s" % newest) if new else "")
    if new:
        return "job %s reported %d new exception(s), the newest: %s" % (rec.get("id"), len(new), newest)
    return None


def _unhealthy(records, restored_from, parallelism):
    """Why the job is not healthy yet, or None when it is."""
    if not records:
        return "no job of that name runs"
    rec = records[0]
    if rec.get("state") != "RUNNING":
        return "job %s is %s, not RUNNING" % (rec.get("id"), rec.get("state"))
    if parallelism is not None and rec.get("parallelism") is not None and int(rec["parallelism"]) != int(parallelism):
        return "job %s runs at parallelism %s, not %s" % (rec.get("id"), rec["parallelism"], parallelism)
    if restored_from and not _restored_ok(rec, restored_from):
        started = rec.get("restored_from") or "nothing"
        return "job %s started from %s, not from %s" % (rec.get("id"), started, restored_from)
    if rec.get("latest_completed") is None:
        return "job %s has no completed checkpoint yet" % rec.get("id")
    return None


def job_record_validation(records, elapsed_seconds, window_seconds, recovery_seconds=60, job_id=None,
                          restored_from=None, parallelism=None, exceptions_after_ms=0):
    records = list(records or [])
    elapsed = float(elapsed_seconds)
    window = float(window_seconds)
    out = {"elapsed_seconds": round(elapsed, 1),
           "record": _short(records[0]) if len(records) == 1 else None}
    fatal = _fatal(records, job_id or None, exceptions_after_ms)
    if fatal:
        out.update(verdict="failed", phase="done", reason=fatal)
        return out
    unhealthy = _unhealthy(records, restored_from or None, parallelism)
    if elapsed < window:
        out.update(verdict="watching", phase="window",
                   reason=unhealthy or "job %s RUNNING, no sign of trouble" % records[0].get("id"))
    elif unhealthy is None:
        rec = records[0]
        out.update(verdict="passed", phase="done",
                   reason="job %s RUNNING for the %ss window with no new exception, restored from %s, latest "
                          "completed %s %s" % (rec.get("id"), int(window), rec.get("restored_from") or "nothing",
                                               rec["latest_completed"].get("kind"), rec["latest_completed"].get("id")))
    elif elapsed < window + float(recovery_seconds):
        out.update(verdict="watching", phase="recovery", reason=unhealthy)
    else:
        out.update(verdict="failed", phase="done",
                   reason="%s after the %ss window and %ss more to recover" % (
                       unhealthy, int(window), int(float(recovery_seconds))))
    return out


def job_records_validation(records, runs, now_seconds, window_seconds, recovery_seconds=60, read_error=None):
    """One verdict per run of ``runs`` (the fleet form of ``job_record_validation``), each with the
    run's ``name`` and the ``run`` itself, judged from the records of its name among ``records``
    at ``now_seconds``, ``now_seconds - run['started']`` into its own window."""
    verdicts = []
    for run in runs or []:
        mine = [r for r in records or [] if r.get("name") == run["name"]]
        verdict = job_record_validation(
            mine, float(now_seconds) - float(run["started"]), window_seconds, recovery_seconds,
            job_id=run.get("job_id"), restored_from=run.get("restored_from"), parallelism=run.get("parallelism"),
            exceptions_after_ms=run.get("exceptions_after_ms") or 0)
        if read_error and not mine:
            verdict["reason"] = "the jobs could not be read (%s); %s" % (read_error, verdict["reason"])
        verdict.update(name=run["name"], run=run)
        verdicts.append(verdict)
    return verdicts


class FilterModule(object):
    def filters(self):
        return {"job_record_validation": job_record_validation, "job_records_validation": job_records_validation}
