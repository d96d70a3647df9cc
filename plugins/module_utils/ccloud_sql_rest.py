# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""FOR INTERNAL COLLECTION USE ONLY.

The client of the regional Confluent Cloud Flink SQL endpoint
(``https://flink.<region>.<cloud>.confluent.cloud``, ``ccloud-flink-gateway-v1-openapi.yaml``):
statements of an organization's environment, their exceptions and results, on the one
transport. One method per call, no policy (``ccloud_ops``).

A statement's name is chosen by the client, so a create that lost its answer is detected by a
GET of that name (409 on a repeat). A stop, a resume or a move to another pool is a JSON Patch
(``application/json-patch+json``) of ``/spec/stopped`` and ``/spec/compute_pool_id``, as Confluent's
own driver (confluent-sql) does it: the contract's PUT wants the read-only ``metadata`` back.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.flinkops.cookbook.plugins.module_utils._errors import ConfluentError
from ansible_collections.flinkops.cookbook.plugins.module_utils.confluent_api import ConfluentRest, http_for, require

try:
    from urllib.parse import quote
except ImportError:  # pragma: no cover - Python 2
    from urllib import quote


def _q(value, what="statement name"):
    text = str(value or "")
    if not text or "/" in text:
        raise ConfluentError("invalid %s %r" % (what, value))
    return quote(text, safe="")


class StatementClient(ConfluentRest):
    def __init__(self, http, organization_id, environment_id):
        super(StatementClient, self).__init__(http)
        self.organization_id = organization_id
        self.environment_id = environment_id
        self.base = "/sql/v1/organizations/%s/environments/%s/statements" % (
            _q(organization_id, "organization id"), _q(environment_id, "environment id"))

    @classmethod
    def from_params(cls, params, **kwargs):
        return cls(http_for("flink", params, **kwargs), require(params, "organization_id", "FLINK_ORGANIZATION_ID"),
                   require(params, "environment_id", "FLINK_ENVIRONMENT_ID"))

    def list_statements(self, compute_pool_id=None):
        params = {"page_size": 100}
        if compute_pool_id:
            params["spec.compute_pool_id"] = compute_pool_id
        return self.list_next(self.base, params=params)

    def get_statement(self, name):
        return self.http.get_or_none("%s/%s" % (self.base, _q(name)))

    def create_statement(self, body):
        return self.http.post(self.base, json_body=body)

    def update_statement(self, name, body):
        return self.http.put("%s/%s" % (self.base, _q(name)), json_body=body)

    def patch_statement(self, name, operations):
        """A JSON Patch (RFC 6902) of the statement, as Confluent's own driver stops one:
        ``[{"op": "REPLACE", "path": "/spec/stopped", "value": true}]`` (the contract's enum is in
        capitals; confluent-sql sends RFC 6902's lower case). Not retried blindly (the caller reads
        the statement again)."""
        return self.http.request("PATCH", "%s/%s" % (self.base, _q(name)), data=json.dumps(operations),
                                 headers={"Content-Type": "application/json-patch+json"}, idempotent=False)

    def delete_statement(self, name):
        return self.http.delete_quiet("%s/%s" % (self.base, _q(name)))

    def exceptions(self, name):
        data = self.http.get_or_none("%s/%s/exceptions" % (self.base, _q(name))) or {}
        return data.get("data") or []

    def results(self, name, limit=1000):
        """The rows of a statement's results, following ``metadata.next`` (at most ``limit``)."""
        rows = []
        data = self.http.get("%s/%s/results" % (self.base, _q(name))) or {}
        while True:
            page = ((data.get("results") or {}).get("data")) or []
            rows.extend(page)
            nxt = (data.get("metadata") or {}).get("next")
            # a running query always has a next page: an empty page is the end of what is there now
            if not nxt or not page or len(rows) >= limit:
                break
            data = self.http.get(nxt) or {}
        return rows[:limit]
