"""Kill a run the way a controller crash does (see ../shared/TOOLING.md).

``ansible-playbook``'s workers start sessions of their own, so a SIGKILL of the playbook
process (or of its process group) leaves the running module alive to finish its step.
A crash stops everything at once: collect the whole process tree, SIGSTOP every process
in it (so none reacts to the others dying), then SIGKILL them all.
"""
from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import time


def process_tree(pid: int) -> list[int]:
    """``pid`` and every descendant, parents first."""
    out, todo = [], [pid]
    while todo:
        current = todo.pop(0)
        out.append(current)
        for task in pathlib.Path(f"/proc/{current}/task").glob("*/children"):
            try:
                todo.extend(int(c) for c in task.read_text().split())
            except OSError:
                pass
    return out


def crash(proc: subprocess.Popen) -> list[int]:
    """Freeze, then SIGKILL, ``proc`` and all its descendants; return the pids killed."""
    pids = process_tree(proc.pid)
    for _walk in range(3):  # a process forked between the walk and the freeze: walk again
        for pid in pids:
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:
                pass
        more = [p for p in process_tree(proc.pid) if p not in pids]
        if not more:
            break
        pids += more
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait(30)
    deadline = time.time() + 10
    while time.time() < deadline and any(pathlib.Path(f"/proc/{p}").exists() and _alive(p) for p in pids):
        time.sleep(0.05)
    return pids


def _alive(pid: int) -> bool:
    try:
        state = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"
