"""tests/support/gates.sh fragment, run for real on small git repositories: a change under plugins/,
roles/ or playbooks/ since the merge base with main needs a changelog fragment; a clean checkout of
main, or a checkout with no main branch at all (a CI clone of one commit), has nothing to compare."""
from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]
VENV = pathlib.Path(sys.executable).parent.parent


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def make_repo(tmp_path):
    repo = tmp_path / "repo"
    (repo / "tests" / "support").mkdir(parents=True)
    shutil.copy(REPO / "tests" / "support" / "gates.sh", repo / "tests" / "support" / "gates.sh")
    shutil.copy(REPO / "galaxy.yml", repo / "galaxy.yml")
    (repo / "plugins" / "modules").mkdir(parents=True)
    (repo / "plugins" / "modules" / "thing.py").write_text("# a module\n")
    (repo / "changelogs" / "fragments").mkdir(parents=True)
    (repo / "changelogs" / "fragments" / "old.yml").write_text("---\nminor_changes:\n  - thing - old.\n")
    git(tmp_path, "init", "-q", "-b", "main", str(repo))
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "base")
    return repo


def commit(repo, message):
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", message)


def fragment_gate(repo, **env):
    proc = subprocess.run(["bash", str(repo / "tests" / "support" / "gates.sh"), "fragment"], cwd=repo,
                          env=dict(os.environ, GATES_VENV=str(VENV), **env), capture_output=True, text=True,
                          timeout=60, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def test_clean_checkout_of_main_passes(tmp_path):
    repo = make_repo(tmp_path)
    rc, out = fragment_gate(repo)
    assert rc == 0, out
    assert "0 file(s) under plugins/ roles/ playbooks/" in out


def test_a_branch_changing_a_module_without_a_fragment_fails_and_names_the_file(tmp_path):
    repo = make_repo(tmp_path)
    git(repo, "checkout", "-qb", "feature")
    (repo / "plugins" / "modules" / "thing.py").write_text("# a module, changed\n")
    commit(repo, "change the module")
    rc, out = fragment_gate(repo)
    assert rc == 1, out
    assert "plugins/modules/thing.py" in out and "need a changelog fragment" in out


def test_a_branch_with_a_fragment_passes_and_an_edit_of_an_old_one_does_not_count_when_deleted(tmp_path):
    repo = make_repo(tmp_path)
    git(repo, "checkout", "-qb", "feature")
    (repo / "roles" / "r" / "tasks").mkdir(parents=True)
    (repo / "roles" / "r" / "tasks" / "main.yml").write_text("---\n[]\n")
    (repo / "changelogs" / "fragments" / "old.yml").unlink()  # a deleted fragment is not one
    commit(repo, "a role, and the old fragment removed")
    rc, out = fragment_gate(repo)
    assert rc == 1, out
    (repo / "changelogs" / "fragments" / "new-role.yml").write_text("---\nminor_changes:\n  - r - new.\n")
    rc, out = fragment_gate(repo)  # uncommitted, untracked: counts (a local run before the commit)
    assert rc == 0, out
    assert "changelogs/fragments/new-role.yml" in out


def test_a_checkout_without_a_main_branch_has_nothing_to_compare(tmp_path):
    repo = make_repo(tmp_path)
    git(repo, "checkout", "-qb", "detached-ci")
    git(repo, "branch", "-D", "main")
    (repo / "plugins" / "modules" / "thing.py").write_text("# changed\n")
    rc, out = fragment_gate(repo)
    assert rc == 0, out
    assert "nothing to compare" in out
    rc, out = fragment_gate(repo, GATES_BASE_REF="no-such-branch")  # asked for by name: an error
    assert rc == 2 and "GATES_BASE_REF=no-such-branch is not a commit" in out, out
