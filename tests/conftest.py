"""Shared pytest configuration.

The Flink fixtures below are session-scoped and lazy: a real cluster is only installed
and started when an (integration) test asks for one, so unit tests never touch Flink.
"""
from __future__ import annotations

import pathlib
import shutil
import sys

import pytest

# make "tests.support" importable however pytest was invoked
_REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(_REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(_REPO_ROOT))

from tests.support import skip_policy  # noqa: E402


def pytest_configure(config):
    # the skip rule: in CI a skip fails the run (except an explained list); elsewhere a summary
    if not config.pluginmanager.has_plugin("flinkops_skip_policy"):
        config.pluginmanager.register(skip_policy, "flinkops_skip_policy")
    config.addinivalue_line("markers", "slow: real Flink cluster tests")
    config.addinivalue_line("markers", "integration: integration tests (may need Java and Flink)")
    config.addinivalue_line("markers", "failover: leader-failover drills on the bare-metal HA cluster "
                                       "(make test-failover; not part of make test)")


# The files that take longest, handed to the pytest-xdist workers first (make test runs
# `--dist loadfile --no-loadscope-reorder`: files go out in collection order). Without this xdist
# sends the files with the most tests first, so the bare-metal cluster tests (six tests, 25 to 35 min
# on one worker) started about 38 min into the run and were among the last to end. Every other file
# keeps its place; the unit tests (quick) come last and fill the gaps.
SLOWEST_FIRST = (
    "tests/integration/test_bare_metal.py",
    "tests/integration/test_molecule.py",
    "tests/integration/test_interruption_and_concurrency.py",
)


def pytest_collection_modifyitems(session, config, items):  # pylint: disable=unused-argument
    rank = {path: i for i, path in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(SLOWEST_FIRST)))


@pytest.fixture(scope="session")
def flink_home() -> pathlib.Path:
    """FLINK_HOME of a Flink distribution ($FLINKOPS_FLINK_VERSION, default 2.3.0)."""
    if shutil.which("java") is None:
        pytest.skip("java is not installed")
    from tests.support.flink_local import install_flink

    return install_flink()


@pytest.fixture(scope="session")
def test_jars(flink_home, tmp_path_factory) -> dict:
    """{"v1": path, "v2": path, "failing": path} of the Java test jobs (tests/java)."""
    if shutil.which("javac") is None:
        pytest.skip("javac is not installed")
    from tests.support.testjobs import build_test_jobs

    return build_test_jobs(flink_home, tmp_path_factory.mktemp("testjobs"))


def _cluster(flink_home, tmp_path_factory, name, **kwargs):
    from tests.support.flink_local import LocalFlink

    flink = LocalFlink(flink_home, tmp_path_factory.mktemp(name), **kwargs)
    try:
        flink.start()
        yield flink
    finally:
        flink.stop()  # also after failures: never leave JVMs behind


@pytest.fixture(scope="session")
def flink_cluster(flink_home, tmp_path_factory):
    """A running LocalFlink: 1 TaskManager x 4 slots, default scheduler."""
    yield from _cluster(flink_home, tmp_path_factory, "flink", taskmanagers=1, slots=4)


@pytest.fixture(scope="session")
def adaptive_flink_cluster(flink_home, tmp_path_factory):
    """A running LocalFlink: 1 TaskManager x 4 slots, jobmanager.scheduler: adaptive."""
    yield from _cluster(flink_home, tmp_path_factory, "flink-adaptive", taskmanagers=1, slots=4,
                        scheduler="adaptive")
