"""A stateful fake Kubernetes API server on 127.0.0.1, with a fake Flink Kubernetes Operator.

No Kubernetes API server can run on this machine, so the FKO backend is tested against this
fake. Clients nobody here wrote talk to it unchanged: the official ``kubernetes`` Python
client (and through it ``kubernetes.core.k8s``/``k8s_info`` and the collection's ``fko_*``
modules) and Debian's ``kubectl``.

What it serves (plain HTTP):

* discovery: ``/version``, ``/api``, ``/apis``, ``/api/v1`` and ``/apis/<group>/<version>``
  (the Flink resources as the CRDs in ``../shared/specs/fko`` define them: names, kinds, short
  names, ``status`` and ``scale`` subresources);
* namespaces, ConfigMaps, Secrets, ServiceAccounts, Roles, RoleBindings, ClusterRoles,
  ClusterRoleBindings, CustomResourceDefinitions and the flink.apache.org/v1beta1 resources:
  get, list (``labelSelector`` of ``k=v`` terms), create (201), replace (PUT), patch (JSON merge
  patch, JSON patch; a strategic merge patch of a custom resource is refused with 415 as the
  real API server does, so ``kubernetes.core`` falls back to a merge patch; ``apply-patch+yaml``
  is applied as a merge patch, and creates the object when there is none, as server-side apply does), delete, and ``?dryRun=All`` on every write;
* ``metadata.resourceVersion`` (one counter, bumped on every write; a PUT or patch that carries
  a stale one answers 409 Conflict), ``metadata.generation`` (bumped only when something other
  than ``metadata`` and ``status`` changes), uid and creationTimestamp;
* the ``status`` subresource: writes to the object ignore ``status``, writes to ``/status``
  change only ``status``;
* 422 Invalid for a custom resource that fails its CRD's ``openAPIV3Schema`` (jsonschema, with
  ``x-kubernetes-int-or-string`` and ``nullable`` converted), for a built-in object that fails the
  Kubernetes 1.30 OpenAPI schema of its kind (``kubernetes-validate``, strict: unknown fields are
  refused) and for an invalid name; 404, 409
  AlreadyExists, 405 as ``Status`` objects.

Not served: watch, server-side apply field management, finalizers, protobuf, and the OpenAPI
documents (``/openapi/v2``, ``/openapi/v3``): ``helm list`` works against the fake, ``helm install``
stops at "failed to download openapi".

The operator (a thread, ``FakeOperator``) follows the lifecycle of the Flink Kubernetes
Operator's controller flow: a FlinkDeployment goes CREATED -> DEPLOYED (job RECONCILING, then
RUNNING) -> STABLE; a spec change with ``upgradeMode: savepoint`` goes UPGRADING (the job is
stopped with a savepoint, recorded in ``status.jobStatus.savepointInfo.lastSavepoint``,
``status.jobStatus.upgradeSavepointPath`` and a FlinkStateSnapshot), then the new spec is
deployed restored from that savepoint; ``observedGeneration`` and
``reconciliationStatus.lastReconciledSpec`` record the reconciled spec; ``job.state: suspended``
stops with a savepoint (SUSPENDED), ``running`` again restores from it; a new
``savepointRedeployNonce`` redeploys from ``job.initialSavepointPath``; a spec change on a FAILED job
(terminal, and the fake has no HA metadata) goes ahead from the last savepoint the status knows, without a
new one, and waits with the operator's "Manual restore required" error when it knows none. FlinkStateSnapshots go
TRIGGER_PENDING -> IN_PROGRESS -> COMPLETED with a path (or FAILED).

Failures to inject (``inject``): ``unstable`` (a spec that never becomes STABLE: the job keeps
RESTARTING), ``restart_loop`` (the job of a spec is stuck restarting, its exception in
``status.error``; an operator waiting to take a savepoint of it catches a restart attempt RUNNING),
``fails_after`` (a spec whose job fails some seconds after it became STABLE),
``snapshot_fails`` (a FlinkStateSnapshot ends FAILED), ``operator_restart`` (the
operator stops after the upgrade savepoint, forgets everything it held in memory, and comes back
after ``down`` seconds, continuing from the status alone, as the real operator does).

Assumption (named because no real operator ran here): on a redeploy from
``initialSavepointPath`` the fake records that path as ``jobStatus.upgradeSavepointPath``, the
path the current run was restored from.
"""
from __future__ import annotations

import copy
import json
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jsonschema
import kubernetes_validate
import yaml

SPECS = Path(__file__).resolve().parents[2] / ".." / "shared" / "specs" / "fko"
FLINK_GROUP = "flink.apache.org"
FLINK_VERSION = "v1beta1"
FLINK_API = FLINK_GROUP + "/" + FLINK_VERSION
CRD_FILES = ("flinkdeployments", "flinksessionjobs", "flinkstatesnapshots", "flinkbluegreendeployments")
PLURALS = {"FlinkDeployment": "flinkdeployments", "FlinkSessionJob": "flinksessionjobs"}
NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")

# Built-in kinds served: plural -> (kind, namespaced, short names)
CORE = {
    "namespaces": ("Namespace", False, ["ns"]),
    "configmaps": ("ConfigMap", True, ["cm"]),
    "secrets": ("Secret", True, []),
    "serviceaccounts": ("ServiceAccount", True, ["sa"]),
}
# The built-in API groups served, by group version: plural -> (kind, namespaced, short names)
BUILTIN = {
    "v1": CORE,
    "rbac.authorization.k8s.io/v1": {
        "roles": ("Role", True, []),
        "rolebindings": ("RoleBinding", True, []),
        "clusterroles": ("ClusterRole", False, []),
        "clusterrolebindings": ("ClusterRoleBinding", False, []),
    },
    "apiextensions.k8s.io/v1": {
        "customresourcedefinitions": ("CustomResourceDefinition", False, ["crd", "crds"]),
    },
    # stored and validated only: no controller runs them (a test seeds their status with seed())
    "apps/v1": {
        "deployments": ("Deployment", True, ["deploy"]),
    },
}
# Built-in objects are validated against the Kubernetes OpenAPI schemas of this version (kubernetes-validate)
KUBERNETES_VERSION = "1.30"
VERBS = ["create", "delete", "get", "list", "patch", "update"]


def specs_dir() -> Path:
    return SPECS


def now_iso(ts: float | None = None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts if ts is not None else time.time()))


def structural_to_jsonschema(node):
    """A CRD's openAPIV3Schema as JSON Schema: ``x-kubernetes-int-or-string`` -> integer or
    string, ``nullable`` -> the type or null; the other ``x-kubernetes-*`` keys dropped."""
    if isinstance(node, list):
        return [structural_to_jsonschema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key.startswith("x-kubernetes-") or key == "nullable":
            continue
        if key in ("properties", "patternProperties", "definitions"):
            out[key] = dict((k, structural_to_jsonschema(v)) for k, v in value.items())
        else:
            out[key] = structural_to_jsonschema(value)
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out = {"anyOf": [{"type": "integer"}, {"type": "string"}], **out}
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"] if isinstance(out["type"], str) else list(out["type"]) + ["null"]
    return out


def load_crds(directory: Path | None = None) -> dict:
    """plural -> {kind, singular, short_names, schema validator, subresources} from the CRD files."""
    directory = directory or SPECS
    out = {}
    for stem in CRD_FILES:
        crd = yaml.load((directory / ("%s.flink.apache.org-v1.yml" % stem)).read_text(), Loader=yaml.CSafeLoader)
        names = crd["spec"]["names"]
        version = next(v for v in crd["spec"]["versions"] if v["name"] == FLINK_VERSION)
        schema = structural_to_jsonschema(version["schema"]["openAPIV3Schema"])
        out[names["plural"]] = {
            "kind": names["kind"], "singular": names["singular"], "short_names": names.get("shortNames", []),
            "validator": jsonschema.Draft7Validator(schema), "subresources": version.get("subresources") or {},
        }
    return out


class ApiError(Exception):
    def __init__(self, code, reason, message, name=None, kind=None, group=None, causes=None):
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message
        self.details = {k: v for k, v in (("name", name), ("kind", kind), ("group", group), ("causes", causes))
                        if v is not None}

    def status(self):
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": self.message,
                "reason": self.reason, "details": self.details, "code": self.code}


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def _pointer(path):
    return [p.replace("~1", "/").replace("~0", "~") for p in path.lstrip("/").split("/")] if path else []


def json_patch(doc, ops):
    """RFC 6902 JSON patch (add, remove, replace, test)."""
    doc = copy.deepcopy(doc)
    for op in ops:
        parts = _pointer(op["path"])
        parent = doc
        for part in parts[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent[part]
        last = parts[-1]
        kind = op["op"]
        if kind == "test":
            current = parent[int(last)] if isinstance(parent, list) else parent.get(last)
            if current != op["value"]:
                raise ApiError(422, "Invalid", "the test operation of the JSON patch failed at %s" % op["path"])
        elif kind in ("add", "replace"):
            if isinstance(parent, list):
                if last == "-":
                    parent.append(op["value"])
                elif kind == "add":
                    parent.insert(int(last), op["value"])
                else:
                    parent[int(last)] = op["value"]
            else:
                if kind == "replace" and last not in parent:
                    raise ApiError(422, "Invalid", "the JSON patch replaces %s, which does not exist" % op["path"])
                parent[last] = op["value"]
        elif kind == "remove":
            if isinstance(parent, list):
                del parent[int(last)]
            else:
                if last not in parent:
                    raise ApiError(422, "Invalid", "the JSON patch removes %s, which does not exist" % op["path"])
                del parent[last]
        else:
            raise ApiError(422, "Invalid", "JSON patch operation %s is not supported here" % kind)
    return doc


def _without(obj, *keys):
    return dict((k, v) for k, v in obj.items() if k not in keys)


def _selector_matches(labels, selector):
    for term in [t.strip() for t in (selector or "").split(",") if t.strip()]:
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key) == value:
                return False
        elif "=" in term:
            key, value = term.replace("==", "=").split("=", 1)
            if labels.get(key) != value:
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


class FakeKubernetes:
    """The API server: a store keyed by (api_version, plural, namespace, name), and the operator."""

    def __init__(self, operator=True, tick=0.05, step_delay=0.2, stable_delay=0.4, savepoint_delay=0.2):
        self.crds = load_crds()
        self.lock = threading.RLock()
        self.objects = {}
        self.revision = 100
        self.requests = []
        self.injections = []
        self.server = None
        self.thread = None
        self.operator = FakeOperator(self, tick=tick, step_delay=step_delay, stable_delay=stable_delay,
                                     savepoint_delay=savepoint_delay) if operator else None
        self._create_builtin("namespaces", None, {"metadata": {"name": "default"}})

    # -- lifecycle ----------------------------------------------------------------------------
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                code, payload = fake.handle(self.command, self.path, raw, self.headers)
                body = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        if self.operator:
            self.operator.start()

    def stop(self):
        if self.operator:
            self.operator.stop()
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.server.server_address[1]

    def kubeconfig(self, path: Path, namespace="default") -> Path:
        """A kubeconfig for kubectl and kubernetes.core pointing at the fake."""
        path.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "fake",
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "fake", "user": {"token": "fake-token"}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake", "namespace": namespace}}]}))
        return path

    def inject(self, kind, **match):
        """``unstable`` (``image=`` substring of the spec's image: the job keeps RESTARTING),
        ``restart_loop`` (``image=``, ``error=``: once RUNNING the job of that spec stays RESTARTING, the operator
        reporting ``error`` in ``status.error``; a savepoint upgrade waiting for it finds the next restart attempt
        RUNNING after ``step_delay``, long enough for the savepoint, as Flink keeps restarting the job meanwhile),
        ``fails_after`` (``image=``, ``parallelism=``, ``savepoint=`` the spec's initialSavepointPath, ``after=``
        seconds of RUNNING, then the job and the lifecycle are FAILED), ``taskmanager_room`` (``taskmanagers=`` the
        TaskManager pods the cluster can schedule: a spec needing more never gets its job RUNNING),
        ``snapshot_fails`` (``name=`` prefix, ``error=``), ``operator_restart``
        (``down=`` seconds; once, right after the next upgrade savepoint), ``race_on_put`` (``patch=`` a merge
        patch of the object, ``name=``, ``plural=``; once: another writer's change lands right before the next PUT
        of that object, which then meets a newer resourceVersion and generation, as when two runs race)."""
        with self.lock:
            self.injections.append(dict(match, kind=kind))

    def injection(self, kind, predicate=lambda inj: True):
        with self.lock:
            for inj in self.injections:
                if inj["kind"] == kind and predicate(inj):
                    return inj
        return None

    def writes(self):
        """The write requests served (method, path), dry runs included."""
        return [(m, p) for (m, p, _q) in self.requests if m in ("POST", "PUT", "PATCH", "DELETE")]

    # -- store helpers (tests and the operator) ------------------------------------------------
    def get(self, plural, namespace, name, api_version=FLINK_API):
        with self.lock:
            obj = self.objects.get((api_version, plural, namespace, name))
            return copy.deepcopy(obj) if obj else None

    def items(self, plural, namespace=None, api_version=FLINK_API):
        with self.lock:
            return [copy.deepcopy(o) for (av, pl, ns, _n), o in sorted(self.objects.items(), key=lambda kv: kv[0])
                    if av == api_version and pl == plural and (namespace is None or ns == namespace)]

    def _bump(self):
        self.revision += 1
        return str(self.revision)

    def update_status(self, plural, namespace, name, mutate):
        """The operator's status write: ``mutate(obj)`` changes ``obj['status']`` in place."""
        with self.lock:
            key = (FLINK_API, plural, namespace, name)
            obj = self.objects.get(key)
            if obj is None:
                return None
            new = copy.deepcopy(obj)
            new.setdefault("status", {})
            mutate(new)
            self._validate(plural, new)
            new["metadata"]["resourceVersion"] = self._bump()
            self.objects[key] = new
            return copy.deepcopy(new)

    def create_object(self, plural, namespace, body):
        """The operator's create (a FlinkStateSnapshot of an upgrade savepoint)."""
        with self.lock:
            return self._create(FLINK_API, plural, namespace, body, keep_status=True)

    def seed(self, body, namespace=None):
        """An object someone else installed, with its status (``body`` names its apiVersion and kind;
        validated as any create): cert-manager's CRDs and Deployments, say."""
        api_version = body["apiVersion"]
        plural = next(pl for pl, (kind, _ns, _short) in BUILTIN[api_version].items() if kind == body["kind"])
        with self.lock:
            return self._create(api_version, plural, namespace, body, keep_status=True)

    # -- HTTP ----------------------------------------------------------------------------------
    def handle(self, method, raw_path, raw, headers):
        parts = urlsplit(raw_path)
        query = dict((k, v[-1]) for k, v in parse_qs(parts.query).items())
        with self.lock:
            self.requests.append((method, parts.path, query))
        try:
            body = None
            if raw:
                content_type = (headers.get("Content-Type") or "").split(";")[0]
                body = yaml.safe_load(raw) if content_type.endswith("yaml") else json.loads(raw)
            return self._dispatch(method, parts.path.rstrip("/") or "/", query, body, headers)
        except ApiError as exc:
            return exc.code, exc.status()
        except (ValueError, yaml.YAMLError) as exc:
            return 400, ApiError(400, "BadRequest", "the request body is not valid JSON/YAML: %s" % exc).status()

    def _dispatch(self, method, path, query, body, headers):
        if method == "GET" and path == "/version":
            return 200, {"major": "1", "minor": "30", "gitVersion": "v1.30.0-fake", "platform": "linux/amd64"}
        if method == "GET" and path == "/api":
            return 200, {"kind": "APIVersions", "versions": ["v1"],
                         "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}
        if method == "GET" and path == "/apis":
            groups = []
            for group_version in [gv for gv in BUILTIN if "/" in gv] + [FLINK_API]:
                gv = {"groupVersion": group_version, "version": group_version.split("/")[1]}
                groups.append({"name": group_version.split("/")[0], "versions": [gv], "preferredVersion": gv})
            return 200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
        if method == "GET" and path == "/api/v1":
            return 200, self._resource_list("v1")
        if method == "GET" and path.startswith("/apis/") and path[len("/apis/"):] in list(BUILTIN) + [FLINK_API]:
            return 200, self._resource_list(path[len("/apis/"):])
        route = self._route(path)
        if route is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource (%s)" % path)
        api_version, plural, namespace, name, sub = route
        dry = query.get("dryRun") == "All"
        if method == "GET":
            return 200, self._get_or_list(api_version, plural, namespace, name, query)
        if method == "POST" and name is None:
            return 201, self._create(api_version, plural, namespace, body, dry=dry)
        if method == "PUT" and name:
            return 200, self._replace(api_version, plural, namespace, name, body, sub, dry)
        if method == "PATCH" and name:
            content_type = (headers.get("Content-Type") or "").split(";")[0]
            return 200, self._patch(api_version, plural, namespace, name, body, content_type, sub, dry)
        if method == "DELETE" and name:
            return 200, self._delete(api_version, plural, namespace, name, dry)
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    def _resource_list(self, group_version):
        resources = []
        if group_version in BUILTIN:
            for plural, (kind, namespaced, short) in BUILTIN[group_version].items():
                resources.append({"name": plural, "singularName": kind.lower(), "namespaced": namespaced,
                                  "kind": kind, "verbs": VERBS + ["watch"], "shortNames": short})
        else:
            for plural, crd in self.crds.items():
                resources.append({"name": plural, "singularName": crd["singular"], "namespaced": True,
                                  "kind": crd["kind"], "verbs": VERBS + ["deletecollection", "watch"],
                                  "shortNames": crd["short_names"], "categories": ["all"]})
                if "status" in crd["subresources"]:
                    resources.append({"name": plural + "/status", "singularName": "", "namespaced": True,
                                      "kind": crd["kind"], "verbs": ["get", "patch", "update"]})
                if "scale" in crd["subresources"]:
                    resources.append({"name": plural + "/scale", "singularName": "", "namespaced": True,
                                      "group": "autoscaling", "version": "v1", "kind": "Scale",
                                      "verbs": ["get", "patch", "update"]})
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}

    def _route(self, path):
        m = re.match(r"^/api/v1(?:/namespaces/([^/]+))?/([a-z]+)(?:/([^/]+))?(?:/(status))?$", path)
        if m and m.group(2) in CORE:
            return "v1", m.group(2), m.group(1), m.group(3), m.group(4)
        m = re.match(r"^/api/v1/namespaces(?:/([^/]+))?$", path)
        if m:
            return "v1", "namespaces", None, m.group(1), None
        m = re.match(r"^/apis/%s/%s(?:/namespaces/([^/]+))?/([a-z]+)(?:/([^/]+))?(?:/(status|scale))?$"
                     % (re.escape(FLINK_GROUP), FLINK_VERSION), path)
        if m and m.group(2) in self.crds:
            return FLINK_API, m.group(2), m.group(1), m.group(3), m.group(4)
        m = re.match(r"^/apis/([^/]+/[^/]+)(?:/namespaces/([^/]+))?/([a-z]+)(?:/([^/]+))?(?:/(status))?$", path)
        if m and m.group(1) in BUILTIN and m.group(3) in BUILTIN[m.group(1)]:
            return m.group(1), m.group(3), m.group(2), m.group(4), m.group(5)
        return None

    def _kind(self, api_version, plural):
        return BUILTIN[api_version][plural][0] if api_version in BUILTIN else self.crds[plural]["kind"]

    def _not_found(self, api_version, plural, name):
        group = api_version.rpartition("/")[0]
        return ApiError(404, "NotFound", '%s%s "%s" not found' % (plural, "." + group if group else "", name),
                        name=name, kind=plural, group=group or None)

    def _get_or_list(self, api_version, plural, namespace, name, query):
        if name:
            obj = self.objects.get((api_version, plural, namespace, name))
            if obj is None:
                raise self._not_found(api_version, plural, name)
            return copy.deepcopy(obj)
        items = [copy.deepcopy(o) for (av, pl, ns, _n), o in sorted(self.objects.items(), key=lambda kv: kv[0])
                 if av == api_version and pl == plural and (namespace is None or ns == namespace)
                 and _selector_matches((o["metadata"].get("labels") or {}), query.get("labelSelector"))]
        return {"kind": self._kind(api_version, plural) + "List", "apiVersion": api_version,
                "metadata": {"resourceVersion": str(self.revision)}, "items": items}

    def _check_namespace(self, api_version, plural, namespace):
        namespaced = BUILTIN[api_version][plural][1] if api_version in BUILTIN else True
        if namespaced and not namespace:
            raise ApiError(405, "MethodNotAllowed", "%s are namespaced: the request names no namespace" % plural)
        if namespaced and ("v1", "namespaces", None, namespace) not in self.objects:
            raise ApiError(404, "NotFound", 'namespaces "%s" not found' % namespace, name=namespace, kind="namespaces")

    def _validate(self, plural, obj, api_version=FLINK_API):
        name = (obj.get("metadata") or {}).get("name") or ""
        kind = self._kind(api_version, plural)
        if not NAME_RE.match(name) or len(name) > 253:
            raise ApiError(422, "Invalid", '%s "%s" is invalid: metadata.name: Invalid value: "%s": a lowercase RFC '
                           "1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'"
                           % (kind, name, name), name=name, kind=kind)
        if api_version in BUILTIN:
            try:
                kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
            except kubernetes_validate.ValidationError as exc:
                field = ".".join(str(p) for p in exc.absolute_path) or "<root>"
                raise ApiError(422, "Invalid", '%s "%s" is invalid: %s: Invalid value: %s' % (
                    kind, name, field, exc.message), name=name, kind=kind,
                    causes=[{"reason": "FieldValueInvalid", "field": field, "message": exc.message}])
            return
        errors = sorted(self.crds[plural]["validator"].iter_errors(
            dict((k, v) for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata"))), key=str)
        if errors:
            causes = [{"reason": "FieldValueInvalid", "field": ".".join(str(p) for p in e.absolute_path) or "<root>",
                       "message": "Invalid value: %s" % e.message} for e in errors[:5]]
            raise ApiError(422, "Invalid", '%s.%s "%s" is invalid: %s' % (
                kind, FLINK_GROUP, name, "; ".join("%s: %s" % (c["field"], c["message"]) for c in causes)),
                name=name, kind=kind, group=FLINK_GROUP, causes=causes)

    def _create_builtin(self, plural, namespace, body):
        return self._create("v1", plural, namespace, dict(body, apiVersion="v1", kind=CORE[plural][0]))

    def _create(self, api_version, plural, namespace, body, dry=False, keep_status=False):
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "the request body is not an object")
        kind = self._kind(api_version, plural)
        if body.get("kind") != kind or body.get("apiVersion") != api_version:
            raise ApiError(400, "BadRequest", "the object is %s %s, not %s %s as the URL says"
                           % (body.get("apiVersion"), body.get("kind"), api_version, kind))
        self._check_namespace(api_version, plural, namespace)
        obj = copy.deepcopy(body)
        meta = obj.setdefault("metadata", {})
        if meta.get("namespace") and namespace and meta["namespace"] != namespace:
            raise ApiError(400, "BadRequest", "the namespace of the object (%s) does not match the namespace of the "
                           "request (%s)" % (meta["namespace"], namespace))
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        if not keep_status:
            obj.pop("status", None)
        if namespace:
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        self._validate(plural, obj, api_version)
        key = (api_version, plural, namespace, meta["name"])
        if key in self.objects:
            raise ApiError(409, "AlreadyExists", '%s "%s" already exists' % (plural, meta["name"]),
                           name=meta["name"], kind=plural)
        meta.update(uid=str(uuid.uuid4()), creationTimestamp=now_iso(), generation=1)
        meta.pop("resourceVersion", None)
        if plural == "namespaces":
            obj["status"] = {"phase": "Active"}
        if dry:
            meta["resourceVersion"] = str(self.revision)
            return obj
        meta["resourceVersion"] = self._bump()
        self.objects[key] = obj
        return copy.deepcopy(obj)

    def _store_update(self, api_version, plural, namespace, name, new, sub, dry, sent_version):
        key = (api_version, plural, namespace, name)
        old = self.objects.get(key)
        if old is None:
            raise self._not_found(api_version, plural, name)
        if sent_version and sent_version != old["metadata"]["resourceVersion"]:
            raise ApiError(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": the object has been modified; '
                           "please apply your changes to the latest version and try again" % (plural, name),
                           name=name, kind=plural)
        has_status = api_version in BUILTIN or "status" in self.crds[plural]["subresources"]
        if sub == "status":
            obj = copy.deepcopy(old)
            obj["status"] = copy.deepcopy(new.get("status"))
        elif sub == "scale":
            raise ApiError(405, "MethodNotAllowed", "the scale subresource is not writable in this fake")
        else:
            obj = copy.deepcopy(new)
            if has_status and plural != "namespaces":
                obj.pop("status", None)
                if "status" in old:
                    obj["status"] = copy.deepcopy(old["status"])
            meta = obj.setdefault("metadata", {})
            for fixed in ("uid", "creationTimestamp", "generation", "namespace", "name"):
                if fixed in old["metadata"]:
                    meta[fixed] = old["metadata"][fixed]
                else:
                    meta.pop(fixed, None)
            if obj.get("kind") != old["kind"] or obj.get("apiVersion") != old["apiVersion"]:
                raise ApiError(400, "BadRequest", "kind and apiVersion cannot change")
        self._validate(plural, obj, api_version)
        if _without(obj, "metadata", "status") != _without(old, "metadata", "status"):
            obj["metadata"]["generation"] = int(old["metadata"].get("generation") or 1) + 1
        if obj == dict(old, metadata=dict(old["metadata"], resourceVersion=obj["metadata"].get("resourceVersion"))):
            return copy.deepcopy(old)  # no change: no new resourceVersion, as the real server does
        if dry:
            obj["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
            return obj
        obj["metadata"]["resourceVersion"] = self._bump()
        self.objects[key] = obj
        return copy.deepcopy(obj)

    def _replace(self, api_version, plural, namespace, name, body, sub, dry):
        if not isinstance(body, dict) or (body.get("metadata") or {}).get("name") != name:
            raise ApiError(400, "BadRequest", "the name of the object does not match the name in the URL (%s)" % name)
        sent = (body.get("metadata") or {}).get("resourceVersion")
        if not sent and api_version not in BUILTIN:
            raise ApiError(422, "Invalid", '%s "%s" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be '
                           "specified for an update" % (self._kind(api_version, plural), name), name=name)
        race = None if (sub or dry) else self.injection(
            "race_on_put", lambda inj: not inj.get("done") and inj.get("plural", "flinkdeployments") == plural
            and inj.get("name", name) == name)
        if race:
            # another writer gets there first: its spec change lands, then this PUT meets it (409)
            race["done"] = True
            with self.lock:
                old = self.objects.get((api_version, plural, namespace, name))
                if old is not None:
                    self._store_update(api_version, plural, namespace, name, merge_patch(old, race["patch"]),
                                       None, False, old["metadata"]["resourceVersion"])
        return self._store_update(api_version, plural, namespace, name, body, sub, dry, sent)

    def _patch(self, api_version, plural, namespace, name, body, content_type, sub, dry):
        old = self.objects.get((api_version, plural, namespace, name))
        if old is None and content_type == "application/apply-patch+yaml" and isinstance(body, dict) and not sub:
            return self._create(api_version, plural, namespace, body, dry=dry)  # server-side apply creates
        if old is None:
            raise self._not_found(api_version, plural, name)
        if content_type == "application/merge-patch+json" or content_type == "application/apply-patch+yaml":
            new = merge_patch(old, body)
            sent = (body.get("metadata") or {}).get("resourceVersion") if isinstance(body, dict) else None
        elif content_type == "application/json-patch+json":
            new = json_patch(old, body)
            sent = None
        elif content_type == "application/strategic-merge-patch+json":
            if api_version not in BUILTIN:
                raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                               "accepted media types include: application/json-patch+json, "
                               "application/merge-patch+json, application/apply-patch+yaml")
            new = merge_patch(old, body)  # the built-ins served here have no list merge keys that matter
            sent = (body.get("metadata") or {}).get("resourceVersion") if isinstance(body, dict) else None
        else:
            raise ApiError(415, "UnsupportedMediaType", "unsupported patch type %s" % content_type)
        return self._store_update(api_version, plural, namespace, name, new, sub, dry, sent)

    def _delete(self, api_version, plural, namespace, name, dry):
        key = (api_version, plural, namespace, name)
        obj = self.objects.get(key)
        if obj is None:
            raise self._not_found(api_version, plural, name)
        if not dry:
            del self.objects[key]
            if plural == "namespaces":
                for other in [k for k in self.objects if k[2] == name]:
                    del self.objects[other]
        return copy.deepcopy(obj)


class FakeOperator:
    """The Flink Kubernetes Operator's reconcile loop, in a thread, driven by the status alone
    (plus timers it loses on a restart, as the real operator loses nothing that matters)."""

    def __init__(self, api, tick=0.05, step_delay=0.2, stable_delay=0.4, savepoint_delay=0.2):
        self.api = api
        self.tick = tick
        self.step_delay = step_delay
        self.stable_delay = stable_delay
        self.savepoint_delay = savepoint_delay
        self.timers = {}
        self.running = False
        self.down_until = 0.0
        self.restarts = 0
        self.thread = None
        self.counter = 0

    def start(self):
        self.running = True
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def stop(self):
        self.running = False
        if self.thread:
            self.thread.join(timeout=5)

    def _loop(self):
        while self.running:
            if time.time() >= self.down_until:
                try:
                    for fd in self.api.items("flinkdeployments"):
                        self.reconcile_deployment(fd)
                    for sj in self.api.items("flinksessionjobs"):
                        self.reconcile_session_job(sj)
                    for snap in self.api.items("flinkstatesnapshots"):
                        self.reconcile_snapshot(snap)
                except Exception as exc:  # pragma: no cover - a bug in the fake: keep it visible
                    import traceback
                    traceback.print_exc()
                    self.api.operator_error = repr(exc)
            time.sleep(self.tick)

    def crash(self, down):
        """The operator pod dies: it forgets its timers and comes back after ``down`` seconds."""
        self.timers = {}
        self.restarts += 1
        self.down_until = time.time() + down

    # -- helpers --------------------------------------------------------------------------------
    def _due(self, key, delay):
        """True once ``delay`` seconds passed since the first ask for ``key``."""
        start = self.timers.setdefault(key, time.time())
        return time.time() - start >= delay

    def _id(self, n=12):
        self.counter += 1
        return uuid.uuid4().hex[:n]

    @staticmethod
    def _reconciled(fd):
        text = ((fd.get("status") or {}).get("reconciliationStatus") or {}).get("lastReconciledSpec")
        if not text:
            return None
        spec = json.loads(text)
        spec.pop("resource_metadata", None)
        return spec

    @staticmethod
    def _reconciled_text(fd, spec, first):
        body = dict(copy.deepcopy(spec), resource_metadata={
            "apiVersion": FLINK_API, "metadata": {"generation": fd["metadata"]["generation"]}, "firstDeployment": first})
        return json.dumps(body, sort_keys=True)

    def _write(self, fd, mutate):
        meta = fd["metadata"]
        return self.api.update_status(PLURALS[fd["kind"]], meta["namespace"], meta["name"], mutate)

    def _savepoint_dir(self, fd):
        conf = (fd.get("spec") or {}).get("flinkConfiguration") or {}
        return (conf.get("state.savepoints.dir") or conf.get("execution.checkpointing.savepoint-dir")
                or "file:///flink-data/savepoints").rstrip("/")

    def _restart_loop(self, spec):
        image = (spec or {}).get("image") or ""
        return self.api.injection("restart_loop", lambda inj: inj.get("image", "") in image)

    def _unstable(self, spec):
        image = spec.get("image") or ""
        return self.api.injection("unstable", lambda inj: inj.get("image", "") in image) is not None

    # -- FlinkSessionJob --------------------------------------------------------------------------
    def reconcile_session_job(self, sj):
        """A job on a session cluster: the FlinkDeployment lifecycle once the cluster it names is a STABLE
        session cluster (no spec.job); until then the error says why it waits."""
        spec = sj.get("spec") or {}
        meta = sj["metadata"]
        cluster = self.api.get("flinkdeployments", meta["namespace"], spec.get("deploymentName") or "")
        if cluster is None or (cluster.get("spec") or {}).get("job") or \
                (cluster.get("status") or {}).get("lifecycleState") != "STABLE":
            error = ("Session cluster deployment %s is not found" % spec.get("deploymentName") if cluster is None
                     else "%s is not a STABLE session cluster" % spec.get("deploymentName"))
            if (sj.get("status") or {}).get("error") != error:
                self._write(sj, lambda o: o["status"].update(error=error, **(
                    {} if o["status"].get("lifecycleState") else {"lifecycleState": "CREATED"})))
            return
        self.reconcile_deployment(sj)

    # -- FlinkDeployment --------------------------------------------------------------------------
    def reconcile_deployment(self, fd):
        spec = fd.get("spec") or {}
        if "job" not in spec:  # a session cluster: deployed and stable, no job
            if (fd.get("status") or {}).get("lifecycleState") != "STABLE":
                self._write(fd, lambda o: o["status"].update(
                    lifecycleState="STABLE", jobManagerDeploymentStatus="READY",
                    observedGeneration=o["metadata"]["generation"],
                    reconciliationStatus={"state": "DEPLOYED", "lastReconciledSpec": self._reconciled_text(o, spec, True),
                                          "lastStableSpec": self._reconciled_text(o, spec, True)}))
            return
        status = fd.get("status") or {}
        uid = fd["metadata"]["uid"]
        job_status = status.get("jobStatus") or {}
        reconciled = self._reconciled(fd)
        rec_state = (status.get("reconciliationStatus") or {}).get("state")
        want = (spec.get("job") or {}).get("state") or "running"

        if reconciled is None:  # first deployment
            if not status.get("lifecycleState"):
                self._write(fd, lambda o: o["status"].update(lifecycleState="CREATED"))
                return
            if want == "suspended":
                self._write(fd, lambda o: o["status"].update(
                    lifecycleState="SUSPENDED", observedGeneration=o["metadata"]["generation"],
                    jobStatus={"state": "SUSPENDED", "jobName": o["metadata"]["name"]},
                    reconciliationStatus={"state": "DEPLOYED", "lastReconciledSpec": self._reconciled_text(o, spec, True)}))
                return
            self._deploy(fd, spec, (spec.get("job") or {}).get("initialSavepointPath"), first=True)
            return

        if rec_state == "UPGRADING":  # the previous spec was stopped with a savepoint: deploy the new one
            if want == "suspended":
                self._write(fd, lambda o: o["status"].update(
                    lifecycleState="SUSPENDED", observedGeneration=o["metadata"]["generation"],
                    jobStatus=dict(o["status"].get("jobStatus") or {}, state="SUSPENDED"),
                    reconciliationStatus=dict(o["status"]["reconciliationStatus"], state="DEPLOYED")))
                return
            if self._due((uid, "redeploy"), self.step_delay):
                self.timers.pop((uid, "redeploy"), None)
                self._deploy(fd, spec, job_status.get("upgradeSavepointPath"), first=False)
            return

        if reconciled != spec:
            self._upgrade(fd, spec, reconciled, want)
            return
        if status.get("observedGeneration") != fd["metadata"]["generation"]:
            # a new generation with the reconciled spec (a change written back before the operator acted on
            # it): FKO finds no difference, records the generation as reconciled and upgrades nothing
            self.timers.pop((uid, "savepoint"), None)
            stable = (status.get("reconciliationStatus") or {}).get("lastStableSpec") and job_status.get("state") == "RUNNING"

            def observed(o):
                o["status"].update(observedGeneration=o["metadata"]["generation"], error=None)
                o["status"]["reconciliationStatus"]["lastReconciledSpec"] = self._reconciled_text(o, spec, False)
                if o["status"].get("lifecycleState") == "UPGRADING" and stable:
                    o["status"]["lifecycleState"] = "STABLE"
            self._write(fd, observed)
            return

        # the spec is reconciled: observe the job
        state = job_status.get("state")
        if want == "suspended" or status.get("lifecycleState") == "SUSPENDED":
            return
        if state in ("RECONCILING", "CREATED", "INITIALIZING"):
            room = self.api.injection("taskmanager_room")
            if room and self.taskmanagers(spec) > int(room["taskmanagers"]):
                # the TaskManager pods beyond the room stay Pending: the job waits for slots, never RUNNING
                if state != "CREATED":
                    self._write(fd, lambda o: (o["status"]["jobStatus"].update(state="CREATED"), o["status"].update(
                        error="NoResourceAvailableException: Could not acquire the minimum required resources "
                              "(%d TaskManager pods Pending)" % (self.taskmanagers(spec) - int(room["taskmanagers"])))))
                return
            if self._due((uid, "running"), self.step_delay):
                self.timers.pop((uid, "running"), None)

                def running(o):
                    if o["kind"] == "FlinkDeployment":
                        o["status"]["jobManagerDeploymentStatus"] = "READY"
                    o["status"]["jobStatus"].update(state="RUNNING", updateTime=str(int(time.time() * 1000)))
                self._write(fd, running)
            return
        late = self.api.injection("fails_after", lambda inj: inj.get("image", "") in (spec.get("image") or "") and (
            "parallelism" not in inj or inj["parallelism"] == (spec.get("job") or {}).get("parallelism")) and (
            "savepoint" not in inj or inj["savepoint"] == (spec.get("job") or {}).get("initialSavepointPath")))
        if late and state == "RUNNING" and time.time() - int(job_status.get("startTime") or 0) / 1000.0 >= float(
                late.get("after", 1.0)):
            error = json.dumps({"type": "org.apache.flink.kubernetes.operator.exception.ReconciliationException",
                                "message": late.get("error", "java.lang.IllegalStateException: the job failed")})

            def failed(o):
                o["status"].update(lifecycleState="FAILED", error=error)
                o["status"]["jobStatus"].update(state="FAILED")
            self._write(fd, failed)
            return
        if state == "FAILED":
            return
        loop = self._restart_loop(spec)
        if loop and state in ("RUNNING", "RESTARTING"):
            error = loop.get("error") or "java.lang.RuntimeException: the job keeps failing"
            if state != "RESTARTING" or status.get("error") != error:
                self._write(fd, lambda o: (o["status"]["jobStatus"].update(
                    state="RESTARTING", updateTime=str(int(time.time() * 1000))), o["status"].update(error=error)))
            return
        if self._unstable(spec):
            if self._due((uid, "flap"), self.step_delay):
                self.timers.pop((uid, "flap"), None)
                flip = "RESTARTING" if state == "RUNNING" else "RUNNING"
                self._write(fd, lambda o: o["status"]["jobStatus"].update(state=flip))
            return
        if state == "RESTARTING":
            self._write(fd, lambda o: o["status"]["jobStatus"].update(state="RUNNING"))
            return
        if state == "RUNNING" and status.get("lifecycleState") == "DEPLOYED":
            if self._due((uid, "stable"), self.stable_delay):
                self.timers.pop((uid, "stable"), None)
                self._write(fd, lambda o: (o["status"].update(lifecycleState="STABLE"), o["status"][
                    "reconciliationStatus"].update(lastStableSpec=o["status"]["reconciliationStatus"]["lastReconciledSpec"])))

    @staticmethod
    def taskmanagers(spec):
        """The TaskManagers the operator runs for ``spec`` (native mode): ``taskManager.replicas`` when set
        (the job's parallelism is then replicas x slots), else ceil(parallelism / taskmanager.numberOfTaskSlots)."""
        slots = int(((spec.get("flinkConfiguration") or {}).get("taskmanager.numberOfTaskSlots")) or 1)
        replicas = (spec.get("taskManager") or {}).get("replicas")
        if replicas is not None:
            return int(replicas)
        parallelism = int((spec.get("job") or {}).get("parallelism") or 1)
        return -(-parallelism // slots)

    def _deploy(self, fd, spec, restore_path, first):
        job_id = uuid.uuid4().hex
        taskmanagers = self.taskmanagers(spec)

        def mutate(o):
            st = o["status"]
            js = st.get("jobStatus") or {}
            js.update(jobName=o["metadata"]["name"], jobId=job_id, state="RECONCILING",
                      startTime=str(int(time.time() * 1000)), updateTime=str(int(time.time() * 1000)))
            if restore_path and not first:
                js["upgradeSavepointPath"] = restore_path
            st["jobStatus"] = js
            st.update(lifecycleState="DEPLOYED", observedGeneration=o["metadata"]["generation"], error=None)
            if o["kind"] == "FlinkDeployment":  # a session job's pods are its session cluster's
                st["taskManager"] = {"replicas": taskmanagers,
                                     "labelSelector": "component=taskmanager,app=%s" % o["metadata"]["name"]}
                st["jobManagerDeploymentStatus"] = "DEPLOYING"
            st.pop("error", None)
            rs = st.get("reconciliationStatus") or {}
            rs.update(state="DEPLOYED", lastReconciledSpec=self._reconciled_text(o, o["spec"], first),
                      reconciliationTimestamp=int(time.time() * 1000))
            st["reconciliationStatus"] = rs
        self._write(fd, mutate)

    def _upgrade(self, fd, spec, reconciled, want):
        uid = fd["metadata"]["uid"]
        job = spec.get("job") or {}
        old_job = reconciled.get("job") or {}
        state = ((fd.get("status") or {}).get("jobStatus") or {}).get("state")
        redeploy = job.get("savepointRedeployNonce") != old_job.get("savepointRedeployNonce") \
            and job.get("initialSavepointPath")
        if redeploy:  # FKO 1.10+: a new savepointRedeployNonce redeploys from initialSavepointPath, no savepoint
            def mutate(o):
                o["status"]["jobStatus"] = dict(o["status"].get("jobStatus") or {}, state="SUSPENDED",
                                                upgradeSavepointPath=job["initialSavepointPath"])
                o["status"]["lifecycleState"] = "UPGRADING"
                o["status"]["reconciliationStatus"].update(
                    state="UPGRADING", lastReconciledSpec=self._reconciled_text(o, spec, False))
            self._write(fd, mutate)
            return
        old_state = old_job.get("state") or "running"
        if old_state == "suspended":  # resume: restore from the savepoint taken at the suspend
            def resume(o):
                o["status"]["lifecycleState"] = "UPGRADING"
                o["status"]["reconciliationStatus"].update(
                    state="UPGRADING", lastReconciledSpec=self._reconciled_text(o, spec, False))
            self._write(fd, resume)
            return
        mode = old_job.get("upgradeMode") or "stateless"
        if mode != "stateless" and state == "FAILED":
            # FKO (AbstractJobReconciler.getJobUpgrade): a job in a terminal state without HA metadata is
            # upgraded "from observed latest state" (the last savepoint the operator knows), no new savepoint;
            # with none known: "Manual restore required"
            js = (fd.get("status") or {}).get("jobStatus") or {}
            known = js.get("upgradeSavepointPath") or ((js.get("savepointInfo") or {}).get("lastSavepoint") or {}).get(
                "location")
            if not known:
                self._write(fd, lambda o: o["status"].update(
                    error="Job is in terminal state but last checkpoint is unknown, possibly due to an unrecoverable "
                          "restore error. Manual restore required."))
                return

            def from_latest(o):
                o["status"]["jobStatus"] = dict(o["status"].get("jobStatus") or {}, state="SUSPENDED",
                                                upgradeSavepointPath=known)
                o["status"]["lifecycleState"] = "UPGRADING"
                o["status"]["reconciliationStatus"].update(
                    state="UPGRADING", lastReconciledSpec=self._reconciled_text(o, spec, False))
            self._write(fd, from_latest)
            return
        if mode == "savepoint" and state == "RESTARTING" and self._restart_loop(reconciled):
            # the job keeps restarting while the operator waits for an upgradeable state: it takes the
            # savepoint when a restart attempt is RUNNING
            if self._due((uid, "attempt"), self.step_delay):
                self.timers.pop((uid, "attempt"), None)
                self._write(fd, lambda o: o["status"]["jobStatus"].update(state="RUNNING"))
            return
        if mode == "savepoint" and state != "RUNNING":
            # the real operator falls back to the last checkpoint (last-state fallback) only with HA metadata;
            # the fake has none: it waits, as the operator does, with an error in the status
            self._write(fd, lambda o: o["status"].update(
                error="Job is not running (%s): cannot take the upgrade savepoint" % state))
            return
        if not self._due((uid, "savepoint"), self.savepoint_delay):
            if (fd.get("status") or {}).get("lifecycleState") != "UPGRADING":
                self._write(fd, lambda o: o["status"].update(lifecycleState="UPGRADING"))
            return
        self.timers.pop((uid, "savepoint"), None)
        path = None
        if mode == "savepoint":
            path = "%s/savepoint-%s-%s" % (self._savepoint_dir(fd), self._id(6), self._id(12))
        elif mode == "last-state":
            path = "%s/%s/chk-%d" % (self._savepoint_dir(fd).replace("savepoints", "checkpoints"), self._id(32), 7)
        stamp = int(time.time() * 1000)

        def mutate(o):
            st = o["status"]
            js = dict(st.get("jobStatus") or {}, state="SUSPENDED", upgradeSavepointPath=path)
            if mode == "savepoint":
                info = js.get("savepointInfo") or {}
                last = {"location": path, "timeStamp": stamp, "triggerType": "UPGRADE", "formatType": "CANONICAL"}
                info["lastSavepoint"] = last
                info["savepointHistory"] = list(info.get("savepointHistory") or []) + [last]
                js["savepointInfo"] = info
            st["jobStatus"] = js
            st["lifecycleState"] = "UPGRADING"
            st["reconciliationStatus"].update(state="UPGRADING", lastReconciledSpec=self._reconciled_text(o, spec, False))
        self._write(fd, mutate)
        if mode == "savepoint":
            meta = fd["metadata"]
            self.api.create_object("flinkstatesnapshots", meta["namespace"], {
                "apiVersion": FLINK_API, "kind": "FlinkStateSnapshot",
                "metadata": {"name": "%s-upgrade-%d" % (meta["name"], stamp), "namespace": meta["namespace"],
                             "labels": {"snapshot.type": "UPGRADE", "job.reference": meta["name"]}},
                "spec": {"jobReference": {"kind": fd["kind"], "name": meta["name"]},
                         "savepoint": {"path": path, "alreadyExists": True, "formatType": "CANONICAL"}},
                "status": {"state": "COMPLETED", "path": path, "triggerTimestamp": now_iso(stamp / 1000.0),
                           "resultTimestamp": now_iso(), "failures": 0}})
        inj = self.api.injection("operator_restart", lambda i: not i.get("done"))
        if inj:
            inj["done"] = True
            self.crash(float(inj.get("down", 1.0)))

    # -- FlinkStateSnapshot --------------------------------------------------------------------
    def reconcile_snapshot(self, snap):
        meta = snap["metadata"]
        status = snap.get("status") or {}
        state = status.get("state")
        if state in ("COMPLETED", "FAILED", "ABANDONED"):
            return
        spec = snap.get("spec") or {}
        savepoint = spec.get("savepoint")
        ref = spec.get("jobReference") or {}

        def write(mutate):
            return self.api.update_status("flinkstatesnapshots", meta["namespace"], meta["name"], mutate)

        if savepoint and savepoint.get("alreadyExists"):
            write(lambda o: o["status"].update(state="COMPLETED", path=savepoint.get("path"),
                                               resultTimestamp=now_iso(), failures=0))
            return
        if not state:
            write(lambda o: o["status"].update(state="TRIGGER_PENDING", failures=0))
            return
        fd = self.api.get("flinkdeployments", meta["namespace"], ref.get("name") or "") \
            if ref.get("kind", "FlinkDeployment") == "FlinkDeployment" else None
        job_state = (((fd or {}).get("status") or {}).get("jobStatus") or {}).get("state")
        failing = self.api.injection("snapshot_fails", lambda inj: meta["name"].startswith(inj.get("name", "")))
        if state == "TRIGGER_PENDING":
            if job_state != "RUNNING" and not failing:
                # the real operator retries the trigger (backoffLimit) before it gives up
                if self._due((meta["uid"], "pending"), max(5.0, self.savepoint_delay * 25)):
                    write(lambda o: o["status"].update(
                        state="FAILED", failures=int(spec.get("backoffLimit") or 1) + 1, resultTimestamp=now_iso(),
                        error="Job %s is %s, not RUNNING: cannot trigger the snapshot" % (ref.get("name"),
                                                                                          job_state or "absent")))
                return
            write(lambda o: o["status"].update(state="IN_PROGRESS", triggerId=self._id(32),
                                               triggerTimestamp=now_iso()))
            return
        if not self._due((meta["uid"], "snapshot"), self.savepoint_delay):
            return
        self.timers.pop((meta["uid"], "snapshot"), None)
        if failing:
            error = failing.get("error") or "java.util.concurrent.CompletionException: " \
                "org.apache.flink.runtime.checkpoint.CheckpointException: Checkpoint Coordinator is suspending."
            write(lambda o: o["status"].update(state="FAILED", error=error, resultTimestamp=now_iso(),
                                               failures=int(spec.get("backoffLimit") or 1) + 1))
            return
        if savepoint is not None:
            base = (savepoint.get("path") or self._savepoint_dir(fd or {})).rstrip("/")
            path = "%s/savepoint-%s-%s" % (base, self._id(6), self._id(12))
        else:
            path = "%s/%s/chk-%d" % (self._savepoint_dir(fd or {}).replace("savepoints", "checkpoints"),
                                     (((fd or {}).get("status") or {}).get("jobStatus") or {}).get("jobId"), 9)
        write(lambda o: o["status"].update(state="COMPLETED", path=path, resultTimestamp=now_iso()))
        if savepoint is not None and fd is not None:
            stamp = int(time.time() * 1000)

            def record(o):
                js = o["status"].setdefault("jobStatus", {})
                info = js.get("savepointInfo") or {}
                last = {"location": path, "timeStamp": stamp, "triggerType": "MANUAL", "formatType":
                        savepoint.get("formatType") or "CANONICAL"}
                info["lastSavepoint"] = last
                info["savepointHistory"] = list(info.get("savepointHistory") or []) + [last]
                js["savepointInfo"] = info
            self.api.update_status("flinkdeployments", fd["metadata"]["namespace"], fd["metadata"]["name"], record)
