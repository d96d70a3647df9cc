# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""FOR INTERNAL COLLECTION USE ONLY.

The base of every CMF module: connection options (the ``cmf`` doc fragment, ``CMF_*``
environment fallbacks) and a ``CmfRestClient``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.flinkops.cookbook.plugins.module_utils._module import (
    RestModule, connection_args, merged_spec)
from ansible_collections.flinkops.cookbook.plugins.module_utils.cmf_rest import CmfRestClient

CONNECTION_ARGS = connection_args("url", "CMF")


def argument_spec(**extra):
    return merged_spec(CONNECTION_ARGS, extra)


class CmfModule(RestModule):
    API = "CMF REST API"

    def make_client(self, params):
        return CmfRestClient.from_params(params)
