# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""FOR INTERNAL COLLECTION USE ONLY.

The one way the collection waits, whatever it waits for (a savepoint, a job start or stop, a
rescale, a CMF application, savepoint or statement, a backpressure sample): a ``Clock`` and
``wait_until(read, done, failed, timeout, ...)``, after kubernetes.core's ``waiter.py``.

``wait_until`` reads, records the states it saw (consecutive repeats folded), reports each new
state to the progress callback (``RestModule.report``), and asks, in this order: is it a
failure (``failed``), is it done (``done``), has time run out (``timed_out``). Transport
retries are not waits: they stay in ``_http.py``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.flinkops.cookbook.plugins.module_utils._errors import WaitTimeout


class Clock(object):
    """A deadline with a poll interval that starts at ``interval`` and grows by ``growth`` up
    to ``max_interval`` (no ``max_interval``: it stays at ``interval``).

    Short first polls matter: a stop-with-savepoint often completes in ~100 ms, and every
    millisecond between its completion and the next submit is downtime of the job.
    ``sleep`` and ``now`` are injectable for unit tests.
    """

    def __init__(self, timeout, interval=1.0, max_interval=None, growth=1.5, sleep=time.sleep, now=time.time):
        self.now = now
        self.started = now()
        self.timeout = timeout
        self.deadline = self.started + timeout
        self.interval = interval
        self.max_interval = max(interval, max_interval or interval)
        self.growth = growth
        self._sleep = sleep

    def expired(self):
        return self.now() >= self.deadline

    def elapsed(self):
        return self.now() - self.started

    def tick(self):
        self._sleep(self.interval)
        self.interval = min(self.max_interval, self.interval * self.growth)


def wait_until(read, done, failed=None, timeout=60, what=None, state=None, report=None, on_poll=None,
               timed_out=None, clock=None, interval=1.0, max_interval=None, seen=None):
    """Poll ``read()`` until ``done(obj)``; return ``(value, states seen)``.

    * ``state(obj)``: the name of the state ``obj`` is in; each new one is appended to the states
      seen and reported as ``"<what>: <state>"``;
    * ``failed(obj, seen)``: the error to raise when ``obj`` is a failure, else None;
    * ``done(obj)``: falsy to keep waiting; ``True`` returns ``obj``, any other value is returned
      instead (what the caller computed from it);
    * ``on_poll(obj, clock)``: called on each object that is not an end (progress samples);
    * ``timed_out(obj, seen)``: when the clock runs out, the error to raise, or a value to return
      (a wait whose timeout is an answer). Without it, a ``WaitTimeout`` is raised.

    ``done`` and ``failed`` may raise themselves; ``seen`` is the list the states are recorded in
    (pass one to name them in an error ``done`` raises). The clock is ``clock``, or a new
    ``Clock`` of ``timeout`` seconds polling at ``interval`` growing to ``max_interval``.
    """
    clock = clock or Clock(timeout, interval=interval, max_interval=max_interval)
    seen = [] if seen is None else seen
    while True:
        obj = read()
        if state is not None:
            now = state(obj)
            if not seen or seen[-1] != now:
                seen.append(now)
                if report and what:
                    report("%s: %s" % (what, now))
        error = failed(obj, seen) if failed else None
        if error is not None:
            raise error
        value = done(obj)
        if value:
            return (obj if value is True else value), seen
        if on_poll:
            on_poll(obj, clock)
        if clock.expired():
            outcome = timed_out(obj, seen) if timed_out else WaitTimeout(
                "%s did not finish within %ss (states seen: %s)" % (what or "the wait", clock.timeout, " -> ".join(seen)),
                states=seen)
            if isinstance(outcome, BaseException):
                raise outcome
            return outcome, seen
        clock.tick()
