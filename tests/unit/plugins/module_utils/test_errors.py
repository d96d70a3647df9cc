"""Unit tests of module_utils/_errors.py: one error base with details, every backend's errors under it,
and the one job-id check (how RestModule.fail turns them into fail_json: test_module.py)."""
from __future__ import annotations

import pytest

from ansible_collections.flinkops.cookbook.plugins.module_utils import _errors
from ansible_collections.flinkops.cookbook.plugins.module_utils._http import HttpError
from ansible_collections.flinkops.cookbook.plugins.module_utils.flink_rest import check_job_id


@pytest.mark.parametrize("cls", [_errors.FlinkOpsError, _errors.SavepointTimeout, _errors.CmfError,
                                 _errors.CmfUnsupported, _errors.CmfTimeout])
def test_every_backend_error_is_an_ops_error_with_details(cls):
    exc = cls("it failed", job_id="x")
    assert isinstance(exc, _errors.OpsError) and str(exc) == "it failed" and exc.details == {"job_id": "x"}


def test_timeouts_are_wait_timeouts_of_their_backend():
    assert issubclass(_errors.SavepointTimeout, _errors.FlinkOpsError)
    assert issubclass(_errors.SavepointTimeout, _errors.WaitTimeout)
    assert issubclass(_errors.CmfTimeout, _errors.CmfError) and issubclass(_errors.CmfTimeout, _errors.WaitTimeout)
    assert not issubclass(_errors.CmfError, _errors.FlinkOpsError)


def test_journal_busy_and_probe_errors_keep_their_fields():
    busy = _errors.JournalBusy("busy", {"pid": 1})
    assert busy.owner == {"pid": 1} and busy.details == {"run_in_progress": {"pid": 1}}
    probe = _errors.ProbeError("s3://b/p", "write", "denied", object="k")
    assert str(probe) == "storage probe of s3://b/p failed at step 'write': denied"
    assert (probe.uri, probe.step, probe.cause, probe.details) == ("s3://b/p", "write", "denied", {"object": "k"})


def test_an_http_error_is_an_ops_error_whose_details_are_the_exchange():
    exc = HttpError("GET", "http://u:p@flink:8081/jobs", status=503, message="busy")
    assert isinstance(exc, _errors.OpsError)
    assert exc.details == {"http": {"method": "GET", "url": "http://********@flink:8081/jobs", "status": 503,
                                    "message": "busy"}}


def test_reserved_result_keys_are_renamed():
    exc = _errors.FlinkOpsError("x", msg="inner", changed=True, failed=1, other=2)
    assert exc.result_details() == {"detail_msg": "inner", "detail_changed": True, "detail_failed": 1, "other": 2}


@pytest.mark.parametrize("job_id", [None, "", "0" * 32, "abcdef0123456789abcdef0123456789"])
def test_a_job_id_that_can_be_one_passes(job_id):
    assert check_job_id(job_id) == job_id


@pytest.mark.parametrize("job_id", ["orders", "0" * 31, "A" * 32, "g" * 32])
def test_the_one_job_id_check(job_id):
    with pytest.raises(_errors.FlinkOpsError, match="32-character hexadecimal"):
        check_job_id(job_id)
