# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""FOR INTERNAL COLLECTION USE ONLY.

The Confluent Manager for Apache Flink (CMF) REST client, CMF 2.0 to 2.3
(``/cmf/api/v1``), on top of the one transport ``_http.HttpClient``.

One method per REST call, no policy (waits and comparisons live in ``cmf_ops``):

* every list endpoint is paginated the Spring way (``page`` from 0, ``size``); ``list_all``
  follows pages until the total in ``metadata.size`` is reached, capped at 10,000 items;
* a GET that answers 404 returns ``None``; a DELETE that answers 404 returns ``False``;
* create-or-update calls (``POST`` environments and applications) replace the object by
  name, so they are safe to retry; a savepoint trigger is not retried blindly: after a lost
  answer the savepoint is looked up by its client-chosen name instead;
* the server version comes from ``/system-information`` (CMF 2.2+); without it, a probe of
  the detached-savepoints endpoint tells a CMF 2.1 (savepoints) from a CMF 2.0 / CP 8.0
  (none), so a savepoint operation on an old CMF fails with a clear message.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


from ansible_collections.flinkops.cookbook.plugins.module_utils._errors import CmfError, CmfUnsupported
from ansible_collections.flinkops.cookbook.plugins.module_utils._http import HttpClient, HttpError, parse_version

API = "/cmf/api/v1"
API_ALPHA = "/cmf/api/v1alpha1"
API_VERSION = "cmf.confluent.io/v1"
PAGE_SIZE = 100
MAX_ITEMS = 10000
SAVEPOINTS_SINCE = (2, 1, 0)


def _q(name):
    """A path segment (CMF names are DNS labels; anything else is refused by CMF itself)."""
    text = str(name)
    if not text or "/" in text or text in (".", ".."):
        raise CmfError("invalid CMF resource name %r" % (name,))
    return text


class CmfRestClient(object):
    def __init__(self, http):
        self.http = http
        self._info = None
        self._info_read = False
        self._savepoints = None

    @classmethod
    def from_params(cls, params, **kwargs):
        return cls(HttpClient.from_params(params, "url", **kwargs))

    # -- plumbing ----------------------------------------------------------------------------
    def list_all(self, path, params=None, page_size=PAGE_SIZE, limit=MAX_ITEMS):
        """Every item of a paginated list endpoint."""
        items = []
        page = 0
        while True:
            query = dict(params or {}, page=page, size=page_size)
            data = self.http.get(path, params=query) or {}
            chunk = data.get("items") or []
            items.extend(chunk)
            total = (data.get("metadata") or {}).get("size")
            served = (data.get("pageable") or {}).get("size") or page_size
            if not chunk or len(items) >= limit:
                break
            if total is not None:
                if len(items) >= int(total):
                    break
            elif len(chunk) < served:
                break
            page += 1
        return items[:limit]

    # -- version -----------------------------------------------------------------------------
    def system_information(self):
        """``/system-information`` (CMF 2.2+), or None when the server does not have it."""
        if not self._info_read:
            self._info = self.http.get_or_none(API + "/system-information")
            self._info_read = True
        return self._info

    @property
    def version_string(self):
        return ((self.system_information() or {}).get("status") or {}).get("version")

    @property
    def version(self):
        text = self.version_string
        return parse_version(text) if text else None

    def supports_savepoints(self):
        if self._savepoints is None:
            version = self.version
            if version is not None:
                self._savepoints = version >= SAVEPOINTS_SINCE
            else:
                # CMF 2.1 has savepoints but no /system-information; CMF 2.0 has neither.
                try:
                    self.http.get(API + "/detached-savepoints", params={"page": 0, "size": 1})
                    self._savepoints = True
                except HttpError as exc:
                    if exc.status != 404:
                        raise
                    self._savepoints = False
        return self._savepoints

    def require_savepoints(self, what="savepoints"):
        if not self.supports_savepoints():
            version = self.version_string
            if version:
                seen = "reports version %s" % version
            else:
                seen = ("has no /system-information and answers 404 on %s/detached-savepoints, so it is "
                        "CMF 2.0 (Confluent Platform 8.0) or older" % API)
            raise CmfUnsupported(
                "%s: the CMF at %s %s; the savepoint API needs CMF 2.1 or newer" % (what, self.http.base_url, seen),
                cmf_version=version)

    # -- environments ------------------------------------------------------------------------
    def list_environments(self):
        return self.list_all(API + "/environments")

    def get_environment(self, name):
        return self.http.get_or_none("%s/environments/%s" % (API, _q(name)))

    def apply_environment(self, body):
        # createOrUpdate by name: repeating it is harmless.
        return self.http.post(API + "/environments", json_body=body, idempotent=True)

    def delete_environment(self, name):
        return self.http.delete_quiet("%s/environments/%s" % (API, _q(name)))

    # -- applications --------------------------------------------------------------------------
    def _app(self, env, name):
        return "%s/environments/%s/applications/%s" % (API, _q(env), _q(name))

    def list_applications(self, env):
        return self.list_all("%s/environments/%s/applications" % (API, _q(env)))

    def get_application(self, env, name):
        return self.http.get_or_none(self._app(env, name))

    def apply_application(self, env, body):
        return self.http.post("%s/environments/%s/applications" % (API, _q(env)), json_body=body, idempotent=True)

    def delete_application(self, env, name):
        return self.http.delete_quiet(self._app(env, name))

    def application_instances(self, env, name):
        return self.list_all(self._app(env, name) + "/instances")

    def application_events(self, env, name):
        return self.list_all("%s/environments/%s/applications/%s/events" % (API_ALPHA, _q(env), _q(name)))

    # -- savepoints ------------------------------------------------------------------------------
    def list_app_savepoints(self, env, app):
        self.require_savepoints("list savepoints of %s" % app)
        return self.list_all(self._app(env, app) + "/savepoints")

    def get_app_savepoint(self, env, app, name):
        self.require_savepoints("read savepoint %s" % name)
        return self.http.get_or_none("%s/savepoints/%s" % (self._app(env, app), _q(name)))

    def create_app_savepoint(self, env, app, name, path=None, format_type=None, backoff_limit=None):
        """Trigger a savepoint named ``name``. A lost answer is resolved by reading it back."""
        self.require_savepoints("trigger a savepoint of %s" % app)
        spec = {}
        if path:
            spec["path"] = path
        if format_type:
            spec["formatType"] = format_type
        if backoff_limit is not None:
            spec["backoffLimit"] = backoff_limit
        body = {"apiVersion": API_VERSION, "kind": "Savepoint", "metadata": {"name": name}, "spec": spec}
        try:
            return self.http.post(self._app(env, app) + "/savepoints", json_body=body, idempotent=False)
        except HttpError as exc:
            # 409/422 "already exists": a concurrent run created the savepoint of that name first; the
            # name says what it is for, so it is the same savepoint.
            if exc.status is not None and exc.status < 500 and exc.status not in (409, 422):
                raise
            found = self.http.get_or_none("%s/savepoints/%s" % (self._app(env, app), _q(name)))
            if found is None:
                raise
            return found

    def delete_app_savepoint(self, env, app, name, force=False):
        self.require_savepoints("delete savepoint %s" % name)
        params = {"force": "true"} if force else None
        return self.http.delete_quiet("%s/savepoints/%s" % (self._app(env, app), _q(name)), params=params)

    def detach_savepoint(self, env, app, name):
        self.require_savepoints("detach savepoint %s" % name)
        return self.http.post("%s/savepoints/%s/detach" % (self._app(env, app), _q(name)), idempotent=True)

    def list_detached_savepoints(self):
        self.require_savepoints("list detached savepoints")
        return self.list_all(API + "/detached-savepoints")

    def get_detached_savepoint(self, name):
        self.require_savepoints("read detached savepoint %s" % name)
        return self.http.get_or_none("%s/detached-savepoints/%s" % (API, _q(name)))

    def create_detached_savepoint(self, name, path, format_type=None):
        self.require_savepoints("register detached savepoint %s" % name)
        spec = {"path": path}
        if format_type:
            spec["formatType"] = format_type
        body = {"apiVersion": API_VERSION, "kind": "Savepoint", "metadata": {"name": name}, "spec": spec}
        return self.http.post(API + "/detached-savepoints", json_body=body)

    def delete_detached_savepoint(self, name):
        self.require_savepoints("delete detached savepoint %s" % name)
        return self.http.delete_quiet("%s/detached-savepoints/%s" % (API, _q(name)))

    # -- SQL resources: compute pools, statements, catalogs, secrets -------------------------------
    # Creates are plain POSTs (409 when the name exists), so they are never retried blindly;
    # updates are PUTs of the whole object and deletes are DELETEs: both safe to repeat.
    def _env_path(self, env, kind, name=None):
        path = "%s/environments/%s/%s" % (API, _q(env), kind)
        return path if name is None else "%s/%s" % (path, _q(name))

    def list_compute_pools(self, env):
        return self.list_all(self._env_path(env, "compute-pools"))

    def get_compute_pool(self, env, name):
        return self.http.get_or_none(self._env_path(env, "compute-pools", name))

    def create_compute_pool(self, env, body):
        return self.http.post(self._env_path(env, "compute-pools"), json_body=body)

    def update_compute_pool(self, env, name, body):
        return self.http.put(self._env_path(env, "compute-pools", name), json_body=body)

    def delete_compute_pool(self, env, name):
        return self.http.delete_quiet(self._env_path(env, "compute-pools", name))

    def list_statements(self, env):
        return self.list_all(self._env_path(env, "statements"))

    def get_statement(self, env, name):
        return self.http.get_or_none(self._env_path(env, "statements", name))

    def create_statement(self, env, body):
        return self.http.post(self._env_path(env, "statements"), json_body=body)

    def update_statement(self, env, name, body):
        return self.http.put(self._env_path(env, "statements", name), json_body=body)

    def delete_statement(self, env, name):
        return self.http.delete_quiet(self._env_path(env, "statements", name))

    def statement_exceptions(self, env, name):
        """The last (up to 10) exceptions of a statement, newest first as CMF sends them."""
        data = self.http.get_or_none(self._env_path(env, "statements", name) + "/exceptions") or {}
        return data.get("data") or []

    def list_catalogs(self):
        return self.list_all(API + "/catalogs/kafka")

    def get_catalog(self, name):
        return self.http.get_or_none("%s/catalogs/kafka/%s" % (API, _q(name)))

    def create_catalog(self, body):
        return self.http.post(API + "/catalogs/kafka", json_body=body)

    def update_catalog(self, name, body):
        return self.http.put("%s/catalogs/kafka/%s" % (API, _q(name)), json_body=body)

    def delete_catalog(self, name):
        return self.http.delete_quiet("%s/catalogs/kafka/%s" % (API, _q(name)))

    def list_databases(self, catalog):
        return self.list_all("%s/catalogs/kafka/%s/databases" % (API, _q(catalog)))

    def create_database(self, catalog, body):
        return self.http.post("%s/catalogs/kafka/%s/databases" % (API, _q(catalog)), json_body=body)

    def update_database(self, catalog, name, body):
        return self.http.put("%s/catalogs/kafka/%s/databases/%s" % (API, _q(catalog), _q(name)), json_body=body)

    def delete_database(self, catalog, name):
        return self.http.delete_quiet("%s/catalogs/kafka/%s/databases/%s" % (API, _q(catalog), _q(name)))

    def list_secrets(self):
        return self.list_all(API + "/secrets")

    def get_secret(self, name):
        return self.http.get_or_none("%s/secrets/%s" % (API, _q(name)))

    def create_secret(self, body):
        return self.http.post(API + "/secrets", json_body=body)

    def update_secret(self, name, body):
        return self.http.put("%s/secrets/%s" % (API, _q(name)), json_body=body)

    def delete_secret(self, name):
        return self.http.delete_quiet("%s/secrets/%s" % (API, _q(name)))

    def list_secret_mappings(self, env):
        return self.list_all(self._env_path(env, "secret-mappings"))

    def get_secret_mapping(self, env, name):
        return self.http.get_or_none(self._env_path(env, "secret-mappings", name))

    def create_secret_mapping(self, env, body):
        return self.http.post(self._env_path(env, "secret-mappings"), json_body=body)

    def update_secret_mapping(self, env, name, body):
        return self.http.put(self._env_path(env, "secret-mappings", name), json_body=body)

    def delete_secret_mapping(self, env, name):
        return self.http.delete_quiet(self._env_path(env, "secret-mappings", name))

    # -- system --------------------------------------------------------------------------------
    def list_kubernetes_clusters(self):
        """Registered Kubernetes clusters (CMF 2.3+), or None when the server has no such endpoint."""
        try:
            return self.list_all(API + "/kubernetes-clusters")
        except HttpError as exc:
            if exc.status == 404:
                return None
            raise

    def resource_information(self):
        """Resource counts and usage (CMF 2.2+), or None when the server has no such endpoint."""
        return self.http.get_or_none(API + "/resource-information")
