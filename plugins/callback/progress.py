# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: progress
type: aggregate
short_description: Live progress of long flinkops waits (savepoints, job start, rescale)
version_added: 0.1.0
description:
  - While a C(flinkops.cookbook) module waits (a savepoint's acknowledged subtasks and bytes, a job's
    state on its way to RUNNING), the module appends progress lines to a file in a spool directory. This
    callback tails that directory while the task runs and prints each new line on stderr, prefixed with
    the host, so an on-call engineer sees what is happening instead of a silent task.
  - Works for modules run on the controller (the collection's REST targets use C(ansible_connection=local)).
    The result of each module also carries the same lines under C(progress).
  - Enable it with C(callbacks_enabled = flinkops.cookbook.progress) in C(ansible.cfg).
author:
  - flinkops maintainers (@flinkops)
options:
  interval:
    description: Seconds between two looks at the spool directory.
    type: float
    default: 0.5
    ini:
      - section: callback_flinkops_progress
        key: interval
    env:
      - name: FLINKOPS_PROGRESS_INTERVAL
"""

import os
import shutil
import tempfile
import threading

from ansible.plugins.callback import CallbackBase

SPOOL_ENV = "FLINKOPS_PROGRESS_DIR"


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "flinkops.cookbook.progress"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        # The spool directory is inherited by the worker processes and so by the modules.
        self._spool = tempfile.mkdtemp(prefix="flinkops-progress-")
        os.environ[SPOOL_ENV] = self._spool
        self._offsets = {}
        self._stop = threading.Event()
        self._thread = None

    def _interval(self):
        try:
            return float(self.get_option("interval"))
        except (KeyError, TypeError, ValueError):
            return 0.5

    def _drain(self):
        for name in sorted(os.listdir(self._spool)):
            path = os.path.join(self._spool, name)
            try:
                with open(path) as handle:
                    handle.seek(self._offsets.get(name, 0))
                    lines = handle.readlines()
                    self._offsets[name] = handle.tell()
            except (IOError, OSError):
                continue
            for line in lines:
                if line.strip():
                    self._display.display("  ... %s" % line.rstrip(), color="cyan", stderr=True)

    def _watch(self):
        while not self._stop.wait(self._interval()):
            self._drain()
        self._drain()

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._stop_watching()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="flinkops-progress", daemon=True)
        self._thread.start()

    def _stop_watching(self):
        if self._thread is not None:
            self._stop.set()
            self._thread.join(5)
            self._thread = None

    def v2_playbook_on_stats(self, stats):
        self._stop_watching()
        shutil.rmtree(self._spool, ignore_errors=True)
