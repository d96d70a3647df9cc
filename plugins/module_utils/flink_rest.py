# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The Flink JobManager REST client (``/v1`` dispatcher API, Flink 1.18 to 2.3).

One method per REST call, no policy: waiting, idempotency and rollback live in
``flink_ops``. Version differences are handled here, in one place:

* ``claimMode`` (1.20+) versus ``restoreMode`` (1.18, 1.19) on ``/jars/:id/run``;
* ``programArgsList`` only (the ``programArgs`` string was removed in 2.0);
* ``/jobs/:id/resource-requirements`` exists from 1.18;
* the savepoint body uses ``target-directory`` and the stop body ``targetDirectory``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import uuid

from ansible_collections.flinkops.cookbook.plugins.module_utils._errors import FlinkOpsError
from ansible_collections.flinkops.cookbook.plugins.module_utils._http import (
    HttpClient, HttpError, parse_version)

TERMINAL_STATES = frozenset(("FINISHED", "CANCELED", "FAILED"))
# States in which a job still holds (or is about to hold) its slots and its name.
ACTIVE_STATES = frozenset(("INITIALIZING", "CREATED", "RUNNING", "FAILING", "CANCELLING",
                           "RESTARTING", "SUSPENDED", "RECONCILING"))
JOB_ID_RE = re.compile(r"^[0-9a-f]{32}$")


def check_job_id(job_id):
    """Refuse a ``job_id`` that cannot be a Flink job id (None passes: no id was given)."""
    if job_id and not JOB_ID_RE.match(job_id):
        raise FlinkOpsError("job_id %r is not a 32-character hexadecimal Flink job id" % job_id)
    return job_id


# What a JobManager answers with HTTP 500 while leadership moves: an RPC to a leader that is
# gone or not yet confirmed, not an answer about the job (the new leader does not have the old
# leader's cache of asynchronous operations, so they are reconciled by their client-chosen ids).
LEADER_CHANGE_RE = re.compile(
    r"leader|FencingTokenException|RecipientUnreachableException|RpcConnectionException|"
    r"Could not connect to|AskTimeoutException|TimeoutException|Dispatcher .*not|not yet (?:available|ready)|"
    r"JobManagerRunner .*closed|ongoing leader election", re.IGNORECASE)


def leader_change(status, message):
    """True for a 500 that a JobManager answers while it loses or takes over leadership."""
    return status == 500 and bool(LEADER_CHANGE_RE.search(message or ""))


def new_id():
    """A 32-hex id, as Flink wants for job ids and savepoint trigger ids."""
    return uuid.uuid4().hex


class FlinkRestClient(object):
    def __init__(self, http):
        self.http = http
        self._config = None

    @classmethod
    def from_params(cls, params, **kwargs):
        kwargs.setdefault("failover_timeout", params.get("failover_timeout", 120))
        kwargs.setdefault("transient", leader_change)
        return cls(HttpClient.from_params(params, "endpoint", **kwargs))

    # -- cluster ---------------------------------------------------------------------
    def config(self):
        if self._config is None:
            self._config = self.http.get("/config")
        return self._config

    @property
    def version_string(self):
        return self.config().get("flink-version", "")

    @property
    def version(self):
        return parse_version(self.version_string)

    def overview(self):
        return self.http.get("/overview")

    def jobmanager_config(self):
        """The JobManager configuration as a dict (the API returns a list of key/value)."""
        items = self.http.get("/jobmanager/config") or []
        return dict((i.get("key"), i.get("value")) for i in items)

    def taskmanagers(self):
        return (self.http.get("/taskmanagers") or {}).get("taskmanagers", [])

    def taskmanager_metrics(self, tm_id, names):
        return self.http.get("/taskmanagers/%s/metrics" % tm_id, params={"get": ",".join(names)}) or []

    @property
    def supports_resource_requirements(self):
        return self.version >= (1, 18, 0)

    # -- jobs ------------------------------------------------------------------------
    def jobs_overview(self):
        return (self.http.get("/jobs/overview") or {}).get("jobs", [])

    def job(self, job_id):
        return self.http.get("/jobs/%s" % job_id)

    def job_or_none(self, job_id):
        try:
            return self.job(job_id)
        except HttpError as exc:
            if exc.status == 404:
                return None
            raise

    def job_config(self, job_id):
        return self.http.get("/jobs/%s/config" % job_id)

    def job_checkpoints(self, job_id):
        return self.http.get("/jobs/%s/checkpoints" % job_id)

    def job_checkpoint_config(self, job_id):
        return self.http.get("/jobs/%s/checkpoints/config" % job_id)

    def job_exceptions(self, job_id, max_exceptions=10):
        return self.http.get("/jobs/%s/exceptions" % job_id, params={"maxExceptions": max_exceptions})

    def vertex_backpressure(self, job_id, vertex_id):
        return self.http.get("/jobs/%s/vertices/%s/backpressure" % (job_id, vertex_id))

    def cancel(self, job_id):
        # PATCH is not idempotent in general, but cancelling twice is harmless.
        return self.http.patch("/jobs/%s" % job_id, params={"mode": "cancel"}, idempotent=True)

    def resource_requirements(self, job_id):
        return self.http.get("/jobs/%s/resource-requirements" % job_id)

    def set_resource_requirements(self, job_id, requirements):
        return self.http.put("/jobs/%s/resource-requirements" % job_id, json_body=requirements)

    # -- savepoints --------------------------------------------------------------------
    def trigger_savepoint(self, job_id, trigger_id, target_directory=None, format_type="CANONICAL"):
        body = {"cancel-job": False, "triggerId": trigger_id, "formatType": format_type}
        if target_directory:
            body["target-directory"] = target_directory
        # Safe to retry: Flink deduplicates on the client-chosen trigger id.
        return self.http.post("/jobs/%s/savepoints" % job_id, json_body=body, idempotent=True)

    def stop_with_savepoint(self, job_id, trigger_id, target_directory=None, drain=False,
                            format_type="CANONICAL"):
        body = {"drain": bool(drain), "triggerId": trigger_id, "formatType": format_type}
        if target_directory:
            body["targetDirectory"] = target_directory
        return self.http.post("/jobs/%s/stop" % job_id, json_body=body, idempotent=True)

    def savepoint_status(self, job_id, trigger_id):
        return self.http.get("/jobs/%s/savepoints/%s" % (job_id, trigger_id))

    # -- jars --------------------------------------------------------------------------
    def jars(self):
        return (self.http.get("/jars") or {}).get("files", [])

    def upload_jar(self, path, filename=None):
        filename = filename or os.path.basename(path)
        with open(path, "rb") as handle:
            files = {"jarfile": (filename, handle, "application/x-java-archive")}
            result = self.http.post("/jars/upload", files=files, timeout=max(self.http.timeout, 300))
        # The jar id is the last path element of the stored file name.
        return os.path.basename(result["filename"])

    def run_jar(self, jar_id, job_id, entry_class=None, args=None, parallelism=None,
                savepoint_path=None, allow_non_restored_state=False, claim_mode=None,
                flink_configuration=None):
        body = {"jobId": job_id, "allowNonRestoredState": bool(allow_non_restored_state)}
        if entry_class:
            body["entryClass"] = entry_class
        if args:
            body["programArgsList"] = list(args)
        if parallelism:
            body["parallelism"] = int(parallelism)
        if savepoint_path:
            body["savepointPath"] = savepoint_path
            if claim_mode:
                key = "claimMode" if self.version >= (1, 20, 0) else "restoreMode"
                body[key] = claim_mode
        if flink_configuration:
            body["flinkConfiguration"] = dict((k, str(v)) for k, v in flink_configuration.items())
        # Not retried automatically: a repeat after a lost answer is reconciled by the
        # caller through the client-chosen job id (see flink_ops.submit_job).
        return self.http.post("/jars/%s/run" % jar_id, json_body=body, idempotent=False,
                              timeout=max(self.http.timeout, 120))

    # -- metrics (diagnostics: flink_metrics_info) ------------------------------------
    def job_metrics(self, job_id, names):
        """Job-level metrics, e.g. ``numRestarts``: ``[{"id": ..., "value": "..."}]``."""
        return _metric_list(self.http.get("/jobs/%s/metrics" % job_id, params={"get": ",".join(names)}))

    def taskmanager_metric_ids(self, tm_id):
        """The ids of every metric a TaskManager exposes (GC collector names vary by JVM)."""
        return [m.get("id") for m in _metric_list(self.http.get("/taskmanagers/%s/metrics" % tm_id))]


def _metric_list(data):
    """Flink answers a bare JSON list; the generated specs say ``{"metrics": [...]}``: accept both."""
    if isinstance(data, dict):
        data = data.get("metrics")
    return data if isinstance(data, list) else []
