"""A stateful, contract-checked, in-memory Confluent Manager for Apache Flink (CMF).

``FakeCMF`` serves the CMF REST API on 127.0.0.1 (an ephemeral port) from a stdlib
``ThreadingHTTPServer`` in a daemon thread::

    with FakeCMF(spec_version="2.3") as cmf:
        requests.get(cmf.url + "/cmf/api/v1/environments")

The contract is the CMF OpenAPI document in ``../shared/specs/cmf`` (read in place, never
copied). Every request is validated with openapi-core before it is served: a request the
spec rejects is answered 400 with CMF's error shape (``{"errors": [{"message": ...}]}``);
an unknown path is answered 404 and a known path with an unknown method 405, as Spring
does. Every response the fake sends is validated too: a response that fails is a bug of
the fake, recorded in ``violations`` and raised when the ``with`` block ends (and logged
at once), so the test that caused it fails.

Server-side behaviour (what CMF does, on top of Flink Kubernetes Operator):
* Environments: create-or-update by name (``kubernetesNamespace`` cannot change).
* FlinkApplications: create-or-update (201). A new or changed spec starts a new *instance*
  (the spec merged with the environment defaults): ``status.jobStatus.state`` moves
  CREATED -> RUNNING after ``start_delay`` seconds; ``spec.job.state: suspended`` ->
  SUSPENDED (a RUNNING job with ``upgradeMode: savepoint`` is stopped with a savepoint, as FKO
  does, recorded in ``status.jobStatus.savepointInfo.lastSavepoint``; the resume restores from
  it). A spec carrying ``job.initialSavepointPath`` together with a changed
  ``job.savepointRedeployNonce`` (or a first deployment) restores from that path; the
  instance records it in ``status.spec.job.initialSavepointPath``. Events (v1alpha1) are
  written on every state change.
* Savepoints of an application: PENDING -> IN_PROGRESS -> COMPLETED (with ``status.path``)
  over ``savepoint_delay`` seconds; refused (422) unless the job is RUNNING. Detach moves
  one to the detached savepoints; a detached savepoint can also be registered from a path.
* Compute pools, Kafka catalogs, secrets and statements: CRUD.
* Lists are paginated as Spring does (``page`` from 0, ``size``), with ``pageable`` and
  ``metadata.size`` (the total).
* ``spec_version`` "2.2"/"2.3" answer ``/cmf/api/v1/system-information``; "2.0" (the
  CP 8.0 spec) has no savepoint endpoints at all: they answer 404 like any unknown path.

Failure injection (``cmf.inject(kind, **kw)``), each consumed once unless ``count`` says:
* ``savepoint_failed``  the next savepoint(s) end FAILED with ``error``.
* ``app_failed``        the next deployment(s) of ``app`` (any when None) fail: CREATED,
  then RUNNING for ``running_for`` seconds (0: never RUNNING), then FAILED, with a
  JOB_EXCEPTION event carrying ``message``. ``match={"image": "x"}`` fails only the
  deployments whose spec has those values (then ``count`` defaults to unlimited).
* ``app_finished``      the next deployment of ``app`` is a bounded job: RUNNING for
  ``running_for`` seconds, then FINISHED (a backfill that read its range).
* ``app_restart_loop``  the next deployment of ``app`` runs, then ``restarts`` times every
  ``every`` seconds goes RESTARTING with a JOB_EXCEPTION event carrying ``message`` and runs
  again (a job stuck in a restart loop, as the operator reports it).
* ``status``            answer ``status`` (409, 500, 503...) to the next ``count`` requests
  matching ``method`` and ``path`` (a regex), with CMF's error body and ``message``.
* ``slow``              delay the next ``count`` matching responses by ``seconds``.
* ``statement_failed``  the next statement(s) created or resumed (``statement``: a name, any
  when None) go PENDING, then FAILED, with a StatementException carrying ``message``.

Statements are PENDING for ``start_delay`` seconds after a create or a resume, then RUNNING
(or FAILED, injected); ``spec.stopped: true`` makes them STOPPED. Secret mappings and Kafka
databases are CRUD; a secret's ``status.environments`` lists the environments that map it.
"""
from __future__ import annotations

import copy
import datetime
import json
import logging
import re
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import yaml

from tests.support.json_http_server import JsonHttpServer

LOG = logging.getLogger("fake_cmf")

SPECS_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "specs" / "cmf"
SPEC_FILES = {
    "2.3": "openapi.yaml",
    "2.2": "openapi-cmf-2.2.0.yaml",
    "2.1": "openapi-cmf-2.1.x.yaml",
    "2.0": "openapi-cmf-cp8.0.yaml",
}
SERVER_VERSIONS = {"2.3": "2.3.1", "2.2": "2.2.0", "2.1": "2.1.1", "2.0": "2.0.2"}
API = "/cmf/api/v1"
HTTP_METHODS = ("get", "put", "post", "delete", "patch")

_SPEC_CACHE: dict = {}
_SPEC_LOCK = threading.Lock()


def spec_path(version: str) -> Path:
    return (SPECS_DIR / SPEC_FILES[version]).resolve()


def load_contract(version: str):
    """(raw spec dict, openapi_core.OpenAPI) for a CMF version, cached per process."""
    with _SPEC_LOCK:
        if version not in _SPEC_CACHE:
            from openapi_core import OpenAPI

            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            with open(spec_path(version)) as handle:
                raw = yaml.load(handle, Loader=loader)
            spec = copy.deepcopy(raw)
            spec["servers"] = [{"url": "/"}]
            _apply_errata(spec)
            _SPEC_CACHE[version] = (raw, OpenAPI.from_dict(spec))
        return _SPEC_CACHE[version]


# Defects of the published contract that make every response of an operation invalid,
# whatever the server sends. Each is patched in the in-memory copy only, and kept minimal:
ERRATA = (
    # EventData is a oneOf of EventDataNewStatus and EventDataJobException, two schemas
    # with no required property: any object matches both, so oneOf always fails.
    ("EventData", "oneOf -> anyOf"),
    # Secret requires ``spec`` while SecretSpec is writeOnly: no response can carry it and
    # none may omit it. CMF returns the spec without the values; writeOnly is dropped.
    ("SecretSpec", "writeOnly dropped"),
)


def _apply_errata(spec):
    schemas = spec.get("components", {}).get("schemas", {})
    event_data = schemas.get("EventData")
    if event_data and "oneOf" in event_data:
        event_data["anyOf"] = event_data.pop("oneOf")
    if "SecretSpec" in schemas:
        schemas["SecretSpec"].pop("writeOnly", None)


def now_iso(ts: float | None = None) -> str:
    ts = time.time() if ts is None else ts
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _reasons(exc) -> str:
    seen, out = set(), []
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        errors = getattr(exc, "schema_errors", None) or ()
        for err in errors:
            where = "/".join(str(p) for p in getattr(err, "absolute_path", []) or [])
            out.append(("%s: %s" % (where, err.message)) if where else err.message)
        if not errors and exc.__cause__ is None:
            out.append(str(exc) or type(exc).__name__)
        exc = exc.__cause__ or exc.__context__
    return "; ".join(out)


class CmfHttpError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class ContractViolation(AssertionError):
    """The fake sent a response its own contract rejects: a bug of the fake."""


class _Injection:
    def __init__(self, kind, count=1, **kw):
        self.kind = kind
        self.count = count  # None: unlimited
        self.kw = kw

    def take(self):
        if self.count is not None:
            self.count -= 1


class FakeCMF(JsonHttpServer):
    thread_name = "fake-cmf"

    def __init__(self, spec_version: str = "2.3", start_delay: float = 0.3, savepoint_delay: float = 0.3,
                 default_page_size: int = 20, max_page_size: int = 2000, savepoint_dir: str = "s3://cmf-state/savepoints",
                 auth: tuple | None = None, token: str | None = None, server_version: str | None = None):
        if spec_version not in SPEC_FILES:
            raise ValueError("spec_version must be one of %s" % ", ".join(SPEC_FILES))
        self.spec_version = spec_version
        self.raw_spec, self.api = load_contract(spec_version)
        self.server_version = server_version or SERVER_VERSIONS[spec_version]
        self.start_delay = start_delay
        self.savepoint_delay = savepoint_delay
        self.default_page_size = default_page_size
        self.max_page_size = max_page_size
        self.savepoint_dir = savepoint_dir.rstrip("/")
        self.auth = auth
        self.token = token
        self.lock = threading.RLock()
        self.injections: list[_Injection] = []
        self.log: list[dict] = []            # every request: method, path, query, status
        self.violations: list[str] = []      # responses the contract rejects (bugs of the fake)
        self.undeclared: list[str] = []      # statuses the operation does not declare (injected or gaps)
        self.envs: dict = {}
        self.apps: dict = {}                 # (env, app) -> record
        self.savepoints: dict = {}           # (env, app) -> {name: savepoint}
        self.detached: dict = {}             # name -> savepoint
        self.deleted_savepoints: list[str] = []
        self.pools: dict = {}                # (env, name) -> compute pool
        self.statements: dict = {}           # (env, name) -> statement
        self.catalogs: dict = {}             # name -> kafka catalog
        self.secrets: dict = {}              # name -> secret
        self.mappings: dict = {}             # (env, name) -> environment secret mapping
        self.databases: dict = {}            # (catalog, name) -> kafka database
        self.k8s_clusters: dict = {}         # name -> registered Kubernetes cluster (CMF 2.3)
        self._server = None
        self._thread = None
        self._templates = self._compile_templates()
        self._routes = self._build_routes()

    # -- lifecycle -------------------------------------------------------------------------
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        self.stop()
        if self.violations and exc_type is None:
            raise ContractViolation("the fake CMF sent responses its contract rejects:\n" + "\n".join(self.violations))
        return False

    # -- failure injection -------------------------------------------------------------------
    def inject(self, kind: str, count: int | None = 1, **kw):
        kinds = ("savepoint_failed", "app_failed", "app_finished", "app_restart_loop", "status", "slow",
                 "statement_failed")
        if kind not in kinds:
            raise ValueError("unknown injection %r (one of %s)" % (kind, ", ".join(kinds)))
        if kind == "app_failed" and kw.get("match") and "count" not in kw and count == 1:
            count = None
        with self.lock:
            self.injections.append(_Injection(kind, count=count, **kw))

    def _take(self, kind, predicate=lambda inj: True):
        with self.lock:
            for inj in self.injections:
                if inj.kind == kind and (inj.count is None or inj.count > 0) and predicate(inj):
                    inj.take()
                    return inj
        return None

    # -- request handling --------------------------------------------------------------------
    def handle(self, method, raw_path, body, headers):
        started = time.time()
        parts = urlsplit(raw_path)
        path, query = parts.path, parse_qsl(parts.query, keep_blank_values=True)
        entry = {"method": method, "path": path, "query": dict(query), "time": started}
        status, payload, out_headers = self._dispatch(method, path, query, body, headers)
        entry["status"] = status
        with self.lock:
            self.log.append(entry)
        return status, payload, out_headers

    def _dispatch(self, method, path, query, body, headers):
        slow = self._take("slow", lambda inj: self._matches(inj, method, path))
        if slow:
            time.sleep(float(slow.kw.get("seconds", 1.0)))
        if not self._authorized(headers):
            return self._error(method, path, 401, "Unauthorized: missing or wrong credentials",
                               {"WWW-Authenticate": 'Basic realm="cmf"'}, validate=False)
        template = self._template_for(path)
        if template is None:
            return self._error(method, path, 404, "No endpoint %s %s." % (method, path), validate=False)
        if method.lower() not in self.raw_spec["paths"][template]:
            return self._error(method, path, 405, "Request method '%s' is not supported" % method, validate=False)
        problem = self._validate_request(method, path, query, body)
        if problem:
            return self._error(method, path, 400, problem)
        injected = self._take("status", lambda inj: self._matches(inj, method, path))
        if injected:
            code = int(injected.kw.get("status", 500))
            return self._error(method, path, code, injected.kw.get("message") or self._default_message(code))
        data = json.loads(body) if body else None
        handler, params = self._route(method, path)
        try:
            with self.lock:
                self._advance_all()
                status, payload = handler(data=data, query=dict(query), multi=query, **params)
        except CmfHttpError as exc:
            return self._error(method, path, exc.status, exc.message)
        self._validate_response(method, path, status, payload)
        return status, payload, {}

    @staticmethod
    def _default_message(code):
        return {409: "Conflict: the resource was modified concurrently, retry the request",
                500: "Internal server error", 502: "Bad gateway", 503: "Service unavailable",
                504: "Gateway timeout"}.get(code, "error %s" % code)

    def _matches(self, inj, method, path):
        want_method = inj.kw.get("method")
        if want_method and want_method.upper() != method.upper():
            return False
        pattern = inj.kw.get("path")
        return not pattern or re.search(pattern, path) is not None

    def _authorized(self, headers):
        import base64

        if not self.auth and not self.token:
            return True
        given = headers.get("Authorization") or headers.get("authorization") or ""
        if self.token and given == "Bearer %s" % self.token:
            return True
        if self.auth:
            expected = "Basic " + base64.b64encode(("%s:%s" % self.auth).encode()).decode()
            return given == expected
        return False

    def _error(self, method, path, status, message, headers=None, validate=True):
        payload = {"errors": [{"message": message}]}
        if validate:
            self._validate_response(method, path, status, payload)
        return status, payload, headers or {}

    # -- contract ----------------------------------------------------------------------------
    def _compile_templates(self):
        out = []
        for template in self.raw_spec["paths"]:
            rx = re.compile("^" + re.sub(r"\\{([^}/]+)\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$")
            out.append((template, rx))
        # literal paths before templated ones (e.g. /catalogs/kafka before /{x})
        out.sort(key=lambda item: item[0].count("{"))
        return out

    def _template_for(self, path):
        for template, rx in self._templates:
            if rx.match(path):
                return template
        return None

    def _validate_request(self, method, path, query, body):
        from openapi_core.testing import MockRequest

        if body:
            try:
                json.loads(body)
            except ValueError as exc:
                return "Malformed JSON request: %s" % exc
        request = MockRequest("http://127.0.0.1", method.lower(), path, args=query, data=body or None,
                              content_type="application/json")
        try:
            self.api.validate_request(request)
        except Exception as exc:  # openapi-core raises several error types
            return "Bad request: %s" % _reasons(exc)
        return None

    def _validate_response(self, method, path, status, payload):
        from openapi_core.testing import MockRequest, MockResponse

        template = self._template_for(path)
        operation = self.raw_spec["paths"][template][method.lower()]
        data = b"" if payload is None else json.dumps(payload).encode()
        if str(status) not in operation["responses"]:
            # Not declared by the operation (an injected 409/503, or a gap of the spec):
            # the body must still have CMF's error shape.
            self.undeclared.append("%s %s -> %s" % (method, path, status))
            if status >= 400:
                self._check_schema("RestError", payload, "%s %s -> %s" % (method, path, status))
            return
        request = MockRequest("http://127.0.0.1", method.lower(), path)
        response = MockResponse(data, status_code=status, content_type="application/json" if data else None)
        try:
            self.api.validate_response(request, response)
        except Exception as exc:
            self._violation("%s %s -> %s: %s\n  body: %s" % (method, path, status, _reasons(exc), data[:800]))

    def _check_schema(self, name, payload, what):
        from openapi_schema_validator import OAS30Validator

        schema = dict(self.raw_spec["components"]["schemas"][name])
        schema["components"] = self.raw_spec["components"]
        errors = list(OAS30Validator(schema).iter_errors(payload))
        if errors:
            self._violation("%s: %s" % (what, "; ".join(e.message for e in errors)))

    def _violation(self, text):
        LOG.error("fake CMF contract violation: %s", text)
        with self.lock:
            self.violations.append(text)

    # -- routing -----------------------------------------------------------------------------
    def _build_routes(self):
        env = API + "/environments/{envName}"
        app = env + "/applications/{appName}"
        routes = [
            ("GET", API + "/system-information", self.get_system_information),
            ("GET", API + "/environments", self.list_environments),
            ("POST", API + "/environments", self.post_environment),
            ("GET", env, self.get_environment),
            ("DELETE", env, self.delete_environment),
            ("GET", env + "/applications", self.list_applications),
            ("POST", env + "/applications", self.post_application),
            ("GET", app, self.get_application),
            ("DELETE", app, self.delete_application),
            ("POST", app + "/start", self.start_application),
            ("POST", app + "/suspend", self.suspend_application),
            ("GET", app + "/instances", self.list_instances),
            ("GET", app + "/instances/{instName}", self.get_instance),
            ("GET", "/cmf/api/v1alpha1/environments/{envName}/applications/{appName}/events", self.list_events),
            ("GET", app + "/savepoints", self.list_app_savepoints),
            ("POST", app + "/savepoints", self.post_app_savepoint),
            ("GET", app + "/savepoints/{savepointName}", self.get_app_savepoint),
            ("DELETE", app + "/savepoints/{savepointName}", self.delete_app_savepoint),
            ("POST", app + "/savepoints/{savepointName}/detach", self.detach_savepoint),
            ("GET", API + "/detached-savepoints", self.list_detached),
            ("POST", API + "/detached-savepoints", self.post_detached),
            ("GET", API + "/detached-savepoints/{detachedSavepointName}", self.get_detached),
            ("DELETE", API + "/detached-savepoints/{detachedSavepointName}", self.delete_detached),
            ("GET", env + "/compute-pools", self.list_pools),
            ("POST", env + "/compute-pools", self.post_pool),
            ("GET", env + "/compute-pools/{computePoolName}", self.get_pool),
            ("PUT", env + "/compute-pools/{computePoolName}", self.put_pool),
            ("DELETE", env + "/compute-pools/{computePoolName}", self.delete_pool),
            ("GET", env + "/statements", self.list_statements),
            ("POST", env + "/statements", self.post_statement),
            ("GET", env + "/statements/{stmtName}", self.get_statement),
            ("PUT", env + "/statements/{stmtName}", self.put_statement),
            ("DELETE", env + "/statements/{stmtName}", self.delete_statement),
            ("GET", API + "/catalogs/kafka", self.list_catalogs),
            ("POST", API + "/catalogs/kafka", self.post_catalog),
            ("GET", API + "/catalogs/kafka/{catName}", self.get_catalog),
            ("PUT", API + "/catalogs/kafka/{catName}", self.put_catalog),
            ("DELETE", API + "/catalogs/kafka/{catName}", self.delete_catalog),
            ("GET", API + "/secrets", self.list_secrets),
            ("POST", API + "/secrets", self.post_secret),
            ("GET", API + "/secrets/{secretName}", self.get_secret),
            ("PUT", API + "/secrets/{secretName}", self.put_secret),
            ("DELETE", API + "/secrets/{secretName}", self.delete_secret),
            ("GET", env + "/secret-mappings", self.list_mappings),
            ("POST", env + "/secret-mappings", self.post_mapping),
            ("GET", env + "/secret-mappings/{name}", self.get_mapping),
            ("PUT", env + "/secret-mappings/{name}", self.put_mapping),
            ("DELETE", env + "/secret-mappings/{name}", self.delete_mapping),
            ("GET", API + "/catalogs/kafka/{catName}/databases", self.list_databases),
            ("POST", API + "/catalogs/kafka/{catName}/databases", self.post_database),
            ("GET", API + "/catalogs/kafka/{catName}/databases/{dbName}", self.get_database),
            ("PUT", API + "/catalogs/kafka/{catName}/databases/{dbName}", self.put_database),
            ("DELETE", API + "/catalogs/kafka/{catName}/databases/{dbName}", self.delete_database),
            ("GET", env + "/statements/{stmtName}/exceptions", self.get_statement_exceptions),
            ("GET", API + "/kubernetes-clusters", self.list_k8s_clusters),
            ("GET", API + "/kubernetes-clusters/{kubernetesClusterName}", self.get_k8s_cluster),
            ("GET", API + "/resource-information", self.get_resource_information),
        ]
        out = []
        for method, template, handler in routes:
            rx = re.compile("^" + re.sub(r"\\{([^}/]+)\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$")
            out.append((method, rx, handler))
        return out

    def _route(self, method, path):
        for route_method, rx, handler in self._routes:
            match = rx.match(path)
            if match and route_method == method:
                return handler, match.groupdict()
        return self._not_implemented, {}

    def _not_implemented(self, **_):
        raise CmfHttpError(500, "the fake CMF does not implement this operation")

    # -- helpers -----------------------------------------------------------------------------
    def _page(self, items, query):
        size = int(query.get("size") or self.default_page_size)
        size = max(1, min(size, self.max_page_size))
        page = max(0, int(query.get("page") or 0))
        chunk = items[page * size:(page + 1) * size]
        return {"pageable": {"page": page, "size": size, "sort": {"sorted": False, "unsorted": True, "empty": True}},
                "metadata": {"size": len(items)}, "items": chunk}

    @staticmethod
    def _meta(name, labels=None, annotations=None):
        stamp = now_iso()
        meta = {"name": name, "creationTimestamp": stamp, "updateTimestamp": stamp, "uid": str(uuid.uuid4())}
        if labels:
            meta["labels"] = dict(labels)
        if annotations:
            meta["annotations"] = dict(annotations)
        return meta

    def _env(self, env_name):
        env = self.envs.get(env_name)
        if env is None:
            raise CmfHttpError(404, "Environment '%s' not found." % env_name)
        return env

    def _app(self, env_name, app_name):
        self._env(env_name)
        record = self.apps.get((env_name, app_name))
        if record is None:
            raise CmfHttpError(404, "FlinkApplication '%s' not found in Environment '%s'." % (app_name, env_name))
        return record

    # -- system ------------------------------------------------------------------------------
    def get_system_information(self, **_):
        return 200, {"status": {"version": self.server_version, "revision": "f4e3d2c1b0a9"}}

    # -- environments --------------------------------------------------------------------------
    def list_environments(self, query, **_):
        return 200, self._page([self._env_view(e) for _key, e in sorted(self.envs.items())], query)

    def _env_view(self, env):
        return copy.deepcopy(env)

    def post_environment(self, data, **_):
        name = data.get("name") or (data.get("metadata") or {}).get("name")
        if not name:
            raise CmfHttpError(400, "name: must not be blank")
        current = self.envs.get(name)
        namespace = data.get("kubernetesNamespace")
        stamp = now_iso()
        if current is None:
            if not namespace:
                raise CmfHttpError(400, "kubernetesNamespace: must not be null")
            env = {"name": name, "kubernetesNamespace": namespace, "created_time": stamp, "updated_time": stamp,
                   "secrets": {}, "metadata": {"name": name, "creationTimestamp": stamp, "updateTimestamp": stamp}}
            self.envs[name] = env
        else:
            env = current
            if namespace and namespace != env["kubernetesNamespace"]:
                raise CmfHttpError(400, "Environment's kubernetesNamespace cannot be changed (from '%s' to '%s')."
                                   % (env["kubernetesNamespace"], namespace))
            env["updated_time"] = stamp
            env["metadata"]["updateTimestamp"] = stamp
        for key in ("flinkApplicationDefaults", "computePoolDefaults", "statementDefaults", "kubernetesClusterName"):
            if key in data:
                env[key] = copy.deepcopy(data[key])
        if (data.get("metadata") or {}).get("labels") is not None:
            env["metadata"]["labels"] = dict(data["metadata"]["labels"])
        if (data.get("metadata") or {}).get("annotations") is not None:
            env["metadata"]["annotations"] = dict(data["metadata"]["annotations"])
        return 200, self._env_view(env)

    def get_environment(self, envName, **_):
        return 200, self._env_view(self._env(envName))

    def delete_environment(self, envName, **_):
        self._env(envName)
        if any(key[0] == envName for key in self.apps):
            raise CmfHttpError(500, "Environment '%s' still has FlinkApplications: delete them first." % envName)
        del self.envs[envName]
        return 204, None

    # -- applications --------------------------------------------------------------------------
    def list_applications(self, envName, query, **_):
        self._env(envName)
        apps = [self._app_view(r) for (e, _key), r in sorted(self.apps.items()) if e == envName]
        return 200, self._page(apps, query)

    def _app_view(self, record):
        return {"apiVersion": "cmf.confluent.io/v1", "kind": "FlinkApplication",
                "metadata": copy.deepcopy(record["metadata"]), "spec": copy.deepcopy(record["spec"]),
                "status": self._public_status(copy.deepcopy(record["status"]))}

    def post_application(self, envName, data, **_):
        env = self._env(envName)
        meta = data.get("metadata") or {}
        name = meta.get("name")
        if not name:
            raise CmfHttpError(422, "metadata.name must be set")
        if data.get("kind") not in (None, "FlinkApplication"):
            raise CmfHttpError(422, "kind must be FlinkApplication, got %s" % data.get("kind"))
        spec = data.get("spec") or {}
        problem = _check_application_spec(spec)
        if problem:
            raise CmfHttpError(422, problem)
        record = self.apps.get((envName, name))
        if record is None:
            record = {"env": envName, "metadata": self._meta(name, meta.get("labels"), meta.get("annotations")),
                      "spec": copy.deepcopy(spec), "status": {}, "events": [], "instances": [], "plan": [],
                      "generation": 0}
            self.apps[(envName, name)] = record
            self._deploy(record, env, first=True)
        else:
            old = record["spec"]
            record["metadata"]["updateTimestamp"] = now_iso()
            for key in ("labels", "annotations"):
                if meta.get(key) is not None:
                    record["metadata"][key] = dict(meta[key])
            if spec != old:
                record["spec"] = copy.deepcopy(spec)
                self._deploy(record, env, first=False, old=old)
        return 201, self._app_view(record)

    def _deploy(self, record, env, first, old=None):
        """A new or changed spec: a new instance, and a plan of job states over time."""
        spec = record["spec"]
        job = spec.get("job") or {}
        t0 = time.time()
        record["generation"] += 1
        if job.get("state") == "suspended":
            if old is not None and (old.get("job") or {}).get("state", "running") != "suspended" \
                    and job.get("upgradeMode") == "savepoint" \
                    and (record["status"].get("jobStatus") or {}).get("state") == "RUNNING":
                # FKO takes a savepoint on suspend when upgradeMode is savepoint (a running job only), and
                # records it in the status CMF passes through; the resume starts from it
                merged_dir = ((env.get("flinkApplicationDefaults") or {}).get("spec") or {}).get(
                    "flinkConfiguration", {}).get("state.savepoints.dir") or "s3://cmf/savepoints"
                job_id = (record["status"].get("jobStatus") or {}).get("jobId") or uuid.uuid4().hex
                path = "%s/savepoint-%s-%s" % (merged_dir, job_id[:6], uuid.uuid4().hex[:12])
                record["status"]["_lastSavepoint"] = path
                record["status"].setdefault("jobStatus", {})["savepointInfo"] = {
                    "lastSavepoint": {"location": path, "timeStamp": int(t0 * 1000), "triggerType": "UPGRADE",
                                      "formatType": "CANONICAL"}}
            self._set_plan(record, [(0.0, "SUSPENDED", None)], t0)
            record["status"]["lifecycleState"] = "SUSPENDED"
            return
        merged = _merge(copy.deepcopy((env.get("flinkApplicationDefaults") or {}).get("spec") or {}), spec)
        old_job = (old or {}).get("job") or {}
        restore = None
        if job.get("initialSavepointPath") and (first or job.get("savepointRedeployNonce") != old_job.get("savepointRedeployNonce")
                                                or old_job.get("state") == "suspended"):
            restore = job["initialSavepointPath"]
        elif old is not None:
            # upgradeMode savepoint / last-state: FKO carries the state over by itself
            restore = record["status"].get("_lastSavepoint")
        inst_name = str(uuid.uuid4())
        merged.setdefault("job", {})
        if restore:
            merged["job"]["initialSavepointPath"] = restore
        else:
            merged["job"].pop("initialSavepointPath", None)
        job_id = uuid.uuid4().hex
        for inst in record["instances"]:
            if inst["status"]["jobStatus"].get("state") not in ("FAILED", "FINISHED", "CANCELED"):
                inst["status"]["jobStatus"]["state"] = "CANCELED"
                inst["metadata"]["updateTimestamp"] = now_iso()
        record["instances"].append({
            "apiVersion": "cmf.confluent.io/v1", "kind": "FlinkApplicationInstance",
            "metadata": {"name": inst_name, "uid": inst_name, "creationTimestamp": now_iso(t0),
                         "updateTimestamp": now_iso(t0)},
            "status": {"spec": merged, "jobStatus": {"jobId": job_id, "state": "CREATED"}}})
        kept_info = (record["status"].get("jobStatus") or {}).get("savepointInfo")  # FKO keeps it across deploys
        record["status"] = {
            "jobStatus": dict({"jobId": job_id, "jobName": record["metadata"]["name"], "state": "CREATED",
                               "startTime": str(int(t0 * 1000)), "updateTime": str(int(t0 * 1000))},
                              **({"savepointInfo": kept_info} if kept_info else {})),
            "jobManagerDeploymentStatus": "DEPLOYING", "lifecycleState": "DEPLOYED",
            "clusterInfo": {"flink-version": _flink_version(spec), "total-cpu": "2.0"},
            "observedGeneration": record["generation"],
            "_restoredFrom": restore, "_lastSavepoint": record["status"].get("_lastSavepoint")}
        failure = self._take("app_failed", lambda inj: (inj.kw.get("app") in (None, record["metadata"]["name"]))
                             and _spec_matches(spec, inj.kw.get("match")))
        if failure:
            message = failure.kw.get("message") or (
                "java.lang.RuntimeException: flinkops fake: job %s failed after start" % record["metadata"]["name"])
            running_for = float(failure.kw.get("running_for", 0.0))
            plan = [(0.0, "CREATED", None)]
            if running_for > 0:
                plan.append((self.start_delay, "RUNNING", None))
            plan.append((self.start_delay + running_for, "FAILED", message))
        else:
            plan = [(0.0, "CREATED", None), (self.start_delay, "RUNNING", None)]

            def matches(inj):
                return inj.kw.get("app") in (None, record["metadata"]["name"]) and _spec_matches(spec, inj.kw.get("match"))

            finished = self._take("app_finished", matches)
            loop = None if finished else self._take("app_restart_loop", matches)
            if finished:  # a bounded job (a backfill): RUNNING for running_for seconds, then FINISHED
                plan.append((self.start_delay + float(finished.kw.get("running_for", 0.5)), "FINISHED", None))
            elif loop:  # a restart loop: every `every` seconds an exception, RESTARTING, then RUNNING again
                every = float(loop.kw.get("every", 0.2))
                message = loop.kw.get("message") or "java.lang.NullPointerException: flinkops fake: bad record"
                at = self.start_delay
                for _restart in range(int(loop.kw.get("restarts", 5))):
                    at += every
                    plan.append((at, "RESTARTING", message))
                    plan.append((at + every / 4, "RUNNING", None))
        self._set_plan(record, plan, t0)

    def _set_plan(self, record, plan, t0):
        record["plan"] = [(t0 + offset, state, message) for offset, state, message in plan]
        self._advance(record)

    def _event(self, record, kind, message, instance=None, data=None):
        name = str(uuid.uuid4())
        meta = {"name": name, "uid": name, "creationTimestamp": now_iso()}
        if instance:
            meta["flinkApplicationInstance"] = instance
        status = {"type": kind, "message": message}
        if data:
            status["data"] = data
        record["events"].append({"apiVersion": "cmf.confluent.io/v1alpha1", "kind": "FlinkApplicationEvent",
                                 "metadata": meta, "status": status})

    def _advance(self, record):
        now = time.time()
        status = record["status"]
        job_status = status.setdefault("jobStatus", {})
        instance = record["instances"][-1] if record["instances"] else None
        while record["plan"] and record["plan"][0][0] <= now:
            at, state, message = record["plan"].pop(0)
            previous = job_status.get("state")
            if state == previous:
                continue
            job_status["state"] = state
            job_status["updateTime"] = str(int(at * 1000))
            record["metadata"]["updateTimestamp"] = now_iso(at)
            inst_name = instance["metadata"]["name"] if instance else None
            if instance and state != "SUSPENDED":
                instance["status"]["jobStatus"]["state"] = state
                instance["metadata"]["updateTimestamp"] = now_iso(at)
            if state == "RUNNING":
                status["jobManagerDeploymentStatus"] = "READY"
                status["lifecycleState"] = "STABLE"
            elif state == "FAILED":
                status["jobManagerDeploymentStatus"] = "READY"
                status["lifecycleState"] = "FAILED"
                status["error"] = json.dumps({"type": "org.apache.flink.runtime.JobException", "message": message})
                self._event(record, "JOB_EXCEPTION", message.splitlines()[0], inst_name,
                            data={"exceptionString": message})
            elif state == "SUSPENDED":
                status["jobManagerDeploymentStatus"] = "MISSING"
                status["lifecycleState"] = "SUSPENDED"
            elif message:  # a failure the job restarts from (RESTARTING): the operator reports the exception
                self._event(record, "JOB_EXCEPTION", message.splitlines()[0], inst_name,
                            data={"exceptionString": message})
            self._event(record, "JOB_STATUS", "Job status changed from %s to %s" % (previous or "NONE", state), inst_name,
                        data={"newStatus": state})

    def _advance_all(self):
        for record in self.apps.values():
            self._advance(record)
        for key, items in self.savepoints.items():
            for sp in items.values():
                self._advance_savepoint(sp, self.apps.get(key))

    def _public_status(self, status):
        return dict((k, v) for k, v in status.items() if not k.startswith("_"))

    def get_application(self, envName, appName, **_):
        record = self._app(envName, appName)
        return 200, self._app_view(record)

    def delete_application(self, envName, appName, **_):
        self._app(envName, appName)
        self.apps.pop((envName, appName))
        for name in list(self.savepoints.pop((envName, appName), {})):
            self.deleted_savepoints.append("%s/%s/%s" % (envName, appName, name))
        return 204, None

    def start_application(self, envName, appName, query, **_):
        record = self._app(envName, appName)
        spec = copy.deepcopy(record["spec"])
        spec.setdefault("job", {})["state"] = "running"
        uid = query.get("startFromSavepointUid")
        if uid:
            found = [sp for sp in list(self.savepoints.get((envName, appName), {}).values()) + list(self.detached.values())
                     if sp["metadata"]["uid"] == uid]
            if not found:
                raise CmfHttpError(404, "Savepoint with uid '%s' not found." % uid)
            if found[0]["status"].get("state") != "COMPLETED":
                raise CmfHttpError(404, "Savepoint with uid '%s' is not COMPLETED." % uid)
            spec["job"]["initialSavepointPath"] = found[0]["status"]["path"]
            spec["job"]["savepointRedeployNonce"] = int(spec["job"].get("savepointRedeployNonce") or 0) + 1
        if spec != record["spec"]:
            old = record["spec"]
            record["spec"] = spec
            self._deploy(record, self.envs[envName], first=False, old=old)
        return 200, self.get_application(envName, appName)[1]

    def suspend_application(self, envName, appName, **_):
        record = self._app(envName, appName)
        if (record["spec"].get("job") or {}).get("state") != "suspended":
            old = record["spec"]
            record["spec"] = copy.deepcopy(old)
            record["spec"].setdefault("job", {})["state"] = "suspended"
            self._deploy(record, self.envs[envName], first=False, old=old)
        return 200, self.get_application(envName, appName)[1]

    def list_instances(self, envName, appName, query, **_):
        record = self._app(envName, appName)
        return 200, self._page(copy.deepcopy(record["instances"]), query)

    def get_instance(self, envName, appName, instName, **_):
        record = self._app(envName, appName)
        for inst in record["instances"]:
            if inst["metadata"]["name"] == instName:
                return 200, copy.deepcopy(inst)
        raise CmfHttpError(404, "FlinkApplicationInstance '%s' not found." % instName)

    def list_events(self, envName, appName, query, **_):
        record = self._app(envName, appName)
        return 200, self._page(copy.deepcopy(record["events"]), query)

    # -- savepoints ------------------------------------------------------------------------------
    def _sp_view(self, sp):
        return {"apiVersion": "cmf.confluent.io/v1", "kind": "Savepoint", "metadata": copy.deepcopy(sp["metadata"]),
                "spec": copy.deepcopy(sp["spec"]), "status": self._public_status(sp["status"])}

    def list_app_savepoints(self, envName, appName, query, **_):
        self._app(envName, appName)
        items = [self._sp_view(sp) for sp in self.savepoints.get((envName, appName), {}).values()]
        return 200, self._page(items, query)

    def post_app_savepoint(self, envName, appName, data, **_):
        record = self._app(envName, appName)
        meta = data.get("metadata") or {}
        name = meta.get("name") or "%s-savepoint-%s" % (appName, uuid.uuid4().hex[:8])
        existing = self.savepoints.setdefault((envName, appName), {})
        if name in existing or name in self.detached:
            raise CmfHttpError(422, "Savepoint '%s' already exists." % name)
        state = record["status"].get("jobStatus", {}).get("state")
        if state != "RUNNING":
            raise CmfHttpError(422, "Cannot trigger a savepoint: FlinkApplication '%s' is %s, not RUNNING."
                               % (appName, state))
        spec = dict(data.get("spec") or {})
        spec.setdefault("formatType", "CANONICAL")
        spec.setdefault("backoffLimit", -1)
        t0 = time.time()
        directory = spec.get("path") or _savepoint_dir(record["spec"], self.envs[envName]) or self.savepoint_dir
        job_id = record["status"]["jobStatus"]["jobId"]
        sp = {"metadata": self._meta(name, meta.get("labels"), meta.get("annotations")), "spec": spec,
              "status": {"state": "PENDING", "triggerTimestamp": now_iso(t0), "failures": 0,
                         "_t0": t0, "_dir": directory.rstrip("/"), "_job": job_id}}
        sp["metadata"].pop("updateTimestamp", None)
        failure = self._take("savepoint_failed", lambda inj: inj.kw.get("app") in (None, appName))
        if failure:
            sp["status"]["_fail"] = failure.kw.get("error") or (
                "java.util.concurrent.CompletionException: org.apache.flink.runtime.checkpoint."
                "CheckpointException: Checkpoint expired before completing.")
        existing[name] = sp
        return 201, self._sp_view(sp)

    def _advance_savepoint(self, sp, record):
        status = sp["status"]
        if status["state"] in ("COMPLETED", "FAILED") or "_t0" not in status:
            return
        elapsed = time.time() - status["_t0"]
        if elapsed >= self.savepoint_delay:
            status["resultTimestamp"] = now_iso()
            if status.get("_fail"):
                status["state"] = "FAILED"
                status["error"] = status["_fail"]
                status["failures"] = 1
            else:
                status["state"] = "COMPLETED"
                status["path"] = "%s/savepoint-%s-%s" % (status["_dir"], status["_job"][:6], uuid.uuid4().hex[:12])
                if record is not None:
                    record["status"]["_lastSavepoint"] = status["path"]
                    record["status"].setdefault("jobStatus", {})["savepointInfo"] = {
                        "lastSavepoint": {"location": status["path"], "timeStamp": int(time.time() * 1000),
                                          "triggerType": "MANUAL", "formatType": sp["spec"].get("formatType", "CANONICAL")}}
        elif elapsed >= self.savepoint_delay / 2:
            status["state"] = "IN_PROGRESS"

    def _app_sp(self, envName, appName, savepointName):
        self._app(envName, appName)
        sp = self.savepoints.get((envName, appName), {}).get(savepointName)
        if sp is None:
            raise CmfHttpError(404, "Savepoint '%s' not found for FlinkApplication '%s'." % (savepointName, appName))
        return sp

    def get_app_savepoint(self, envName, appName, savepointName, **_):
        return 200, self._sp_view(self._app_sp(envName, appName, savepointName))

    def delete_app_savepoint(self, envName, appName, savepointName, **_):
        self._app_sp(envName, appName, savepointName)
        del self.savepoints[(envName, appName)][savepointName]
        self.deleted_savepoints.append("%s/%s/%s" % (envName, appName, savepointName))
        return 204, None

    def detach_savepoint(self, envName, appName, savepointName, **_):
        sp = self._app_sp(envName, appName, savepointName)
        if sp["status"].get("state") != "COMPLETED":
            raise CmfHttpError(500, "Only a COMPLETED savepoint can be detached (state %s)." % sp["status"].get("state"))
        del self.savepoints[(envName, appName)][savepointName]
        self.detached[savepointName] = sp
        return 200, self._sp_view(sp)

    def list_detached(self, query, **_):
        prefix = query.get("name") or ""
        items = [self._sp_view(sp) for name, sp in sorted(self.detached.items()) if name.startswith(prefix)]
        return 200, self._page(items, query)

    def post_detached(self, data, **_):
        meta = data.get("metadata") or {}
        name = meta.get("name")
        if not name:
            raise CmfHttpError(422, "metadata.name must be set for a detached savepoint")
        path = (data.get("spec") or {}).get("path")
        if not path:
            raise CmfHttpError(422, "spec.path must be set for a detached savepoint")
        if name in self.detached:
            raise CmfHttpError(422, "Detached Savepoint '%s' already exists." % name)
        spec = dict(data["spec"])
        spec.setdefault("formatType", "CANONICAL")
        sp = {"metadata": self._meta(name, meta.get("labels"), meta.get("annotations")), "spec": spec,
              "status": {"state": "COMPLETED", "path": path, "triggerTimestamp": now_iso(),
                         "resultTimestamp": now_iso(), "failures": 0}}
        sp["metadata"].pop("updateTimestamp", None)
        self.detached[name] = sp
        return 201, self._sp_view(sp)

    def get_detached(self, detachedSavepointName, **_):
        sp = self.detached.get(detachedSavepointName)
        if sp is None:
            raise CmfHttpError(404, "Detached Savepoint '%s' not found." % detachedSavepointName)
        return 200, self._sp_view(sp)

    def delete_detached(self, detachedSavepointName, **_):
        self.get_detached(detachedSavepointName)
        del self.detached[detachedSavepointName]
        self.deleted_savepoints.append("detached/%s" % detachedSavepointName)
        return 204, None

    # -- generic CRUD (compute pools, statements, catalogs, secrets) ---------------------------------
    def _crud_view(self, kind, obj):
        return copy.deepcopy(obj)

    def _create(self, store, key, kind, data, status_fn=None):
        meta = data.get("metadata") or {}
        name = meta.get("name")
        if not name:
            raise CmfHttpError(422, "metadata.name must be set")
        if key(name) in store:
            raise CmfHttpError(409, "%s '%s' already exists." % (kind, name))
        obj = {"apiVersion": data.get("apiVersion") or "cmf.confluent.io/v1", "kind": kind,
               "metadata": self._meta(name, meta.get("labels"), meta.get("annotations")),
               "spec": copy.deepcopy(data.get("spec") or {})}
        if status_fn:
            obj["status"] = status_fn(obj)
        store[key(name)] = obj
        return 200, copy.deepcopy(obj)

    def _update(self, store, key, kind, name, data, status_fn=None):
        obj = store.get(key)
        if obj is None:
            raise CmfHttpError(404, "%s '%s' not found." % (kind, name))
        if (data.get("metadata") or {}).get("name") not in (None, name):
            raise CmfHttpError(422, "metadata.name cannot be changed")
        obj["spec"] = copy.deepcopy(data.get("spec") or {})
        obj["metadata"]["updateTimestamp"] = now_iso()
        if status_fn:
            obj["status"] = status_fn(obj)
        return 200, copy.deepcopy(obj)

    def _get(self, store, key, kind, name):
        obj = store.get(key)
        if obj is None:
            raise CmfHttpError(404, "%s '%s' not found." % (kind, name))
        return 200, copy.deepcopy(obj)

    def _delete(self, store, key, kind, name):
        if key not in store:
            raise CmfHttpError(404, "%s '%s' not found." % (kind, name))
        del store[key]
        return 204, None

    @staticmethod
    def _pool_status(obj):
        return {"phase": "SUSPENDED" if obj["spec"].get("state") == "SUSPENDED" else "RUNNING"}

    def list_pools(self, envName, query, **_):
        self._env(envName)
        return 200, self._page([copy.deepcopy(v) for (e, _key), v in sorted(self.pools.items()) if e == envName], query)

    def post_pool(self, envName, data, **_):
        self._env(envName)
        return self._create(self.pools, lambda n: (envName, n), "ComputePool", data, self._pool_status)

    def get_pool(self, envName, computePoolName, **_):
        self._env(envName)
        return self._get(self.pools, (envName, computePoolName), "ComputePool", computePoolName)

    def put_pool(self, envName, computePoolName, data, **_):
        self._env(envName)
        return self._update(self.pools, (envName, computePoolName), "ComputePool", computePoolName, data,
                            self._pool_status)

    def delete_pool(self, envName, computePoolName, **_):
        self._env(envName)
        if any(k[0] == envName and s["spec"].get("computePoolName") == computePoolName
               for k, s in self.statements.items()):
            raise CmfHttpError(409, "ComputePool '%s' is used by statements." % computePoolName)
        return self._delete(self.pools, (envName, computePoolName), "ComputePool", computePoolName)

    def _statement_status(self, obj):
        previous = obj.get("status") or {}
        if obj["spec"].get("stopped"):
            return {"phase": "STOPPED", "detail": "Statement was stopped."}
        if previous.get("phase") in (None, "STOPPED", "FAILED"):
            # created, resumed or restarted: a new deployment
            name = obj["metadata"]["name"]
            failure = self._take("statement_failed", lambda inj: inj.kw.get("statement") in (None, name))
            obj["_t0"] = time.time()
            obj["_fail"] = (failure.kw.get("message") or "org.apache.flink.table.api.ValidationException: "
                            "Table 'orders' not found") if failure else None
            return {"phase": "PENDING", "detail": "Statement is being deployed."}
        return previous

    def _statement_view(self, obj):
        status = obj["status"]
        if status.get("phase") == "PENDING" and time.time() - obj.get("_t0", 0) >= self.start_delay:
            if obj.get("_fail"):
                status.update(phase="FAILED", detail=obj["_fail"].splitlines()[0])
                obj.setdefault("_exceptions", []).insert(0, {
                    "apiVersion": "cmf.confluent.io/v1", "kind": "StatementException",
                    "name": "exception-%d" % (len(obj.get("_exceptions", [])) + 1),
                    "message": obj["_fail"], "timestamp": now_iso()})
            else:
                status.update(phase="RUNNING", detail="Statement is running.")
        return dict((k, copy.deepcopy(v)) for k, v in obj.items() if not k.startswith("_"))

    def list_statements(self, envName, query, **_):
        self._env(envName)
        items = [self._statement_view(v) for (e, _key), v in sorted(self.statements.items()) if e == envName]
        return 200, self._page(items, query)

    def post_statement(self, envName, data, **_):
        self._env(envName)
        pool = (data.get("spec") or {}).get("computePoolName")
        if (envName, pool) not in self.pools:
            raise CmfHttpError(422, "ComputePool '%s' does not exist in Environment '%s'." % (pool, envName))
        self._create(self.statements, lambda n: (envName, n), "Statement", data, self._statement_status)
        return 200, self._statement_view(self.statements[(envName, data["metadata"]["name"])])

    def _stmt(self, envName, stmtName):
        self._env(envName)
        obj = self.statements.get((envName, stmtName))
        if obj is None:
            raise CmfHttpError(404, "Statement '%s' not found." % stmtName)
        return obj

    def get_statement(self, envName, stmtName, **_):
        return 200, self._statement_view(self._stmt(envName, stmtName))

    def put_statement(self, envName, stmtName, data, **_):
        obj = self._stmt(envName, stmtName)
        if (data.get("spec") or {}).get("statement") != obj["spec"].get("statement"):
            raise CmfHttpError(422, "The SQL of Statement '%s' cannot be changed." % stmtName)
        self._update(self.statements, (envName, stmtName), "Statement", stmtName, data, self._statement_status)
        return 200, self._statement_view(obj)

    def delete_statement(self, envName, stmtName, **_):
        self._env(envName)
        return self._delete(self.statements, (envName, stmtName), "Statement", stmtName)

    def get_statement_exceptions(self, envName, stmtName, **_):
        obj = self._stmt(envName, stmtName)
        self._statement_view(obj)
        return 200, {"apiVersion": "cmf.confluent.io/v1", "kind": "StatementExceptionList",
                     "data": copy.deepcopy(obj.get("_exceptions", [])[:10])}

    # secret mappings: spec.secretName is writeOnly in the contract, so no response carries it
    def _mapping_view(self, obj):
        return dict((k, copy.deepcopy(v)) for k, v in obj.items() if k != "spec")

    def list_mappings(self, envName, query, **_):
        self._env(envName)
        items = [self._mapping_view(v) for (e, _key), v in sorted(self.mappings.items()) if e == envName]
        return 200, self._page(items, query)

    def post_mapping(self, envName, data, **_):
        self._env(envName)
        secret = (data.get("spec") or {}).get("secretName")
        if secret not in self.secrets:
            raise CmfHttpError(404, "Secret '%s' not found." % secret)
        self._create(self.mappings, lambda n: (envName, n), "EnvironmentSecretMapping", data)
        return 200, self._mapping_view(self.mappings[(envName, data["metadata"]["name"])])

    def get_mapping(self, envName, name, **_):
        self._env(envName)
        self._get(self.mappings, (envName, name), "EnvironmentSecretMapping", name)
        return 200, self._mapping_view(self.mappings[(envName, name)])

    def put_mapping(self, envName, name, data, **_):
        self._env(envName)
        if (data.get("spec") or {}).get("secretName") not in self.secrets:
            raise CmfHttpError(400, "Secret '%s' not found." % (data.get("spec") or {}).get("secretName"))
        self._update(self.mappings, (envName, name), "EnvironmentSecretMapping", name, data)
        return 200, self._mapping_view(self.mappings[(envName, name)])

    def delete_mapping(self, envName, name, **_):
        self._env(envName)
        return self._delete(self.mappings, (envName, name), "EnvironmentSecretMapping", name)

    # kafka databases
    def _catalog(self, catName):
        if catName not in self.catalogs:
            raise CmfHttpError(404, "KafkaCatalog '%s' not found." % catName)

    def _db_status(self, obj):
        return {"environmentsWithAccess": list(obj["spec"].get("ddlEnvironments") or [])}

    def list_databases(self, catName, query, **_):
        self._catalog(catName)
        items = [copy.deepcopy(v) for (c, _key), v in sorted(self.databases.items()) if c == catName]
        return 200, self._page(items, query)

    def post_database(self, catName, data, **_):
        self._catalog(catName)
        return self._create(self.databases, lambda n: (catName, n), "KafkaDatabase", data, self._db_status)

    def get_database(self, catName, dbName, **_):
        self._catalog(catName)
        return self._get(self.databases, (catName, dbName), "KafkaDatabase", dbName)

    def put_database(self, catName, dbName, data, **_):
        self._catalog(catName)
        return self._update(self.databases, (catName, dbName), "KafkaDatabase", dbName, data, self._db_status)

    def delete_database(self, catName, dbName, **_):
        self._catalog(catName)
        return self._delete(self.databases, (catName, dbName), "KafkaDatabase", dbName)

    # kubernetes clusters and resource information
    def add_k8s_cluster(self, name, state="CONNECTED", version="v1.30.2"):
        """Test helper: a registered Kubernetes cluster."""
        with self.lock:
            self.k8s_clusters[name] = {
                "apiVersion": "cmf.confluent.io/v1", "kind": "KubernetesCluster", "metadata": self._meta(name),
                "spec": {"lifecycleState": "ACTIVE"},
                "status": {"state": state, "lastHeartbeatTimestamp": now_iso(), "kubernetesVersion": version}}

    def list_k8s_clusters(self, query, **_):
        return 200, self._page([copy.deepcopy(v) for _k, v in sorted(self.k8s_clusters.items())], query)

    def get_k8s_cluster(self, kubernetesClusterName, **_):
        return self._get(self.k8s_clusters, kubernetesClusterName, "KubernetesCluster", kubernetesClusterName)

    def get_resource_information(self, **_):
        return 200, {"status": {"resources": {
            "environments": len(self.envs), "computePools": len(self.pools), "secrets": len(self.secrets),
            "catalogs": len(self.catalogs), "savepoints": sum(len(v) for v in self.savepoints.values()),
            "detachedSavepoints": len(self.detached)}}}

    def list_catalogs(self, query, **_):
        return 200, self._page([copy.deepcopy(v) for _key, v in sorted(self.catalogs.items())], query)

    def post_catalog(self, data, **_):
        return self._create(self.catalogs, lambda n: n, "KafkaCatalog", data)

    def get_catalog(self, catName, **_):
        return self._get(self.catalogs, catName, "KafkaCatalog", catName)

    def put_catalog(self, catName, data, **_):
        return self._update(self.catalogs, catName, "KafkaCatalog", catName, data)

    def delete_catalog(self, catName, **_):
        result = self._delete(self.catalogs, catName, "KafkaCatalog", catName)
        for key in [k for k in self.databases if k[0] == catName]:
            del self.databases[key]
        return result

    def _secret_view(self, obj):
        view = copy.deepcopy(obj)
        # CMF never returns secret values (SecretSpec is writeOnly, see ERRATA)
        view["spec"] = {}
        view.pop("_version", None)
        name = obj["metadata"]["name"]
        envs = sorted(set(e for (e, _m), m in self.mappings.items() if (m.get("spec") or {}).get("secretName") == name))
        view["status"] = {"version": str(obj.get("_version", 1)), "environments": envs}
        return view

    def secret_data(self, name):
        """Test oracle: the values a secret holds (CMF never returns them)."""
        with self.lock:
            return copy.deepcopy((self.secrets.get(name) or {}).get("spec", {}).get("data"))

    def list_secrets(self, query, **_):
        return 200, self._page([self._secret_view(v) for _key, v in sorted(self.secrets.items())], query)

    def post_secret(self, data, **_):
        self._create(self.secrets, lambda n: n, "Secret", data)
        name = data["metadata"]["name"]
        return 200, self._secret_view(self.secrets[name])

    def get_secret(self, secretName, **_):
        self._get(self.secrets, secretName, "Secret", secretName)
        return 200, self._secret_view(self.secrets[secretName])

    def put_secret(self, secretName, data, **_):
        self._update(self.secrets, secretName, "Secret", secretName, data)
        self.secrets[secretName]["_version"] = self.secrets[secretName].get("_version", 1) + 1
        return 200, self._secret_view(self.secrets[secretName])

    def delete_secret(self, secretName, **_):
        return self._delete(self.secrets, secretName, "Secret", secretName)

    # -- test oracles ------------------------------------------------------------------------------
    def application(self, env, name):
        """The application as CMF reports it now (status advanced), or None."""
        with self.lock:
            record = self.apps.get((env, name))
            if record is None:
                return None
            self._advance(record)
            view = self._app_view(record)
            view["restored_from"] = record["status"].get("_restoredFrom")
            return view

    def app_savepoints(self, env, name):
        with self.lock:
            self._advance_all()
            return [self._sp_view(sp) for sp in self.savepoints.get((env, name), {}).values()]

    def writes(self):
        """The write requests received (POST, PUT, PATCH, DELETE), in order."""
        return [e for e in self.log if e["method"] in ("POST", "PUT", "PATCH", "DELETE")]


# -- spec helpers ------------------------------------------------------------------------------
_JOB_TYPES = {"jarURI": str, "entryClass": str, "args": list, "parallelism": int, "upgradeMode": str,
              "state": str, "initialSavepointPath": str, "allowNonRestoredState": bool,
              "savepointRedeployNonce": int}


def _check_application_spec(spec):
    """What CMF (through the FlinkDeployment schema) rejects in a FlinkApplication spec."""
    if not isinstance(spec, dict):
        return "spec must be an object"
    if "image" in spec and not isinstance(spec["image"], str):
        return "spec.image: must be a string"
    conf = spec.get("flinkConfiguration")
    if conf is not None and not (isinstance(conf, dict) and all(isinstance(v, str) for v in conf.values())):
        return "spec.flinkConfiguration: values must be strings"
    job = spec.get("job")
    if job is None:
        return None
    if not isinstance(job, dict):
        return "spec.job must be an object"
    for key, kind in _JOB_TYPES.items():
        if key in job and (not isinstance(job[key], kind) or (kind is int and isinstance(job[key], bool))):
            return "spec.job.%s: must be of type %s" % (key, kind.__name__)
    if job.get("upgradeMode") not in (None, "stateless", "savepoint", "last-state"):
        return "spec.job.upgradeMode: must be one of stateless, savepoint, last-state"
    if job.get("state") not in (None, "running", "suspended"):
        return "spec.job.state: must be running or suspended"
    if "parallelism" in job and job["parallelism"] < 1:
        return "spec.job.parallelism: must be at least 1"
    return None


def _merge(base, override):
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def _spec_matches(spec, match):
    if not match:
        return True
    for key, want in match.items():
        value = spec
        for part in key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value != want:
            return False
    return True


def _flink_version(spec):
    version = spec.get("flinkVersion") or "v1_19"
    return version.lstrip("v").replace("_", ".")


def _savepoint_dir(spec, env):
    for source in (spec.get("flinkConfiguration") or {},
                   ((env.get("flinkApplicationDefaults") or {}).get("spec") or {}).get("flinkConfiguration") or {}):
        for key in ("execution.checkpointing.savepoint-dir", "state.savepoints.dir"):
            if source.get(key):
                return source[key]
    return None
