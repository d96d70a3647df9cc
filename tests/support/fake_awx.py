"""A stateful fake of the AWX REST API (``/api/v2/``) on 127.0.0.1, for playbooks/configure_awx.yml.

No AWX (a Django application with PostgreSQL, Redis and a task system) can run on this machine, so
the awx.awx modules that configure_awx.yml uses (project, inventory, inventory_source, job_template,
workflow_job_template) run unchanged against this fake, from a stdlib ``ThreadingHTTPServer`` in a
daemon thread::

    with FakeAWX(token="t0ken") as awx:
        ansible-playbook ... -e awx_host=<awx.url> -e awx_token=t0ken

What it serves (plain HTTP, JSON), as AWX 24 does (read in ansible/awx: awx/api/serializers.py,
awx/api/views, awx/main/models), and only what those modules request:

* every response carries ``X-API-Product-Name: AWX`` and ``X-API-Product-Version`` (the modules
  compare them with the collection's version on their first answer);
* ``Authorization: Bearer <token>`` is required everywhere but ``GET /api/v2/ping/``: 401
  ``{"detail": "Authentication credentials were not provided."}`` otherwise;
* list endpoints (``count``, ``next``, ``previous``, ``results``; pages of ``page_size``, 25 by
  default) filtered by any field of the type (``name=``, ``organization=``, ``inventory=``,
  ``identifier=``, ``workflow_job_template=``, ``type=``...), ``or__<field>=`` terms OR'ed
  together as AWX does; a filter on a field the type lacks answers 400;
* organizations (``Default`` exists, id 1), credentials, execution environments, instance
  groups, labels and notification templates: read only (a test adds some with ``seed``);
* projects, inventories, inventory sources, job templates, workflow job templates and workflow
  job template nodes: ``POST`` create (201), ``GET`` and ``PATCH`` of ``/<type>/<id>/``. Unknown
  and read-only fields are ignored, as Django REST framework does; a null given for a text
  field is stored as ``""`` (AWX's CharNullField/ChoiceNullField), a null boolean as false; an
  invalid choice, integer or foreign key answers 400 ``{"<field>": ["..."]}``;
* names unique per type and organization (an inventory source's per inventory, a node's
  identifier per workflow): 400 ``{"__all__": ["Project with this Name and Organization already
  exists."]}``;
* a project with an SCM type starts a project update when it is created and when its
  ``scm_url``, ``scm_branch``, ``scm_type`` or ``scm_refspec`` change
  (``summary_fields.current_update``, ``GET /api/v2/project_updates/<id>/``); the update ends
  ``successful`` after ``sync_seconds`` and only then does the project know its playbooks
  (``playbooks``, the repository's ``playbooks/*.yml`` by default; ``/projects/<id>/playbooks/``);
  a job template whose playbook the project does not know answers 400 ``{"playbook": ["Playbook
  not found for project."]}`` (AWX's JobOptionsSerializer.validate); a running update is
  answered after up to 0.1 s, so that awx.awx's wait, a loop without a pause, stays light;
* an inventory source with ``source: scm`` needs ``source_project`` (a project with an SCM type);
* ``survey_spec`` of job templates and workflow job templates: ``GET`` (``{}`` when there is
  none; password defaults shown as ``$encrypted$``), ``POST`` checked with
  ``awx_survey_rules.spec_errors`` and refused with 400 ``{"error": "<message>"}``, the message AWX
  answers (the first problem of a question, or the last of the spec's own fields, as
  ``JobTemplateSurveySpec._validate_spec_data`` does), ``DELETE``;
* association sub-lists (``credentials``, ``labels``, ``instance_groups``,
  ``notification_templates_{started,success,error,approvals}``, a node's ``success_nodes``,
  ``failure_nodes`` and ``always_nodes``): ``GET`` the list, ``POST {"id": n}`` attaches and
  ``POST {"id": n, "disassociate": true}`` detaches, 204 both; a node edge that would make a
  cycle or that already exists under another kind answers 400 ``{"Error": "Cycle detected."}``
  / ``{"Error": "Relationship not allowed."}``;
* a node's ``extra_data`` must be what its template accepts at launch: variables its enabled
  survey asks, with valid answers (400 ``variables_needed_to_start``), or any when it asks for
  variables on launch (400 ``{"extra_data": ["Variables x are not allowed on launch. ..."]}``);
* ``/api/v2/unified_job_templates/``: the projects, inventory sources, job templates and
  workflow job templates together (they share one id sequence, as in AWX's tables).

* ``DELETE`` of a workflow node: 204, and its edges go with it (no parent keeps pointing at it).

Not served (404 or 405): deletes of other objects, copies, launches and jobs, project update
``POST``s (``update_project``), approval nodes, hosts and groups, users, teams, roles, settings,
tokens (username and password logins), named URLs (``name++org``), ``search=`` and ``order_by=``.
"""
from __future__ import annotations

import copy
import datetime
import hashlib
import json
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

from tests.support import awx_survey_rules
from tests.support.json_http_server import JsonHttpServer

REPO = Path(__file__).resolve().parents[2]
API = "/api/v2/"
PRODUCT_VERSION = "24.6.1"
PAGE_SIZE = 25
UJT_KINDS = ("projects", "inventory_sources", "job_templates", "workflow_job_templates")
WRITABLE = UJT_KINDS + ("inventories", "workflow_job_template_nodes")
NODE_EDGES = ("success_nodes", "failure_nodes", "always_nodes")
NOTIFY = tuple("notification_templates_" + when for when in ("started", "success", "error"))


def repo_playbooks() -> list:
    """The playbooks of this repository, as a project update of it lists them."""
    return sorted("playbooks/" + p.name for p in (REPO / "playbooks").glob("*.yml"))


def _char(default=""):
    return ("char", default)


def _nchar():
    return ("nchar", None)


def _bool(default=False):
    return ("bool", default)


def _int(default=0):
    return ("int", default)


def _fk(target):
    return ("fk", None, target)


def _choice(choices, default=""):
    return ("choice", default, choices)


_ASK = {"ask_" + what + "_on_launch": _bool() for what in (
    "scm_branch", "diff_mode", "variables", "limit", "tags", "skip_tags", "job_type", "verbosity", "inventory",
    "credential", "execution_environment", "forks", "instance_groups", "job_slice_count", "labels", "timeout")}

# kind: (type, verbose name, fields {name: (kind, default[, choices or target])}, associations {name: target})
SCHEMAS = {
    "organizations": ("organization", "Organization", {"name": _char(), "description": _char(), "max_hosts": _int(),
                                                       "default_environment": _fk("execution_environments")}, {}),
    "credentials": ("credential", "Credential", {"name": _char(), "description": _char(),
                                                 "organization": _fk("organizations"), "kind": _char("ssh")}, {}),
    "execution_environments": ("execution_environment", "Execution environment", {
        "name": _char(), "description": _char(), "organization": _fk("organizations"), "image": _char()}, {}),
    "instance_groups": ("instance_group", "Instance group", {"name": _char()}, {}),
    "labels": ("label", "Label", {"name": _char(), "organization": _fk("organizations")}, {}),
    "notification_templates": ("notification_template", "Notification template", {
        "name": _char(), "description": _char(), "organization": _fk("organizations"),
        "notification_type": _char("webhook")}, {}),
    "projects": ("project", "Project", {
        "name": _char(), "description": _char(), "organization": _fk("organizations"),
        "scm_type": _choice(["", "git", "svn", "insights", "archive"]), "scm_url": _char(), "scm_branch": _char(),
        "scm_refspec": _char(), "scm_clean": _bool(), "scm_track_submodules": _bool(), "scm_delete_on_update": _bool(),
        "credential": _fk("credentials"), "timeout": _int(), "scm_update_on_launch": _bool(),
        "scm_update_cache_timeout": _int(), "allow_override": _bool(), "custom_virtualenv": _nchar(),
        "default_environment": _fk("execution_environments"), "signature_validation_credential": _fk("credentials"),
        "local_path": _char()}, {n: "notification_templates" for n in NOTIFY}),
    "inventories": ("inventory", "Inventory", {
        "name": _char(), "description": _char(), "organization": _fk("organizations"),
        "kind": _choice(["", "smart", "constructed"]), "host_filter": _nchar(), "variables": _char(),
        "prevent_instance_group_fallback": _bool()}, {"instance_groups": "instance_groups"}),
    "inventory_sources": ("inventory_source", "Inventory source", {
        "name": _char(), "description": _char(), "inventory": _fk("inventories"),
        "source": _choice(["file", "scm", "ec2", "gce", "azure_rm", "vmware", "satellite6", "openstack", "rhv",
                           "controller", "insights", "terraform", "openshift_virtualization"], None),
        "source_path": _char(), "source_vars": _char(), "source_project": _fk("projects"),
        "credential": _fk("credentials"), "execution_environment": _fk("execution_environments"),
        "enabled_var": _char(), "enabled_value": _char(), "host_filter": _char(), "overwrite": _bool(),
        "overwrite_vars": _bool(), "custom_virtualenv": _nchar(), "timeout": _int(), "verbosity": _int(1),
        "update_on_launch": _bool(), "update_cache_timeout": _int(), "scm_branch": _char(), "limit": _char()},
        {n: "notification_templates" for n in NOTIFY}),
    "job_templates": ("job_template", "Job template", dict({
        "name": _char(), "description": _char(), "job_type": _choice(["run", "check"], "run"),
        "inventory": _fk("inventories"), "project": _fk("projects"), "playbook": _char(), "scm_branch": _char(),
        "forks": _int(), "limit": _char(), "verbosity": _int(), "extra_vars": _char(), "job_tags": _char(),
        "force_handlers": _bool(), "skip_tags": _char(), "start_at_task": _char(), "timeout": _int(),
        "use_fact_cache": _bool(), "organization": _fk("organizations"),
        "execution_environment": _fk("execution_environments"), "host_config_key": _char(),
        "survey_enabled": _bool(), "become_enabled": _bool(), "diff_mode": _bool(), "allow_simultaneous": _bool(),
        "custom_virtualenv": _nchar(), "job_slice_count": _int(1),
        "webhook_service": _choice(["", "github", "gitlab", "bitbucket_dc"]), "webhook_credential": _fk("credentials"),
        "prevent_instance_group_fallback": _bool()}, **_ASK),
        dict({n: "notification_templates" for n in NOTIFY}, credentials="credentials", labels="labels",
             instance_groups="instance_groups")),
    "workflow_job_templates": ("workflow_job_template", "Workflow job template", {
        "name": _char(), "description": _char(), "extra_vars": _char(), "organization": _fk("organizations"),
        "survey_enabled": _bool(), "allow_simultaneous": _bool(), "ask_variables_on_launch": _bool(),
        "inventory": _fk("inventories"), "limit": _nchar(), "scm_branch": _nchar(), "job_tags": _nchar(),
        "skip_tags": _nchar(), "ask_inventory_on_launch": _bool(), "ask_scm_branch_on_launch": _bool(),
        "ask_limit_on_launch": _bool(), "ask_labels_on_launch": _bool(), "ask_skip_tags_on_launch": _bool(),
        "ask_tags_on_launch": _bool(), "webhook_service": _choice(["", "github", "gitlab", "bitbucket_dc"]),
        "webhook_credential": _fk("credentials")},
        dict({n: "notification_templates" for n in NOTIFY + ("notification_templates_approvals",)}, labels="labels")),
    "workflow_job_template_nodes": ("workflow_job_template_node", "Workflow job template node", {
        "workflow_job_template": _fk("workflow_job_templates"), "unified_job_template": _fk("unified_job_templates"),
        "identifier": _char(), "extra_data": ("json", {}), "inventory": _fk("inventories"),
        "execution_environment": _fk("execution_environments"), "scm_branch": _nchar(),
        "job_type": _choice(["run", "check", None], None), "job_tags": _nchar(), "skip_tags": _nchar(),
        "limit": _nchar(), "diff_mode": ("nbool", None), "verbosity": ("nint", None), "forks": ("nint", None),
        "job_slice_count": ("nint", None), "timeout": ("nint", None), "all_parents_must_converge": _bool()},
        dict({n: "workflow_job_template_nodes" for n in NODE_EDGES}, credentials="credentials", labels="labels",
             instance_groups="instance_groups")),
}
REQUIRED = {"projects": ("name",), "inventories": ("name", "organization"), "inventory_sources": ("name", "inventory"),
            "job_templates": ("name",), "workflow_job_templates": ("name",),
            "workflow_job_template_nodes": ("workflow_job_template",)}
# the unique_together of each type, and how Django names it in the 400
UNIQUE = {"projects": ("name", "organization"), "inventories": ("name", "organization"),
          "inventory_sources": ("name", "inventory"), "job_templates": ("name", "organization"),
          "workflow_job_templates": ("name", "organization"),
          "workflow_job_template_nodes": ("identifier", "workflow_job_template")}
LABELS = {"name": "Name", "organization": "Organization", "inventory": "Inventory", "identifier": "Identifier",
          "workflow_job_template": "Workflow job template"}
SCM_UPDATE_FIELDS = ("scm_url", "scm_branch", "scm_type", "scm_refspec")


class ApiError(Exception):
    def __init__(self, status: int, body):
        super().__init__(status, body)
        self.status = status
        self.body = body


def _now(ts: float | None = None) -> str:
    return datetime.datetime.fromtimestamp(time.time() if ts is None else ts,
                                           datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _coerce(field, spec, value, fake):
    """A field's value as AWX's serializer takes it, or ValueError with DRF's message."""
    kind, default = spec[0], spec[1]
    if kind in ("char", "nchar"):
        if value is None:
            return "" if kind == "char" else None
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ValueError("Not a valid string.")
        return str(value)
    if kind == "choice":
        value = default if value is None and None in spec[2] else ("" if value is None else value)
        if value not in spec[2]:
            raise ValueError('"%s" is not a valid choice.' % value)
        return value
    if kind in ("bool", "nbool"):
        if value is None or value == "":
            return None if kind == "nbool" else False
        text = str(value).lower()
        if text in ("true", "1", "yes", "on"):
            return True
        if text in ("false", "0", "no", "off"):
            return False
        raise ValueError("Must be a valid boolean.")
    if kind in ("int", "nint"):
        if value is None:
            if kind == "nint":
                return None
            raise ValueError("This field may not be null.")
        if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.strip().lstrip("-").isdigit())):
            raise ValueError("A valid integer is required.")
        return int(value)
    if kind == "json":
        if value in (None, ""):
            return {}
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError as exc:
                raise ValueError("Cannot parse as JSON: %s" % exc) from exc
        if not isinstance(value, dict):
            raise ValueError("Must be a valid JSON or YAML dictionary.")
        return copy.deepcopy(value)
    if kind == "fk":
        if value is None:
            return None
        if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.isdigit())):
            raise ValueError("Incorrect type. Expected pk value, received %s." % type(value).__name__)
        if fake.lookup(spec[2], int(value)) is None:
            raise ValueError('Invalid pk "%s" - object does not exist.' % value)
        return int(value)
    raise AssertionError("unknown field kind %s of %s" % (kind, field))


class FakeAWX(JsonHttpServer):
    """The AWX API's state: objects per type, surveys, associations and project updates."""

    thread_name = "fake-awx"

    def __init__(self, token: str = "awx-test-token", playbooks: list | None = None, sync_seconds: float = 0.3,
                 version: str = PRODUCT_VERSION):
        self.token = token
        self.playbooks = list(repo_playbooks() if playbooks is None else playbooks)
        self.sync_seconds = sync_seconds
        self.version = version
        self.lock = threading.RLock()
        self.store = {kind: {} for kind in SCHEMAS}
        self.surveys = {}          # (kind, id) -> survey spec as stored
        self.updates = {}          # id -> project update
        self.sequences = {}
        self.requests = []         # every request: {method, path, query, status, body}
        self.seed("organizations", name="Default", description="")

    # -- lifecycle -------------------------------------------------------------------------------
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    # -- for tests -------------------------------------------------------------------------------
    def writes(self) -> list:
        """The write requests received (POST, PUT, PATCH, DELETE), in order, refused ones included."""
        with self.lock:
            return [r for r in self.requests if r["method"] in ("POST", "PUT", "PATCH", "DELETE")]

    def seed(self, kind: str, **fields) -> dict:
        """An object someone else made (a notification template, a credential...): its view."""
        with self.lock:
            _type, _verbose, schema, _assoc = SCHEMAS[kind]
            obj = {name: copy.deepcopy(spec[1]) for name, spec in schema.items()}
            obj.update(fields)
            return self._view(kind, self._insert(kind, obj))

    def lookup(self, kind: str, pk: int):
        """The stored object (not a copy) of ``kind`` with id ``pk``, or None."""
        if kind == "unified_job_templates":
            return next((self.store[k][pk] for k in UJT_KINDS if pk in self.store[k]), None)
        return self.store.get(kind, {}).get(pk)

    def objects(self, kind: str, **filters) -> list:
        """The views of ``kind`` (as the API shows them) whose fields equal ``filters``."""
        with self.lock:
            self._advance()
            return [self._view(kind, o) for o in self._all(kind)
                    if all(o.get(k) == v for k, v in filters.items())]

    def one(self, kind: str, **filters) -> dict:
        found = self.objects(kind, **filters)
        assert len(found) == 1, "%d %s match %s" % (len(found), kind, filters)
        return found[0]

    def survey(self, kind: str, pk: int) -> dict:
        """The survey spec as ``GET .../survey_spec/`` answers it."""
        with self.lock:
            return self._display_survey(self.surveys.get((kind, pk), {}))

    def edges(self, workflow_id: int) -> set:
        """The workflow's edges: (parent identifier, success|failure|always, child identifier)."""
        with self.lock:
            nodes = {n["id"]: n for n in self._all("workflow_job_template_nodes")
                     if n["workflow_job_template"] == workflow_id}
            return {(node["identifier"], edge[:-len("_nodes")], nodes[child]["identifier"])
                    for node in nodes.values() for edge in NODE_EDGES for child in node["_assoc"][edge]}

    # -- HTTP ------------------------------------------------------------------------------------
    def handle(self, method, raw_path, raw, headers):
        """(status, payload or None, the response headers AWX sends)."""
        parts = urlsplit(raw_path)
        query = parse_qsl(parts.query, keep_blank_values=True)
        entry = {"method": method, "path": parts.path, "query": dict(query), "status": None, "body": None}
        with self.lock:
            self.requests.append(entry)
        delay = 0
        try:
            body = None
            if raw:
                try:
                    body = json.loads(raw)
                except ValueError as exc:
                    raise ApiError(400, {"detail": "JSON parse error - %s" % exc}) from exc
            entry["body"] = body
            with self.lock:
                self._advance()
                status, payload = self._dispatch(method, parts.path, query, body, headers)
                if method == "GET" and parts.path.startswith(API + "project_updates/") and status == 200 \
                        and payload.get("status") in ("pending", "waiting", "running"):
                    delay = 0.1
        except ApiError as exc:
            status, payload = exc.status, exc.body
        entry["status"] = status
        if delay:
            time.sleep(delay)
        answer = {"X-API-Product-Name": "AWX", "X-API-Product-Version": self.version, "X-API-Node": "awx-fake"}
        if status == 401:
            answer["WWW-Authenticate"] = 'Bearer realm="api"'
        return status, payload, answer

    def _dispatch(self, method, path, query, body, headers):
        if not path.startswith(API):
            raise ApiError(404, {"detail": "The requested resource could not be found."})
        segments = [s for s in path[len(API):].split("/") if s]
        if segments == ["ping"] and method == "GET":
            return 200, {"ha": False, "version": self.version, "active_node": "awx-fake",
                         "install_uuid": "00000000-0000-4000-8000-000000000000",
                         "instances": [{"node": "awx-fake", "node_type": "hybrid", "heartbeat": _now(),
                                        "capacity": 100, "version": self.version}], "instance_groups": []}
        if next((v for k, v in headers.items() if k.lower() == "authorization"), "") != "Bearer %s" % self.token:
            raise ApiError(401, {"detail": "Authentication credentials were not provided."})
        if not segments:
            raise ApiError(404, {"detail": "The requested resource could not be found."})
        kind = segments[0]
        if kind == "unified_job_templates" and len(segments) == 1:
            self._allow(method, ("GET",))
            return 200, self._list("unified_job_templates", query, path)
        if kind == "project_updates" and len(segments) == 2 and segments[1].isdigit():
            self._allow(method, ("GET",))
            update = self.updates.get(int(segments[1]))
            if update is None:
                raise ApiError(404, {"detail": "Not found."})
            return 200, self._update_view(update)
        if kind not in SCHEMAS or (len(segments) > 1 and not segments[1].isdigit()) or len(segments) > 3:
            raise ApiError(404, {"detail": "The requested resource could not be found."})
        if len(segments) == 1:
            self._allow(method, ("GET", "POST") if kind in WRITABLE else ("GET",))
            if method == "GET":
                return 200, self._list(kind, query, path)
            return 201, self._view(kind, self._create(kind, body))
        obj = self.store[kind].get(int(segments[1]))
        if obj is None:
            raise ApiError(404, {"detail": "Not found."})
        if len(segments) == 2:
            allowed = ("GET", "PATCH") if kind in WRITABLE else ("GET",)
            self._allow(method, allowed + (("DELETE",) if kind == "workflow_job_template_nodes" else ()))
            if method == "DELETE":
                self._delete_node(obj)
                return 204, None
            if method == "PATCH":
                self._update(kind, obj, body)
            return 200, self._view(kind, obj)
        sub = segments[2]
        if sub == "survey_spec" and kind in ("job_templates", "workflow_job_templates"):
            return self._survey_endpoint(method, kind, obj, body)
        if sub == "playbooks" and kind == "projects":
            self._allow(method, ("GET",))
            return 200, list(obj["_playbook_files"])
        if sub in SCHEMAS[kind][3]:
            return self._association(method, kind, obj, sub, body, query, path)
        raise ApiError(404, {"detail": "The requested resource could not be found."})

    def _delete_node(self, node):
        """A node goes with its edges: AWX's node tables cascade, so no parent keeps pointing at it."""
        del self.store["workflow_job_template_nodes"][node["id"]]
        for other in self.store["workflow_job_template_nodes"].values():
            for edge in NODE_EDGES:
                if node["id"] in other["_assoc"][edge]:
                    other["_assoc"][edge].remove(node["id"])

    @staticmethod
    def _allow(method, allowed):
        if method not in allowed:
            raise ApiError(405, {"detail": 'Method "%s" not allowed.' % method})

    # -- store -----------------------------------------------------------------------------------
    def _all(self, kind):
        kinds = UJT_KINDS if kind == "unified_job_templates" else (kind,)
        return [o for k in kinds for o in self.store[k].values()]

    def _next_id(self, kind):
        sequence = "unified_job_templates" if kind in UJT_KINDS else kind
        self.sequences[sequence] = self.sequences.get(sequence, 0) + 1
        return self.sequences[sequence]

    def _insert(self, kind, obj):
        now = _now()
        obj.update(id=self._next_id(kind), created=now, modified=now, _kind=kind,
                   _assoc={name: [] for name in SCHEMAS[kind][3]})
        if kind == "projects":
            obj.update(_playbook_files=[], _current_update=None, _last_update=None, scm_revision="")
        self.store[kind][obj["id"]] = obj
        return obj

    def _create(self, kind, body):
        values = self._clean(kind, body, None)
        obj = self._insert(kind, values)
        if kind == "projects":
            if obj["scm_type"]:
                obj["local_path"] = "_%d__%s" % (obj["id"], obj["name"].lower().replace(" ", "_").replace("-", "_"))
                self._start_update(obj)
        return obj

    def _update(self, kind, obj, body):
        values = self._clean(kind, body, obj)
        scm_changed = kind == "projects" and any(values[f] != obj[f] for f in SCM_UPDATE_FIELDS)
        obj.update(values, modified=_now())
        if scm_changed and obj["scm_type"]:
            self._start_update(obj)

    def _clean(self, kind, body, instance):
        """The fields of a create (``instance`` None) or a PATCH, validated as AWX's serializer does."""
        if not isinstance(body, dict):
            raise ApiError(400, {"detail": "Expected a JSON object."})
        schema = SCHEMAS[kind][2]
        values = ({name: value for name, value in instance.items() if name in schema} if instance is not None
                  else {name: copy.deepcopy(spec[1]) for name, spec in schema.items()})
        errors = {}
        for field, value in body.items():
            if field in schema:
                try:
                    values[field] = _coerce(field, schema[field], value, self)
                except ValueError as exc:
                    errors[field] = [str(exc)]
        if instance is None:
            for field in REQUIRED.get(kind, ()):
                if field not in body:
                    errors[field] = ["This field is required."]
                elif values.get(field) in (None, ""):
                    errors[field] = ["This field may not be blank." if schema[field][0] == "char" else
                                     "This field may not be null."]
        if errors:
            raise ApiError(400, errors)
        getattr(self, "_validate_" + kind, lambda *a: None)(values, instance, body)
        self._check_unique(kind, values, instance)
        return values

    def _check_unique(self, kind, values, instance):
        fields = UNIQUE[kind]
        for other in self.store[kind].values():
            if other is not instance and all(other[f] == values[f] for f in fields):
                verbose = SCHEMAS[kind][1]
                raise ApiError(400, {"__all__": ["%s with this %s already exists." % (
                    verbose, " and ".join(LABELS[f] for f in fields))]})

    # -- AWX's object-level validation -------------------------------------------------------------
    def _validate_projects(self, values, instance, body):
        if values["scm_type"] and not values["scm_url"]:
            raise ApiError(400, {"scm_url": ["SCM URL is required."]})

    def _validate_inventories(self, values, instance, body):
        if instance is not None and instance["kind"] == "" and values["kind"] == "smart":
            raise ApiError(400, {"kind": ["Cannot change a regular inventory into a smart inventory."]})

    def _validate_inventory_sources(self, values, instance, body):
        if values["source"] is None:
            raise ApiError(400, {"source": ["This field is required."]})
        project = self.store["projects"].get(values["source_project"]) if values["source_project"] else None
        if values["source"] == "scm":
            if project is None and ("source" in body or "source_project" in body):
                raise ApiError(400, {"source_project": ["Project required for scm type sources."]})
            if project is not None and project["scm_type"] == "":
                raise ApiError(400, {"source_project": ["Cannot use manual project for SCM-based inventory."]})
            if values["scm_branch"] and not project["allow_override"]:
                raise ApiError(400, {"scm_branch": ["Project does not allow overriding branch."]})
        else:
            redundant = [f for f in ("source_project", "source_path", "scm_branch") if body.get(f)]
            if redundant:
                raise ApiError(400, {"detail": "Cannot set %s if not SCM type." % " ".join(redundant)})

    def _validate_job_templates(self, values, instance, body):
        project = self.store["projects"].get(values["project"]) if values["project"] else None
        if project is None:
            raise ApiError(400, {"project": ["This field is required."]})
        playbook = values["playbook"]
        if playbook and not project["allow_override"] and playbook not in project["_playbook_files"]:
            raise ApiError(400, {"playbook": ["Playbook not found for project."]})
        if not playbook:
            raise ApiError(400, {"playbook": ["Must select playbook for project."]})
        if (values["scm_branch"] or values["ask_scm_branch_on_launch"]) and not project["allow_override"]:
            field = "scm_branch" if values["scm_branch"] else "ask_scm_branch_on_launch"
            raise ApiError(400, {field: ["Project does not allow overriding branch."]})
        if values["organization"] is None:
            values["organization"] = project["organization"]

    def _validate_workflow_job_template_nodes(self, values, instance, body):
        if instance is not None and values["workflow_job_template"] != instance["workflow_job_template"]:
            raise ApiError(400, {"workflow_job_template": ["Cannot change the workflow of a node."]})
        if values["identifier"] == "" and instance is None:
            values["identifier"] = str(uuid.uuid4())
        template = self.lookup("unified_job_templates", values["unified_job_template"]) \
            if values["unified_job_template"] else None
        if "extra_data" in body and values["extra_data"] and template is not None:
            errors = self._prompt_errors(template, values["extra_data"])
            if errors:
                raise ApiError(400, errors)

    def _prompt_errors(self, template, data):
        """What ``_accept_or_ignore_variables`` refuses in a node's extra_data (required answers excluded)."""
        errors, left = {}, dict(data)
        spec = self.surveys.get((template["_kind"], template["id"])) if template.get("survey_enabled") else None
        if spec:
            needed = []
            for question in spec.get("spec", []):
                if question.get("variable") in data:
                    problems = awx_survey_rules.element_errors(question, data)
                    needed += problems
                    left.pop(question["variable"], None)
            if needed:
                errors["variables_needed_to_start"] = needed
        if template.get("ask_variables_on_launch"):
            left = {}
        template_vars = {}
        try:
            template_vars = json.loads(template.get("extra_vars") or "{}")
        except ValueError:
            pass
        left = {k: v for k, v in left.items() if not (k in template_vars and template_vars[k] == v)}
        if left:
            errors["extra_data"] = ["Variables {0} are not allowed on launch. Check the Prompt on Launch setting on the {1} "
                                    "to include Extra Variables.".format(", ".join(left), SCHEMAS[template["_kind"]][1].title())]
        return errors

    # -- project updates -------------------------------------------------------------------------
    def _start_update(self, project):
        uid = self.sequences["unified_jobs"] = self.sequences.get("unified_jobs", 0) + 1
        self.updates[uid] = {"id": uid, "project": project["id"], "name": project["name"], "started": time.time(),
                             "status": "pending", "scm_url": project["scm_url"], "scm_branch": project["scm_branch"],
                             "finished": None, "scm_revision": ""}
        project["_current_update"] = uid

    def _advance(self):
        """Project updates whose time has come end successful: the project now knows its playbooks."""
        now = time.time()
        for update in self.updates.values():
            if update["status"] in ("pending", "running"):
                if now - update["started"] >= self.sync_seconds:
                    update.update(status="successful", finished=_now(now), scm_revision=hashlib.sha1(
                        (update["scm_url"] + "@" + update["scm_branch"]).encode()).hexdigest())
                    project = self.store["projects"].get(update["project"])
                    if project is not None and project["_current_update"] == update["id"]:
                        project.update(_current_update=None, _last_update=update["id"], scm_revision=update["scm_revision"],
                                       _playbook_files=list(self.playbooks))
                elif now - update["started"] >= self.sync_seconds / 3:
                    update["status"] = "running"

    def _update_view(self, update):
        view = {k: v for k, v in update.items() if k not in ("started", "scm_url", "scm_branch")}
        view.update(type="project_update", url="%sproject_updates/%d/" % (API, update["id"]),
                    failed=update["status"] in ("failed", "error", "canceled"),
                    related={"project": "%sprojects/%d/" % (API, update["project"])})
        return view

    # -- survey specs ------------------------------------------------------------------------------
    def _survey_endpoint(self, method, kind, obj, body):
        self._allow(method, ("GET", "POST", "DELETE"))
        key = (kind, obj["id"])
        if method == "GET":
            return 200, self._display_survey(self.surveys.get(key, {}))
        if method == "DELETE":
            self.surveys.pop(key, None)
            return 200, None
        old = self.surveys.get(key, {})
        errors = awx_survey_rules.spec_errors(body, old)
        if errors:
            header_ok = isinstance(body, dict) and isinstance(body.get("name"), str) and \
                isinstance(body.get("description"), str) and isinstance(body.get("spec"), list) and bool(body["spec"])
            # AWX answers the last problem of the spec's own fields (each overwrites the one before) or the
            # first problem of a question (it returns at once)
            raise ApiError(400, {"error": errors[0] if header_ok else errors[-1]})
        self.surveys[key] = self._store_survey(body, old)
        obj["modified"] = _now()
        return 200, None

    @staticmethod
    def _store_survey(spec, old):
        """The spec as _validate_spec_data leaves it: choices and defaults of choice questions
        without blank lines, password defaults encrypted ($encrypted$ keeps the old one)."""
        spec = copy.deepcopy(spec)
        old_questions = {q.get("variable"): q for q in old.get("spec", []) if isinstance(q, dict)}
        for question in spec["spec"]:
            if question["type"] in ("multiplechoice", "multiselect"):
                for field in ("choices", "default"):
                    if isinstance(question.get(field), str):
                        question[field] = "\n".join(c for c in question[field].splitlines() if c.strip())
            default = question.get("default")
            if isinstance(default, str) and default.startswith("$encrypted$"):
                question["default"] = old_questions[question["variable"]]["default"]
            elif question["type"] == "password" and "default" in question:
                question["default"] = "$encrypted$UTF8$AESCBC$" + hashlib.sha256(str(default).encode()).hexdigest()
        return spec

    @staticmethod
    def _display_survey(spec):
        spec = copy.deepcopy(spec)
        for question in spec.get("spec", []):
            if question.get("type") == "password" and question.get("default"):
                question["default"] = "$encrypted$"
        return spec

    # -- associations ------------------------------------------------------------------------------
    def _association(self, method, kind, obj, sub, body, query, path):
        self._allow(method, ("GET", "POST"))
        target = SCHEMAS[kind][3][sub]
        ids = obj["_assoc"][sub]
        if method == "GET":
            return 200, self._page([self.store[target][i] for i in ids], target, query, path)
        if not isinstance(body, dict) or isinstance(body.get("id"), bool) or not isinstance(body.get("id"), int):
            raise ApiError(400, {"msg": '"id" field must be an integer.'})
        sub_id = body["id"]
        if sub_id not in self.store[target]:
            raise ApiError(400, {"detail": "No %s matches the given query." % SCHEMAS[target][1]})
        if body.get("disassociate"):
            if sub_id in ids:
                ids.remove(sub_id)
        elif sub_id not in ids:
            if sub in NODE_EDGES:
                self._check_edge(obj, sub, sub_id)
            ids.append(sub_id)
        obj["modified"] = _now()
        return 204, None

    def _check_edge(self, parent, edge, child_id):
        """WorkflowJobTemplateNodeChildrenBaseList.is_valid_relation."""
        if parent["id"] == child_id:
            raise ApiError(400, {"Error": "Cycle detected."})
        if any(child_id in parent["_assoc"][other] for other in NODE_EDGES if other != edge):
            raise ApiError(400, {"Error": "Relationship not allowed."})
        nodes = self.store["workflow_job_template_nodes"]

        def reaches(start, goal, seen):
            if start == goal:
                return True
            seen.add(start)
            return any(reaches(n, goal, seen) for e in NODE_EDGES for n in nodes[start]["_assoc"][e] if n not in seen)

        if reaches(child_id, parent["id"], set()):
            raise ApiError(400, {"Error": "Cycle detected."})

    # -- lists and views ---------------------------------------------------------------------------
    def _list(self, kind, query, path):
        objects = self._all(kind)
        plain, either = [], []
        for key, value in query:
            if key in ("page", "page_size"):
                continue
            field = key[len("or__"):] if key.startswith("or__") else key
            known = {"id", "type", "created", "modified"} | set(SCHEMAS[kind][2] if kind in SCHEMAS else
                                                                set().union(*(SCHEMAS[k][2] for k in UJT_KINDS)))
            if field not in known:
                raise ApiError(400, {"detail": "Invalid field name: %s" % field})
            (either if key.startswith("or__") else plain).append((field, value))
        objects = [o for o in objects if all(self._matches(o, f, v) for f, v in plain)
                   and (not either or any(self._matches(o, f, v) for f, v in either))]
        return self._page(objects, kind, query, path)

    def _matches(self, obj, field, value):
        actual = SCHEMAS[obj["_kind"]][0] if field == "type" else obj.get(field)
        if isinstance(actual, bool):
            return str(actual).lower() == value.lower()
        return ("" if actual is None else str(actual)) == value if value else actual in (None, "")

    def _page(self, objects, kind, query, path):
        params = dict(query)
        try:
            size = max(1, min(200, int(params.get("page_size", PAGE_SIZE))))
            page = max(1, int(params.get("page", 1)))
        except ValueError as exc:
            raise ApiError(404, {"detail": "Invalid page."}) from exc
        objects = sorted(objects, key=lambda o: (o.get("name") or "", o["id"]) if "name" in o else (o["id"],))
        chunk = objects[(page - 1) * size:page * size]
        if page > 1 and not chunk:
            raise ApiError(404, {"detail": "Invalid page."})

        def link(number):
            return "%s?%s" % (path, urlencode(dict(params, page=number)))

        return {"count": len(objects), "next": link(page + 1) if page * size < len(objects) else None,
                "previous": link(page - 1) if page > 1 else None,
                "results": [self._view(o["_kind"], o) for o in chunk]}

    def _summary(self, target, pk):
        obj = self.lookup(target, pk)
        if obj is None:
            return None
        summary = {"id": obj["id"], "name": obj.get("name", ""), "description": obj.get("description", "")}
        if target == "unified_job_templates":
            summary["unified_job_type"] = {"projects": "project_update", "inventory_sources": "inventory_update",
                                           "job_templates": "job", "workflow_job_templates": "workflow_job"}[obj["_kind"]]
        return summary

    def _view(self, kind, obj):
        type_name, _verbose, schema, assoc = SCHEMAS[kind]
        url = "%s%s/%d/" % (API, kind, obj["id"])
        view = {"id": obj["id"], "type": type_name, "url": url, "created": obj["created"], "modified": obj["modified"]}
        view.update({k: copy.deepcopy(v) for k, v in obj.items() if k in schema})
        related, summary = {name: url + name + "/" for name in assoc}, {}
        for field, spec in schema.items():
            if spec[0] == "fk" and obj.get(field) is not None:
                target = spec[2]
                if target == "unified_job_templates":
                    target = self.lookup(target, obj[field])["_kind"]
                related[field] = "%s%s/%d/" % (API, target, obj[field])
                summary[field] = self._summary(spec[2], obj[field])
        if kind in ("job_templates", "workflow_job_templates"):
            related.update(survey_spec=url + "survey_spec/", launch=url + "launch/")
            survey = self.surveys.get((kind, obj["id"]))
            if survey:
                summary["survey"] = {"title": survey.get("name", ""), "description": survey.get("description", "")}
        if kind == "projects":
            related.update(playbooks=url + "playbooks/", update=url + "update/", project_updates=url + "project_updates/")
            for name in ("current_update", "last_update"):
                uid = obj["_" + name]
                if uid is not None:
                    update = self.updates[uid]
                    related[name] = "%sproject_updates/%d/" % (API, uid)
                    summary[name] = {"id": uid, "name": update["name"], "description": "", "status": update["status"],
                                     "failed": update["status"] in ("failed", "error", "canceled"), "license_error": False}
            current = self.updates.get(obj["_current_update"]) if obj["_current_update"] else None
            last = self.updates.get(obj["_last_update"]) if obj["_last_update"] else None
            view.update(status=(current or last or {}).get("status") or ("never updated" if obj["scm_type"] else "ok"),
                        scm_revision=obj["scm_revision"], last_update_failed=False,
                        last_updated=(last or {}).get("finished"))
        if kind == "workflow_job_template_nodes":
            view.update({edge: list(obj["_assoc"][edge]) for edge in NODE_EDGES})
        summary["user_capabilities"] = {"edit": True, "delete": True}
        view.update(related=related, summary_fields=summary)
        return view
