#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: flink_job_scale
short_description: Change the parallelism of a running Apache Flink job, keeping its state
version_added: 0.1.0
description:
  - In place, through the adaptive scheduler's C(/jobs/:id/resource-requirements) API, where the cluster
    supports it (Flink 1.18+ with C(jobmanager.scheduler=adaptive)).
  - Otherwise through a savepoint. The job is stopped with a savepoint and its spec is started again
    from it with the new parallelism. The module then checks that it is RUNNING and restored from
    that savepoint. On failure, the old parallelism is started again from the same savepoint.
    This needs a job started by M(flinkops.cookbook.flink_job), which records its spec in the job.
  - Preflight, before the job is touched. There must be enough free slots, the parallelism must not
    exceed any vertex's max parallelism, and it must not exceed O(source_partitions) when that is given.
  - Vertices whose parallelism was set apart from the job's (for example a sink at 1) keep it.
author:
  - flinkops maintainers (@flinkops)
extends_documentation_fragment:
  - flinkops.cookbook.flink
options:
  name:
    description: Name of the (single active) job.
    type: str
  job_id:
    description: Id of the job.
    type: str
  parallelism:
    description: The target parallelism.
    type: int
    required: true
  method:
    description:
      - C(auto) rescales in place when the cluster supports it and through a savepoint otherwise.
      - C(in_place) fails if the cluster does not support it; C(savepoint) always goes through a savepoint.
    type: str
    choices: [auto, in_place, savepoint]
    default: auto
  source_partitions:
    description: Partition count of the source (for example the Kafka topic); the parallelism may not exceed it.
    type: int
  target_directory:
    description: Savepoint directory for the savepoint method (absolute URI).
    type: str
  shared_fs:
    description: Accept a C(file://) O(target_directory) (a shared mount or a single-host cluster).
    type: bool
    default: false
  format_type:
    description:
      - Savepoint format for the savepoint method. C(auto) takes C(NATIVE), faster to write and to restore,
        when the job's state backend is known (a rescale keeps it), else C(CANONICAL); RV(savepoint_format)
        says which and why. The new job starts with C(NO_CLAIM), so the savepoint stays intact for a rollback.
    type: str
    choices: [auto, CANONICAL, NATIVE]
    default: auto
  savepoint_timeout:
    description: Seconds to wait for the savepoint.
    type: int
    default: 600
  timeout:
    description: Seconds to wait for the job to run at the new parallelism.
    type: int
    default: 300
  wait_for_checkpoint:
    description: For the savepoint method, also wait for the first completed checkpoint after the restart.
    type: bool
    default: true
  journal:
    description:
      - Path of a write-ahead journal on the controller (the same file as M(flinkops.cookbook.flink_job)'s, one per
        job). A rescale through a savepoint records each step before it is taken and leaves the journal in phase
        C(validate) for the caller's validation window; the caller removes it.
      - A live run that finds the journal owned by another C(ansible-playbook) run fails at once, naming that run.
        A run that finds the journal of a crashed run finishes its rescale from the savepoint already taken.
      - Without a journal, a job of that name that is not running but was just stopped with a savepoint (the
        newest ended job FINISHED with a savepoint as its last checkpoint) is still started from that savepoint
        at the new parallelism, never left down.
    type: path
attributes:
  check_mode:
    support: full
    description: Runs the preflight and reports the method it would use; changes nothing.
  diff_mode:
    support: full
    description: Shows the parallelism before and after.
"""

EXAMPLES = r"""
- name: Scale out to 8, in place when possible
  flinkops.cookbook.flink_job_scale:
    endpoint: https://flink.example.com
    name: orders-enrichment
    parallelism: 8
    source_partitions: 12
    target_directory: s3://flink-state/savepoints/orders-enrichment
"""

RETURN = r"""
method:
  description: How the job was rescaled (C(in_place), C(savepoint)) or would be (check mode); C(none) when unchanged.
  returned: always
  type: str
job:
  description: Id, name, state and parallelism after the run.
  returned: always
  type: dict
previous_parallelism:
  description: The parallelism before the run.
  returned: always
  type: int
previous_job_id:
  description: The job id replaced by a savepoint rescale.
  returned: when the savepoint method ran
  type: str
savepoint:
  description: The savepoint of a savepoint rescale.
  returned: when the savepoint method ran
  type: dict
savepoint_format:
  description: The savepoint format of a savepoint rescale (C(format)) and why (C(reason)).
  returned: when the savepoint method ran
  type: dict
  sample: {format: NATIVE, reason: "the state backend stays HashMapStateBackend: NATIVE, faster to write and to restore"}
resumed:
  description: How an interrupted rescale was finished (the savepoint started from, or C(validation) when only the
    validation window was missed).
  returned: when an interrupted rescale was resumed
  type: dict
fallback_reason:
  description: Why C(auto) did not rescale in place.
  returned: when auto chose the savepoint method
  type: str
"""

from ansible_collections.flinkops.cookbook.plugins.module_utils.flink_module import FlinkModule, argument_spec
from ansible_collections.flinkops.cookbook.plugins.module_utils._journal import Journal
from ansible_collections.flinkops.cookbook.plugins.module_utils._wait import Clock, wait_until
from ansible_collections.flinkops.cookbook.plugins.module_utils.flink_ops import (
    FlinkOpsError, check_savepoint_uri, check_slots, find_active_job, job_parallelism, job_spec,
    last_stop_savepoint, plan_resume, redeploy_from_savepoint, require_active_job, savepoint_format)


def in_place_support(client):
    """``(supported, reason)`` for the resource-requirements API: it needs Flink 1.18+ and the
    adaptive scheduler; elsewhere a PUT is accepted and silently ignored, so the caller falls back
    to a rescale through a savepoint."""
    if not client.supports_resource_requirements:
        return False, "Flink %s has no resource-requirements API (needs 1.18+)" % client.version_string
    scheduler = client.jobmanager_config().get("jobmanager.scheduler", "default")
    if str(scheduler).strip().lower() != "adaptive":
        return False, "jobmanager.scheduler is %s, not adaptive" % scheduler
    return True, None


def preflight(job, target, source_partitions):
    max_par = min([v.get("maxParallelism") or target for v in job.get("vertices", [])] or [target])
    if target > max_par:
        raise FlinkOpsError("parallelism %d exceeds the job's max parallelism %d (the smallest of its vertices); "
                            "nothing was changed" % (target, max_par), max_parallelism=max_par)
    if source_partitions is not None and target > source_partitions:
        raise FlinkOpsError("parallelism %d exceeds the source's %d partitions: the extra subtasks would sit idle; "
                            "nothing was changed" % (target, source_partitions))


def rescale_in_place(fm, job, current, target):
    client = fm.client
    job_id = job["jid"]
    before = client.resource_requirements(job_id) or {}
    after = {}
    for vertex in job.get("vertices", []):
        bounds = dict((before.get(vertex["id"]) or {}).get("parallelism") or {"lowerBound": 1})
        if vertex.get("parallelism") == current:
            bounds["upperBound"] = target
            bounds["lowerBound"] = min(bounds.get("lowerBound", 1), target)
        else:
            bounds.setdefault("upperBound", vertex.get("parallelism"))
        after[vertex["id"]] = {"parallelism": bounds}
    client.set_resource_requirements(job_id, after)

    def timed_out(state, _seen):
        client.set_resource_requirements(job_id, before)
        return FlinkOpsError("job %s did not run at parallelism %d within %ss (now %s at %d); the previous resource "
                             "requirements were restored" % (job_id, target, fm.params["timeout"], state.get("state"),
                                                             job_parallelism(state)), job_id=job_id)

    return wait_until(lambda: client.job(job_id), lambda state: rescaled(state, target), timed_out=timed_out,
                      clock=Clock(fm.params["timeout"], interval=0.5))[0]


def rescaled(job, target):
    """True when every vertex of ``job`` runs and the job's parallelism is ``target``."""
    return job.get("state") == "RUNNING" and job_parallelism(job) == target and all(
        v.get("status") == "RUNNING" for v in job.get("vertices", []))


def run(fm):
    p = fm.params
    target = p["parallelism"]
    if target < 1:
        raise FlinkOpsError("parallelism must be a positive integer, got %d; nothing was changed" % target)
    check_savepoint_uri(p["target_directory"], p["shared_fs"], "target_directory")
    journal = Journal(p["journal"]) if p["journal"] else None
    pending = journal.claim("scale", p["name"] or p["job_id"], check_mode=fm.check_mode) if journal else None
    try:
        resumed = resume_interrupted(fm, journal, pending, target)
        return resumed if resumed is not None else rescale(fm, journal, target)
    finally:
        if journal and not fm.check_mode and not journal.pending():
            journal.clear()


def resume_interrupted(fm, journal, pending, target):
    """Finish a rescale through a savepoint that a crashed run (its journal) or another run (a job of
    that name stopped with a savepoint a moment ago) left half-way; None when there is none."""
    client = fm.client
    current = find_active_job(client, name=fm.params["name"], job_id=fm.params["job_id"])
    plan = None
    if pending and pending.get("phase") and fm.params["name"] and pending.get("job") == fm.params["name"]:
        plan = plan_resume(client, pending, current, report=fm.report)
        if plan["action"] == "none":
            fm.module.warn("cleared the journal %s of an interrupted scale: %s" % (journal.path, plan["reason"]))
            if not fm.check_mode:
                journal.reset()
            plan = None
    elif current is None and fm.params["name"]:
        found = last_stop_savepoint(client, fm.params["name"])
        if found:
            plan = {"action": "resume", "old_job_id": found[0], "previous_spec": job_spec(client, found[0]),
                    "spec": None, "resume": {"savepoint": found[1], "from_last_savepoint": True}}
    if plan is None:
        return None
    previous = plan["previous_spec"] or {}
    new_spec = plan.get("spec") or dict(previous, parallelism=target)
    result = {"changed": True, "method": "savepoint", "previous_parallelism": previous.get("parallelism"),
              "resumed": plan.get("resume") or {"validation": True},
              "diff": {"before": {"parallelism": previous.get("parallelism")},
                       "after": {"parallelism": new_spec.get("parallelism")}}}
    if plan["action"] == "validate":
        result["job"] = {"id": plan["job_id"], "name": fm.params["name"], "state": current.get("state"),
                         "parallelism": new_spec.get("parallelism")}
        return result
    if not previous.get("jar_id"):
        raise FlinkOpsError("job %s was stopped with savepoint %s but carries no flinkops spec, so it cannot be "
                            "restarted automatically: start it from that savepoint"
                            % (plan["old_job_id"], plan["resume"]["savepoint"]))
    if fm.check_mode:
        result["job"] = {"name": fm.params["name"], "state": "RUNNING", "parallelism": new_spec.get("parallelism")}
        return result
    fm.report("resuming the rescale of %s from savepoint %s" % (fm.params["name"], plan["resume"].get("savepoint")))
    outcome = redeploy_from_savepoint(
        client, plan["old_job_id"], previous, new_spec, target_directory=fm.params["target_directory"],
        # an interrupted rescale resumes from its savepoint: no new one is taken in any format
        format_type="CANONICAL" if fm.params["format_type"] == "auto" else fm.params["format_type"],
        savepoint_timeout=fm.params["savepoint_timeout"],
        start_timeout=fm.params["timeout"], require_checkpoint=fm.params["wait_for_checkpoint"],
        report=fm.report, journal=journal, resume=plan["resume"])
    result.update(savepoint=outcome["savepoint"], previous_job_id=plan["old_job_id"],
                  job={"id": outcome["job_id"], "name": fm.params["name"], "state": "RUNNING",
                       "parallelism": outcome["parallelism"], "restored_from": outcome["restored_from"]})
    return result


def rescale(fm, journal, target):
    p = fm.params
    client = fm.client
    overview = require_active_job(client, name=p["name"], job_id=p["job_id"])
    job = client.job(overview["jid"])
    current = job_parallelism(job)
    view = {"id": overview["jid"], "name": overview["name"], "state": job.get("state"), "parallelism": current}
    result = {"changed": False, "method": "none", "previous_parallelism": current, "job": view}
    if current == target:
        return result
    if job.get("state") != "RUNNING":
        raise FlinkOpsError("job %s is %s: only a RUNNING job can be rescaled" % (overview["jid"], job.get("state")))
    preflight(job, target, p["source_partitions"])

    method = p["method"]
    supported, reason = in_place_support(client)
    if method == "in_place" and not supported:
        raise FlinkOpsError("in-place rescale is not possible: %s; use method=savepoint or auto" % reason)
    if method == "auto":
        method = "in_place" if supported else "savepoint"
        if not supported:
            result["fallback_reason"] = reason
    spec = None
    if method == "savepoint":
        spec = job_spec(client, overview["jid"])
        if not spec or not spec.get("jar_id"):
            raise FlinkOpsError("job %s was not started by flinkops.cookbook.flink_job, so its jar and arguments "
                                "are unknown and it cannot be restarted at a new parallelism; redeploy it with "
                                "flink_job or use an adaptive-scheduler cluster" % overview["jid"])
        check_slots(client, target, current, "parallelism %d" % target)
    else:
        check_slots(client, max(0, target - current), 0, "parallelism %d" % target)

    result.update(changed=True, method=method,
                  diff={"before": {"parallelism": current}, "after": {"parallelism": target}})
    if fm.check_mode:
        result["job"] = dict(view, parallelism=target)
        return result
    if method == "in_place":
        state = rescale_in_place(fm, job, current, target)
        result["job"] = dict(view, state=state.get("state"), parallelism=job_parallelism(state))
    else:
        new_spec = dict(spec, parallelism=target)
        chosen = savepoint_format(client, overview["jid"], new_spec, p["format_type"])
        result["savepoint_format"] = {"format": chosen[0], "reason": chosen[1]}
        outcome = redeploy_from_savepoint(
            client, overview["jid"], spec, new_spec, target_directory=p["target_directory"],
            format_type=chosen[0], savepoint_timeout=p["savepoint_timeout"], start_timeout=p["timeout"],
            require_checkpoint=p["wait_for_checkpoint"], report=fm.report, journal=journal)
        if outcome["concurrent"]:
            fm.module.warn("job %s was rescaled by a concurrent run (new job %s); this run changed nothing"
                           % (overview["name"], outcome["job_id"]))
            result["changed"] = False
            if journal:
                journal.clear()
        result.update(savepoint=outcome["savepoint"], previous_job_id=overview["jid"],
                      job=dict(view, id=outcome["job_id"], state="RUNNING", parallelism=outcome["parallelism"],
                               restored_from=outcome["restored_from"]))
    if not fm.module._diff:
        result.pop("diff", None)
    return result


def main():
    spec = argument_spec(
        name=dict(type="str"), job_id=dict(type="str"), parallelism=dict(type="int", required=True),
        method=dict(type="str", default="auto", choices=["auto", "in_place", "savepoint"]),
        source_partitions=dict(type="int"), target_directory=dict(type="str"),
        shared_fs=dict(type="bool", default=False),
        format_type=dict(type="str", default="auto", choices=["auto", "CANONICAL", "NATIVE"]),
        savepoint_timeout=dict(type="int", default=600), timeout=dict(type="int", default=300),
        wait_for_checkpoint=dict(type="bool", default=True), journal=dict(type="path"))
    fm = FlinkModule(spec, supports_check_mode=True, required_one_of=[("name", "job_id")],
                     mutually_exclusive=[("name", "job_id")])
    fm.run(run)


if __name__ == "__main__":
    main()
