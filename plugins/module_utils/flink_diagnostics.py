# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""FOR INTERNAL COLLECTION USE ONLY.

Diagnostics of running Flink jobs: cookbook recipes 5.1 ("Key metrics to watch") and 7.2
("Handling persistent checkpoint failures"). Read-only: every function here only GETs.

* ``checkpoint_health`` turns ``/jobs/:id/checkpoints`` and ``/checkpoints/config`` into
  durations against the interval and the timeout, failure causes grouped and classified
  (storage, timeout, tasks not running, operator), and the state size trend.
* ``vertex_backpressure`` polls ``/jobs/:id/vertices/:vid/backpressure`` until Flink has a
  fresh sample (``status: ok``).
* ``taskmanager_health`` reads JVM heap and garbage collection from TaskManager metrics.
* ``job_findings`` is the diagnosis: each finding names the evidence and the stabilisation
  the recipe recommends.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import re

from ansible_collections.flinkops.cookbook.plugins.module_utils._http import HttpError
from ansible_collections.flinkops.cookbook.plugins.module_utils._wait import Clock, wait_until

# Flink reports a disabled periodic checkpointing as interval Long.MAX_VALUE (or <= 0).
DISABLED_INTERVAL = 2 ** 62
HEAP_METRICS = ("Status.JVM.Memory.Heap.Used", "Status.JVM.Memory.Heap.Committed", "Status.JVM.Memory.Heap.Max")
GC_PREFIX = "Status.JVM.GarbageCollector."
# Thresholds of the diagnosis (documented in the module and the reports).
DURATION_VS_INTERVAL_WARN = 0.5   # average duration >= half the interval: checkpoints crowd the job
DURATION_VS_TIMEOUT_WARN = 0.8    # slowest duration >= 80 % of the timeout: the next one may expire
STATE_GROWTH_WARN_PCT = 50.0      # state size grew by half or more over the retained history
STATE_GROWTH_MIN_SAMPLES = 3
HEAP_USED_WARN_PCT = 90.0
# Findings drawn from checkpoint failure causes: critical only while the failures persist.
CAUSE_FINDINGS = ("checkpoint_storage", "checkpoint_timeout", "checkpoint_operator")
SEVERITY_ORDER = {"ok": 0, "info": 1, "warning": 2, "critical": 3}

# Failure messages -> category. Flink's words (CheckpointFailureReason) first, then the
# usual wording of file systems and object stores.
CAUSE_PATTERNS = (
    ("timeout", re.compile(r"expired before completing|CHECKPOINT_EXPIRED|timed? ?out|timeout", re.I)),
    ("storage", re.compile(
        r"IO-problem|IOException|I/O|access ?denied|permission denied|forbidden|\b403\b|no space left|"
        r"quota|NoSuchBucket|NoSuchKey|not a directory|mkdirs|read-only file system|FileNotFound|"
        r"FileSystem|S3|storage location|finalize the pending checkpoint", re.I)),
    ("tasks_not_running", re.compile(
        r"not all required tasks are currently running|tasks? (?:are|is) not (?:being )?(?:executed|running)|"
        r"coordinator is suspending|job is not running|not ready|TASK_CHECKPOINT_FAILURE.*not running|"
        r"Checkpoint Coordinator is shutting down", re.I)),
    ("serialization", re.compile(r"serializ|kryo|StateMigration", re.I)),
)


# -- small helpers -----------------------------------------------------------------------
def metric_values(items):
    """``[{"id": "a", "value": "1"}]`` -> ``{"a": 1}`` (numbers where they parse)."""
    out = {}
    for item in items or []:
        value = item.get("value")
        try:
            number = float(value)
            value = int(number) if number.is_integer() else number
        except (TypeError, ValueError):
            pass
        out[item.get("id")] = value
    return out


def _ratio(part, whole, digits=2):
    if part is None or not whole:
        return None
    return round(float(part) / float(whole), digits)


def classify_cause(message):
    """The category of a checkpoint failure message: timeout, storage, tasks_not_running,
    serialization or operator (anything else: an error inside an operator's snapshot)."""
    text = message or ""
    for category, pattern in CAUSE_PATTERNS:
        if pattern.search(text):
            return category
    return "operator"


def storage_uri_from_path(external_path, job_id=None):
    """The checkpoint base directory from a completed checkpoint's ``external_path``.

    ``file:/data/cp/<job id>/chk-14`` -> ``file:/data/cp`` (Flink writes ``<dir>/<job id>/chk-N``).
    ``None`` when the path does not have that shape (a savepoint, or no path).
    """
    if not external_path:
        return None
    match = re.match(r"^(.*?)/+([0-9a-f]{32})/+chk-\d+/*$", str(external_path))
    if not match or (job_id and match.group(2) != job_id):
        return None
    return match.group(1) or None


# -- checkpoints -------------------------------------------------------------------------
def _config_summary(config):
    config = config or {}
    interval = config.get("interval")
    enabled = bool(interval) and 0 < interval < DISABLED_INTERVAL
    externalization = config.get("externalization") or {}
    return {
        "enabled": enabled,
        "interval_ms": interval if enabled else None,
        "timeout_ms": config.get("timeout"),
        "min_pause_ms": config.get("min_pause"),
        "max_concurrent": config.get("max_concurrent"),
        "mode": config.get("mode"),
        "unaligned": config.get("unaligned_checkpoints"),
        "tolerable_failed": config.get("tolerable_failed_checkpoints"),
        "state_backend": config.get("state_backend"),
        "checkpoint_storage": config.get("checkpoint_storage"),
        "externalized": externalization.get("enabled"),
        "delete_on_cancellation": externalization.get("delete_on_cancellation"),
    }


def _state_trend(completed):
    """State size over the retained completed checkpoints, oldest first."""
    samples = [{"id": c.get("id"), "trigger_timestamp": c.get("trigger_timestamp"),
                "state_size": c.get("state_size"), "checkpointed_size": c.get("checkpointed_size")}
               for c in sorted(completed, key=lambda c: c.get("id") or 0)]
    sizes = [s["state_size"] for s in samples if s["state_size"] is not None]
    trend = {"samples": samples, "first": sizes[0] if sizes else None, "last": sizes[-1] if sizes else None,
             "min": min(sizes) if sizes else None, "max": max(sizes) if sizes else None,
             "growth_bytes": None, "growth_pct": None, "trend": "unknown"}
    if len(sizes) >= 2:
        trend["growth_bytes"] = sizes[-1] - sizes[0]
        if sizes[0] > 0:
            trend["growth_pct"] = round(100.0 * (sizes[-1] - sizes[0]) / sizes[0], 1)
        if len(sizes) >= STATE_GROWTH_MIN_SAMPLES:
            pct = trend["growth_pct"]
            if pct is None:
                trend["trend"] = "growing" if sizes[-1] > 0 else "stable"
            elif pct >= STATE_GROWTH_WARN_PCT:
                trend["trend"] = "growing"
            elif pct <= -STATE_GROWTH_WARN_PCT:
                trend["trend"] = "shrinking"
            else:
                trend["trend"] = "stable"
    return trend


def checkpoint_health(stats, config, job_id=None):
    """Checkpoint health of one job from ``/checkpoints`` (``stats``) and ``/checkpoints/config``."""
    stats = stats or {}
    conf = _config_summary(config)
    history = [h for h in (stats.get("history") or []) if not h.get("is_savepoint")]
    latest = stats.get("latest") or {}
    completed = [h for h in history if h.get("status") == "COMPLETED"]
    failed = [h for h in history if h.get("status") == "FAILED"]

    consecutive = 0
    for item in sorted(history, key=lambda h: h.get("id") or 0, reverse=True):
        if item.get("status") == "IN_PROGRESS":
            continue
        if item.get("status") != "FAILED":
            break
        consecutive += 1

    failures = [{"id": f.get("id"), "trigger_timestamp": f.get("trigger_timestamp"),
                 "failure_timestamp": f.get("failure_timestamp"), "message": f.get("failure_message"),
                 "category": classify_cause(f.get("failure_message"))}
                for f in sorted(failed, key=lambda h: h.get("id") or 0, reverse=True)]
    causes = {}
    for f in failures:
        key = f["message"] or "(no failure message)"
        entry = causes.setdefault(key, {"message": key, "category": f["category"], "count": 0,
                                        "last_timestamp": f["failure_timestamp"]})
        entry["count"] += 1
    failure_causes = sorted(causes.values(), key=lambda c: (-c["count"], -(c["last_timestamp"] or 0)))

    latest_failed = latest.get("failed")
    if latest_failed and latest_failed.get("failure_message") and not failure_causes:
        # Older than the retained history, but still the newest failure Flink knows.
        failure_causes = [{"message": latest_failed["failure_message"],
                           "category": classify_cause(latest_failed["failure_message"]), "count": 1,
                           "last_timestamp": latest_failed.get("failure_timestamp")}]

    summary = (stats.get("summary") or {}).get("end_to_end_duration") or {}
    durations = [c.get("end_to_end_duration") for c in completed if c.get("end_to_end_duration") is not None]
    latest_completed = latest.get("completed") or (completed[0] if completed else None)
    duration = {
        "last": (latest_completed or {}).get("end_to_end_duration"),
        "avg": summary.get("avg", int(sum(durations) / len(durations)) if durations else None),
        "max": summary.get("max", max(durations) if durations else None),
        "p90": summary.get("p90"),
        "recent_max": max(durations) if durations else None,
    }
    uri = storage_uri_from_path((latest_completed or {}).get("external_path"), job_id)
    if uri is None:
        for item in completed:
            uri = storage_uri_from_path(item.get("external_path"), job_id)
            if uri:
                break

    def pick(item, keys):
        return dict((k, item.get(k)) for k in keys) if item else None

    counts = stats.get("counts") or {}
    # Flink counts a checkpoint that fails at its trigger, before it is created (for example while
    # not all tasks are RUNNING), without a history entry or a "latest failed" one
    # (CheckpointStatsTracker.reportFailedCheckpointsWithoutInProgress). Without a latest failed
    # checkpoint, every failure counted is one of those; with one, the ones beyond the retained
    # history may also be older failures, so the split is unknown.
    unrecorded = None
    if latest_failed is None:
        unrecorded = max(0, (counts.get("failed") or 0) - len(failed))
    history_points = [{"id": h.get("id"), "status": h.get("status"), "trigger_timestamp": h.get("trigger_timestamp"),
                       "end_to_end_duration": h.get("end_to_end_duration"), "state_size": h.get("state_size")}
                      for h in sorted(history, key=lambda h: h.get("id") or 0)]

    return {
        "counts": counts,
        "failed_at_trigger": unrecorded,
        "history": history_points,
        "config": conf,
        "latest_completed": pick(latest_completed, ("id", "trigger_timestamp", "end_to_end_duration",
                                                    "state_size", "checkpointed_size", "external_path")),
        "latest_failed": pick(latest_failed, ("id", "trigger_timestamp", "failure_timestamp", "failure_message")),
        "duration_ms": duration,
        "duration_vs_interval": _ratio(duration["avg"], conf["interval_ms"]),
        "duration_vs_timeout": _ratio(duration["max"], conf["timeout_ms"]),
        "history_window": {"completed": len(completed), "failed": len(failed)},
        "consecutive_failures": consecutive,
        "failures": failures,
        "failure_causes": failure_causes,
        "state_size": _state_trend(completed),
        "storage_uri": uri,
    }


# -- backpressure ----------------------------------------------------------------------------
def _level(data):
    return (data or {}).get("backpressureLevel") or (data or {}).get("backpressure-level")


def _ratio_value(value):
    """A subtask's ratio as a number, or None. Flink's REST mapper writes a ratio it cannot compute
    (a busy time not measured yet) as the string "NaN" (Jackson's WRITE_NAN_AS_STRINGS): that is no
    value, not an error of the report."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def vertex_backpressure(client, job_id, vertex, clock):
    """One vertex's backpressure; polls until Flink reports a fresh sample (``status: ok``)
    or ``clock`` runs out (level ``unknown``, never an error: backpressure is advisory)."""
    def sample():
        return client.vertex_backpressure(job_id, vertex["id"]) or {}

    def read():
        try:
            return sample()
        except HttpError as exc:
            # Flink answers 500 (NoSuchElementException) while a new job has no metrics yet: retry.
            if exc.status in (None, 500) and not clock.expired():
                return None
            raise

    try:
        data = wait_until(read, lambda d: d is not None and d.get("status") == "ok", clock=clock,
                          timed_out=lambda d, _seen: d if d is not None else sample())[0]
    except HttpError as exc:
        return {"id": vertex["id"], "name": vertex.get("name"), "status": "error", "level": "unknown",
                "max_ratio": None, "max_busy_ratio": None, "max_idle_ratio": None, "subtasks": 0,
                "end_timestamp": None, "error": str(exc)}
    subtasks = data.get("subtasks") or []
    fresh = data.get("status") == "ok"

    def peak(key):
        values = [v for v in (_ratio_value(s.get(key)) for s in subtasks) if v is not None]
        return round(max(values), 3) if values else None

    return {"id": vertex["id"], "name": vertex.get("name"), "status": data.get("status"),
            "level": (_level(data) or "unknown") if fresh else "unknown",
            "max_ratio": peak("ratio"), "max_busy_ratio": peak("busyRatio"), "max_idle_ratio": peak("idleRatio"),
            "subtasks": len(subtasks), "end_timestamp": data.get("end-timestamp")}


def job_backpressure(client, job_id, vertices, timeout, sleep=None, now=None):
    kwargs = dict((k, v) for k, v in (("sleep", sleep), ("now", now)) if v is not None)
    clock = Clock(timeout, interval=0.25, max_interval=2.0, **kwargs)
    found = [vertex_backpressure(client, job_id, v, clock) for v in vertices]
    levels = [v["level"] for v in found]
    if "high" in levels:
        level = "high"
    elif "low" in levels:
        level = "low"
    elif levels and all(lv == "ok" for lv in levels):
        level = "ok"
    else:
        level = "unknown"
    return {"level": level, "vertices": found}


# -- TaskManagers ----------------------------------------------------------------------------
def gc_metric_names(metric_ids):
    """Count and Time metrics per collector; the ``All`` aggregate (Flink 1.19+) is kept apart."""
    return sorted(m for m in metric_ids or [] if m and m.startswith(GC_PREFIX)
                  and (m.endswith(".Count") or m.endswith(".Time")))


def taskmanager_health(client, tm):
    """Heap used/committed/max, GC counts and time, and slots of one TaskManager."""
    tm_id = tm.get("id")
    gc_names = gc_metric_names(client.taskmanager_metric_ids(tm_id))
    values = metric_values(client.taskmanager_metrics(tm_id, list(HEAP_METRICS) + gc_names))
    collectors = {}
    for name in gc_names:
        collector, _dot, kind = name[len(GC_PREFIX):].rpartition(".")
        entry = collectors.setdefault(collector, {"name": collector, "count": None, "time_ms": None})
        entry["count" if kind == "Count" else "time_ms"] = values.get(name)
    total = collectors.pop("All", None)
    gcs = sorted(collectors.values(), key=lambda c: c["name"])
    if total is None and gcs:
        total = {"count": sum(c["count"] or 0 for c in gcs), "time_ms": sum(c["time_ms"] or 0 for c in gcs)}
    used, heap_max = values.get(HEAP_METRICS[0]), values.get(HEAP_METRICS[2])
    health = {
        "id": tm_id,
        "slots_total": tm.get("slotsNumber"), "slots_free": tm.get("freeSlots"),
        "heap_used": used, "heap_committed": values.get(HEAP_METRICS[1]), "heap_max": heap_max,
        "heap_used_pct": round(100.0 * used / heap_max, 1) if used is not None and heap_max else None,
        "gc": gcs,
        "gc_count": (total or {}).get("count"), "gc_time_ms": (total or {}).get("time_ms"),
        "findings": [],
    }
    if health["heap_used_pct"] is not None and health["heap_used_pct"] >= HEAP_USED_WARN_PCT:
        health["findings"].append(finding(
            "heap_pressure", "warning", "TaskManager heap %.1f %% used" % health["heap_used_pct"],
            "heap %s of %s bytes" % (used, heap_max),
            "Watch GC time; raise taskmanager.memory.task.heap.size or spread the load over more "
            "TaskManagers if heap stays high after full GCs."))
    return health


# -- the diagnosis -------------------------------------------------------------------------
def finding(code, severity, title, evidence, recommendation):
    return {"code": code, "severity": severity, "title": title, "evidence": evidence,
            "recommendation": recommendation}


def format_ms(value):
    """Milliseconds as the reports write them: ms, s or min, one decimal; n/a for None."""
    if value is None:
        return "n/a"
    if value >= 60000:
        return "%.1f min" % (value / 60000.0)
    if value >= 1000:
        return "%.1f s" % (value / 1000.0)
    return "%d ms" % value


def job_findings(job):
    """The diagnosis of one job (as built by ``describe_job``): a list of findings, worst first."""
    out = []
    cp = job.get("checkpoints") or {}
    conf = cp.get("config") or {}
    duration = cp.get("duration_ms") or {}
    causes = cp.get("failure_causes") or []
    categories = set(c["category"] for c in causes)
    backpressure = (job.get("backpressure") or {}).get("level")
    recent_failures = (cp.get("history_window") or {}).get("failed", 0)
    evidence_causes = "; ".join("%s (x%d)" % (c["message"], c["count"]) for c in causes[:3])

    if not conf.get("enabled"):
        out.append(finding("checkpointing_disabled", "warning", "Periodic checkpointing is disabled",
                           "interval not set", "Set execution.checkpointing.interval: without checkpoints "
                           "a failure loses all state since the last savepoint."))
    if "storage" in categories:
        out.append(finding(
            "checkpoint_storage", "critical", "Checkpoints fail on the checkpoint storage",
            evidence_causes,
            "Fix the storage first (permissions/IAM, quota, the path%s); probe it with "
            "flinkops.cookbook.flink_storage_probe. Checkpointing resumes without a job restart once "
            "the store accepts writes." % (" %s" % cp["storage_uri"] if cp.get("storage_uri") else "")))
    slow = (duration.get("max") is not None and conf.get("timeout_ms")
            and duration["max"] >= DURATION_VS_TIMEOUT_WARN * conf["timeout_ms"])
    if "timeout" in categories or slow:
        steps = ["raise execution.checkpointing.timeout (now %s; slowest completed %s) to at least twice the "
                 "slowest duration" % (format_ms(conf.get("timeout_ms")), format_ms(duration.get("max")))]
        if not conf.get("unaligned"):
            steps.append("enable unaligned checkpoints (execution.checkpointing.unaligned.enabled: true) so "
                         "barriers overtake buffered records under backpressure")
        steps.append("raise execution.checkpointing.interval or min-pause to lower the pressure")
        out.append(finding(
            "checkpoint_timeout", "critical" if "timeout" in categories else "warning",
            "Checkpoints expire or come close to the timeout",
            evidence_causes or "slowest %s vs timeout %s" % (format_ms(duration.get("max")), format_ms(conf.get("timeout_ms"))),
            "; ".join(steps).capitalize() + "."))
    ratio = cp.get("duration_vs_interval")
    if ratio is not None and ratio >= DURATION_VS_INTERVAL_WARN:
        out.append(finding(
            "checkpoint_interval", "warning", "Checkpoints take %d %% of the interval" % int(ratio * 100),
            "average duration %s, interval %s" % (format_ms(duration.get("avg")), format_ms(conf.get("interval_ms"))),
            "Raise execution.checkpointing.interval, or set execution.checkpointing.min-pause to at least the "
            "average duration, so the job gets time to process between checkpoints."))
    if "tasks_not_running" in categories:
        out.append(finding(
            "checkpoint_tasks_not_running", "warning" if cp.get("consecutive_failures") else "info",
            "Checkpoints were declined because tasks were not running",
            evidence_causes, "Normal right after a (re)start; if it persists, the job is restarting: follow "
                             "recipe 7.1 (restart loop) and read the exception history."))
    if "serialization" in categories or "operator" in categories:
        out.append(finding(
            "checkpoint_operator", "critical", "An operator fails while taking its snapshot",
            evidence_causes, "Find the operator in the TaskManager logs at the failure times; hotfix it, or deploy "
                             "a version that bypasses the failing path (recipe 7.2, step 5)."))
    trend = cp.get("state_size") or {}
    if trend.get("trend") == "growing":
        out.append(finding(
            "state_growth", "warning", "State grows (%s %% over the retained checkpoints)" % trend.get("growth_pct"),
            "state size %s -> %s bytes over %d checkpoints" % (trend.get("first"), trend.get("last"),
                                                               len(trend.get("samples") or [])),
            "Bound the state: state TTL (StateTtlConfig, or table.exec.state.ttl for SQL), check for "
            "unbounded keys or windows that never fire; use incremental checkpoints for large state."))
    if backpressure in ("high", "low"):
        names = [v.get("name") for v in (job.get("backpressure") or {}).get("vertices", [])
                 if v.get("level") in ("high", "low")]
        out.append(finding(
            "backpressure", "critical" if backpressure == "high" else "warning",
            "Backpressure %s" % backpressure, "backpressured vertices: %s" % ", ".join(names),
            "Scale out the slow path (flinkops.cookbook.flink_job_scale) or fix the slowest operator "
            "downstream of these vertices; aligned checkpoints slow down under backpressure, unaligned "
            "ones do not."))
    restarts = job.get("restarts")
    if restarts:
        out.append(finding(
            "restarts", "warning" if job.get("state") == "RUNNING" else "critical",
            "The job restarted %s times" % restarts, "numRestarts = %s, state %s" % (restarts, job.get("state")),
            "Read the exception history and follow recipe 7.1 (job stuck in a restart loop)."))
    if cp.get("consecutive_failures") == 0 and (cp.get("history_window") or {}).get("completed"):
        # The newest checkpoint completed: failures in the history are past, not persistent.
        for item in out:
            if item["code"] in CAUSE_FINDINGS and item["severity"] == "critical":
                item["severity"] = "warning"
                item["title"] += " (recovered: the latest checkpoint completed)"
    completed = (cp.get("counts") or {}).get("completed")
    if conf.get("enabled") and job.get("state") == "RUNNING" and not completed:
        out.append(finding("no_completed_checkpoint", "critical" if recent_failures else "info",
                           "No checkpoint has completed yet", "counts %s" % cp.get("counts"),
                           "A job without a completed checkpoint cannot recover its state: resolve the "
                           "failures above before anything else."))
    return sorted(out, key=lambda f: -SEVERITY_ORDER[f["severity"]])


def health_of(findings):
    worst = max([SEVERITY_ORDER[f["severity"]] for f in findings] or [0])
    return [name for name, rank in SEVERITY_ORDER.items() if rank == worst][0] if worst > 1 else "ok"


# -- one job ---------------------------------------------------------------------------------
def describe_job(client, overview, backpressure=True, backpressure_timeout=20, sleep=None, now=None):
    """Every metric of recipe 5.1 for one job, with its diagnosis."""
    job_id = overview["jid"]
    job = client.job(job_id)
    vertices = [{"id": v.get("id"), "name": v.get("name"), "parallelism": v.get("parallelism"),
                 "status": v.get("status")} for v in job.get("vertices", [])]
    restarts = metric_values(client.job_metrics(job_id, ["numRestarts"])).get("numRestarts")
    out = {
        "id": job_id, "name": job.get("name"), "state": job.get("state"),
        "start_time": job.get("start-time"), "duration_ms": job.get("duration"),
        "parallelism": max([v["parallelism"] or 0 for v in vertices] or [0]),
        "vertices": vertices,
        "restarts": restarts,
        "checkpoints": checkpoint_health(client.job_checkpoints(job_id), client.job_checkpoint_config(job_id),
                                         job_id),
        "backpressure": None,
    }
    if backpressure and job.get("state") == "RUNNING":
        out["backpressure"] = job_backpressure(client, job_id, vertices, backpressure_timeout, sleep=sleep, now=now)
    out["findings"] = job_findings(out)
    out["health"] = health_of(out["findings"])
    return out
