"""module_utils/_journal.py: the journal's owner, the claim that keeps two live runs apart, and
the takeover of a journal whose run died."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.flinkops.cookbook.plugins.module_utils._journal import (
    Journal, JournalBusy, current_run, run_alive)


def _other_live_run():
    """A live process of this host standing in for another ansible-playbook run."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    with open("/proc/%d/stat" % proc.pid) as handle:
        start = int(handle.read().rsplit(")", 1)[1].split()[19])
    return proc, dict(current_run(), pid=proc.pid, start=start)


def test_the_run_is_the_outermost_process_and_is_alive():
    run = current_run()
    assert run["pid"] and run["start"] is not None
    assert run_alive(run)
    assert not run_alive(dict(run, start=run["start"] + 1)), "a recycled pid is not the owner"
    assert not run_alive(dict(run, host="elsewhere"))


def test_claim_writes_the_owner_and_a_second_live_run_is_refused(tmp_path):
    path = str(tmp_path / "m" / "orders.journal.json")
    proc, other = _other_live_run()
    try:
        theirs = Journal(path, run=other)
        assert theirs.claim("upgrade", "orders") is None
        assert json.loads(open(path).read())["owner"]["pid"] == proc.pid
        mine = Journal(path)
        with pytest.raises(JournalBusy) as info:
            mine.claim("scale", "orders")
        text = str(info.value)
        assert "another run is already working on job orders (upgrade" in text and "pid %d" % proc.pid in text
        assert json.loads(open(path).read())["owner"]["pid"] == proc.pid, "the refused run wrote nothing"
    finally:
        proc.kill()
        proc.wait()


def test_the_journal_of_a_dead_run_is_taken_over_with_its_steps(tmp_path):
    path = str(tmp_path / "orders.journal.json")
    proc, other = _other_live_run()
    theirs = Journal(path, run=other)
    theirs.claim("upgrade", "orders")
    theirs.record(phase="submit", savepoint="s3://sp/savepoint-1")
    proc.kill()
    proc.wait()
    mine = Journal(path)
    left = mine.claim("upgrade", "orders")
    assert left["phase"] == "submit" and left["savepoint"] == "s3://sp/savepoint-1"
    assert mine.data["owner"]["pid"] == mine.run["pid"] and mine.pending()


def test_check_mode_reads_but_writes_nothing(tmp_path):
    path = tmp_path / "orders.journal.json"
    assert Journal(str(path)).claim("upgrade", "orders", check_mode=True) is None
    assert not path.exists() and not (tmp_path / "orders.journal.json.lock").exists()


def test_reset_keeps_the_claim_only_and_records_are_atomic(tmp_path):
    path = str(tmp_path / "orders.journal.json")
    journal = Journal(path)
    journal.claim("upgrade", "orders")
    journal.record(phase="savepoint", trigger_id="ab" * 16)
    journal.reset()
    assert not journal.pending() and set(journal.data) == {"owner", "operation", "job", "updated"}
    assert not [n for n in os.listdir(str(tmp_path)) if n.endswith(".tmp")]
    journal.clear()
    assert not os.path.exists(path)
