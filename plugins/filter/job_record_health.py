# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The ``job_record_health`` filter: the health of a job read from its job record, on any backend."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: job_record_health
short_description: Findings and health of a job from its job record, on any backend
version_added: 0.1.0
description:
  - Reads one job record (the C(records) that M(flinkops.cookbook.flink_job_info) and
    M(flinkops.cookbook.cmf_application_info) return, see C(docs/backends.md)) and returns the record's name, id,
    state and platform with C(findings) (each C(code), C(severity), C(title), C(evidence), C(recommendation)),
    C(health), the worst severity (C(ok), C(info), C(warning) or C(critical)), and C(exceptions_in_window).
  - "Findings: the job is not RUNNING (FAILED, FAILING or RESTARTING is critical); exceptions since it started
    (O(restart_threshold) of them within O(window_seconds) is a restart loop, critical); the latest checkpoint or
    savepoint failed after the latest completed one; no completed checkpoint or savepoint at all; the latest
    completed one is older than O(max_age_seconds)."
options:
  _input:
    description: A job record.
    type: dict
    required: true
  now_ms:
    description: The time to judge at, in epoch milliseconds.
    type: int
    required: true
  window_seconds:
    description: The window the exceptions of a restart loop are counted in.
    type: int
    default: 300
  restart_threshold:
    description: This many exceptions within O(window_seconds) is a restart loop.
    type: int
    default: 3
  max_age_seconds:
    description: A latest completed checkpoint or savepoint older than this is reported (C(info)); 0 never.
    type: int
    default: 86400
"""

EXAMPLES = r"""
- name: Health of each application
  ansible.builtin.debug:
    msg: "{{ info.records | map('flinkops.cookbook.job_record_health', now_ms=now_ms) | list }}"
"""

RETURN = r"""
_value:
  description: The job's C(name), C(id), C(state), C(platform), C(findings), C(health) and C(exceptions_in_window).
  type: dict
"""

SEVERITY_ORDER = {"ok": 0, "info": 1, "warning": 2, "critical": 3}
FAILING_STATES = ("FAILED", "FAILING", "RESTARTING")


def _finding(code, severity, title, evidence, recommendation):
    return {"code": code, "severity": severity, "title": title, "evidence": evidence,
            "recommendation": recommendation}


def job_record_health(record, now_ms, window_seconds=300, restart_threshold=3, max_age_seconds=86400):
    record = record or {}
    now_ms = int(now_ms)
    findings = []
    state = record.get("state") or "UNKNOWN"
    if state in FAILING_STATES:
        findings.append(_finding("job_failing", "critical", "the job is %s" % state,
                                 "state %s" % state, "run incident_restart_loop.yml for the root exception and "
                                 "the mitigation"))
    elif state == "SUSPENDED":
        findings.append(_finding("job_suspended", "info", "the job is suspended", "state SUSPENDED",
                                 "resume it with suspend_resume_job.yml -e action=resume when it should run"))
    elif state != "RUNNING":
        findings.append(_finding("job_not_running", "warning", "the job is %s, not RUNNING" % state,
                                 "state %s" % state, "wait for it to start, or read its events"))
    exceptions = record.get("exceptions") or []
    since = now_ms - int(window_seconds) * 1000
    recent = [e for e in exceptions if (e.get("timestamp") or 0) >= since]
    if len(recent) >= int(restart_threshold):
        findings.append(_finding("restart_loop", "critical",
                                 "%d exceptions in the last %s s: a restart loop" % (len(recent), window_seconds),
                                 (recent[0].get("name") or recent[0].get("message") or "")[:200],
                                 "run incident_restart_loop.yml to classify the root exception and mitigate"))
    elif exceptions:
        findings.append(_finding("exceptions", "warning", "%d exception(s) since the job started" % len(exceptions),
                                 (exceptions[0].get("name") or exceptions[0].get("message") or "")[:200],
                                 "read the exceptions; a failure that repeats is a restart loop"))
    completed = record.get("latest_completed")
    failed = record.get("latest_failed")
    if failed and (not completed or (failed.get("timestamp") or 0) > (completed.get("timestamp") or 0)):
        findings.append(_finding("snapshot_failing", "warning",
                                 "the latest %s failed" % (failed.get("kind") or "checkpoint"),
                                 (failed.get("message") or "no reason given")[:300],
                                 "run incident_checkpoint_failures.yml for the causes and the stabilisation"))
    if not completed:
        findings.append(_finding("no_snapshot", "info", "no completed checkpoint or savepoint",
                                 "latest completed: none",
                                 "take one with backup_state.yml, so the job's state can be restored"))
    elif int(max_age_seconds) > 0 and completed.get("timestamp") and \
            now_ms - int(completed["timestamp"]) > int(max_age_seconds) * 1000:
        findings.append(_finding("snapshot_old", "info",
                                 "the latest completed %s is older than %s s" % (completed.get("kind"), max_age_seconds),
                                 completed.get("path") or "", "take a fresh one with backup_state.yml"))
    findings.sort(key=lambda f: -SEVERITY_ORDER[f["severity"]])
    health = max([f["severity"] for f in findings] or ["ok"], key=lambda s: SEVERITY_ORDER[s])
    return {"name": record.get("name"), "id": record.get("id"), "state": state, "platform": record.get("platform"),
            "findings": findings, "health": health, "exceptions_in_window": len(recent)}


class FilterModule(object):
    def filters(self):
        return {"job_record_health": job_record_health}
