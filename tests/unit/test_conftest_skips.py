"""The skip rule of tests/conftest.py (tests/support/skip_policy.py), run for real: pytest in a
subprocess over small test files that skip in each way the suite does (pytest.skip in a test or
a fixture, a skipif mark, importorskip at module level), with and without CI set."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from tests.support import skip_policy

REPO = skip_policy.REPO

CONFTEST = f"""
import os, pathlib, sys
sys.path.insert(0, {str(REPO)!r})
from tests.support import skip_policy
def pytest_configure(config):
    config.pluginmanager.register(skip_policy, "flinkops_skip_policy")
skip_policy.ALLOWED_SKIPS["test_allowed.py::test_expected"] = "an expected skip, for the test"
if os.environ.get("SPECS_DIR_FOR_TEST"):
    skip_policy.SPECS_DIR = pathlib.Path(os.environ["SPECS_DIR_FOR_TEST"])
"""

FILES = {
    "test_plain.py": """
        import pytest
        def test_runs():
            assert 1 + 1 == 2
        def test_needs_a_tool():
            pytest.skip("frobnicator is not installed")
        """,
    "test_fixture.py": """
        import pytest
        @pytest.fixture
        def zookeeper():
            pytest.skip("needs the Debian zookeeper package")
        def test_ha(zookeeper):
            pass
        @pytest.mark.skipif(True, reason="the shared specs are not checked out")
        def test_contract():
            pass
        @pytest.mark.xfail(reason="a known bug", strict=True)
        def test_known_bug():
            assert False
        """,
    "test_module.py": """
        import pytest
        pytest.importorskip("no_such_module_flinkops")
        def test_never_collected():
            pass
        """,
    "test_allowed.py": """
        import pytest
        def test_expected():
            pytest.skip("root writes anywhere")
        """,
}


def run(tmp_path, ci, files=None, specs=None, args=()):
    (tmp_path / "conftest.py").write_text(CONFTEST)
    for name, text in (FILES if files is None else files).items():
        (tmp_path / name).write_text(textwrap.dedent(text))
    # PYTEST_PLUGINS: ansible-test units loads its collection loader that way; the inner run is plain pytest
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS", "PYTEST_PLUGINS")}
    if ci is not None:
        env["CI"] = ci
    env["SPECS_DIR_FOR_TEST"] = str(specs if specs is not None else tmp_path)  # exists unless told
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", *args, str(tmp_path)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.mark.parametrize("value,expected", [("true", True), ("1", True), ("yes", True), ("TRUE", True),
                                            ("", False), ("0", False), ("false", False), ("False", False),
                                            ("no", False), ("off", False)])
def test_in_ci_reads_the_ci_variable(value, expected):
    assert skip_policy.in_ci({"CI": value}) is expected
    assert skip_policy.in_ci({}) is False


def test_in_ci_every_unexpected_skip_fails_and_says_which_why_and_the_rule(tmp_path):
    rc, out = run(tmp_path, "true")
    assert rc == 1, out
    # the test-level skips became failures (errors at setup for the fixture and the skipif mark)
    assert "FAILED test_plain.py::test_needs_a_tool" in out
    assert "ERROR test_fixture.py::test_ha" in out and "ERROR test_fixture.py::test_contract" in out
    for reason in ("frobnicator is not installed", "needs the Debian zookeeper package",
                   "the shared specs are not checked out", "no_such_module_flinkops"):
        assert reason in out, reason
    assert "test_plain.py::test_needs_a_tool skipped: frobnicator is not installed" in out
    assert "In CI (CI='true') a skipped test is a failure" in out
    assert "skips that failed the run (CI)" in out
    assert "test_module.py: 1 skipped: could not import 'no_such_module_flinkops'" in out
    # what is not a skip stays as it was: a pass, an xfail; the allowed skip stays a skip
    assert "PASSED test_plain.py::test_runs" in out
    assert "XFAIL test_fixture.py::test_known_bug" in out
    assert "SKIPPED [1] test_allowed.py" in out and "expected: an expected skip, for the test" in out
    assert "1 failed, 1 passed, 2 skipped, 1 xfailed, 2 errors" in out


def test_in_ci_a_module_skipped_at_collection_alone_fails_the_run(tmp_path):
    rc, out = run(tmp_path, "1", files={"test_module.py": FILES["test_module.py"]})
    assert rc == 1, out
    assert "test_module.py: 1 skipped: could not import 'no_such_module_flinkops'" in out
    assert "a skipped test is a failure" in out


def test_in_ci_only_expected_skips_pass(tmp_path):
    rc, out = run(tmp_path, "true", files={"test_allowed.py": FILES["test_allowed.py"],
                                           "test_ok.py": "def test_ok():\n    pass\n"})
    assert rc == 0, out
    assert "expected skips (allowed in CI)" in out
    assert "test_allowed.py::test_expected: root writes anywhere -- expected: an expected skip, for the test" in out
    assert "failed the run" not in out


@pytest.mark.parametrize("ci", [None, "false", "0"])
def test_outside_ci_skips_pass_and_the_summary_names_each_suite_and_why(tmp_path, ci):
    rc, out = run(tmp_path, ci)
    assert rc == 0, out
    assert "1 passed, 5 skipped, 1 xfailed" in out
    assert "suites that skipped, and why" in out
    assert "test_plain.py: 1 skipped: frobnicator is not installed" in out
    assert "test_fixture.py: 1 skipped: needs the Debian zookeeper package" in out
    assert "test_fixture.py: 1 skipped: the shared specs are not checked out" in out
    assert "test_module.py: 1 skipped: could not import 'no_such_module_flinkops'" in out
    assert "With CI set (as in `bash .ci/run`) each of these skips fails the run." in out


def test_in_ci_missing_shared_specs_stop_the_run_and_say_why(tmp_path):
    missing = tmp_path / "no" / "shared" / "specs"
    rc, out = run(tmp_path, "true", specs=missing)
    assert rc == pytest.ExitCode.USAGE_ERROR, out
    assert f"CI run stopped: {missing} is missing" in out
    assert "read the Flink and CMF OpenAPI specs from ../shared/specs" in out
    assert "passed" not in out, "nothing ran"
    rc, out = run(tmp_path, None, specs=missing)
    assert rc == 0 and "CI run stopped" not in out, "outside CI the skips are only listed"


def test_the_suite_conftest_applies_the_rule_to_the_real_allowlisted_test(tmp_path):
    """The repository's own tests/conftest.py with CI=true: the allowlisted test id matches (as root
    it skips and stays allowed; as another user it runs and passes)."""
    (test_id,) = skip_policy.ALLOWED_SKIPS
    path, _sep, name = test_id.partition("::")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS")}  # see run()
    env["CI"] = "true"
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", "-q", path, "-k", name],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    out = proc.stdout + proc.stderr
    if not skip_policy.SPECS_DIR.is_dir():
        assert proc.returncode == pytest.ExitCode.USAGE_ERROR and "CI run stopped" in out
        return
    assert proc.returncode == 0, out
    if os.geteuid() == 0:
        assert "1 skipped" in out and "expected skips (allowed in CI)" in out, out
    else:
        assert "1 passed" in out, out
