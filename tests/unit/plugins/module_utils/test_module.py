"""_module.RestModule: what a module run shows of its connection options (no user name, no URL user info),
and how RestModule.fail turns every OpsError into fail_json."""
from __future__ import annotations

import json

import pytest
from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.flinkops.cookbook.plugins.module_utils import _errors
from ansible_collections.flinkops.cookbook.plugins.module_utils._http import HttpClient, HttpError
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


def _fail(monkeypatch, capsys, exc):
    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": {
        "endpoint": "https://flink.test:8443"}})))
    monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy", raising=False)
    module = _Module(merged_spec(connection_args("endpoint", "FLINK_REST"), {}), supports_check_mode=True)

    def runner(m):
        m.report("step one")
        raise exc
    with pytest.raises(SystemExit):
        module.run(runner)
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("exc", [_errors.FlinkOpsError("flink said no", job_id="j"),
                                 _errors.CmfError("cmf said no", job_id="j")])
def test_every_backend_error_fails_the_same_way(monkeypatch, capsys, exc):
    out = _fail(monkeypatch, capsys, exc)
    assert out["failed"] is True and out["msg"] == str(exc) and out["job_id"] == "j"
    assert out["progress"] == ["step one"] and "module_args" in out["invocation"]


def test_an_http_error_fails_with_the_api_named_and_the_exchange(monkeypatch, capsys):
    out = _fail(monkeypatch, capsys, HttpError("GET", "https://flink.test:8443/overview", status=500, message="boom"))
    assert out["msg"] == "Test API: GET https://flink.test:8443/overview returned HTTP 500: boom"
    assert out["http"]["status"] == 500 and out["progress"] == ["step one"]


def test_credentials_never_reach_the_message(monkeypatch, capsys):
    out = _fail(monkeypatch, capsys, _errors.FlinkOpsError("cannot read s3://key:secret@bucket/sp"))
    assert "secret" not in out["msg"]
