"""A stateful, contract-checked, in-memory Confluent Cloud: Kafka REST v3 (cluster links, mirror
topics, consumer groups), the regional Flink SQL API (statements) and the Confluent Cloud API
(Flink compute pools), served on 127.0.0.1 (an ephemeral port) by one stdlib server::

    with FakeConfluentCloud() as cc:
        cc.add_cluster("lkc-dr")
        cc.add_link("lkc-dr", "dr-link", source_cluster_id="lkc-primary", topics={"orders": {"lag": 5}})
        requests.get(cc.url + "/kafka/v3/clusters/lkc-dr/links/dr-link/mirrors", auth=("k", "s"))

One server holds every API (the paths do not overlap) and any number of Kafka clusters (the
cluster id is in the path), so a primary and a DR cluster are two ids on the same fake.

The contracts are the OpenAPI documents in ``../shared/specs/confluent`` (read in place, never
copied): ``ccloud-kafkarest-v3-openapi.yaml``, ``ccloud-flink-gateway-v1-openapi.yaml`` and
``ccloud-flink-v2-openapi.yaml``. Each is cut down in memory to the paths the fake serves
(the components stay whole) so that validation is fast. Every request is validated with
openapi-core before it is served: one the contract rejects is answered 400 with the API's error
shape (Kafka REST ``{"error_code", "message"}``, the others ``{"errors": [{"status", "detail"}]}``);
an unknown path is 404, a known path with another method 405. Every response is validated too:
a response the contract rejects is a bug of the fake, recorded in ``violations`` and raised when
the ``with`` block ends.

Server-side behaviour, as Confluent documents it:
* Basic authentication with a key/secret pair per API (``auth={"kafka": (key, secret), ...}``):
  401 otherwise.
* Lists are paginated: ``page_size`` items a page (default 2, so every client must follow
  ``metadata.next``, an absolute URL carrying ``page_token``).
* Mirror topics: ``mirrors:failover`` and ``mirrors:promote`` answer per topic. A switched mirror
  goes PENDING_STOPPED, then STOPPED after ``stop_delay`` s. ``failover`` works from any state but
  STOPPED (FAILED and SOURCE_UNAVAILABLE included); ``promote`` needs the mirror ACTIVE with no lag
  (it syncs with the source first), else its entry carries error 400. A STOPPED mirror answers
  "has already stopped its mirror". ``reverse-and-start-mirror`` / ``-pause-mirror`` act on a link
  whose ``link_mode`` is BIDIRECTIONAL: the topic here becomes a regular topic (it leaves this
  side's mirrors) and the same link on the remote cluster mirrors it (ACTIVE / PAUSED).
* Consumer groups: a group's lag per partition; ``drain`` messages a second are consumed while a
  statement named in ``consumer_statement`` is RUNNING (so "consumer lag shrinking" is observable).
* Statements: POST -> PENDING, RUNNING after ``start_delay`` s (a ``SELECT`` of literals is bounded:
  COMPLETED, with one result row). ``sql.tables.initial-offset-from: <old>`` keeps the new one
  PENDING until <old> is STOPPED, then it starts from <old>'s offsets (``carried_from``). PUT needs
  the ``metadata.resource_version`` that was read (else 409), cannot change ``spec.statement`` or
  ``spec.principal`` (400); PATCH (JSON Patch, as confluent-sql stops a statement) changes
  ``/spec/stopped`` and ``/spec/compute_pool_id`` (422 for the immutable fields);
  ``spec.stopped: true`` -> STOPPING -> STOPPED, false -> PENDING -> RUNNING; the pool of a running
  statement cannot change. DELETE answers 202. Traits: append-only unless the SQL aggregates, joins, windows or
  matches patterns.
* Compute pools: POST -> 202 PROVISIONING, PROVISIONED after ``pool_delay`` s; PATCH ``max_cfu``
  (one of 5, 10, 20, 30, 40, 50) -> PROVISIONING then PROVISIONED; ``cloud``/``region`` cannot change.

Failure injection (``cc.inject(kind, **kw)``), each consumed once unless ``count`` says:
* ``status``           answer ``status`` to the next ``count`` requests matching ``method`` and
  ``path`` (a regex); 429 carries ``Retry-After: retry_after`` (seconds, or an HTTP date with
  ``http_date=True``).
* ``promote_fails``    the next switch (promote or failover) of ``topic`` answers error_code 400
  with ``message`` for that topic (the others switch).
* ``statement_failed`` / ``statement_degraded``  the next start of ``statement`` (any when None)
  goes FAILED, or RUNNING then DEGRADED, with a StatementException carrying ``message``.
* lag above a bound: ``set_lag(cluster, link, topic, lag)``; a FAILED mirror: ``set_mirror_status``.
"""
from __future__ import annotations

import base64
import copy
import email.utils
import json
import logging
import re
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import yaml

from tests.support.json_http_server import JsonHttpServer

from tests.support.fake_cmf import ContractViolation, _reasons, now_iso

LOG = logging.getLogger("fake_confluent_cloud")

SPECS_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "specs" / "confluent"
KAFKA = "/kafka/v3/clusters/{cluster_id}"
SQL = "/sql/v1/organizations/{organization_id}/environments/{environment_id}"
POOLS = "/fcpm/v2/compute-pools"
CONTRACTS = {
    "kafka": ("ccloud-kafkarest-v3-openapi.yaml", (
        KAFKA + "/links", KAFKA + "/links/{link_name}", KAFKA + "/links/{link_name}/mirrors",
        KAFKA + "/links/{link_name}/mirrors/{mirror_topic_name}",
        KAFKA + "/links/{link_name}/mirrors:promote", KAFKA + "/links/{link_name}/mirrors:failover",
        KAFKA + "/links/{link_name}/mirrors:reverse-and-start-mirror",
        KAFKA + "/links/{link_name}/mirrors:reverse-and-pause-mirror",
        KAFKA + "/consumer-groups", KAFKA + "/consumer-groups/{consumer_group_id}/lags",
        KAFKA + "/consumer-groups/{consumer_group_id}/lag-summary")),
    "flink": ("ccloud-flink-gateway-v1-openapi.yaml", (
        SQL + "/statements", SQL + "/statements/{statement_name}", SQL + "/statements/{statement_name}/exceptions",
        SQL + "/statements/{name}/results")),
    "cloud": ("ccloud-flink-v2-openapi.yaml", (POOLS, POOLS + "/{id}")),
}
MAX_CFU = (5, 10, 20, 30, 40, 50)
STATEFUL_SQL = re.compile(r"(?i)\b(group\s+by|join|over\s*\(|window|match_recognize|tumble|hop|cumulate|lag\s*\()")

_CACHE: dict = {}
_LOCK = threading.Lock()


def spec_path(api: str) -> Path:
    return (SPECS_DIR / CONTRACTS[api][0]).resolve()


# Defects of the published contracts that make every response of an operation invalid, whatever
# the server sends; each is patched in the in-memory copy only:
ERRATA = (
    # sql.v1.StatementResult requires a top-level ``data`` it does not define (the rows are in
    # ``results.data``, which the results operation requires): no real answer carries it.
    ("sql.v1.StatementResult", "required: data dropped"),
)


def load_contract(api: str):
    """(raw spec cut to the served paths, openapi_core.OpenAPI), cached per process."""
    with _LOCK:
        if api not in _CACHE:
            import warnings

            from openapi_core import OpenAPI

            # openapi-core warns once per security scheme it does not model (oauth2); the fake
            # checks the basic credentials itself (_authorized)
            warnings.filterwarnings("ignore", message="Unsupported scheme type")

            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            with open(spec_path(api)) as handle:
                raw = yaml.load(handle, Loader=loader)
            raw["paths"] = dict((p, raw["paths"][p]) for p in CONTRACTS[api][1])
            if api == "flink":
                result = raw["components"]["schemas"]["sql.v1.StatementResult"]
                result["required"] = [r for r in result.get("required", []) if r != "data"]
            from openapi_core import Config

            spec = copy.deepcopy(raw)
            spec["servers"] = [{"url": "/"}]
            # JSON Patch bodies (statement PATCH) are JSON: openapi-core knows only application/json
            config = Config(extra_media_type_deserializers={"application/json-patch+json": json.loads})
            _CACHE[api] = (raw, OpenAPI.from_dict(spec, config=config))
        return _CACHE[api]


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


class _Injection:
    def __init__(self, kind, count=1, **kw):
        self.kind, self.count, self.kw = kind, count, kw


def _api_of(path: str):
    if path.startswith("/kafka/v3/"):
        return "kafka"
    if path.startswith("/sql/v1/"):
        return "flink"
    if path.startswith("/fcpm/v2/"):
        return "cloud"
    return None


class FakeConfluentCloud(JsonHttpServer):
    thread_name = "fake-confluent-cloud"

    def __init__(self, organization_id: str | None = None, environment_id: str = "env-dr01",
                 start_delay: float = 0.3, stop_delay: float = 0.3, pool_delay: float = 0.3, page_size: int = 2,
                 auth: dict | None = None):
        self.organization_id = organization_id or str(uuid.UUID(int=0x5eed))
        self.environment_id = environment_id
        self.start_delay, self.stop_delay, self.pool_delay = start_delay, stop_delay, pool_delay
        self.page_size = page_size
        self.auth = auth or {}
        self.contracts = dict((api, load_contract(api)) for api in CONTRACTS)
        self.lock = threading.RLock()
        self.injections: list[_Injection] = []
        self.log: list[dict] = []
        self.violations: list[str] = []
        self.undeclared: list[str] = []
        self.clusters: dict = {}     # id -> {"links": {name: link}, "groups": {id: group}}
        self.statements: dict = {}   # name -> statement (one organization and environment)
        self.pools: dict = {}        # id -> pool
        self._server = None
        self._thread = None
        self._templates = dict((api, self._compile(raw)) for api, (raw, _x) in self.contracts.items())
        self._routes = self._build_routes()

    # -- lifecycle -------------------------------------------------------------------------
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        self.stop()
        if self.violations and exc_type is None:
            raise ContractViolation("the fake Confluent Cloud sent responses its contract rejects:\n"
                                    + "\n".join(self.violations))
        return False

    # -- state set-up (what exists before a test) -------------------------------------------
    def add_cluster(self, cluster_id: str):
        with self.lock:
            return self.clusters.setdefault(cluster_id, {"links": {}, "groups": {}})

    def add_link(self, cluster_id: str, link: str, source_cluster_id: str | None = None, topics: dict | None = None,
                 link_mode: str = "DESTINATION", remote_cluster_id: str | None = None):
        """A cluster link on ``cluster_id`` (the destination) with mirror topics:
        ``{topic: {"partitions": 3, "lag": 0, "status": "ACTIVE"}}`` (lag spread over partitions)."""
        with self.lock:
            cluster = self.add_cluster(cluster_id)
            cluster["links"][link] = {"link_name": link, "cluster_link_id": base64.urlsafe_b64encode(
                uuid.uuid4().bytes).decode().rstrip("="), "source_cluster_id": source_cluster_id,
                "remote_cluster_id": remote_cluster_id or source_cluster_id, "link_state": "ACTIVE",
                "link_mode": link_mode, "mirrors": {}}
            for topic, conf in (topics or {}).items():
                self.add_mirror(cluster_id, link, topic, **conf)
            return cluster["links"][link]

    def add_mirror(self, cluster_id, link, topic, partitions=3, lag=0, status="ACTIVE", source_topic=None):
        with self.lock:
            mirrors = self.clusters[cluster_id]["links"][link]["mirrors"]
            mirrors[topic] = {"mirror_topic_name": topic, "source_topic_name": source_topic or topic,
                              "num_partitions": partitions, "mirror_status": status,
                              "state_time_ms": int(time.time() * 1000), "_lags": self._spread(lag, partitions),
                              "_offsets": [1000 * (p + 1) for p in range(partitions)]}

    @staticmethod
    def _spread(lag, partitions):
        base, rest = divmod(int(lag), partitions)
        return [base + (1 if p < rest else 0) for p in range(partitions)]

    def set_lag(self, cluster_id, link, topic, lag):
        with self.lock:
            mirror = self.clusters[cluster_id]["links"][link]["mirrors"][topic]
            mirror["_lags"] = self._spread(lag, mirror["num_partitions"])

    def set_mirror_status(self, cluster_id, link, topic, status):
        with self.lock:
            mirror = self.clusters[cluster_id]["links"][link]["mirrors"][topic]
            mirror.update(mirror_status=status, state_time_ms=int(time.time() * 1000))
            mirror.pop("_stop_at", None)

    def mirror(self, cluster_id, link, topic):
        with self.lock:
            self._advance()
            found = self.clusters[cluster_id]["links"][link]["mirrors"].get(topic)
            return copy.deepcopy(found)

    def add_consumer_group(self, cluster_id, group, topics: dict, drain: float = 0.0, consumer_statement=None):
        """``topics``: ``{topic: [lag of partition 0, lag of partition 1, ...]}``."""
        with self.lock:
            self.add_cluster(cluster_id)["groups"][group] = {
                "partitions": [(t, p, lag) for t, lags in sorted(topics.items()) for p, lag in enumerate(lags)],
                "drain": drain, "consumer_statement": consumer_statement, "_drained": 0.0, "_last": time.time()}

    # -- failure injection -------------------------------------------------------------------
    def inject(self, kind: str, count: int | None = 1, **kw):
        kinds = ("status", "promote_fails", "statement_failed", "statement_degraded")
        if kind not in kinds:
            raise ValueError("unknown injection %r (one of %s)" % (kind, ", ".join(kinds)))
        with self.lock:
            self.injections.append(_Injection(kind, count=count, **kw))

    def _take(self, kind, predicate=lambda inj: True):
        with self.lock:
            for inj in self.injections:
                if inj.kind == kind and (inj.count is None or inj.count > 0) and predicate(inj):
                    if inj.count is not None:
                        inj.count -= 1
                    return inj
        return None

    def module_params(self, cluster: str = "lkc-dr", **extra):
        """The connection options of the confluent_cloud modules pointed at this fake (``auth``'s keys)."""
        def pair(api):
            return self.auth.get(api) or (None, None)
        params = {"kafka_url": self.url, "kafka_api_key": pair("kafka")[0], "kafka_api_secret": pair("kafka")[1],
                  "kafka_cluster_id": cluster, "flink_url": self.url, "flink_api_key": pair("flink")[0],
                  "flink_api_secret": pair("flink")[1], "organization_id": self.organization_id,
                  "environment_id": self.environment_id, "cloud_url": self.url, "cloud_api_key": pair("cloud")[0],
                  "cloud_api_secret": pair("cloud")[1], "validate_certs": True, "ca_path": None,
                  "request_timeout": 10, "retries": 2}
        params.update(extra)
        return params

    def writes(self, api: str | None = None):
        return [e for e in self.log if e["method"] in ("POST", "PUT", "PATCH", "DELETE")
                and (api is None or e["api"] == api)]

    # -- request handling --------------------------------------------------------------------
    def handle(self, method, raw_path, body, headers):
        parts = urlsplit(raw_path)
        path, query = parts.path, parse_qsl(parts.query, keep_blank_values=True)
        api = _api_of(path)
        entry = {"method": method, "path": path, "query": dict(query), "api": api, "time": time.time()}
        try:
            entry["body"] = json.loads(body) if body else None
        except ValueError:
            entry["body"] = body
        status, payload, out_headers = self._dispatch(api, method, path, query, body, headers)
        entry["status"] = status
        with self.lock:
            self.log.append(entry)
        return status, payload, out_headers

    def _dispatch(self, api, method, path, query, body, headers):
        if api is None:
            return 404, {"errors": [{"status": "404", "detail": "No route %s %s" % (method, path)}]}, {}
        raw, _contract = self.contracts[api]
        template = self._template_for(api, path)
        if template is None:
            return self._error(api, method, path, 404, "HTTP 404 Not Found", validate=False)
        if method.lower() not in raw["paths"][template]:
            return self._error(api, method, path, 405, "HTTP 405 Method Not Allowed", validate=False)
        if not self._authorized(api, headers):
            return self._error(api, method, path, 401, "The API key or secret is invalid or missing",
                               {"WWW-Authenticate": 'Basic error="invalid_key"'})
        problem = self._validate_request(api, method, path, query, body, headers)
        if problem:
            return self._error(api, method, path, 400, problem)
        injected = self._take("status", lambda inj: self._matches(inj, method, path))
        if injected:
            return self._injected(api, method, path, injected)
        data = json.loads(body) if body else None
        handler, params = self._route(method, path)
        try:
            with self.lock:
                self._advance()
                status, payload = handler(data=data, query=dict(query), **params)
        except ApiError as exc:
            return self._error(api, method, path, exc.status, exc.message, exc.headers)
        self._validate_response(api, method, path, status, payload)
        return status, payload, {}

    def _injected(self, api, method, path, inj):
        code = int(inj.kw.get("status", 500))
        message = inj.kw.get("message") or {429: "Too Many Requests", 500: "Internal Server Error",
                                            502: "Bad Gateway", 503: "Service Unavailable"}.get(code, "error")
        headers = {}
        if code == 429:
            wait = inj.kw.get("retry_after", 1)
            headers["Retry-After"] = (email.utils.formatdate(time.time() + float(wait), usegmt=True)
                                      if inj.kw.get("http_date") else str(int(wait)))
            with self.lock:
                self.undeclared.append("%s %s -> 429 (injected)" % (method, path))
            if api == "kafka":  # the contract's 429 is Jetty's HTML page
                html = ("<html><body><h2>HTTP ERROR 429 Too Many Requests</h2><table><tr><th>URI:</th><td>%s</td>"
                        "</tr></table></body></html>" % path)
                return 429, (html.encode(), "text/html"), headers
            return 429, None, headers
        return self._error(api, method, path, code, message, headers)

    @staticmethod
    def _matches(inj, method, path):
        want = inj.kw.get("method")
        if want and want.upper() != method.upper():
            return False
        pattern = inj.kw.get("path")
        return not pattern or re.search(pattern, path) is not None

    def _authorized(self, api, headers):
        pair = self.auth.get(api)
        if not pair:
            return True
        given = headers.get("Authorization") or headers.get("authorization") or ""
        return given == "Basic " + base64.b64encode(("%s:%s" % pair).encode()).decode()

    def _error(self, api, method, path, status, message, headers=None, validate=True):
        if api == "kafka":
            payload = {"error_code": status * 100 + 1 if status < 500 else status, "message": message}
        else:
            payload = {"errors": [{"id": str(uuid.uuid4()), "status": str(status), "detail": message}]}
        if validate:
            self._validate_response(api, method, path, status, payload)
        return status, payload, headers or {}

    # -- contract ----------------------------------------------------------------------------
    @staticmethod
    def _compile(raw):
        out = []
        for template in raw["paths"]:
            rx = re.compile("^" + re.sub(r"\\{([^}/]+)\\}", r"(?P<\1>[^/:]+)", re.escape(template)) + "$")
            out.append((template, rx))
        out.sort(key=lambda item: (item[0].count("{"), -len(item[0])))
        return out

    def _template_for(self, api, path):
        for template, rx in self._templates[api]:
            if rx.match(path):
                return template
        return None

    def _validate_request(self, api, method, path, query, body, headers):
        from openapi_core.testing import MockRequest

        if body:
            try:
                json.loads(body)
            except ValueError as exc:
                return "Malformed JSON request: %s" % exc
        ctype = (headers.get("Content-Type") or headers.get("content-type") or "application/json").split(";")[0]
        request = MockRequest("http://127.0.0.1", method.lower(), path, args=query, data=body or None,
                              content_type=ctype)
        try:
            self.contracts[api][1].validate_request(request)
        except Exception as exc:  # openapi-core raises several error types
            reasons = _reasons(exc)
            # the security scheme is checked by _authorized (openapi-core wants its own header form)
            if "security" in reasons.lower() and not re.search(r"(?i)body|parameter", reasons):
                return None
            return "Bad request: %s" % reasons
        return None

    def _validate_response(self, api, method, path, status, payload):
        from openapi_core.testing import MockRequest, MockResponse

        raw, contract = self.contracts[api]
        template = self._template_for(api, path)
        operation = raw["paths"][template][method.lower()]
        data = b"" if payload is None else json.dumps(payload).encode()
        declared = operation["responses"]
        if str(status) not in declared and not (status >= 500 and "5XX" in declared):
            with self.lock:
                self.undeclared.append("%s %s -> %s" % (method, path, status))
            return
        request = MockRequest("http://127.0.0.1", method.lower(), path)
        response = MockResponse(data, status_code=status, content_type="application/json" if data else None)
        try:
            contract.validate_response(request, response)
        except Exception as exc:
            text = "%s %s -> %s: %s\n  body: %s" % (method, path, status, _reasons(exc), data[:800])
            LOG.error("fake Confluent Cloud contract violation: %s", text)
            with self.lock:
                self.violations.append(text)

    # -- routing -----------------------------------------------------------------------------
    def _build_routes(self):
        link = KAFKA + "/links/{link_name}"
        stmt = SQL + "/statements/{statement_name}"
        routes = [
            ("GET", KAFKA + "/links", self.list_links),
            ("GET", link, self.get_link),
            ("GET", link + "/mirrors", self.list_mirrors),
            ("GET", link + "/mirrors/{mirror_topic_name}", self.get_mirror),
            ("POST", link + "/mirrors:promote", lambda **kw: self.alter_mirrors("promote", **kw)),
            ("POST", link + "/mirrors:failover", lambda **kw: self.alter_mirrors("failover", **kw)),
            ("POST", link + "/mirrors:reverse-and-start-mirror",
             lambda **kw: self.alter_mirrors("reverse-and-start-mirror", **kw)),
            ("POST", link + "/mirrors:reverse-and-pause-mirror",
             lambda **kw: self.alter_mirrors("reverse-and-pause-mirror", **kw)),
            ("GET", KAFKA + "/consumer-groups", self.list_groups),
            ("GET", KAFKA + "/consumer-groups/{consumer_group_id}/lags", self.group_lags),
            ("GET", KAFKA + "/consumer-groups/{consumer_group_id}/lag-summary", self.group_lag_summary),
            ("GET", SQL + "/statements", self.list_statements),
            ("POST", SQL + "/statements", self.post_statement),
            ("GET", stmt, self.get_statement),
            ("PUT", stmt, self.put_statement),
            ("PATCH", stmt, self.patch_statement),
            ("DELETE", stmt, self.delete_statement),
            ("GET", stmt + "/exceptions", self.statement_exceptions),
            ("GET", SQL + "/statements/{name}/results", self.statement_results),
            ("GET", POOLS, self.list_pools),
            ("POST", POOLS, self.post_pool),
            ("GET", POOLS + "/{id}", self.get_pool),
            ("PATCH", POOLS + "/{id}", self.patch_pool),
            ("DELETE", POOLS + "/{id}", self.delete_pool),
        ]
        compiled = []
        for method, template, handler in routes:
            rx = re.compile("^" + re.sub(r"\\{([^}/]+)\\}", r"(?P<\1>[^/:]+)", re.escape(template)) + "$")
            compiled.append((method, template.count("{"), -len(template), rx, handler))
        compiled.sort(key=lambda r: (r[1], r[2]))
        return compiled

    def _route(self, method, path):
        for want, _n, _l, rx, handler in self._routes:
            match = rx.match(path)
            if match and want == method:
                return handler, match.groupdict()
        raise ApiError(405, "HTTP 405 Method Not Allowed")  # pragma: no cover - the contract check is first

    # -- time --------------------------------------------------------------------------------
    def _advance(self):
        now = time.time()
        for cluster in self.clusters.values():
            for link in cluster["links"].values():
                for mirror in link["mirrors"].values():
                    stop_at = mirror.get("_stop_at")
                    if stop_at is not None and now >= stop_at:
                        mirror.update(mirror_status="STOPPED", state_time_ms=int(stop_at * 1000))
                        mirror.pop("_stop_at")
            for group in cluster["groups"].values():
                running = group["consumer_statement"] and (self.statements.get(group["consumer_statement"]) or {}
                                                           ).get("status", {}).get("phase") == "RUNNING"
                if running:
                    group["_drained"] += group["drain"] * (now - group["_last"])
                group["_last"] = now
        for obj in self.statements.values():
            self._advance_statement(obj, now)
        for pool in self.pools.values():
            ready = pool.get("_ready_at")
            if ready is not None and now >= ready:
                pool["status"].update(phase="PROVISIONED", current_cfu=0)
                pool.pop("_ready_at")

    # -- Kafka REST: links and mirrors ---------------------------------------------------------
    def _cluster(self, cluster_id):
        cluster = self.clusters.get(cluster_id)
        if cluster is None:
            raise ApiError(404, "Cluster %s cannot be found." % cluster_id)
        return cluster

    def _link(self, cluster_id, link_name):
        link = self._cluster(cluster_id)["links"].get(link_name)
        if link is None:
            raise ApiError(404, "Cluster link '%s' does not exist." % link_name)
        return link

    def _self(self, path):
        return self.url + path

    def _page(self, path, items, query, kind):
        """A page of ``items`` and ``metadata.next`` (an absolute URL) when there are more."""
        start = int(query.get("page_token") or 0)
        size = int(query.get("page_size") or 0) or self.page_size
        size = min(size, self.page_size)
        chunk = items[start:start + size]
        meta = {"self": self._self(path)}
        if start + size < len(items):
            rest = dict((k, v) for k, v in query.items() if k != "page_token")
            rest["page_token"] = str(start + size)
            meta["next"] = "%s?%s" % (self._self(path), urlencode(rest))
        elif kind == "kafka":
            meta["next"] = None
        return chunk, meta

    def _link_view(self, cluster_id, link):
        return {"kind": "KafkaLinkData",
                "metadata": {"self": self._self("/kafka/v3/clusters/%s/links/%s" % (cluster_id, link["link_name"])),
                             "resource_name": None},
                "source_cluster_id": link["source_cluster_id"], "remote_cluster_id": link["remote_cluster_id"],
                "link_name": link["link_name"], "cluster_link_id": link["cluster_link_id"],
                "topic_names": sorted(link["mirrors"]), "link_state": link["link_state"], "link_error": "NO_ERROR"}

    def _mirror_view(self, cluster_id, link_name, mirror):
        out = dict((k, v) for k, v in mirror.items() if not k.startswith("_"))
        out.update(kind="KafkaMirrorData", link_name=link_name,
                   metadata={"self": self._self("/kafka/v3/clusters/%s/links/%s/mirrors/%s" % (
                       cluster_id, link_name, mirror["mirror_topic_name"])), "resource_name": None},
                   mirror_lags=self._lags(mirror))
        return out

    @staticmethod
    def _lags(mirror):
        return [{"partition": p, "lag": lag, "last_source_fetch_offset": mirror["_offsets"][p]}
                for p, lag in enumerate(mirror["_lags"])]

    def list_links(self, cluster_id, query, **_):
        cluster = self._cluster(cluster_id)
        path = "/kafka/v3/clusters/%s/links" % cluster_id
        items = [self._link_view(cluster_id, link) for _n, link in sorted(cluster["links"].items())]
        chunk, meta = self._page(path, items, query, "kafka")
        return 200, {"kind": "KafkaLinkDataList", "metadata": meta, "data": chunk}

    def get_link(self, cluster_id, link_name, **_):
        return 200, self._link_view(cluster_id, self._link(cluster_id, link_name))

    def list_mirrors(self, cluster_id, link_name, query, **_):
        link = self._link(cluster_id, link_name)
        status = query.get("mirror_status")
        items = [self._mirror_view(cluster_id, link_name, m) for _t, m in sorted(link["mirrors"].items())
                 if not status or m["mirror_status"] == status]
        chunk, meta = self._page("/kafka/v3/clusters/%s/links/%s/mirrors" % (cluster_id, link_name), items, query,
                                 "kafka")
        return 200, {"kind": "KafkaMirrorDataList", "metadata": meta, "data": chunk}

    def get_mirror(self, cluster_id, link_name, mirror_topic_name, **_):
        mirror = self._link(cluster_id, link_name)["mirrors"].get(mirror_topic_name)
        if mirror is None:
            raise ApiError(404, "Topic '%s' is not a mirror topic of link '%s'." % (mirror_topic_name, link_name))
        return 200, self._mirror_view(cluster_id, link_name, mirror)

    def alter_mirrors(self, action, cluster_id, link_name, data, query, **_):
        link = self._link(cluster_id, link_name)
        names = list((data or {}).get("mirror_topic_names") or [])
        pattern = (data or {}).get("mirror_topic_name_pattern")
        if pattern:
            names += [t for t in sorted(link["mirrors"]) if re.fullmatch(pattern, t) and t not in names]
        if not names:
            raise ApiError(400, "No mirror topics specified.")
        validate_only = query.get("validate_only") == "true"
        out = []
        now = time.time()
        for topic in names:
            mirror = link["mirrors"].get(topic)
            error = self._alter_one(action, cluster_id, link, topic, mirror, validate_only, now)
            lags = self._lags(mirror) if mirror else []
            out.append({"kind": "AlterMirrorsData",
                        "metadata": {"self": self._self("/kafka/v3/clusters/%s/links/%s/mirrors/%s" % (
                            cluster_id, link_name, topic)), "resource_name": None},
                        "mirror_topic_name": topic, "error_code": 400 if error else None, "error_message": error,
                        "mirror_lags": lags, "messages_truncated": None, "partition_level_truncation_data": []})
        return 200, {"kind": "KafkaPromoteMirror", "metadata": {"self": self._self(
            "/kafka/v3/clusters/%s/links/%s/mirrors" % (cluster_id, link_name))}, "data": out}

    def _alter_one(self, action, cluster_id, link, topic, mirror, validate_only, now):
        name = link["link_name"]
        if mirror is None:
            return "Topic '%s' is not a mirror topic of link '%s'." % (topic, name)
        status = mirror["mirror_status"]
        if action in ("promote", "failover"):
            if status in ("STOPPED", "PENDING_STOPPED"):
                return "Topic '%s' has already stopped its mirror from '%s'" % (topic, name)
            injected = self._take("promote_fails", lambda inj: inj.kw.get("topic") in (None, topic))
            if injected:
                return injected.kw.get("message") or "Topic '%s' could not be promoted: the partition leader is not " \
                                                     "available" % topic
            if action == "promote":
                if status != "ACTIVE":
                    return ("Topic '%s' cannot be promoted from mirror state %s: promote needs the source cluster; "
                            "use failover" % (topic, status))
                if sum(mirror["_lags"]):
                    return "Topic '%s' cannot be promoted: mirror lag is %d, not zero" % (topic, sum(mirror["_lags"]))
            if not validate_only:
                mirror.update(mirror_status="PENDING_STOPPED", state_time_ms=int(now * 1000),
                              _stop_at=now + self.stop_delay)
            return None
        # reverse-and-start-mirror / reverse-and-pause-mirror
        if link.get("link_mode") != "BIDIRECTIONAL":
            return "Link '%s' is not bidirectional: reverse needs a bidirectional link" % name
        if status not in ("ACTIVE", "PAUSED"):
            return "Topic '%s' cannot be reversed from mirror state %s" % (topic, status)
        if sum(mirror["_lags"]):
            return "Topic '%s' cannot be reversed: mirror lag is %d, not zero" % (topic, sum(mirror["_lags"]))
        if not validate_only:
            del link["mirrors"][topic]
            remote = self.clusters.get(link["remote_cluster_id"])
            if remote is not None and name in remote["links"]:
                self.add_mirror(link["remote_cluster_id"], name, topic, partitions=mirror["num_partitions"],
                                status="ACTIVE" if action == "reverse-and-start-mirror" else "PAUSED")
        return None

    # -- Kafka REST: consumer groups -----------------------------------------------------------
    def _group(self, cluster_id, group_id):
        group = self._cluster(cluster_id)["groups"].get(group_id)
        if group is None:
            raise ApiError(404, "Consumer group %s cannot be found." % group_id)
        return group

    def _group_rows(self, cluster_id, group_id, group):
        rows, left = [], group["_drained"]
        for topic, partition, lag in group["partitions"]:
            take = min(lag, int(left))
            left -= take
            lag_now = lag - take
            end = 10000 + partition
            rows.append({"kind": "KafkaConsumerLag", "metadata": {"self": self._self(
                "/kafka/v3/clusters/%s/consumer-groups/%s/lags/%s/partitions/%d" % (
                    cluster_id, group_id, topic, partition))},
                "cluster_id": cluster_id, "consumer_group_id": group_id, "topic_name": topic,
                "partition_id": partition, "current_offset": end - lag_now, "log_end_offset": end, "lag": lag_now,
                "consumer_id": "consumer-%s-1" % group_id, "instance_id": None, "client_id": "flink-%s" % group_id})
        return rows

    def list_groups(self, cluster_id, query, **_):
        cluster = self._cluster(cluster_id)
        items = [{"kind": "KafkaConsumerGroup", "metadata": {"self": self._self(
            "/kafka/v3/clusters/%s/consumer-groups/%s" % (cluster_id, g))}, "cluster_id": cluster_id,
            "consumer_group_id": g, "is_simple": False, "partition_assignor": "range", "state": "STABLE",
            "coordinator": {"related": self._self("/kafka/v3/clusters/%s/brokers/1" % cluster_id)},
            "consumer": {"related": self._self("/kafka/v3/clusters/%s/consumer-groups/%s/consumers" % (
                cluster_id, g))},
            "lag_summary": {"related": self._self("/kafka/v3/clusters/%s/consumer-groups/%s/lag-summary" % (
                cluster_id, g))}} for g in sorted(cluster["groups"])]
        chunk, meta = self._page("/kafka/v3/clusters/%s/consumer-groups" % cluster_id, items, query, "kafka")
        return 200, {"kind": "KafkaConsumerGroupList", "metadata": meta, "data": chunk}

    def group_lags(self, cluster_id, consumer_group_id, query, **_):
        rows = self._group_rows(cluster_id, consumer_group_id, self._group(cluster_id, consumer_group_id))
        chunk, meta = self._page("/kafka/v3/clusters/%s/consumer-groups/%s/lags" % (cluster_id, consumer_group_id),
                                 rows, query, "kafka")
        return 200, {"kind": "KafkaConsumerLagList", "metadata": meta, "data": chunk}

    def group_lag_summary(self, cluster_id, consumer_group_id, **_):
        rows = self._group_rows(cluster_id, consumer_group_id, self._group(cluster_id, consumer_group_id))
        top = max(rows, key=lambda r: r["lag"]) if rows else None
        return 200, {"kind": "KafkaConsumerGroupLagSummary", "metadata": {"self": self._self(
            "/kafka/v3/clusters/%s/consumer-groups/%s/lag-summary" % (cluster_id, consumer_group_id))},
            "cluster_id": cluster_id, "consumer_group_id": consumer_group_id,
            "max_lag_consumer_id": top["consumer_id"] if top else "", "max_lag_instance_id": None,
            "max_lag_client_id": top["client_id"] if top else "", "max_lag_topic_name": top["topic_name"] if top else "",
            "max_lag_partition_id": top["partition_id"] if top else 0, "max_lag": top["lag"] if top else 0,
            "total_lag": sum(r["lag"] for r in rows),
            "max_lag_consumer": {"related": self._self("/kafka/v3/clusters/%s/consumer-groups/%s/consumers/x" % (
                cluster_id, consumer_group_id))},
            "max_lag_partition": {"related": self._self("/kafka/v3/clusters/%s/topics/%s/partitions/%s" % (
                cluster_id, top["topic_name"] if top else "-", top["partition_id"] if top else 0))}}

    # -- Flink SQL: statements -----------------------------------------------------------------
    def _scope(self, organization_id, environment_id):
        if organization_id != self.organization_id or environment_id != self.environment_id:
            raise ApiError(404, "Environment '%s' of organization '%s' was not found"
                           % (environment_id, organization_id))

    def _stmt(self, organization_id, environment_id, name):
        self._scope(organization_id, environment_id)
        obj = self.statements.get(name)
        if obj is None:
            raise ApiError(404, "Statement '%s' not found" % name)
        return obj

    @staticmethod
    def _traits(sql):
        text = sql.strip().rstrip(";")
        bounded = bool(re.match(r"(?is)^select\s+(?!.*\bfrom\b)", text))
        traits = {"sql_kind": text.split(None, 1)[0].upper() if text else "", "is_bounded": bounded,
                  "is_append_only": not STATEFUL_SQL.search(text), "connection_refs": []}
        if bounded:
            cols = []
            for i, part in enumerate(re.split(r",(?![^(]*\))", re.sub(r"(?is)^select\s+", "", text))):
                alias = re.search(r"(?i)\bas\s+(\w+)\s*$", part.strip())
                literal = re.sub(r"(?i)\s+as\s+\w+\s*$", "", part.strip())
                kind = "INTEGER" if re.fullmatch(r"-?\d+", literal) else "VARCHAR"
                cols.append({"name": alias.group(1) if alias else "EXPR$%d" % i, "type": dict(
                    {"type": kind, "nullable": False}, **({"length": 2147483647} if kind == "VARCHAR" else {})),
                    "_value": literal.strip("'")})
            traits["schema"] = {"columns": cols}
        return traits

    def _view(self, obj):
        out = dict((k, copy.deepcopy(v)) for k, v in obj.items() if not k.startswith("_"))
        # the contract's statement responses require spec.statement_name (not among StatementSpec's
        # properties, but required by every statement answer): the fake sends it, the name again
        out["spec"]["statement_name"] = obj["name"]
        traits = out["status"].get("traits")
        if traits and traits.get("schema"):
            for col in traits["schema"]["columns"]:
                col.pop("_value", None)
        return out

    def _start(self, obj, now):
        name = obj["name"]
        failure = self._take("statement_failed", lambda inj: inj.kw.get("statement") in (None, name))
        degraded = None if failure else self._take("statement_degraded",
                                                   lambda inj: inj.kw.get("statement") in (None, name))
        obj["_t0"] = now
        obj["_fail"] = (failure.kw.get("message") or "org.apache.flink.table.api.ValidationException: Table 'orders' "
                        "does not exist") if failure else None
        obj["_degrade"] = (degraded.kw.get("message") or "java.lang.RuntimeException: the Kafka sink cannot keep up "
                           "(backpressure)") if degraded else None
        obj["status"].update(phase="PENDING", detail="Statement is being deployed")

    def _advance_statement(self, obj, now):
        status = obj["status"]
        phase = status.get("phase")
        if phase == "PENDING":
            ref = (obj["spec"].get("properties") or {}).get("sql.tables.initial-offset-from")
            if ref:
                old = self.statements.get(ref)
                if old is None or old["status"].get("phase") != "STOPPED":
                    return  # carry-over: waits for the statement it replaces to stop
                if not obj.get("carried_from"):
                    obj["_carried_offsets"] = copy.deepcopy(old["status"].get("latest_offsets") or {})
            if now - obj["_t0"] < self.start_delay:
                return
            if obj.get("_fail"):
                status.update(phase="FAILED", detail=obj["_fail"].splitlines()[0])
                self._exception(obj, obj["_fail"])
            elif status.get("traits", {}).get("is_bounded"):
                status.update(phase="COMPLETED", detail="Statement completed")
            else:
                status.update(phase="RUNNING", detail="Statement is running",
                              latest_offsets=obj.pop("_carried_offsets", None) or {"orders": "partition:0,offset:0"},
                              latest_offsets_timestamp=now_iso(now))
                obj["_running_at"] = now
        elif phase == "RUNNING" and obj.get("_degrade") and now - obj.get("_running_at", now) >= self.start_delay:
            status.update(phase="DEGRADED", detail=obj["_degrade"].splitlines()[0])
            self._exception(obj, obj.pop("_degrade"))
        elif phase == "STOPPING" and now >= obj.get("_stop_at", now):
            status.update(phase="STOPPED", detail="Statement was stopped")

    @staticmethod
    def _exception(obj, message):
        obj.setdefault("_exceptions", []).insert(0, {"kind": "StatementException", "name": message.split(":")[0],
                                                     "message": message, "timestamp": now_iso()})

    def list_statements(self, organization_id, environment_id, query, **_):
        self._scope(organization_id, environment_id)
        pool = query.get("spec.compute_pool_id")
        items = [self._view(o) for _n, o in sorted(self.statements.items())
                 if not pool or o["spec"].get("compute_pool_id") == pool]
        chunk, meta = self._page(SQL.format(organization_id=organization_id, environment_id=environment_id)
                                 + "/statements", items, query, "flink")
        return 200, {"api_version": "sql/v1", "kind": "StatementList", "metadata": meta, "data": chunk}

    def post_statement(self, organization_id, environment_id, data, **_):
        self._scope(organization_id, environment_id)
        name = data.get("name")
        spec = copy.deepcopy(data.get("spec") or {})
        if not name:
            raise ApiError(400, "name is required")
        if name in self.statements:
            raise ApiError(409, "Statement '%s' already exists" % name)
        if not spec.get("statement"):
            raise ApiError(400, "spec.statement is required")
        pool = spec.get("compute_pool_id")
        if pool and pool not in self.pools:
            raise ApiError(422, "Compute pool '%s' does not exist" % pool)
        ref = (spec.get("properties") or {}).get("sql.tables.initial-offset-from")
        if ref:
            old = self.statements.get(ref)
            if old is None:
                raise ApiError(422, "sql.tables.initial-offset-from: statement '%s' does not exist" % ref)
            if not old["status"].get("traits", {}).get("is_append_only"):
                raise ApiError(422, "sql.tables.initial-offset-from: statement '%s' is not stateless; carry-over "
                                    "offsets apply only to stateless statements" % ref)
        now = time.time()
        path = SQL.format(organization_id=organization_id, environment_id=environment_id) + "/statements/" + name
        spec.setdefault("stopped", False)
        spec.setdefault("properties", {})
        obj = {"api_version": "sql/v1", "kind": "Statement", "name": name, "organization_id": organization_id,
               "environment_id": environment_id,
               "metadata": {"self": self._self(path), "uid": str(uuid.uuid4()), "resource_version": "1",
                            "created_at": now_iso(now), "updated_at": now_iso(now),
                            "labels": (data.get("metadata") or {}).get("labels") or {}},
               "spec": spec, "status": {"phase": "PENDING", "traits": self._traits(spec["statement"])}}
        if ref:
            obj["carried_from"] = ref
            obj["_carry"] = ref
        self.statements[name] = obj
        if spec["stopped"]:
            obj["status"].update(phase="STOPPED", detail="Statement was created stopped")
        else:
            self._start(obj, now)
        view = self._view(obj)
        view.pop("carried_from", None)
        return 201, view

    def get_statement(self, organization_id, environment_id, statement_name, **_):
        view = self._view(self._stmt(organization_id, environment_id, statement_name))
        view.pop("carried_from", None)
        return 200, view

    def put_statement(self, organization_id, environment_id, statement_name, data, **_):
        obj = self._stmt(organization_id, environment_id, statement_name)
        given = (data.get("metadata") or {}).get("resource_version")
        if given != obj["metadata"]["resource_version"]:
            raise ApiError(409, "resource_version %s is stale (the statement is at %s): read it again" % (
                given, obj["metadata"]["resource_version"]))
        spec = data.get("spec") or {}
        for key in ("statement", "principal"):
            if key in spec and spec[key] != obj["spec"].get(key):
                raise ApiError(400, "spec.%s is immutable" % key)
        pool = spec.get("compute_pool_id")
        if pool and pool != obj["spec"].get("compute_pool_id"):
            if pool not in self.pools:
                raise ApiError(422, "Compute pool '%s' does not exist" % pool)
            if not obj["spec"].get("stopped"):
                raise ApiError(400, "the compute pool of a running statement cannot change; stop it first")
            obj["spec"]["compute_pool_id"] = pool
        now = time.time()
        stopped = bool(spec.get("stopped"))
        if stopped and not obj["spec"].get("stopped"):
            obj["spec"]["stopped"] = True
            obj["status"].update(phase="STOPPING", detail="Statement is stopping")
            obj["_stop_at"] = now + self.stop_delay
        elif not stopped and obj["spec"].get("stopped"):
            obj["spec"]["stopped"] = False
            self._start(obj, now)
        obj["metadata"]["resource_version"] = str(int(obj["metadata"]["resource_version"]) + 1)
        obj["metadata"]["updated_at"] = now_iso(now)
        view = self._view(obj)
        view.pop("carried_from", None)
        return 202, view

    def patch_statement(self, organization_id, environment_id, statement_name, data, **_):
        """JSON Patch (RFC 6902): replace/add of /spec/stopped, /spec/compute_pool_id, /metadata/labels/*."""
        obj = self._stmt(organization_id, environment_id, statement_name)
        spec = copy.deepcopy(obj["spec"])
        for op in data if isinstance(data, list) else []:
            path, kind = op.get("path", ""), str(op.get("op")).lower()
            if kind not in ("replace", "add"):
                raise ApiError(422, "unsupported patch operation %r on %s" % (kind, path))
            if path in ("/spec/statement", "/spec/principal"):
                raise ApiError(422, "%s is immutable" % path.replace("/", ".").lstrip("."))
            if path not in ("/spec/stopped", "/spec/compute_pool_id") and not path.startswith("/metadata/labels/"):
                raise ApiError(422, "%s cannot be patched" % path)
            if path.startswith("/spec/"):
                spec[path.split("/")[-1]] = op.get("value")
        body = {"spec": spec, "metadata": {"resource_version": obj["metadata"]["resource_version"]}}
        status, view = self.put_statement(organization_id, environment_id, statement_name, body)
        return 200, view

    def delete_statement(self, organization_id, environment_id, statement_name, **_):
        self._stmt(organization_id, environment_id, statement_name)
        del self.statements[statement_name]
        return 202, None

    def statement_exceptions(self, organization_id, environment_id, statement_name, **_):
        obj = self._stmt(organization_id, environment_id, statement_name)
        return 200, {"api_version": "sql/v1", "kind": "StatementExceptionList", "metadata": {"self": self._self(
            SQL.format(organization_id=organization_id, environment_id=environment_id)
            + "/statements/%s/exceptions" % statement_name)}, "data": copy.deepcopy(obj.get("_exceptions", [])[:10])}

    def statement_results(self, organization_id, environment_id, name, query, **_):
        obj = self._stmt(organization_id, environment_id, name)
        path = SQL.format(organization_id=organization_id, environment_id=environment_id) + "/statements/%s/results" % name
        rows = []
        schema = obj["status"].get("traits", {}).get("schema")
        if obj["status"].get("phase") == "COMPLETED" and schema and not query.get("page_token"):
            rows = [{"op": 0, "row": [c["_value"] for c in schema["columns"]]}]
        meta = {"self": self._self(path), "created_at": now_iso()}
        if obj["status"].get("phase") in ("PENDING", "RUNNING"):
            meta["next"] = self._self(path) + "?page_token=%d" % int(time.time() * 1000)
        elif not query.get("page_token") and rows:
            meta["next"] = self._self(path) + "?page_token=end"
        return 200, {"api_version": "sql/v1", "kind": "StatementResult", "metadata": meta, "results": {"data": rows}}

    def statement(self, name):
        with self.lock:
            self._advance()
            obj = self.statements.get(name)
            return None if obj is None else dict(self._view(obj), _carried_from=obj.get("carried_from"))

    # -- Confluent Cloud API: compute pools -------------------------------------------------
    def _pool(self, pool_id, environment=None):
        pool = self.pools.get(pool_id)
        if pool is None or (environment and pool["spec"]["environment"]["id"] != environment):
            raise ApiError(404, "Compute pool '%s' was not found" % pool_id)
        return pool

    def _pool_view(self, pool):
        return dict((k, copy.deepcopy(v)) for k, v in pool.items() if not k.startswith("_"))

    def list_pools(self, query, **_):
        env = query.get("environment")
        items = [self._pool_view(p) for _i, p in sorted(self.pools.items())
                 if p["spec"]["environment"]["id"] == env
                 and (not query.get("spec.region") or p["spec"]["region"] == query["spec.region"])]
        chunk, meta = self._page(POOLS, items, query, "cloud")
        return 200, {"api_version": "fcpm/v2", "kind": "ComputePoolList", "metadata": meta, "data": chunk}

    def post_pool(self, data, **_):
        spec = copy.deepcopy(data["spec"])
        if spec["max_cfu"] not in MAX_CFU:
            raise ApiError(400, "spec.max_cfu must be one of %s" % ", ".join(str(c) for c in MAX_CFU))
        if spec["environment"]["id"] != self.environment_id:
            raise ApiError(403, "environment '%s' is not accessible" % spec["environment"]["id"])
        pool_id = "lfcp-%s" % uuid.uuid4().hex[:6]
        env = spec["environment"]["id"]
        spec["environment"] = {"id": env, "related": "https://api.confluent.cloud/org/v2/environments/%s" % env,
                               "resource_name": "crn://confluent.cloud/organization=%s/environment=%s" % (
                                   self.organization_id, env)}
        now = time.time()
        self.pools[pool_id] = {"api_version": "fcpm/v2", "kind": "ComputePool", "id": pool_id,
                               "metadata": {"self": self._self(POOLS + "/" + pool_id), "created_at": now_iso(now),
                                            "resource_name": "crn://confluent.cloud/organization=%s/environment=%s/"
                                                             "flink-region=%s.%s/compute-pool=%s" % (
                                                                 self.organization_id, env, spec["cloud"].lower(),
                                                                 spec["region"], pool_id)},
                               "spec": spec, "status": {"phase": "PROVISIONING", "current_cfu": 0},
                               "_ready_at": now + self.pool_delay}
        return 202, self._pool_view(self.pools[pool_id])

    def get_pool(self, id, query, **_):  # noqa: A002 - the contract's parameter name
        return 200, self._pool_view(self._pool(id, query.get("environment")))

    def patch_pool(self, id, data, **_):  # noqa: A002
        pool = self._pool(id, data["spec"]["environment"]["id"])
        spec = data["spec"]
        for key in ("cloud", "region"):
            if key in spec and spec[key] != pool["spec"][key]:
                raise ApiError(400, "spec.%s is immutable" % key)
        if "max_cfu" in spec:
            if spec["max_cfu"] not in MAX_CFU:
                raise ApiError(400, "spec.max_cfu must be one of %s" % ", ".join(str(c) for c in MAX_CFU))
            if spec["max_cfu"] != pool["spec"]["max_cfu"]:
                pool["spec"]["max_cfu"] = spec["max_cfu"]
                pool["status"]["phase"] = "PROVISIONING"
                pool["_ready_at"] = time.time() + self.pool_delay
        if spec.get("display_name"):
            pool["spec"]["display_name"] = spec["display_name"]
        return 200, self._pool_view(pool)

    def delete_pool(self, id, query, **_):  # noqa: A002
        self._pool(id, query.get("environment"))
        if any(s["spec"].get("compute_pool_id") == id and s["status"].get("phase") in ("PENDING", "RUNNING",
                                                                                       "DEGRADED")
               for s in self.statements.values()):
            raise ApiError(400, "Compute pool '%s' has running statements; stop or delete them first" % id)
        del self.pools[id]
        return 204, None

    def add_pool(self, display_name, max_cfu=10, cloud="AWS", region="us-east-1"):
        """A PROVISIONED pool that exists before the test (its id)."""
        with self.lock:
            _s, view = self.post_pool({"spec": {"display_name": display_name, "cloud": cloud, "region": region,
                                                "max_cfu": max_cfu, "environment": {"id": self.environment_id}}})
            self.pools[view["id"]]["_ready_at"] = 0
            self._advance()
            return view["id"]
