# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""FOR INTERNAL COLLECTION USE ONLY.

The errors every layer raises. ``OpsError`` carries ``details`` (what the module result shows
beside the message); each backend's errors are its subclasses, so a module catches one class
and ``RestModule.fail`` (``_module.py``) is the one place that turns them into ``fail_json``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Result keys a detail may not take: they belong to Ansible.
RESERVED_KEYS = ("msg", "changed", "failed")


class OpsError(Exception):
    """An operation failed; ``details`` goes into the module result."""

    def __init__(self, message, **details):
        super(OpsError, self).__init__(message)
        self.details = details

    def result_details(self):
        """``details`` as result keys: ``msg``, ``changed`` and ``failed`` become ``detail_*``."""
        out = {}
        for key, value in (self.details or {}).items():
            out["detail_" + key if key in RESERVED_KEYS else key] = value
        return out


class WaitTimeout(OpsError):
    """A wait ran out: the outcome of what was waited for is unknown."""


# -- Flink ------------------------------------------------------------------------------------
class FlinkOpsError(OpsError):
    """A Flink operation failed."""


class SavepointTimeout(FlinkOpsError, WaitTimeout):
    """The savepoint did not finish in time: its outcome is unknown, the job was left alone."""


class JournalBusy(OpsError):
    """Another live run owns the journal."""

    def __init__(self, message, owner):
        super(JournalBusy, self).__init__(message, run_in_progress=owner)
        self.owner = owner


# -- CMF --------------------------------------------------------------------------------------
class CmfError(OpsError):
    """A CMF operation failed."""


class CmfUnsupported(CmfError):
    """The CMF server is too old for the operation."""


class CmfTimeout(CmfError, WaitTimeout):
    """A CMF wait ran out: the outcome is unknown."""


# -- Flink Kubernetes Operator (FKO) ---------------------------------------------------------
class FkoError(OpsError):
    """An operation on a Flink Kubernetes Operator resource failed."""


class FkoTimeout(FkoError, WaitTimeout):
    """An FKO wait ran out: the outcome is unknown."""


# -- storage ----------------------------------------------------------------------------------
class ProbeError(OpsError):
    """The storage probe failed: ``uri``, ``step`` and ``cause`` say where and why."""

    def __init__(self, uri, step, cause, **details):
        super(ProbeError, self).__init__("storage probe of %s failed at step '%s': %s" % (uri, step, cause),
                                         **details)
        self.uri = uri
        self.step = step
        self.cause = cause


# -- Confluent Cloud and Kafka REST -----------------------------------------------------------
class ConfluentError(OpsError):
    """A Confluent Cloud (compute pools, Flink SQL statements) or Kafka REST operation failed."""


class ConfluentTimeout(ConfluentError, WaitTimeout):
    """A Confluent Cloud or Kafka REST wait ran out: the outcome is unknown."""
