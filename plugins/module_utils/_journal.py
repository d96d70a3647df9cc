# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""FOR INTERNAL COLLECTION USE ONLY.

The write-ahead journal of one operation on one job, kept on the controller (as the Flink
Kubernetes Operator writes the spec it is about to deploy into the resource's status before it
deploys: the intent is on disk before every side effect), and the fence that keeps two runs of
the same controller apart.

* ``record`` writes the whole journal to a private temporary file, fsyncs it and renames
  it into place, so a reader sees the previous or the new journal, never half of one.
* Every journal names its **owner**: the ``ansible-playbook`` process of the run that
  wrote it (host, pid and the process start time, so a recycled pid is not mistaken for
  the owner). ``claim`` takes an exclusive ``flock`` on ``<journal>.lock`` while it reads
  the journal and writes its own owner, so of two runs that start together exactly one
  claims it; the other gets ``JournalBusy`` naming the run in progress. A journal whose
  owner is dead (killed controller) is taken over by the next run, which resumes it.
* The journal stays after the module returns while the playbook validates the change,
  so a run killed during the validation window is validated again by the next run. The
  playbook removes it once the change is validated or rolled back.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fcntl
import json
import os
import socket
import time

from ansible_collections.flinkops.cookbook.plugins.module_utils._errors import JournalBusy


def _proc_start(pid):
    """The start time of ``pid`` in clock ticks since boot (field 22 of /proc/pid/stat), or None."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return int(fields[19])
    except (IOError, OSError, IndexError, ValueError):
        return None


def _proc_parent(pid):
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return int(handle.read().rsplit(")", 1)[1].split()[1])
    except (IOError, OSError, IndexError, ValueError):
        return None


def _proc_cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except (IOError, OSError):
        return ""


def current_run():
    """The run this module belongs to: the outermost ``ansible-playbook`` (or ``ansible``)
    process above it, else its parent. Ansible's workers are forks of ``ansible-playbook``
    that keep its command line, so the outermost match is the run itself."""
    pid, owner, hops = os.getppid(), None, 0
    while pid and pid > 1 and hops < 32:
        cmd = _proc_cmdline(pid)
        if "ansible-playbook" in cmd or "/ansible " in cmd or cmd.startswith("ansible "):
            owner = pid
        pid, hops = _proc_parent(pid), hops + 1
    owner = owner or os.getppid()
    return {"host": socket.gethostname(), "pid": owner, "start": _proc_start(owner),
            "command": _proc_cmdline(owner)[:200]}


def run_alive(owner):
    """True when ``owner`` (a ``current_run()`` dict) is a live process of this host."""
    if not owner or owner.get("host") != socket.gethostname() or not owner.get("pid"):
        return False
    return _proc_start(int(owner["pid"])) == owner.get("start") and owner.get("start") is not None


def same_run(a, b):
    return bool(a and b) and all(a.get(k) == b.get(k) for k in ("host", "pid", "start"))


def describe_run(owner):
    since = owner.get("claimed")
    when = ", since %s" % time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(since)) if since else ""
    return "pid %s on %s (%s)%s" % (owner.get("pid"), owner.get("host"), owner.get("command") or "?", when)


class Journal(object):
    """``data`` is the journal as last read or written, or None when there is none."""

    def __init__(self, path, run=None):
        self.path = path
        self.run = run or current_run()
        self.data = self._read()

    def _read(self):
        if self.path and os.path.exists(self.path):
            with open(self.path) as handle:
                try:
                    return json.load(handle)
                except ValueError:
                    return None  # cannot happen with record(): it renames whole files
        return None

    def claim(self, operation, job, check_mode=False):
        """Make this run the owner of the journal of ``job``; return the journal left by a
        previous run (now ours to resume) or None.

        Raises ``JournalBusy`` when a live run of another ``ansible-playbook`` owns it.
        In check mode nothing is written and a live owner is still reported.
        """
        directory = os.path.dirname(self.path)
        if directory and not os.path.isdir(directory) and not check_mode:
            os.makedirs(directory)
        lock_path = self.path + ".lock"
        if check_mode and not os.path.exists(lock_path):
            self.data = self._read()
            return self._claim_locked(operation, job, check_mode)
        with open(lock_path, "a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                self.data = self._read()
                return self._claim_locked(operation, job, check_mode)
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def _claim_locked(self, operation, job, check_mode):
        previous = self.data
        owner = (previous or {}).get("owner")
        if previous and owner and not same_run(owner, self.run) and run_alive(owner):
            raise JournalBusy(
                "another run is already working on job %s (%s, journal %s): %s. This run changed nothing; "
                "wait for it to finish, or stop that run first"
                % (job, previous.get("operation") or "operation", self.path, describe_run(owner)), owner)
        if check_mode:
            return previous
        self.record(owner=dict(self.run, claimed=time.time()),
                    operation=(previous or {}).get("operation") or operation, job=job)
        return previous

    def record(self, **fields):
        self.data = dict(self.data or {}, **fields)
        self.data["updated"] = time.time()
        directory = os.path.dirname(self.path)
        if directory and not os.path.isdir(directory):
            os.makedirs(directory)
        tmp = "%s.%d.tmp" % (self.path, os.getpid())
        with open(tmp, "w") as handle:
            json.dump(self.data, handle, indent=2, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(tmp, self.path)

    def reset(self):
        """Forget a stale operation but keep this run's claim."""
        keep = dict((k, v) for k, v in (self.data or {}).items() if k in ("owner", "operation", "job"))
        self.data = None
        self.record(**keep)

    def pending(self):
        """True when the journal records a step of an operation (not only a claim)."""
        return bool((self.data or {}).get("phase"))

    def clear(self):
        self.data = None
        if os.path.exists(self.path):
            os.remove(self.path)
