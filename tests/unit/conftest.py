"""Unit-test setup: import path for the collection, fake HTTP, fake time.

The collection's code imports ``ansible_collections.flinkops.cookbook.plugins...``; that
name resolves through ``.collections/ansible_collections/flinkops/cookbook -> ../../..``
(created here when a fresh clone lacks it).

Nothing in the unit suite opens a socket to Flink or sleeps for real: HTTP is faked at
the ``requests`` level with ``responses`` (see ``fake_flink.py``) and every wait loop gets
a clock whose ``sleep`` only advances a fake ``now``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

UNIT_DIR = Path(__file__).resolve().parent
REPO_ROOT = Path(__file__).resolve().parents[2]
COLLECTIONS_DIR = REPO_ROOT / ".collections"


def _ensure_collection_link():
    link = COLLECTIONS_DIR / "ansible_collections" / "flinkops" / "cookbook"
    if link.exists() or link.is_symlink():
        return
    link.parent.mkdir(parents=True, exist_ok=True)
    try:
        link.symlink_to(Path("..", "..", ".."), target_is_directory=True)
    except FileExistsError:  # created concurrently (pytest-xdist)
        pass


_ensure_collection_link()
for _path in (str(COLLECTIONS_DIR), str(UNIT_DIR)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import responses  # noqa: E402

from ansible_collections.flinkops.cookbook.plugins.module_utils import _wait, flink_ops  # noqa: E402
from fake_flink import FakeFlink  # noqa: E402

REAL_CLOCK = _wait.Clock


class FakeTime(object):
    """``now``/``sleep`` pair: sleeping only moves the fake time forward."""

    def __init__(self, start=1700000000.0):
        self.current = start
        self.sleeps = []

    def now(self):
        return self.current

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.current += seconds

    def clock(self, timeout, interval=1.0):
        return REAL_CLOCK(timeout, interval=interval, sleep=self.sleep, now=self.now)


@pytest.fixture
def fake_time():
    return FakeTime()


@pytest.fixture
def clock(fake_time):
    """``clock(timeout, interval=1.0)`` -> a _wait.Clock on fake time."""
    return fake_time.clock


@pytest.fixture
def fake_clocks(monkeypatch, fake_time):
    """For code that builds its own ``Clock`` (redeploy_from_savepoint, cancel_and_wait):
    every Clock it creates runs on fake time."""
    monkeypatch.setattr(flink_ops, "Clock", lambda timeout, interval=1.0, **_: fake_time.clock(timeout, interval))
    return fake_time


@pytest.fixture
def flink(monkeypatch):
    """A scripted Flink JobManager (2.3 by default) behind ``responses``; no sockets."""
    # A CA bundle or proxy from the developer's environment must not change what is sent.
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
                 "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeFlink(rsps)
