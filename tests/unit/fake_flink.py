"""A scripted Flink JobManager REST API for unit tests, on top of ``responses``.

Two layers:

* ``on(method, path_regex, *answers)`` scripts answers for one route: each call takes the
  next answer, the last one repeats. An answer is a JSON body (status 200), a
  ``(status, body)`` tuple, an exception to raise (e.g. ``requests.ConnectionError``) or a
  callable ``f(call) -> answer``. Scripted routes win over the built-in ones.
* Built-in routes model just enough of a cluster: ``jobs`` (overview, details, config,
  checkpoints, exceptions, cancel), savepoint triggers (``/savepoints``, ``/stop`` and
  their status) and ``/jars/:id/run``, which creates a job from the posted body.

Every request is recorded in ``calls`` as a ``Call`` (method, path, params, JSON body and
the ``requests.PreparedRequest`` that went out).
"""
from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl, urlsplit

import requests

from ansible_collections.flinkops.cookbook.plugins.module_utils._http import HttpClient
from ansible_collections.flinkops.cookbook.plugins.module_utils.flink_rest import FlinkRestClient

BASE = "http://flink.test:8081"
HEX32 = r"([0-9a-f]{32})"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")


def hex_id(n):
    """A deterministic 32-hex Flink id."""
    return "%032x" % n


def connection_error(text="Connection aborted: remote end closed connection without response"):
    return requests.exceptions.ConnectionError(text)


def parse_map(text):
    """Flink's ``k:v,k:v`` map syntax (``pipeline.global-job-parameters``) -> dict."""
    out = {}
    for item in (text or "").split(","):
        if item:
            key, _sep, value = item.partition(":")
            out[key] = value
    return out


class Call(object):
    def __init__(self, request):
        parts = urlsplit(request.url)
        self.request = request
        self.method = request.method
        self.path = parts.path
        self.params = dict(parse_qsl(parts.query))
        self.body = None
        raw = request.body
        if raw and "json" in (request.headers.get("Content-Type") or ""):
            self.body = json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)

    def __repr__(self):
        return "<%s %s%s>" % (self.method, self.path, " %s" % self.body if self.body is not None else "")


class FakeFlink(object):
    def __init__(self, rsps, version="2.3.0"):
        self.rsps = rsps
        self.version = version
        self.calls = []
        self.jobs = {}             # jid -> job dict (see add_job)
        self.triggers = {}         # trigger id -> {"job": jid, "stop": bool, "body": dict}
        self.savepoint_result = {}  # trigger id -> status answer; default: COMPLETED at a location
        self.jar_behaviour = {}    # jar id -> dict merged into the job a run creates
        self.slots = {"slots-total": 4, "slots-available": 4, "taskmanagers": 1}
        self.jm_config = {"jobmanager.scheduler": "default", "parallelism.default": "1"}
        self._routes = []
        self.before_request = None  # callable(call) run before each request is answered
        self._builtin()
        pattern = re.compile(re.escape(BASE) + r"(/.*)?$")
        for method in METHODS:
            rsps.add_callback(method, pattern, callback=self._dispatch)

    # -- clients ---------------------------------------------------------------------------
    def http(self, **kwargs):
        kwargs.setdefault("sleep", lambda s: None)
        return HttpClient(BASE, **kwargs)

    def client(self, **kwargs):
        return FlinkRestClient(self.http(**kwargs))

    # -- scripting -------------------------------------------------------------------------
    def on(self, method, pattern, *answers):
        """Script ``method`` on paths fully matching the regex ``pattern``."""
        assert answers, "give at least one answer"
        self._routes.insert(0, [method.upper(), re.compile(pattern + r"\Z"), list(answers)])

    def calls_to(self, method, pattern):
        rx = re.compile(pattern + r"\Z")
        return [c for c in self.calls if c.method == method.upper() and rx.match(c.path)]

    def add_job(self, jid, name="orders", state="RUNNING", parallelism=2, spec_labels=None, restored=None,
                completed=1, exceptions=(), history=(), max_parallelism=128, start_time=1):
        """A job as the fake cluster knows it; ``spec_labels`` is a global-job-parameters string.

        ``job["lookup_faults"]``: answers GET /jobs/:id gives before the real one."""
        job = {"jid": jid, "name": name, "state": state, "start-time": start_time,
               "vertices": [{"id": hex_id(0xA00 + i), "name": "v%d" % i, "status": state if state == "RUNNING"
                             else "CREATED", "parallelism": parallelism, "maxParallelism": max_parallelism}
                            for i in range(2)],
               "user_config": parse_map(spec_labels), "restored": restored, "completed": completed,
               "exceptions": list(exceptions), "history": list(history)}
        job["requirements"] = dict((v["id"], {"parallelism": {"lowerBound": 1, "upperBound": parallelism}})
                                   for v in job["vertices"])
        self.jobs[jid] = job
        return job

    # -- dispatch --------------------------------------------------------------------------
    def _dispatch(self, request):
        call = Call(request)
        self.calls.append(call)
        if self.before_request:
            self.before_request(call)
        for method, rx, answers in self._routes:
            match = rx.match(call.path)
            if method == call.method and match:
                answer = answers.pop(0) if len(answers) > 1 else answers[0]
                if callable(answer):
                    answer = answer(call, *match.groups())
                return self._respond(answer)
        return self._respond((404, {"errors": ["Not found: %s" % call.path]}))

    @staticmethod
    def _respond(answer):
        if isinstance(answer, BaseException):
            return answer
        status, body, headers = 200, answer, {}
        if isinstance(answer, tuple):
            status, body = answer[0], answer[1]
            headers = answer[2] if len(answer) > 2 else {}
        headers = dict({"Content-Type": "application/json"}, **headers)
        text = "" if body is None else (body if isinstance(body, str) else json.dumps(body))
        return status, headers, text

    # -- the built-in cluster --------------------------------------------------------------
    def _job_or_404(self, jid):
        job = self.jobs.get(jid)
        if job is None:
            return None, (404, {"errors": ["org.apache.flink.runtime.rest.NotFoundException: Job %s not found" % jid]})
        return job, None

    def _builtin(self):
        def route(method, pattern):
            def register(fn):
                self._routes.append([method, re.compile(pattern + r"\Z"), [fn]])
                return fn
            return register

        @route("GET", "/config")
        def config(call):
            return {"flink-version": self.version, "flink-revision": "abc", "refresh-interval": 3000}

        @route("GET", "/overview")
        def overview(call):
            return dict(self.slots, **{"flink-version": self.version})

        @route("GET", "/jobmanager/config")
        def jobmanager_config(call):
            return [{"key": k, "value": v} for k, v in self.jm_config.items()]

        @route("GET", "/jobs/overview")
        def jobs_overview(call):
            return {"jobs": [{"jid": j["jid"], "name": j["name"], "state": j["state"], "start-time": j["start-time"],
                              "end-time": j.get("end-time", -1)} for j in self.jobs.values()]}

        @route("GET", "/jobs/" + HEX32)
        def job(call, jid):
            job, error = self._job_or_404(jid)
            if job and job.get("lookup_faults"):  # e.g. not visible yet, or a broken answer
                return job["lookup_faults"].pop(0)
            return error or {"jid": jid, "name": job["name"], "state": job["state"], "vertices": job["vertices"]}

        @route("PATCH", "/jobs/" + HEX32)
        def cancel(call, jid):
            job, error = self._job_or_404(jid)
            if error:
                return error
            job["state"] = "CANCELED"
            return (202, {})

        @route("GET", "/jobs/" + HEX32 + "/config")
        def job_config(call, jid):
            job, error = self._job_or_404(jid)
            return error or {"jid": jid, "name": job["name"], "execution-config": {"user-config": job["user_config"]}}

        @route("GET", "/jobs/" + HEX32 + "/checkpoints")
        def checkpoints(call, jid):
            job, error = self._job_or_404(jid)
            if error:
                return error
            restored = {"id": 1, "is_savepoint": True, "external_path": job["restored"]} if job["restored"] else None
            latest = {"restored": restored, "completed": None, "savepoint": None, "failed": None}
            latest.update(job.get("latest") or {})
            return {"counts": {"completed": job["completed"]}, "history": job["history"], "latest": latest}

        @route("GET", "/jobs/" + HEX32 + "/exceptions")
        def exceptions(call, jid):
            job, error = self._job_or_404(jid)
            return error or {"exceptionHistory": {"entries": job["exceptions"], "truncated": False}}

        @route("GET", "/jobs/" + HEX32 + "/resource-requirements")
        def requirements(call, jid):
            job, error = self._job_or_404(jid)
            return error or job["requirements"]

        @route("PUT", "/jobs/" + HEX32 + "/resource-requirements")
        def set_requirements(call, jid):
            job, error = self._job_or_404(jid)
            if error:
                return error
            job["requirements"] = call.body
            return {}

        def trigger(call, jid, stop):
            job, error = self._job_or_404(jid)
            if error:
                return error
            trigger_id = call.body["triggerId"]
            self.triggers[trigger_id] = {"job": jid, "stop": stop, "body": call.body}
            self.savepoint_result.setdefault(trigger_id, {
                "status": {"id": "COMPLETED"},
                "operation": {"location": "s3://savepoints/savepoint-%s-%s" % (jid[:6], trigger_id[:6])}})
            return (202, {"request-id": trigger_id})

        route("POST", "/jobs/" + HEX32 + "/savepoints")(lambda call, jid: trigger(call, jid, False))
        route("POST", "/jobs/" + HEX32 + "/stop")(lambda call, jid: trigger(call, jid, True))

        @route("GET", "/jobs/" + HEX32 + "/savepoints/" + HEX32)
        def savepoint_status(call, jid, trigger_id):
            if trigger_id not in self.triggers:
                return (404, {"errors": ["There is no savepoint operation with triggerId=%s for job %s."
                                         % (trigger_id, jid)]})
            result = self.savepoint_result[trigger_id]
            info = self.triggers[trigger_id]
            if info["stop"] and (result.get("operation") or {}).get("location"):
                self.jobs[info["job"]]["state"] = "FINISHED"
            return result

        @route("POST", "/jars/([^/]+)/run")
        def run(call, jar_id):
            body = call.body
            conf = body.get("flinkConfiguration") or {}
            job = self.add_job(body["jobId"], name=conf.get("pipeline.name", jar_id),
                               parallelism=body.get("parallelism", 1),
                               spec_labels=conf.get("pipeline.global-job-parameters"),
                               restored=body.get("savepointPath"), start_time=len(self.jobs) + 1)
            job.update(self.jar_behaviour.get(jar_id, {}))
            return {"jobid": body["jobId"]}
