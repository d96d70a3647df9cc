# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""FOR INTERNAL COLLECTION USE ONLY.

What every REST module shares, whatever the API (Flink, CMF): the connection argument
spec with environment fallbacks, an AnsibleModule with a client attached (composition,
not inheritance), progress reports for the ``flinkops.cookbook.progress`` callback, and
the one place that turns an ``OpsError`` (``_errors.py``) into ``fail_json``: ``fail``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os
import traceback

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.flinkops.cookbook.plugins.module_utils._errors import OpsError
from ansible_collections.flinkops.cookbook.plugins.module_utils._http import (
    HAS_REQUESTS, REDACTED, REQUESTS_IMPORT_ERROR, HttpError, redact_url)

# Connection options whose value is never shown, not even in ``invocation`` at -vvv: the user
# name is half of a credential. It is not ``no_log`` (that would mask the name wherever it
# appears in a result, job names included); the invocation is rewritten instead.
HIDDEN_OPTIONS = ("username",)


def connection_args(url_option, env_prefix):
    """The connection options (mirrored by the doc fragments), with ``<PREFIX>_*`` env fallbacks."""
    return {
        url_option: dict(type="str", required=True, fallback=(env_fallback, ["%s_URL" % env_prefix])),
        "username": dict(type="str", fallback=(env_fallback, ["%s_USERNAME" % env_prefix])),
        "password": dict(type="str", no_log=True, fallback=(env_fallback, ["%s_PASSWORD" % env_prefix])),
        "token": dict(type="str", no_log=True, fallback=(env_fallback, ["%s_TOKEN" % env_prefix])),
        "client_cert": dict(type="path"),
        "client_key": dict(type="path", no_log=False),
        "validate_certs": dict(type="bool", default=True),
        "ca_path": dict(type="path"),
        "request_timeout": dict(type="int", default=30),
        "retries": dict(type="int", default=3),
    }


def merged_spec(connection, extra):
    spec = copy.deepcopy(connection)
    spec.update(extra)
    return spec


class RestModule(object):
    """Subclasses set ``API`` (for messages) and ``make_client(params)``."""

    API = "REST API"

    def __init__(self, argument_spec, **kwargs):
        mutually_exclusive = list(kwargs.pop("mutually_exclusive", []))
        if "username" in argument_spec and "token" in argument_spec:
            mutually_exclusive.append(("username", "token"))
        self.module = AnsibleModule(argument_spec=argument_spec, mutually_exclusive=mutually_exclusive, **kwargs)
        if not HAS_REQUESTS:
            self.module.fail_json(msg=missing_required_lib("requests"), exception=str(REQUESTS_IMPORT_ERROR))
        self.params = self.module.params
        self.check_mode = self.module.check_mode
        self.messages = []
        try:
            self.client = self.make_client(self.params)
        except OpsError as exc:
            self.fail(exc, self.invocation(), progress=None)
        url_password = getattr(getattr(self.client, "http", None), "url_password", None)
        if url_password:
            self.module.no_log_values.add(url_password)

    def invocation(self):
        """The module arguments as results show them: URLs without user info, no user name."""
        args = {}
        for key, value in self.params.items():
            spec = self.module.argument_spec.get(key) or {}
            if value is not None and (key in HIDDEN_OPTIONS or spec.get("no_log")):
                value = REDACTED
            elif isinstance(value, str) and "://" in value:
                value = redact_url(value)
            args[key] = value
        return {"module_args": args}

    def make_client(self, params):
        raise NotImplementedError

    def report(self, message):
        """Progress of a long wait: kept for the result, written to the host's log, and
        appended to the spool of the ``flinkops.cookbook.progress`` callback when it runs."""
        self.messages.append(message)
        self.module.log("flinkops: %s" % message)
        spool = os.environ.get("FLINKOPS_PROGRESS_DIR")
        if spool and os.path.isdir(spool):
            try:
                with open(os.path.join(spool, "%d.log" % os.getpid()), "a") as handle:
                    handle.write("[%s] %s\n" % (self.params.get("name") or self.params.get("job_id") or "", message))
            except (IOError, OSError):
                pass  # progress is best effort; never fail an operation for it

    def fail(self, exc, invocation, progress):
        """Fail the run for ``exc``: its message (an HTTP error's prefixed with the API), its
        ``details`` as result keys, the progress so far (unless None) and the invocation."""
        msg = "%s: %s" % (self.API, exc) if isinstance(exc, HttpError) else redact_url(exc)
        extra = {"invocation": invocation}
        if progress is not None:
            extra["progress"] = progress
        extra.update(exc.result_details())
        self.module.fail_json(msg=msg, **extra)

    def run(self, runner):
        """Call ``runner(self)`` -> result dict, and exit or fail with a clear message."""
        invocation = self.invocation()
        try:
            result = runner(self)
        except OpsError as exc:
            self.fail(exc, invocation, self.messages)
        except Exception as exc:  # pragma: no cover - unexpected bug: keep the trace
            self.module.fail_json(msg="unexpected error (%s): %s" % (type(exc).__name__, redact_url(exc) or repr(exc)),
                                  exception=redact_url(traceback.format_exc()), invocation=invocation)
        else:
            if self.messages and "progress" not in result:
                result["progress"] = self.messages
            if not self.module._diff:
                result.pop("diff", None)
            result.setdefault("invocation", invocation)
            self.module.exit_json(**result)
        finally:
            self.close()

    def close(self):
        """Release the client's connections (a backend with another transport overrides it)."""
        self.client.http.close()
