"""Unit tests of module_utils/_wait.py: the one Clock and wait_until (on fake time, nothing sleeps)."""
from __future__ import annotations

import pytest

from ansible_collections.flinkops.cookbook.plugins.module_utils._errors import FlinkOpsError, OpsError, WaitTimeout
from ansible_collections.flinkops.cookbook.plugins.module_utils._wait import Clock, wait_until


def reader(values):
    """``read()`` returning ``values`` one by one, then the last one for ever."""
    seq = list(values)

    def read():
        return seq.pop(0) if len(seq) > 1 else seq[0]
    return read


def test_the_interval_grows_to_its_maximum(fake_time):
    clock = Clock(10, interval=1.0, max_interval=2.0, growth=1.5, sleep=fake_time.sleep, now=fake_time.now)
    for _tick in range(4):
        clock.tick()
    assert fake_time.sleeps == [1.0, 1.5, 2.0, 2.0]
    assert clock.elapsed() == 6.5 and not clock.expired()


def test_without_a_maximum_the_interval_stays(fake_time):
    clock = Clock(3, interval=0.5, sleep=fake_time.sleep, now=fake_time.now)
    while not clock.expired():
        clock.tick()
    assert set(fake_time.sleeps) == {0.5} and sum(fake_time.sleeps) == 3


def test_states_are_recorded_once_each_and_reported(clock):
    reports = []
    value, seen = wait_until(reader(["A", "A", "B", "B", "C"]), lambda s: s == "C", what="job x",
                             state=lambda s: s, report=reports.append, clock=clock(60))
    assert value == "C" and seen == ["A", "B", "C"]
    assert reports == ["job x: A", "job x: B", "job x: C"]


def test_done_may_return_what_it_computed(clock):
    value, _seen = wait_until(reader([1, 2, 3]), lambda n: {"n": n} if n == 3 else None, clock=clock(60))
    assert value == {"n": 3}


def test_a_failure_is_raised_before_done_is_asked(clock):
    asked = []

    def done(obj):
        asked.append(obj)
        return obj == "FAILED"

    def failed(obj, seen):
        return FlinkOpsError("went %s" % obj, states=list(seen)) if obj == "FAILED" else None

    with pytest.raises(FlinkOpsError, match="went FAILED") as err:
        wait_until(reader(["STARTING", "FAILED"]), done, failed, state=lambda s: s, clock=clock(60))
    assert err.value.details["states"] == ["STARTING", "FAILED"] and asked == ["STARTING"]


def test_timeout_raises_what_timed_out_returns(fake_time):
    with pytest.raises(FlinkOpsError, match="still PENDING after 5s") as err:
        wait_until(reader(["PENDING"]), lambda s: False, state=lambda s: s, clock=fake_time.clock(5),
                   timed_out=lambda obj, seen: FlinkOpsError("still %s after 5s" % obj, states=seen))
    assert err.value.details["states"] == ["PENDING"] and sum(fake_time.sleeps) == 5


def test_a_timeout_may_be_an_answer(clock):
    assert wait_until(reader([None]), bool, clock=clock(2), timed_out=lambda obj, seen: False) == (False, [])


def test_without_timed_out_a_wait_timeout_names_the_states(clock):
    with pytest.raises(WaitTimeout, match=r"thing did not finish within 3s \(states seen: X\)") as err:
        wait_until(reader(["X"]), lambda s: False, what="thing", state=lambda s: s, clock=clock(3))
    assert isinstance(err.value, OpsError) and err.value.details == {"states": ["X"]}


def test_on_poll_sees_every_object_that_is_not_an_end(clock):
    polled = []
    wait_until(reader([1, 2, 3]), lambda n: n == 3, on_poll=lambda n, c: polled.append((n, c.elapsed())),
               clock=clock(60, interval=1))
    assert polled == [(1, 0), (2, 1)]


def test_the_states_go_into_a_list_the_caller_gave(clock):
    seen = []

    def done(obj):
        if obj == "B":
            raise FlinkOpsError("at B", states=seen)
        return False

    with pytest.raises(FlinkOpsError) as err:
        wait_until(reader(["A", "B"]), done, state=lambda s: s, seen=seen, clock=clock(60))
    assert err.value.details["states"] == ["A", "B"]


def test_a_zero_timeout_reads_once(fake_time):
    calls = []

    def read():
        calls.append(1)
        return None
    assert wait_until(read, bool, clock=fake_time.clock(0), timed_out=lambda obj, seen: False)[0] is False
    assert calls == [1] and fake_time.sleeps == []
