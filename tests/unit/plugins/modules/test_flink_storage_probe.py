"""plugins/modules/flink_storage_probe.py: the module around module_utils/storage_probe.py (tested in
tests/unit/plugins/module_utils/test_storage_probe.py), against a tmp directory and a real moto S3 server."""
from __future__ import annotations

import json

import pytest

from ansible.module_utils.testing import patch_module_args
from ansible_collections.flinkops.cookbook.plugins.module_utils import storage_probe
from ansible_collections.flinkops.cookbook.plugins.modules import flink_storage_probe
from tests.unit.plugins.module_utils.test_storage_probe import leftovers


# -- the module ---------------------------------------------------------------------------------
@pytest.fixture
def run_module(capsys):
    """Run flink_storage_probe.main() in-process; return (failed, result dict)."""
    def run(args, check_mode=False):
        if check_mode:
            args = dict(args, _ansible_check_mode=True)
        capsys.readouterr()
        with patch_module_args(args):
            with pytest.raises(SystemExit) as exit_info:
                flink_storage_probe.main()
        out = capsys.readouterr().out
        return exit_info.value.code != 0, json.loads(out[out.index("{"):])
    return run


def test_module_probe_is_not_a_change(run_module, tmp_path):
    failed, result = run_module({"uri": "file://%s" % tmp_path})
    assert not failed and result["changed"] is False
    assert "wrote, read back and deleted 1024 bytes" in result["msg"]
    assert leftovers(tmp_path) == []


def test_module_check_mode_writes_nothing(run_module, monkeypatch):
    monkeypatch.setattr(storage_probe, "probe", lambda *a, **k: pytest.fail("check mode must not probe"))
    failed, result = run_module({"uri": "s3://flink-state/cp"}, check_mode=True)
    assert not failed and result["changed"] is False
    assert result["object"] == "s3://flink-state/cp/%s<random>" % storage_probe.PROBE_PREFIX
    assert result["steps"][0].startswith("write 1024 bytes")


def test_module_failure_names_uri_step_and_cause(run_module, tmp_path):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    uri = "file://%s/sub" % blocker
    failed, result = run_module({"uri": uri})
    assert failed and result["changed"] is False
    assert result["uri"] == uri and result["step"] == "write" and result["cause"]
    assert uri in result["msg"] and "write" in result["msg"]


def test_module_reads_aws_credentials_from_the_environment(run_module, moto_url, s3, monkeypatch):
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_REGION", "us-east-1"), ("AWS_ENDPOINT_URL_S3", moto_url)):
        monkeypatch.setenv(name, value)
    failed, result = run_module({"uri": "s3://flink-state/checkpoints"})
    assert not failed, result
    assert result["backend"] == "s3" and "testing" not in json.dumps(result)


def test_secrets_are_no_log():
    spec = flink_storage_probe.argument_spec()
    assert all(spec[k]["no_log"] for k in ("access_key", "secret_key", "session_token"))
