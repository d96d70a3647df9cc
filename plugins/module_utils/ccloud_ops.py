# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""FOR INTERNAL COLLECTION USE ONLY.

The rules of Confluent Cloud for Flink objects, on ``ccloud_sql_rest.StatementClient`` and
``ccloud_rest.ComputePoolClient``: desired state for statements and compute pools, their waits
(``_wait.wait_until``), and Confluent's documented path for a change of SQL.

Statements (``sql/v1``):
* ``spec.statement`` and ``spec.principal`` are immutable, and so, in practice, are the
  properties a statement started with: a different SQL under the same name is refused early
  (nothing changed), naming the way that works: a new statement that ``replaces`` the old one;
* a replacement follows Confluent's "carry-over offsets" path when the old statement is
  stateless (``status.traits.is_append_only`` and not an upsert, as the service reports): the new
  statement gets ``sql.tables.initial-offset-from: <old>``, then the old one is stopped; the new
  one starts where the old one stopped. Otherwise (stateful, or ``carry_over_offsets=false``)
  the old statement is stopped first (wait STOPPED), then the new one is created: its state is
  rebuilt from its sources' startup offsets. The result names the path taken (``path``);
* the waits: RUNNING or COMPLETED for ``running``, STOPPED for ``stopped``; FAILED, FAILING and
  (unless allowed) DEGRADED end the wait with the statement's exceptions.

Compute pools (``fcpm/v2``): by id or display name in the environment; create, change
``max_cfu`` / ``display_name`` (PATCH), delete; wait until PROVISIONED.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.flinkops.cookbook.plugins.module_utils._errors import ConfluentError, ConfluentTimeout
from ansible_collections.flinkops.cookbook.plugins.module_utils._wait import wait_until

CARRY_OVER = "sql.tables.initial-offset-from"
FAILED_PHASES = ("FAILED", "FAILING")
POLL_INTERVAL = 0.5  # first poll interval of the waits (grows to 5 s)


def phase(statement):
    return ((statement or {}).get("status") or {}).get("phase")


def statement_view(statement):
    if statement is None:
        return None
    spec = statement.get("spec") or {}
    status = statement.get("status") or {}
    return {
        "name": statement.get("name"),
        "statement": spec.get("statement"),
        "compute_pool_id": spec.get("compute_pool_id"),
        "principal": spec.get("principal"),
        "properties": spec.get("properties") or {},
        "stopped": bool(spec.get("stopped")),
        "phase": status.get("phase"),
        "detail": status.get("detail"),
        "latest_offsets": status.get("latest_offsets"),
        "is_append_only": (status.get("traits") or {}).get("is_append_only"),
    }


def exceptions_of(client, name):
    return [{"name": e.get("name"), "timestamp": e.get("timestamp"), "message": e.get("message")}
            for e in client.exceptions(name)]


def is_stateless(statement):
    traits = ((statement or {}).get("status") or {}).get("traits") or {}
    return bool(traits.get("is_append_only")) and not traits.get("upsert_columns")


def wait_statement(client, name, want, timeout, report=None, allow_degraded=False, interval=None):
    """Wait until the statement is in a phase of ``want`` (running: RUNNING/COMPLETED; stopped:
    STOPPED; absent: gone). A failure carries the statement's exceptions."""
    targets = {"running": ("RUNNING", "COMPLETED"), "stopped": ("STOPPED",)}.get(want)
    bad = FAILED_PHASES + (() if allow_degraded or want != "running" else ("DEGRADED",))

    def failed(obj, seen):
        if obj is not None and phase(obj) in bad and want != "absent":
            found = exceptions_of(client, name)
            text = " | ".join((e.get("message") or "").strip().splitlines()[0] for e in found[:3] if e.get("message"))
            detail = (obj.get("status") or {}).get("detail")
            return ConfluentError("statement %s is %s%s%s" % (
                name, phase(obj), (": %s" % detail) if detail else "", ("; exceptions: %s" % text) if text else ""),
                exceptions=found, statement=statement_view(obj), phase=phase(obj))
        return None

    def done(obj):
        if want == "absent":
            return obj is None and {"gone": True}
        return obj is not None and phase(obj) in targets

    def timed_out(obj, seen):
        return ConfluentTimeout("statement %s did not reach %s within %ss (phases seen: %s)" % (
            name, want, timeout, " -> ".join(seen)), phase=phase(obj))

    value, _seen = wait_until(lambda: client.get_statement(name), done, failed=failed, timeout=timeout,
                              what="statement %s" % name, state=lambda o: phase(o) or "absent", report=report,
                              timed_out=timed_out, interval=interval or POLL_INTERVAL, max_interval=5)
    return None if want == "absent" else value


def _put(client, current, stopped, compute_pool_id=None):
    """Stop or resume (and move) a statement: a JSON Patch of its spec."""
    # the contract's JsonPatchRequestAddReplace spells the operations in capitals
    ops = []
    if compute_pool_id:
        ops.append({"op": "REPLACE", "path": "/spec/compute_pool_id", "value": compute_pool_id})
    ops.append({"op": "REPLACE", "path": "/spec/stopped", "value": bool(stopped)})
    return client.patch_statement(current["name"], ops)


def desired_statement(p, extra_properties=None):
    spec = {"statement": p["statement"], "stopped": p["state"] == "stopped"}
    if p.get("compute_pool_id"):
        spec["compute_pool_id"] = p["compute_pool_id"]
    if p.get("principal"):
        spec["principal"] = p["principal"]
    props = dict((k, str(v)) for k, v in (p.get("properties") or {}).items())
    props.update(extra_properties or {})
    if props:
        spec["properties"] = props
    return {"name": p["name"], "spec": spec}


def ensure_statement(client, p, check_mode=False, report=None):
    """Converge one statement; the module result."""
    name, state = p["name"], p["state"]
    timeout = p.get("wait_timeout", 300)
    wait = p.get("wait", True)
    allow_degraded = p.get("allow_degraded", False)
    current = client.get_statement(name)
    result = {"changed": False, "path": "none", "name": name}
    if state == "absent":
        if current is None:
            result.update(statement=None, phase=None)
            return result
        result.update(changed=True, path="deleted", diff={"before": statement_view(current), "after": None})
        if not check_mode:
            client.delete_statement(name)
            if wait:
                wait_statement(client, name, "absent", timeout, report)
        result.update(statement=None, phase=None)
        return result
    if current is not None:
        return _update_existing(client, p, current, result, check_mode, report)
    if not p.get("statement"):
        raise ConfluentError("statement %s does not exist: its SQL (statement) is required to create it" % name)
    old = client.get_statement(p["replaces"]) if p.get("replaces") else None
    extra = {}
    path = "created"
    if old is not None:
        carry = p.get("carry_over_offsets", True) and is_stateless(old) and phase(old) not in FAILED_PHASES
        path = "carry_over_offsets" if carry else "stop_then_create"
        if carry:
            extra[CARRY_OVER] = p["replaces"]
    body = desired_statement(p, extra)
    result.update(changed=True, path=path, replaced=p.get("replaces") if old is not None else None,
                  diff={"before": statement_view(old), "after": statement_view(body)})
    if check_mode:
        result.update(statement=body, phase=None)
        return result
    old_running = old is not None and not (old.get("spec") or {}).get("stopped")
    if path == "stop_then_create" and old_running:
        _put(client, old, True)
        wait_statement(client, p["replaces"], "stopped", timeout, report)
    client.create_statement(body)
    if path == "carry_over_offsets" and old_running:
        # the new statement waits for the old one to stop, then starts from its offsets
        _put(client, old, True)
    after = (wait_statement(client, name, state, timeout, report, allow_degraded) if wait
             else client.get_statement(name))
    result.update(statement=after, phase=phase(after))
    return result


def _update_existing(client, p, current, result, check_mode, report):
    name, state = p["name"], p["state"]
    spec = current.get("spec") or {}
    immutable = []
    if p.get("statement") and p["statement"].strip() != (spec.get("statement") or "").strip():
        immutable.append("statement")
    if p.get("principal") and p["principal"] != spec.get("principal"):
        immutable.append("principal")
    if p.get("properties") is not None:
        have = spec.get("properties") or {}
        for key, value in p["properties"].items():
            if have.get(key) != str(value):
                immutable.append("properties.%s" % key)
    if immutable:
        raise ConfluentError(
            "statement %s: Confluent Cloud cannot change %s of an existing statement; give the new version a new "
            "name and set replaces: %s (carry-over offsets when it is stateless, else stop then create); nothing was "
            "changed" % (name, ", ".join(immutable), name), differences=immutable)
    pool_change = bool(p.get("compute_pool_id")) and p["compute_pool_id"] != spec.get("compute_pool_id")
    stopped_now = bool(spec.get("stopped"))
    now = phase(current)
    want_stopped = state == "stopped"
    if not pool_change and stopped_now == want_stopped and not (state == "running" and now in FAILED_PHASES):
        result.update(statement=current, phase=now)
        if state == "running" and now == "DEGRADED" and not p.get("allow_degraded", False):
            wait_statement(client, name, "running", 0, report)
        return result
    path = "stopped" if want_stopped else "resumed"
    if pool_change:
        path = "moved_compute_pool"
    before = statement_view(current)
    after_view = copy.deepcopy(before)
    after_view["stopped"] = want_stopped
    if pool_change:
        after_view["compute_pool_id"] = p["compute_pool_id"]
    result.update(changed=True, path=path, diff={"before": before, "after": after_view})
    if check_mode:
        result.update(statement=current, phase=now)
        return result
    timeout = p.get("wait_timeout", 300)
    if pool_change and not stopped_now:
        # a statement moves to another pool while stopped: stop, move, then the wanted state
        _put(client, current, True)
        current = wait_statement(client, name, "stopped", timeout, report)
    _put(client, current, want_stopped, p.get("compute_pool_id") if pool_change else None)
    after = (wait_statement(client, name, state, timeout, report, p.get("allow_degraded", False))
             if p.get("wait", True) else client.get_statement(name))
    result.update(statement=after, phase=phase(after))
    return result


# -- compute pools -------------------------------------------------------------------------------
def pool_view(pool):
    if pool is None:
        return None
    spec = pool.get("spec") or {}
    status = pool.get("status") or {}
    return {"id": pool.get("id"), "display_name": spec.get("display_name"), "cloud": spec.get("cloud"),
            "region": spec.get("region"), "max_cfu": spec.get("max_cfu"), "phase": status.get("phase"),
            "current_cfu": status.get("current_cfu")}


def wait_pool(client, pool_id, timeout, report=None, interval=None):
    def failed(obj, seen):
        if obj is not None and (obj.get("status") or {}).get("phase") == "FAILED":
            return ConfluentError("compute pool %s is FAILED" % pool_id, pool=pool_view(obj))
        return None

    def timed_out(obj, seen):
        return ConfluentTimeout("compute pool %s did not reach PROVISIONED within %ss (phases seen: %s)" % (
            pool_id, timeout, " -> ".join(seen)))

    return wait_until(lambda: client.get_pool(pool_id),
                      lambda o: o is not None and (o.get("status") or {}).get("phase") == "PROVISIONED",
                      failed=failed, timeout=timeout, what="compute pool %s" % pool_id,
                      state=lambda o: ((o or {}).get("status") or {}).get("phase") or "absent", report=report,
                      timed_out=timed_out, interval=interval or POLL_INTERVAL, max_interval=5)[0]


def ensure_pool(client, p, check_mode=False, report=None):
    current = client.get_pool(p["pool_id"]) if p.get("pool_id") else (
        client.find_pool(p["display_name"]) if p.get("display_name") else None)
    if p.get("pool_id") and current is None and p["state"] == "present":
        raise ConfluentError("compute pool %s does not exist in environment %s (a pool is created by display_name, "
                             "its id is chosen by Confluent Cloud)" % (p["pool_id"], client.environment_id))
    result = {"changed": False, "outcome": "none"}
    timeout = p.get("wait_timeout", 600)
    if p["state"] == "absent":
        if current is None:
            result["pool"] = None
            return result
        result.update(changed=True, outcome="deleted", diff={"before": pool_view(current), "after": None})
        if not check_mode:
            client.delete_pool(current["id"])
        result["pool"] = None
        return result
    if current is None:
        missing = [k for k in ("display_name", "cloud", "region", "max_cfu") if not p.get(k)]
        if missing:
            raise ConfluentError("compute pool %s does not exist in environment %s: %s required to create it" % (
                p.get("display_name"), client.environment_id, ", ".join(missing)))
        spec = {"display_name": p["display_name"], "cloud": p["cloud"], "region": p["region"],
                "max_cfu": p["max_cfu"]}
        result.update(changed=True, outcome="created", diff={"before": None, "after": dict(spec, phase="PROVISIONED")})
        if check_mode:
            result["pool"] = dict(spec, id=None, phase=None)
            return result
        created = client.create_pool(spec)
        pool_id = created.get("id")
    else:
        spec_now = current.get("spec") or {}
        for key in ("cloud", "region"):
            if p.get(key) and p[key] != spec_now.get(key):
                raise ConfluentError("compute pool %s: %s cannot change (%s -> %s); nothing was changed" % (
                    current.get("id"), key, spec_now.get(key), p[key]))
        change = {}
        if p.get("max_cfu") and p["max_cfu"] != spec_now.get("max_cfu"):
            change["max_cfu"] = p["max_cfu"]
        if p.get("pool_id") and p.get("display_name") and p["display_name"] != spec_now.get("display_name"):
            change["display_name"] = p["display_name"]
        pool_id = current["id"]
        if not change:
            if p.get("wait", True) and (current.get("status") or {}).get("phase") != "PROVISIONED" and not check_mode:
                current = wait_pool(client, pool_id, timeout, report)
            result["pool"] = pool_view(current)
            return result
        before = pool_view(current)
        after = dict(before, **change)
        result.update(changed=True, outcome="updated", differences=sorted(change),
                      diff={"before": before, "after": after})
        if check_mode:
            result["pool"] = after
            return result
        client.update_pool(pool_id, change)
    final = wait_pool(client, pool_id, timeout, report) if p.get("wait", True) else client.get_pool(pool_id)
    result["pool"] = pool_view(final)
    return result
