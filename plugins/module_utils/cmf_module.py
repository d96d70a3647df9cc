# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""FOR INTERNAL COLLECTION USE ONLY.

What every CMF module shares: the connection argument spec (mirrors the ``cmf`` doc
fragment), building the client, and turning exceptions into ``fail_json``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import traceback

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.flinkops.cookbook.plugins.module_utils._http import (
    HAS_REQUESTS, REQUESTS_IMPORT_ERROR, HttpError)
from ansible_collections.flinkops.cookbook.plugins.module_utils.cmf_rest import CmfError, CmfRestClient

CONNECTION_ARGS = dict(
    url=dict(type="str", required=True, fallback=(env_fallback, ["CMF_URL"])),
    username=dict(type="str", fallback=(env_fallback, ["CMF_USERNAME"])),
    password=dict(type="str", no_log=True, fallback=(env_fallback, ["CMF_PASSWORD"])),
    token=dict(type="str", no_log=True, fallback=(env_fallback, ["CMF_TOKEN"])),
    client_cert=dict(type="path"),
    client_key=dict(type="path", no_log=False),
    validate_certs=dict(type="bool", default=True),
    ca_path=dict(type="path"),
    request_timeout=dict(type="int", default=30),
    retries=dict(type="int", default=3),
)


def argument_spec(**extra):
    spec = copy.deepcopy(CONNECTION_ARGS)
    spec.update(extra)
    return spec


class CmfModule(object):
    """An AnsibleModule with a CMF client attached (composition, not inheritance)."""

    def __init__(self, argument_spec, **kwargs):
        mutually_exclusive = list(kwargs.pop("mutually_exclusive", []))
        mutually_exclusive.append(("username", "token"))
        self.module = AnsibleModule(argument_spec=argument_spec, mutually_exclusive=mutually_exclusive, **kwargs)
        if not HAS_REQUESTS:
            self.module.fail_json(msg=missing_required_lib("requests"), exception=str(REQUESTS_IMPORT_ERROR))
        self.params = self.module.params
        self.check_mode = self.module.check_mode
        self.client = CmfRestClient.from_params(self.params)
        self.messages = []

    def report(self, message):
        """Progress of a long wait: kept for the result and written to the host's log."""
        self.messages.append(message)
        self.module.log("flinkops: %s" % message)

    def run(self, runner):
        """Call ``runner(self)`` -> result dict, and exit or fail with a clear message."""
        try:
            result = runner(self)
        except CmfError as exc:
            self.module.fail_json(msg=str(exc), progress=self.messages, **_jsonable(exc.details))
        except HttpError as exc:
            self.module.fail_json(msg="CMF REST API: %s" % exc, http=exc.to_dict(), progress=self.messages)
        except Exception as exc:  # pragma: no cover - unexpected bug: keep the trace
            self.module.fail_json(msg="unexpected error: %s" % exc, exception=traceback.format_exc())
        else:
            if self.messages and "progress" not in result:
                result["progress"] = self.messages
            if not self.module._diff:
                result.pop("diff", None)
            self.module.exit_json(**result)
        finally:
            self.client.http.close()


def _jsonable(details):
    out = {}
    for key, value in (details or {}).items():
        if key in ("msg", "changed", "failed"):
            key = "detail_" + key
        out[key] = value
    return out
