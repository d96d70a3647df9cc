from __future__ import annotations

import json

import pytest
from ansible.errors import AnsibleLookupError

from ansible_collections.flinkops.cookbook.plugins.lookup.journal import LookupModule, read_journal


def test_no_file_is_no_journal(tmp_path):
    assert read_journal(str(tmp_path / "stateful-counter.journal.json")) == {}


def test_a_journal_is_read_as_written(tmp_path):
    path = tmp_path / "stateful-counter.journal.json"
    path.write_text(json.dumps({"savepoint": "s3://sp/savepoint-1", "previous": {"parallelism": 2}}))
    assert read_journal(str(path)) == {"savepoint": "s3://sp/savepoint-1", "previous": {"parallelism": 2}}


@pytest.mark.parametrize("content, condition", [
    ('{"savepoint": "s3://sp/sav', "is not JSON"),
    ("", "is not JSON"),
    ('["s3://sp/savepoint-1"]', "holds a JSON list, not an object"),
])
def test_a_damaged_journal_fails_and_names_the_file(tmp_path, content, condition):
    path = tmp_path / "stateful-counter.journal.json"
    path.write_text(content)
    with pytest.raises(AnsibleLookupError) as err:
        read_journal(str(path))
    assert str(path) in str(err.value) and condition in str(err.value) and "Nothing was changed" in str(err.value)


def test_an_unreadable_journal_is_not_taken_for_none(tmp_path):
    path = tmp_path / "stateful-counter.journal.json"
    path.mkdir()  # exists, cannot be opened as a file (a permission error would not stop root)
    with pytest.raises(AnsibleLookupError, match="Cannot read the journal %s" % path):
        read_journal(str(path))


def test_the_lookup_as_a_playbook_calls_it_gives_the_dictionary(tmp_path):
    """``lookup('flinkops.cookbook.journal', path)`` in a real ``ansible-playbook``: one path gives the
    dictionary itself (not a list of one, not its text), which the recipes test with ``is defined``;
    a damaged journal fails the task with the lookup's message, not a Jinja trace."""
    import subprocess
    import sys

    from tests.integration.ansible_run import REPO, ansible_env

    there = tmp_path / "there.json"
    there.write_text(json.dumps({"restore_from": "s3://sp/savepoint-1"}))
    damaged = tmp_path / "damaged.json"
    damaged.write_text('{"restore_from": ')
    playbook = tmp_path / "read.yml"
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "read", "ansible.builtin.assert": {"quiet": True, "that": [
            "lookup('flinkops.cookbook.journal', %r) == {'restore_from': 's3://sp/savepoint-1'}" % str(there),
            "lookup('flinkops.cookbook.journal', %r) == {}" % str(tmp_path / "absent.json"),
            "lookup('flinkops.cookbook.journal', %r).restore_from is not defined" % str(tmp_path / "absent.json")]}},
        {"name": "damaged", "ansible.builtin.set_fact": {
            "pending": "{{ lookup('flinkops.cookbook.journal', %r) }}" % str(damaged)}}]}]))
    # ansible-playbook's own entry point: under ansible-test units ansible-core is on the path, with no
    # ansible-playbook script beside the interpreter and no entry points for `python -m ansible`
    entry = "import sys; sys.argv[0] = 'ansible-playbook'; from ansible.cli.playbook import main; main()"
    proc = subprocess.run([sys.executable, "-c", entry, "-i", "localhost,", "-c", "local", str(playbook)], cwd=REPO,
                          env=ansible_env(json_output=False), capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    out = proc.stdout + proc.stderr
    assert "ok: [localhost]" in out.split("TASK [damaged]")[0], out
    assert "The journal %s is not JSON" % damaged in out, out


def test_the_lookup_gives_one_dictionary_per_path(tmp_path):
    there = tmp_path / "there.json"
    there.write_text(json.dumps({"restore_from": "s3://sp/savepoint-1"}))
    assert LookupModule().run([str(there), str(tmp_path / "absent.json")]) == [{"restore_from": "s3://sp/savepoint-1"}, {}]
