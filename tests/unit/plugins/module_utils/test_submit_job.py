"""flink_ops.submit_job: client-chosen job id, labels, lost answers (RELIABILITY A3, B10)."""
from __future__ import annotations

import re

import pytest
import requests

from ansible_collections.flinkops.cookbook.plugins.module_utils._http import HttpError
from ansible_collections.flinkops.cookbook.plugins.module_utils.flink_ops import decode_labels, submit_job
from fake_flink import connection_error, parse_map

SPEC = {"name": "orders", "version": "2.0.0", "jar_sha256": "cd" * 32, "jar_name": "cdcd-orders.jar",
        "jar_id": "1234_orders.jar", "entry_class": "com.example.Orders", "args": ["--topic", "orders"],
        "parallelism": 2, "flink_configuration": {"pipeline.name": "orders"}}
RUN = "/jars/1234_orders.jar/run"


def posted(flink):
    calls = flink.calls_to("POST", RUN)
    assert len(calls) == 1, "exactly one submission"
    return calls[0].body


def test_body_carries_the_job_id_and_the_labels(flink):
    job_id, concurrent = submit_job(flink.client(), SPEC, savepoint_path="s3://sp/savepoint-1")
    assert concurrent is False
    body = posted(flink)

    assert re.match(r"^[0-9a-f]{32}$", job_id) and body["jobId"] == job_id
    labels = parse_map(body["flinkConfiguration"]["pipeline.global-job-parameters"])
    assert decode_labels(labels) == SPEC
    assert labels["flinkops.version"] == "2.0.0"
    assert body["flinkConfiguration"]["pipeline.name"] == "orders"
    assert body["savepointPath"] == "s3://sp/savepoint-1" and body["claimMode"] == "NO_CLAIM"
    assert body["programArgsList"] == ["--topic", "orders"] and body["parallelism"] == 2


def test_labels_leave_out_unset_and_unknown_keys(flink):
    submit_job(flink.client(), {"jar_id": "1234_orders.jar", "name": "orders", "parallelism": None,
                                "secret_sauce": "x"})
    labels = parse_map(posted(flink)["flinkConfiguration"]["pipeline.global-job-parameters"])
    assert decode_labels(labels) == {"jar_id": "1234_orders.jar", "name": "orders"}


def test_each_submission_gets_a_new_job_id(flink):
    assert submit_job(flink.client(), SPEC)[0] != submit_job(flink.client(), SPEC)[0]


def test_a_duplicate_refused_by_flink_is_a_concurrent_runs_job(flink):
    """Two runs with one fenced job id: Flink refuses the second submission; that job is the other run's."""
    job_id = "ab" * 16
    flink.add_job(job_id, name="orders")
    flink.on("POST", RUN, (400, {"errors": ["org.apache.flink.runtime.client.DuplicateJobSubmissionException: "
                                            "Job has already been submitted."]}))
    assert submit_job(flink.client(), SPEC, job_id=job_id) == (job_id, True)
    posted(flink)


@pytest.mark.parametrize("lost", [connection_error(), requests.exceptions.ReadTimeout("read timed out")])
def test_lost_answer_is_reconciled_by_looking_the_job_up_not_by_posting_again(flink, lost):
    """B10: the POST reached Flink, the answer did not."""
    def accepted_but_answer_lost(call):
        flink.add_job(call.body["jobId"], name="orders")
        return lost

    flink.on("POST", RUN, accepted_but_answer_lost)
    job_id, concurrent = submit_job(flink.client(retries=3), SPEC)

    assert job_id == posted(flink)["jobId"] and concurrent is False
    assert [c.path for c in flink.calls_to("GET", "/jobs/.*")] == ["/jobs/" + job_id]


def test_lost_answer_for_a_job_that_does_not_exist_is_posted_once_more_with_the_same_id(flink):
    flink.on("POST", RUN, connection_error())
    with pytest.raises(HttpError) as info:
        submit_job(flink.client(retries=3), SPEC, reconcile_timeout=0.3)
    assert info.value.status is None
    calls = flink.calls_to("POST", RUN)
    assert len(calls) == 2 and calls[0].body["jobId"] == calls[1].body["jobId"], "one retry, same job id"


def test_an_http_error_answer_is_raised_without_a_lookup(flink):
    flink.on("POST", RUN, (400, {"errors": ["org.apache.flink.client.program.ProgramInvocationException: "
                                            "The main method caused an error: no topic"]}))
    with pytest.raises(HttpError, match="no topic"):
        submit_job(flink.client(), SPEC)
    assert not flink.calls_to("GET", "/jobs/.*")


def test_users_own_global_job_parameters_are_kept(flink):
    spec = dict(SPEC, flink_configuration={"pipeline.global-job-parameters": "env:prod,region:eu"})
    submit_job(flink.client(), spec)
    params = parse_map(posted(flink)["flinkConfiguration"]["pipeline.global-job-parameters"])
    assert params.get("env") == "prod" and params.get("region") == "eu"
    assert decode_labels(params)["jar_id"] == SPEC["jar_id"]


def test_a_submission_cut_by_a_leader_change_is_looked_up_not_rolled_back(flink):
    """Flink answers 400 'Error while waiting for job to be initialized' when the JobManager loses
    leadership mid-submission; with HA the new leader recovers the job: it is the submitted job."""
    def cut(call):
        flink.add_job(call.body["jobId"], name="orders")
        return (400, {"errors": ["org.apache.flink.client.program.ProgramInvocationException: The main method "
                                 "caused an error: Failed to execute job 'orders'. Caused by: "
                                 "java.lang.RuntimeException: Error while waiting for job to be initialized"]})

    flink.on("POST", RUN, cut)
    job_id, concurrent = submit_job(flink.client(), SPEC, reconcile_timeout=0.5)
    assert job_id == posted(flink)["jobId"] and concurrent is False
