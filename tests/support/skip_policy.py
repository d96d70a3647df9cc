"""No silent skips: the skip rule of the suite, loaded by tests/conftest.py.

* In CI (the environment variable ``CI`` is set and not ``0``/``false``/``no``/``off``), a test
  that skips fails the run: its report becomes a failure that names the test, the reason it
  gave, and the rule. A module that skips at collection (``pytest.importorskip``) fails the
  run too. Only the skips in ``ALLOWED_SKIPS`` stay skips, each with the reason it is
  expected. Without ``../shared/specs`` (the OpenAPI contracts the tests read) a CI run stops
  at once and says so.
* Outside CI nothing fails for a skip, but the run ends with the list of the suites that
  skipped and why.
"""
from __future__ import annotations

import os
import pathlib
from collections import defaultdict

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
SPECS_DIR = REPO.parent / "shared" / "specs"

# test id (path relative to the repository) -> why the skip is expected, in CI too
ALLOWED_SKIPS = {
    "tests/unit/plugins/module_utils/test_storage_probe.py::test_read_only_directory_fails_at_write_for_a_non_root_user":
        "root may write into a read-only directory, so the check only means something for a non-root user "
        "(CI and this machine run as root)",
}

RULE = ("In CI (CI={ci!r}) a skipped test is a failure: install what it needs (tests/support/bootstrap.sh "
        "installs the suite's prerequisites) or, if the skip is expected, add it with its reason to "
        "ALLOWED_SKIPS in tests/support/skip_policy.py.")

_SKIPS = pytest.StashKey[list]()


def in_ci(environ=None) -> bool:
    value = (os.environ if environ is None else environ).get("CI", "").strip().lower()
    return value not in ("", "0", "false", "no", "off")


def test_key(config, nodeid: str) -> str:
    """``nodeid`` with its path relative to the repository (the rootdir may be tests/)."""
    path, sep, rest = nodeid.partition("::")
    try:
        path = (config.rootpath / path).resolve().relative_to(REPO).as_posix()
    except ValueError:  # a test outside the repository (the policy's own tests)
        pass
    return path + sep + rest


def skip_reason(report) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        reason = str(longrepr[2])
    else:
        reason = str(longrepr)
    return reason[len("Skipped: "):] if reason.startswith("Skipped: ") else reason


def _record(config, key: str, reason: str, phase: str) -> dict:
    skips = config.stash.setdefault(_SKIPS, [])
    entry = {"test": key, "reason": reason, "phase": phase, "allowed": ALLOWED_SKIPS.get(key)}
    skips.append(entry)
    return entry


def pytest_sessionstart(session):
    if in_ci() and not SPECS_DIR.is_dir():
        pytest.exit(f"CI run stopped: {SPECS_DIR} is missing. The contract tests read the Flink and CMF "
                    f"OpenAPI specs from ../shared/specs (beside the repository); without them they would "
                    f"skip, and in CI a skip is a failure. Check out ../shared next to the repository.",
                    returncode=pytest.ExitCode.USAGE_ERROR)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not report.skipped or hasattr(report, "wasxfail"):
        return
    entry = _record(item.config, test_key(item.config, report.nodeid), skip_reason(report), report.when)
    if in_ci() and not entry["allowed"]:
        report.outcome = "failed"
        report.longrepr = (f"{entry['test']} skipped: {entry['reason']}\n"
                           + RULE.format(ci=os.environ.get("CI")))


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    report = outcome.get_result()
    if report.skipped:  # e.g. pytest.importorskip at module level
        _record(collector.config, test_key(collector.config, report.nodeid), skip_reason(report), "collect")


def _unallowed(config) -> list:
    return [s for s in config.stash.get(_SKIPS, []) if not s["allowed"]]


def pytest_sessionfinish(session, exitstatus):
    if in_ci() and exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED) and _unallowed(session.config):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED  # e.g. a module skipped at collection


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    skips = config.stash.get(_SKIPS, [])
    if not skips:
        return
    ci = in_ci()
    allowed = [s for s in skips if s["allowed"]]
    unallowed = [s for s in skips if not s["allowed"]]
    if unallowed:
        title = "skips that failed the run (CI)" if ci else "suites that skipped, and why"
        terminalreporter.write_sep("=", title, red=ci, yellow=not ci)
        by_suite = defaultdict(list)
        for s in unallowed:
            by_suite[(s["test"].split("::")[0], s["reason"])].append(s["test"])
        for (suite, reason), tests in sorted(by_suite.items()):
            terminalreporter.write_line(f"{suite}: {len(tests)} skipped: {reason}")
        terminalreporter.write_line(RULE.format(ci=os.environ.get("CI")) if ci else
                                    "With CI set (as in `bash .ci/run`) each of these skips fails the run.")
    if allowed:
        terminalreporter.write_sep("-", "expected skips (allowed in CI)")
        for s in allowed:
            terminalreporter.write_line(f"{s['test']}: {s['reason']} -- expected: {s['allowed']}")
