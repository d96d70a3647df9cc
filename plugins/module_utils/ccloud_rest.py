# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""FOR INTERNAL COLLECTION USE ONLY.

The Confluent Cloud API client (``api.confluent.cloud``) for Flink compute pools
(``/fcpm/v2/compute-pools``, ``ccloud-flink-v2-openapi.yaml``), on the one transport.
One method per call, no policy (``ccloud_ops``). Compute pools live in an environment:
every call names it (``environment`` query parameter, or ``spec.environment.id``).
A create is a POST without a client-chosen id: it is not retried after a lost answer; the
caller looks the pool up by display name instead.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.flinkops.cookbook.plugins.module_utils._errors import ConfluentError
from ansible_collections.flinkops.cookbook.plugins.module_utils.confluent_api import ConfluentRest, http_for, require

try:
    from urllib.parse import quote
except ImportError:  # pragma: no cover - Python 2
    from urllib import quote

POOLS = "/fcpm/v2/compute-pools"


def _q(value):
    text = str(value or "")
    if not text or "/" in text:
        raise ConfluentError("invalid compute pool id %r" % (value,))
    return quote(text, safe="")


class ComputePoolClient(ConfluentRest):
    def __init__(self, http, environment_id):
        super(ComputePoolClient, self).__init__(http)
        self.environment_id = environment_id

    @classmethod
    def from_params(cls, params, **kwargs):
        return cls(http_for("cloud", params, **kwargs), require(params, "environment_id", "FLINK_ENVIRONMENT_ID"))

    def list_pools(self, region=None):
        params = {"environment": self.environment_id, "page_size": 100}
        if region:
            params["spec.region"] = region
        return self.list_next(POOLS, params=params)

    def get_pool(self, pool_id):
        return self.http.get_or_none("%s/%s" % (POOLS, _q(pool_id)), params={"environment": self.environment_id})

    def find_pool(self, display_name):
        """The pool of this environment with that display name, or None (names are not unique in
        Confluent Cloud: two are an error naming both ids)."""
        found = [p for p in self.list_pools() if (p.get("spec") or {}).get("display_name") == display_name]
        if len(found) > 1:
            raise ConfluentError("environment %s has %d compute pools named %s (%s): give pool_id" % (
                self.environment_id, len(found), display_name, ", ".join(p.get("id") for p in found)))
        return found[0] if found else None

    def create_pool(self, spec):
        body = {"spec": dict(spec, environment={"id": self.environment_id})}
        return self.http.post(POOLS, json_body=body)

    def update_pool(self, pool_id, spec):
        body = {"spec": dict(spec, environment={"id": self.environment_id})}
        return self.http.patch("%s/%s" % (POOLS, _q(pool_id)), json_body=body)

    def delete_pool(self, pool_id):
        return self.http.delete_quiet("%s/%s" % (POOLS, _q(pool_id)), params={"environment": self.environment_id})
