"""_module.RestModule: what a module run shows of its connection options (no user name, no URL user info)."""
from __future__ import annotations

import json

import pytest
from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.flinkops.cookbook.plugins.module_utils._http import HttpClient
from ansible_collections.flinkops.cookbook.plugins.module_utils._module import RestModule, connection_args, merged_spec


class _Client(object):
    def __init__(self, params):
        self.http = HttpClient.from_params(params, "endpoint")


class _Module(RestModule):
    API = "Test API"

    def make_client(self, params):
        return _Client(params)


def _run(monkeypatch, capsys, args, runner):
    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args})))
    monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy", raising=False)
    module = _Module(merged_spec(connection_args("endpoint", "FLINK_REST"), {"name": dict(type="str")}),
                     supports_check_mode=True)
    with pytest.raises(SystemExit):
        module.run(runner)
    return json.loads(capsys.readouterr().out)


def test_the_invocation_shows_no_user_name_and_no_url_user_info(monkeypatch, capsys):
    out = _run(monkeypatch, capsys, {"endpoint": "https://url-user:url-pass@flink.test:8443", "name": "orders"},
               lambda m: {"changed": False, "seen": m.client.http.base_url})
    assert out["seen"] == "https://flink.test:8443"
    assert out["invocation"]["module_args"]["endpoint"] == "https://********@flink.test:8443"
    assert out["invocation"]["module_args"]["name"] == "orders"
    text = json.dumps(out)
    assert "url-user" not in text and "url-pass" not in text

    out = _run(monkeypatch, capsys, {"endpoint": "https://flink.test", "username": "ops-person", "password": "pw"},
               lambda m: {"changed": False})
    assert out["invocation"]["module_args"]["username"] == "********"
    assert "ops-person" not in json.dumps(out)


def test_a_failure_carries_the_cause_without_credentials(monkeypatch, capsys):
    def boom(module):
        raise ValueError("cannot reach https://url-user:url-pass@flink.test:8443/v1/x")

    out = _run(monkeypatch, capsys, {"endpoint": "https://url-user:url-pass@flink.test:8443"}, boom)
    assert out["failed"] is True
    assert out["msg"] == "unexpected error (ValueError): cannot reach https://********@flink.test:8443/v1/x"
    assert "url-pass" not in json.dumps(out) and "url-user" not in json.dumps(out)
