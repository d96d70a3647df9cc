#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: flink_job
short_description: An Apache Flink job as desired state, found by its name
version_added: 0.1.0
description:
  - Keeps a job of a Flink session cluster in the desired state through the JobManager REST API.
  - O(state=running) uploads the jar (re-used when the same content is already uploaded), runs it and
    waits until it is RUNNING with every task running. If a job of that name already runs a different
    spec (jar content, version, entry class, arguments, parallelism or configuration), it is upgraded by a
    stop-with-savepoint, after which the new spec is started from that savepoint in the same module call,
    verified (RUNNING, restored from that savepoint, no exception, a completed checkpoint), and on any
    failure the previous spec is started again from the same savepoint.
  - O(state=stopped) stops the job with a savepoint and returns its location.
  - O(state=cancelled) cancels the job; refused unless a retained checkpoint exists or
    O(allow_state_loss=true).
  - The spec a job was started with is stored in the job itself (in C(pipeline.global-job-parameters)
    under C(flinkops.version) and C(flinkops.spec)), so the running version is read back from Flink
    and the comparison is exact. A job started by other means has no such label and counts as
    different, so the first run upgrades it through a savepoint.
author:
  - flinkops maintainers (@flinkops)
extends_documentation_fragment:
  - flinkops.cookbook.flink
options:
  name:
    description:
      - The job name, as the program names its job (C(env.execute(name))). It is also passed as
        C(pipeline.name) for programs that do not name their job.
      - At most one active job may carry this name.
    type: str
    required: true
  state:
    description: Desired state of the job.
    type: str
    choices: [running, stopped, cancelled]
    default: running
  jar:
    description: Path of the job jar on the controller. With O(state=running), this or O(spec) is required.
    type: path
  spec:
    description:
      - Start exactly the spec a job was started with before (the C(spec) returned by
        M(flinkops.cookbook.flink_job_info)), with its jar already on the cluster. Used to roll back to a
        previous version. Mutually exclusive with O(jar).
    type: dict
  version:
    description: A version label for humans and for the comparison (for example the artifact version).
    type: str
  entry_class:
    description: Main class; when unset, the jar manifest's C(Main-Class) is used.
    type: str
  args:
    description: Program arguments.
    type: list
    elements: str
    default: []
  parallelism:
    description: Job parallelism. Unset means the cluster default and no comparison.
    type: int
  flink_configuration:
    description: Job configuration passed at submission (C(flinkConfiguration)).
    type: dict
    default: {}
  savepoint_path:
    description:
      - Start from this savepoint or retained checkpoint when the job is not running (initial deploy
        or restore). Ignored when the job runs; an upgrade always uses its own fresh savepoint.
    type: str
  allow_non_restored_state:
    description:
      - Let the job start even if some state of the savepoint maps to no operator. That state is
        dropped; the result then says C(state_dropped=possible).
    type: bool
    default: false
  claim_mode:
    description:
      - How the job takes ownership of the savepoint it starts from. C(NO_CLAIM) keeps the savepoint
        untouched so it stays usable for a rollback. Sent as C(claimMode) on Flink 1.20+ and as
        C(restoreMode) before.
    type: str
    choices: [NO_CLAIM, CLAIM, LEGACY]
    default: NO_CLAIM
  target_directory:
    description:
      - Savepoint directory for an upgrade or a stop (absolute URI). When unset, the cluster's
        C(execution.checkpointing.savepoint-dir) is used.
    type: str
  shared_fs:
    description:
      - Accept a C(file://) or bare absolute O(target_directory) or O(savepoint_path). Only true when
        that path is shared by every JobManager and TaskManager (NFS mount, single-host cluster).
    type: bool
    default: false
  format_type:
    description:
      - Savepoint format. C(NATIVE) is faster to write and to restore but cannot switch state backends;
        C(CANONICAL) restores on any state backend.
      - C(auto) chooses for an upgrade C(NATIVE) when the state backend stays the same (the one the running
        job reports against the one the new spec's O(flink_configuration) or else the cluster sets), and
        C(CANONICAL) when it changes or cannot be read; RV(savepoint_format) says which and why. The new job
        starts with C(NO_CLAIM), so the savepoint stays intact for a rollback.
      - A stop (O(state=stopped)) with C(auto) takes a C(CANONICAL) savepoint, since the job may be started
        anywhere from it.
    type: str
    choices: [auto, CANONICAL, NATIVE]
    default: auto
  upgrade_mode:
    description:
      - How an upgrade carries the job's state to the new spec.
      - C(savepoint) stops the job with a savepoint (see O(format_type)) and starts the new spec from it.
      - C(last-state) writes no savepoint. It cancels the job and starts the new spec from the latest
        checkpoint that the cancel retains, verifies that the new job restored from that checkpoint, and on
        a failed start starts the previous spec again from the same checkpoint. This is the Flink
        Kubernetes Operator's C(last-state) mode through the REST API, and it is the fastest for large
        state (see C(bench/README.md)).
      - C(last-state) is refused before anything is touched when the running job's checkpoints are
        not retained on cancel (C(execution.checkpointing.externalized-checkpoint-retention) must be
        C(RETAIN_ON_CANCELLATION)), when it has no completed checkpoint, when the state backend changes, and
        when the Flink version changes. A Flink version change is when the job was started on another Flink
        version than the cluster runs now, or when that version is unknown because the job was not started by
        this collection. Checkpoints are not guaranteed to be restorable across Flink versions or state backends.
        Use C(savepoint) in those cases.
      - The cancelled job's retained checkpoints stay on storage; removing them is up to you. The new job starts
        with C(NO_CLAIM) and never deletes them.
    type: str
    choices: [savepoint, last-state]
    default: savepoint
  drain:
    description:
      - With O(state=stopped), emit MAX_WATERMARK and flush windows before stopping. Only for a job
        that is retired for good; never for a job that will be resumed.
    type: bool
    default: false
  allow_state_loss:
    description: With O(state=cancelled), cancel even when no retained checkpoint keeps the state.
    type: bool
    default: false
  upgrade:
    description: When the running job differs from the desired spec, upgrade it (true) or fail (false).
    type: bool
    default: true
  savepoint_timeout:
    description:
      - Seconds to wait for a savepoint. A timeout leaves the job running and reports the trigger id;
        make it at least C(execution.checkpointing.timeout).
    type: int
    default: 600
  start_timeout:
    description: Seconds to wait for a started job to be RUNNING (and checkpointing, see O(wait_for_checkpoint)).
    type: int
    default: 300
  wait_for_checkpoint:
    description: After a start, also wait for the first completed checkpoint.
    type: bool
    default: true
  journal:
    description:
      - Path of a write-ahead journal on the controller for upgrades. Each step (savepoint trigger id,
        savepoint location, new job id) is recorded before it is taken. Once the new version is verified
        the journal stays in phase C(validate) for the caller's validation window; the caller removes it
        once the upgrade is validated or rolled back. It is removed by the module when the previous
        version runs again after a failed start.
      - The journal names the C(ansible-playbook) run that owns it. Another live run that finds it fails
        at once, naming that run, and changes nothing (a lock on C(<journal>.lock) makes the check atomic).
      - If a run dies at any moment (endpoint unreachable, controller killed), the next run with the same
        journal resumes. It waits for the savepoint already triggered, finds the savepoint of a trigger
        whose answer it never recorded, starts from the savepoint already taken when the old job is gone,
        verifies a job already submitted instead of submitting another, and returns an upgrade whose
        validation window was missed so that the caller validates it again. It never takes a second
        savepoint and never loses the first.
    type: path
  from_last_savepoint:
    description:
      - With O(state=running), when no job of that name is active but the newest ended job of that name
        was stopped with a savepoint (it FINISHED and its last checkpoint is that savepoint), start from
        that savepoint rather than from empty state, and say so. This is what happens when another run
        or an operator stopped the job a moment ago; starting it empty would lose its state.
      - With O(upgrade_mode=last-state), a newest ended job that was CANCELED with a retained checkpoint counts
        the same way, and the job starts from that checkpoint.
      - Ignored when O(savepoint_path) is given. Set to V(false) to start empty on purpose.
    type: bool
    default: true
  start_if_absent:
    description:
      - With O(state=running), start the job when no job of that name runs and no ended one left a stop savepoint
        (or, with O(upgrade_mode=last-state), a retained checkpoint) to start from.
      - Set to V(false) where the job is known to run, as C(upgrade_job.yml) does after its preconditions. A job that
        is gone by the time of the call was then stopped or cancelled by someone else, and starting it from empty
        state would lose its state; the module fails instead, and starts nothing.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: Reports what would change; uploads, submits and stops nothing.
  diff_mode:
    support: full
    description: Shows the job's state, version and spec before and after.
notes:
  - Idempotent. A second run with the same options reports C(changed=false).
  - Job ids and savepoint trigger ids are chosen by the module, so a retried request cannot start a
    second job or take a second savepoint.
"""

EXAMPLES = r"""
- name: Deploy or upgrade a job, state kept through a savepoint
  flinkops.cookbook.flink_job:
    endpoint: https://flink.example.com
    name: orders-enrichment
    jar: artifacts/orders-enrichment-1.4.2.jar
    version: 1.4.2
    args: [--topic, orders]
    parallelism: 4
    target_directory: s3://flink-state/savepoints/orders-enrichment

- name: Stop it with a savepoint
  flinkops.cookbook.flink_job:
    endpoint: https://flink.example.com
    name: orders-enrichment
    state: stopped
  register: stopped

- name: Start it again from that savepoint
  flinkops.cookbook.flink_job:
    endpoint: https://flink.example.com
    name: orders-enrichment
    jar: artifacts/orders-enrichment-1.4.2.jar
    version: 1.4.2
    savepoint_path: "{{ stopped.savepoint.location }}"
"""

RETURN = r"""
job:
  description: The job after the run (null when it no longer runs).
  returned: always
  type: dict
  contains:
    id:
      description: Job id.
      type: str
    name:
      description: Job name.
      type: str
    state:
      description: Job state.
      type: str
    version:
      description: The version label.
      type: str
    parallelism:
      description: Largest vertex parallelism.
      type: int
    restored_from:
      description: The savepoint or checkpoint the job restored from, as Flink reports it.
      type: str
outcome:
  description: What was done, one of C(none), C(deployed), C(upgraded), C(stopped), C(cancelled).
  returned: always
  type: str
  sample: upgraded
savepoint_format:
  description:
    - For an upgrade, the savepoint format chosen (C(format), C(NATIVE) or C(CANONICAL)) and why (C(reason)); C(format)
      is null when the upgrade resumes from the savepoint an earlier run took.
  returned: when an upgrade is planned or done
  type: dict
  sample: {format: NATIVE, reason: "the state backend stays EmbeddedRocksDBStateBackend: NATIVE, faster to write and to restore"}
savepoint:
  description: The savepoint taken for an upgrade or a stop (location, trigger id, duration, progress).
  returned: when a savepoint was taken
  type: dict
  sample: {location: "s3://flink-state/savepoints/savepoint-5e1f3a-8d1c2d4e1b2a", trigger_id: 3f0e...}
checkpoint:
  description: For a last-state upgrade, the retained checkpoint the new spec started from (location, id, the job
    that took it, and the seconds from the cancel to reading it).
  returned: when a last-state upgrade is done
  type: dict
  sample: {location: "s3://flink-state/checkpoints/8d1c2d4e1b2a/chk-42", id: 42, job_id: 8d1c2d4e1b2a...}
restore_point:
  description:
    - What an upgrade restores the new spec from, and a rollback the previous one. C(kind) is C(savepoint) or
      C(checkpoint). C(location) is the path, C(id) is the savepoint trigger id or C(chk-N), and C(reason)
      says why this kind was used.
  returned: when an upgrade is done (not in check mode)
  type: dict
  sample: {kind: checkpoint, location: "s3://flink-state/checkpoints/8d1c2d4e1b2a/chk-42", id: chk-42,
           reason: "upgrade_mode=last-state: the latest retained checkpoint, no savepoint written"}
previous_job_id:
  description: The job id the upgrade replaced.
  returned: when upgraded
  type: str
previous_spec:
  description: The spec the replaced job ran (for a rollback with O(spec)).
  returned: when upgraded
  type: dict
resumed:
  description:
    - How an interrupted upgrade recorded in O(journal) was resumed (C(trigger_id), C(savepoint), C(new_job_id) with
      C(submitted), or C(validation) when only the validation window was missed), or C(from_last_savepoint) when
      the job was started from the savepoint its stopped predecessor left, or C(from_last_checkpoint) when, with
      O(upgrade_mode=last-state), it was started from the retained checkpoint of its cancelled predecessor (a
      concurrent last-state upgrade between its cancel and its submission).
  returned: when an upgrade was resumed
  type: dict
concurrent:
  description: True when a concurrent run (same fenced savepoint trigger and job id) did the change; this run
    changed nothing and says so in a warning.
  returned: when another run did the change
  type: bool
jar_id:
  description: The id of the uploaded jar on the cluster.
  returned: with state=running
  type: str
jar_uploaded:
  description: Whether the jar was uploaded in this run (false when the same content was there).
  returned: with state=running
  type: bool
state_dropped:
  description: C(possible) when O(allow_non_restored_state=true) was used.
  returned: when a job was started
  type: str
last_checkpoint:
  description: The latest retained checkpoint path of a cancelled job.
  returned: with state=cancelled
  type: str
rolled_back:
  description: On a failed upgrade, whether and how the previous version was restarted.
  returned: on failure
  type: dict
progress:
  description: Progress seen during long waits (savepoint subtasks and bytes, job states).
  returned: when there was a wait
  type: list
  elements: str
"""

import os

from ansible_collections.flinkops.cookbook.plugins.module_utils.flink_module import FlinkModule, argument_spec
from ansible_collections.flinkops.cookbook.plugins.module_utils._http import HttpError
from ansible_collections.flinkops.cookbook.plugins.module_utils._journal import Journal, describe_run
from ansible_collections.flinkops.cookbook.plugins.module_utils.flink_ops import (
    FlinkOpsError, cancel_and_wait, check_savepoint_uri, check_slots, duplicate_submission, ensure_jar, fenced_id,
    file_sha256, find_active_job, jar_display_name, job_parallelism, job_spec, last_stop_savepoint, plan_resume,
    last_cancel_checkpoint, last_state_refusal, redeploy_from_checkpoint, redeploy_from_savepoint, savepoint_format,
    spec_digest, submit_job, take_savepoint, wait_running)
from ansible_collections.flinkops.cookbook.plugins.module_utils.flink_rest import TERMINAL_STATES

COMPARED = ("jar_sha256", "version", "entry_class", "args", "parallelism", "flink_configuration")


def desired_spec(client, params):
    if params["spec"]:
        spec = dict(params["spec"], name=params["name"])
        known = [j.get("id") for j in client.jars()]
        if spec.get("jar_id") not in known:
            raise FlinkOpsError("jar %s of the recorded spec is no longer uploaded on %s"
                                % (spec.get("jar_id"), client.http.base_url), jar_id=spec.get("jar_id"))
        return spec
    jar = params["jar"]
    sha = file_sha256(jar)
    conf = dict(params["flink_configuration"] or {})
    conf.setdefault("pipeline.name", params["name"])
    return {"name": params["name"], "version": params["version"], "jar_sha256": sha,
            "jar_name": jar_display_name(jar, sha), "entry_class": params["entry_class"],
            "args": list(params["args"] or []), "parallelism": params["parallelism"],
            "flink_configuration": conf}


def differences(current, desired):
    """The compared keys whose desired value (when set) differs from the running spec."""
    if current is None:
        return ["(job not started by flinkops: version unknown)"]
    out = []
    for key in COMPARED:
        want = desired.get(key)
        if want in (None, [], {}) and key not in ("args",):
            continue
        if current.get(key) != want:
            out.append(key)
    return out


def view(job, spec, restored=None):
    if job is None:
        return {"state": "absent"}
    out = {"id": job.get("jid") or job.get("id") or job.get("job_id"), "name": job.get("name"),
           "state": job.get("state")}
    if spec:
        out.update(dict((k, spec.get(k)) for k in ("version", "jar_name", "entry_class", "args", "parallelism")))
    if restored:
        out["restored_from"] = restored
    return out


def ensure_running(fm, current):
    p = fm.params
    if p["jar"] and not os.path.isfile(p["jar"]):
        raise FlinkOpsError("jar %s does not exist on the controller" % p["jar"], jar=p["jar"])
    if p["parallelism"] is not None and p["parallelism"] < 1:
        raise FlinkOpsError("parallelism must be a positive integer, got %s" % p["parallelism"])
    check_savepoint_uri(p["target_directory"], p["shared_fs"], "target_directory")
    check_savepoint_uri(p["savepoint_path"], p["shared_fs"], "savepoint_path")
    journal = Journal(p["journal"]) if p["journal"] else None
    if journal:
        pending = journal.claim("upgrade", p["name"], check_mode=fm.check_mode)
    try:
        return _ensure_running(fm, current, journal, pending if journal else None)
    finally:
        # A claim that recorded no step is released; a recorded step stays for the next run
        # (or, in phase validate, for the playbook's validation window).
        if journal and not fm.check_mode and not journal.pending():
            journal.clear()


def _ensure_running(fm, current, journal, pending):
    p = fm.params
    client = fm.client
    desired = desired_spec(client, p)
    current_spec = job_spec(client, current["jid"]) if current else None
    if current_spec is not None:
        # Compare with the parallelism the job runs at now: it may have been rescaled in place.
        current_spec["parallelism"] = job_parallelism(client.job(current["jid"]))
    result = {"changed": False, "outcome": "none"}
    plan = resume_plan(fm, journal, pending, current)
    if plan and plan["action"] == "validate":
        # Verified by the interrupted run, whose validation window was missed: validate again.
        kind = "checkpoint" if plan.get("mode") == "last-state" else "savepoint"
        point = {"location": plan["savepoint"], "trigger_id": plan["trigger_id"]} if kind == "savepoint" \
            else {"location": plan["savepoint"], "job_id": plan["old_job_id"]}
        result.update({kind: point})
        result.update(changed=True, outcome="upgraded", resumed={"validation": True}, upgrade_mode=plan.get("mode"),
                      restore_point={"kind": kind, "location": plan["savepoint"], "id": plan["trigger_id"],
                                     "reason": "the %s of an interrupted upgrade, validated again" % kind},
                      previous_job_id=plan["old_job_id"], previous_spec=plan["previous_spec"],
                      differences=["(validating an interrupted upgrade)"],
                      job=dict(view(current, current_spec), id=plan["job_id"]),
                      jar_id=(current_spec or {}).get("jar_id"), jar_uploaded=False)
        return result
    resume = plan["resume"] if plan else None
    if current is None and not resume and not p["savepoint_path"] and p["from_last_savepoint"]:
        plan = plan_from_last_savepoint(fm)
        resume = plan["resume"] if plan else None
    if resume:
        result["resumed"] = resume
        current, current_spec = None, plan["previous_spec"]
    diff_keys = differences(current_spec, desired) if current else ["(resuming an interrupted upgrade)"] if resume else None
    before = view(current, current_spec)

    if current and not diff_keys:
        result.update(job=before, jar_id=current_spec.get("jar_id"), jar_uploaded=False)
        return result
    if current and not p["upgrade"]:
        raise FlinkOpsError("job %s (%s) differs from the desired spec in %s and upgrade=false"
                            % (p["name"], current["jid"], ", ".join(diff_keys)), differences=diff_keys)

    # Preflight: everything that can fail happens before the running job is touched.
    needed = desired["parallelism"] or int(client.jobmanager_config().get("parallelism.default") or 1)
    freed = job_parallelism(client.job(current["jid"])) if current else 0
    if not (resume and resume.get("submitted")):
        check_slots(client, needed, freed, "job %s" % p["name"])
    if p["spec"]:
        jar_id, uploaded = desired["jar_id"], False
    else:
        jar_id, uploaded = ensure_jar(client, p["jar"], desired["jar_sha256"], check_mode=fm.check_mode)
        desired["jar_id"] = jar_id
    after = dict(view(current or {"name": p["name"]}, desired), state="RUNNING")
    result.update(changed=True, jar_id=jar_id, jar_uploaded=uploaded,
                  diff={"before": before, "after": after})
    if p["allow_non_restored_state"]:
        result["state_dropped"] = "possible"

    if current is None and not resume and not p["start_if_absent"]:
        raise FlinkOpsError(
            "no job %s runs any more, and no ended job of that name left a stop savepoint%s to start from: another run "
            "or an operator stopped or cancelled it after this run looked. Nothing was started; find where its state "
            "is (restore_state.yml) before starting it" % (
                p["name"], " or a retained checkpoint" if p["upgrade_mode"] == "last-state" else ""))
    if current is None and not resume:
        result["outcome"] = "deployed"
        if fm.check_mode:
            result["job"] = after
            return result
        job_id, concurrent, started = deploy(fm, desired)
        result["job"] = dict(after, id=job_id, restored_from=started["restored_from"],
                             parallelism=started["parallelism"])
        if concurrent:
            fm.module.warn("job %s was deployed by a concurrent run as %s; this run changed nothing"
                           % (p["name"], job_id))
            result.update(changed=False, outcome="none", concurrent=True)
        return result

    old_job_id = current["jid"] if current else plan["old_job_id"]
    result.update(outcome="upgraded", differences=diff_keys, previous_job_id=old_job_id, previous_spec=current_spec)
    # An interrupted upgrade is finished the way it started, whatever upgrade_mode says now.
    last_state = (plan.get("mode") == "last-state") if resume else p["upgrade_mode"] == "last-state"
    if last_state and not resume:
        refusal = last_state_refusal(client, old_job_id, current_spec, desired)
        if refusal:
            raise FlinkOpsError("refusing the last-state upgrade of job %s (%s): %s. Nothing was changed; upgrade it "
                                "with upgrade_mode=savepoint" % (p["name"], old_job_id, refusal),
                                job_id=old_job_id, differences=diff_keys)
    if last_state:
        result["upgrade_mode"] = "last-state"
        reason = "upgrade_mode=last-state: the latest retained checkpoint, no savepoint written"
    elif resume and resume.get("savepoint"):
        chosen = (None, "the savepoint an earlier run took: %s" % resume["savepoint"])
    else:
        chosen = savepoint_format(client, old_job_id, desired, p["format_type"])
    if not last_state:
        result.update(upgrade_mode="savepoint", savepoint_format={"format": chosen[0], "reason": chosen[1]})
    if fm.check_mode:
        result["job"] = after
        return result
    if current_spec is None or not current_spec.get("jar_id"):
        fm.module.warn("job %s was not started by flinkops: if the new version fails, it cannot be "
                       "restarted automatically (its savepoint will be reported)" % old_job_id)
    new_spec = plan["spec"] if resume and resume.get("submitted") and plan.get("spec") else desired
    common = dict(start_timeout=p["start_timeout"], require_checkpoint=p["wait_for_checkpoint"],
                  allow_non_restored_state=p["allow_non_restored_state"], report=fm.report, journal=journal,
                  resume=resume)
    if last_state:
        outcome = redeploy_from_checkpoint(client, old_job_id, current_spec, new_spec, **common)
        point = outcome["checkpoint"]
        result.update(checkpoint=point, restore_point={
            "kind": "checkpoint", "location": point["location"], "reason": reason,
            "id": "chk-%s" % point["id"] if point.get("id") is not None else None})
    else:
        outcome = redeploy_from_savepoint(
            client, old_job_id, current_spec, new_spec, target_directory=p["target_directory"],
            format_type=chosen[0] or "CANONICAL", savepoint_timeout=p["savepoint_timeout"], **common)
        point = outcome["savepoint"]
        result.update(savepoint=point, restore_point={"kind": "savepoint", "location": point["location"],
                                                      "id": point.get("trigger_id"), "reason": chosen[1]})
    result.update(job=dict(after, id=outcome["job_id"], restored_from=outcome["restored_from"],
                           parallelism=outcome["parallelism"]))
    if outcome["concurrent"]:
        fm.module.warn("job %s was upgraded by a concurrent run (%s %s, new job %s); this run changed nothing"
                       % (p["name"], result["restore_point"]["kind"], point["location"], outcome["job_id"]))
        result.update(changed=False, outcome="none", concurrent=True)
        if journal:
            journal.clear()
    return result


def deploy(fm, desired):
    """Start ``desired`` under a fenced job id; ``(job_id, concurrent, wait_running result)``.

    The id is derived from the name, the spec, the start savepoint and the ids of the
    terminated jobs of that name, so two runs deploying the same job at the same time
    submit one id and Flink starts one job; the other run is told it was concurrent.
    """
    p, client = fm.params, fm.client
    ended = sorted(j.get("jid") for j in client.jobs_overview()
                   if j.get("name") == p["name"] and j.get("state") in TERMINAL_STATES)
    for salt in range(8):
        job_id = fenced_id("deploy", p["name"], spec_digest(desired), p["savepoint_path"], ended, salt)
        try:
            job_id, concurrent = submit_job(client, desired, savepoint_path=p["savepoint_path"],
                                            allow_non_restored_state=p["allow_non_restored_state"],
                                            claim_mode=p["claim_mode"], job_id=job_id)
            break
        except HttpError as exc:
            # Refused as a duplicate of an id no longer listed (an old job past jobstore.expiration-time):
            # take the next id of the same sequence, which a concurrent run would take as well.
            if not duplicate_submission(exc):
                raise
    else:
        raise FlinkOpsError("job %s: Flink refused 8 fenced job ids as duplicates; nothing was started" % p["name"])
    started = wait_running(client, job_id, p["start_timeout"], expected_restore=p["savepoint_path"],
                           require_checkpoint=p["wait_for_checkpoint"], report=fm.report)
    return job_id, concurrent, started


def plan_from_last_savepoint(fm):
    """No job of that name runs, but the newest one was stopped with a savepoint: start from it.

    With upgrade_mode=last-state, a newest job CANCELED with a retained checkpoint is the same case:
    another run's last-state upgrade is between its cancel and its submission. Start from that
    checkpoint, under the job id that run submits, so the two runs make one job."""
    if fm.params["upgrade_mode"] == "last-state":
        cancelled = last_cancel_checkpoint(fm.client, fm.params["name"])
        if cancelled:
            old_job_id, location = cancelled
            fm.report("no job %s runs, but job %s was cancelled with retained checkpoint %s: starting from it "
                      "(last-state), not from empty state" % (fm.params["name"], old_job_id, location))
            return {"action": "resume", "old_job_id": old_job_id, "previous_spec": job_spec(fm.client, old_job_id),
                    "spec": None, "mode": "last-state",
                    "resume": {"savepoint": location, "from_last_checkpoint": True}}
    found = last_stop_savepoint(fm.client, fm.params["name"])
    if not found:
        return None
    old_job_id, location = found
    fm.report("no job %s runs, but job %s was stopped with savepoint %s: starting from it, not from empty state"
              % (fm.params["name"], old_job_id, location))
    return {"action": "resume", "old_job_id": old_job_id, "previous_spec": job_spec(fm.client, old_job_id),
            "spec": None, "resume": {"savepoint": location, "from_last_savepoint": True}}


def resume_plan(fm, journal, pending, current):
    """What the journal a previous run left asks for (``flink_ops.plan_resume``), or None."""
    if not journal or not pending or not pending.get("phase") or pending.get("job") != fm.params["name"]:
        return None
    plan = plan_resume(fm.client, pending, current, report=fm.report)
    if plan["action"] == "none":
        fm.module.warn("cleared the journal %s of an interrupted %s: %s"
                       % (journal.path, pending.get("operation") or "operation", plan["reason"]))
        if not fm.check_mode:
            journal.reset()
        return None
    fm.report("resuming the interrupted %s of %s left by %s: %s"
              % (pending.get("operation") or "operation", fm.params["name"],
                 describe_run(pending.get("owner") or {}), plan.get("resume") or plan["action"]))
    return plan


def ensure_stopped(fm, current):
    p = fm.params
    check_savepoint_uri(p["target_directory"], p["shared_fs"], "target_directory")
    if current is None:
        return {"changed": False, "outcome": "none", "job": None}
    spec = job_spec(fm.client, current["jid"])
    result = {"changed": True, "outcome": "stopped", "diff": {"before": view(current, spec), "after": {"state": "absent"}}}
    if fm.check_mode:
        result["job"] = None
        return result
    # Fenced: a concurrent stop of the same job joins this one's trigger instead of failing on a stopping job.
    # auto: a stopped job may be started on any state backend from its savepoint
    format_type = "CANONICAL" if p["format_type"] == "auto" else p["format_type"]
    result["savepoint"] = take_savepoint(fm.client, current["jid"], p["target_directory"], format_type,
                                         p["savepoint_timeout"], stop=True, drain=p["drain"], report=fm.report,
                                         fence=("stop", p["target_directory"], format_type, p["drain"]))
    result["job"] = None
    result["previous_job_id"] = current["jid"]
    return result


def ensure_cancelled(fm, current):
    if current is None:
        return {"changed": False, "outcome": "none", "job": None}
    client = fm.client
    job_id = current["jid"]
    conf = client.job_checkpoint_config(job_id) or {}
    ext = conf.get("externalization") or {}
    latest = ((client.job_checkpoints(job_id) or {}).get("latest") or {}).get("completed") or {}
    retained = bool(ext.get("enabled")) and not ext.get("delete_on_cancellation") and latest.get("external_path")
    if not retained and not fm.params["allow_state_loss"]:
        raise FlinkOpsError(
            "refusing to cancel job %s (%s): no retained checkpoint would keep its state (externalized=%s, "
            "delete_on_cancellation=%s, latest completed checkpoint=%s). Use state=stopped to keep the state "
            "in a savepoint, or set allow_state_loss=true." % (
                job_id, fm.params["name"], ext.get("enabled"), ext.get("delete_on_cancellation"),
                latest.get("external_path")), job_id=job_id)
    result = {"changed": True, "outcome": "cancelled", "last_checkpoint": latest.get("external_path") if retained else None,
              "diff": {"before": view(current, job_spec(client, job_id)), "after": {"state": "absent"}},
              "job": None, "previous_job_id": job_id}
    if not fm.check_mode:
        cancel_and_wait(client, job_id)
    return result


def run(fm):
    current = find_active_job(fm.client, name=fm.params["name"])
    handler = {"running": ensure_running, "stopped": ensure_stopped, "cancelled": ensure_cancelled}
    result = handler[fm.params["state"]](fm, current)
    if not fm.module._diff:
        result.pop("diff", None)
    return result


def main():
    spec = argument_spec(
        name=dict(type="str", required=True),
        state=dict(type="str", default="running", choices=["running", "stopped", "cancelled"]),
        jar=dict(type="path"),
        spec=dict(type="dict"),
        version=dict(type="str"),
        entry_class=dict(type="str"),
        args=dict(type="list", elements="str", default=[]),
        parallelism=dict(type="int"),
        flink_configuration=dict(type="dict", default={}),
        savepoint_path=dict(type="str"),
        allow_non_restored_state=dict(type="bool", default=False),
        claim_mode=dict(type="str", default="NO_CLAIM", choices=["NO_CLAIM", "CLAIM", "LEGACY"]),
        target_directory=dict(type="str"),
        shared_fs=dict(type="bool", default=False),
        format_type=dict(type="str", default="auto", choices=["auto", "CANONICAL", "NATIVE"]),
        upgrade_mode=dict(type="str", default="savepoint", choices=["savepoint", "last-state"]),
        drain=dict(type="bool", default=False),
        allow_state_loss=dict(type="bool", default=False),
        upgrade=dict(type="bool", default=True),
        savepoint_timeout=dict(type="int", default=600),
        start_timeout=dict(type="int", default=300),
        wait_for_checkpoint=dict(type="bool", default=True),
        journal=dict(type="path"),
        from_last_savepoint=dict(type="bool", default=True),
        start_if_absent=dict(type="bool", default=True),
    )
    fm = FlinkModule(spec, supports_check_mode=True, required_if=[("state", "running", ("jar", "spec"), True)],
                     mutually_exclusive=[("jar", "spec")])
    fm.run(run)


if __name__ == "__main__":
    main()
