# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""FOR INTERNAL COLLECTION USE ONLY.

The base of every Flink REST module: connection options (the ``flink`` doc fragment,
``FLINK_REST_*`` environment fallbacks) and a ``FlinkRestClient``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.flinkops.cookbook.plugins.module_utils._module import (
    RestModule, connection_args, merged_spec)
from ansible_collections.flinkops.cookbook.plugins.module_utils.flink_rest import FlinkRestClient

CONNECTION_ARGS = dict(connection_args("endpoint", "FLINK_REST"), failover_timeout=dict(type="int", default=120))


def argument_spec(**extra):
    return merged_spec(CONNECTION_ARGS, extra)


class FlinkModule(RestModule):
    API = "Flink REST API"

    def make_client(self, params):
        return FlinkRestClient.from_params(params)
