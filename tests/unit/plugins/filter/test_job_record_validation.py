"""flinkops.cookbook.job_record_validation: the verdict of a validation window, from job records."""
from __future__ import annotations

from ansible_collections.flinkops.cookbook.plugins.filter.job_record_validation import (FilterModule,
                                                                                        job_record_validation,
                                                                                        job_records_validation)
from ansible_collections.flinkops.cookbook.plugins.module_utils.job_record import exception, record, snapshot

NEW = "a" * 32
SAVEPOINT = "file:/data/savepoints/savepoint-0d3f4e-1a2b3c"
T0 = 1700000000000


def rec(**fields):
    fields.setdefault("id", NEW)
    fields.setdefault("state", "RUNNING")
    fields.setdefault("parallelism", 2)
    fields.setdefault("restored_from", SAVEPOINT)
    fields.setdefault("latest_completed", snapshot("checkpoint", 3, "file:/data/chk/%s/chk-3" % NEW, T0 + 5000))
    fields.setdefault("raw", {"big": "object"})
    return record("flink", name="orders", **fields)


def verdict(records, elapsed, **kw):
    kw.setdefault("window_seconds", 60)
    kw.setdefault("recovery_seconds", 30)
    kw.setdefault("job_id", NEW)
    kw.setdefault("restored_from", SAVEPOINT)
    return job_record_validation(records, elapsed, **kw)


def test_a_healthy_job_is_watched_through_the_window_then_passes():
    during = verdict([rec()], 10)
    assert during["verdict"] == "watching" and during["phase"] == "window"
    assert during["record"]["id"] == NEW and "raw" not in during["record"]
    done = verdict([rec()], 60)
    assert done["verdict"] == "passed" and done["phase"] == "done"
    assert NEW in done["reason"] and "checkpoint 3" in done["reason"] and SAVEPOINT in done["reason"]


def test_trouble_fails_at_once_without_waiting_for_the_end_of_the_window():
    crash = exception(T0 + 7000, "java.lang.IllegalStateException", "boom in v2")
    cases = {
        "new exception": ([rec(exceptions=[crash])], "boom in v2"),
        "job failed": ([rec(state="FAILED")], "is FAILED"),
        "job ended": ([rec(state="FINISHED")], "is FINISHED"),
        "cancelled by someone": ([rec(state="CANCELED")], "is CANCELED"),
        "another run": ([rec(id="b" * 32)], "not %s" % NEW),
        "two jobs": ([rec(), rec(id="b" * 32)], "2 jobs of that name run"),
    }
    for what, (records, words) in cases.items():
        out = verdict(records, 1)
        assert out["verdict"] == "failed", what
        assert words in out["reason"], (what, out["reason"])


def test_an_ended_job_names_its_newest_exception():
    crash = exception(T0 + 7000, "java.lang.IllegalStateException", "poison record")
    out = verdict([rec(state="FAILED", exceptions=[crash])], 1)
    assert out["verdict"] == "failed" and "is FAILED, the newest exception: poison record" in out["reason"]


def test_exceptions_from_before_the_change_do_not_count():
    old = exception(T0 - 1000, "java.io.IOException", "from the previous run")
    assert verdict([rec(exceptions=[old])], 60, exceptions_after_ms=T0)["verdict"] == "passed"
    assert verdict([rec(exceptions=[old])], 60)["verdict"] == "failed"
    unknown_time = exception(None, "java.io.IOException", "no timestamp")
    assert verdict([rec(exceptions=[unknown_time])], 1, exceptions_after_ms=T0)["verdict"] == "failed"


def test_not_healthy_at_the_end_of_the_window_gets_the_recovery_time_then_fails():
    for records, words in (
            ([rec(state="RESTARTING")], "RESTARTING, not RUNNING"),
            ([rec(latest_completed=None)], "no completed checkpoint"),
            ([], "no job of that name runs"),
            ([rec(restored_from="file:/data/savepoints/another")], "not from %s" % SAVEPOINT),
            ([rec(restored_from=None)], "started from nothing"),
    ):
        during = verdict(records, 30)
        assert during["verdict"] == "watching" and during["phase"] == "window", words
        recovering = verdict(records, 75)
        assert recovering["verdict"] == "watching" and recovering["phase"] == "recovery", words
        assert words in recovering["reason"], (words, recovering["reason"])
        late = verdict(records, 91)
        assert late["verdict"] == "failed" and words in late["reason"], (words, late["reason"])
        assert "60s window and 30s more" in late["reason"]


def test_a_restart_from_its_own_checkpoint_after_a_failover_counts_as_restored():
    own = rec(restored_from="file:/data/chk/%s/chk-7" % NEW)
    assert verdict([own], 60)["verdict"] == "passed"
    other = rec(restored_from="file:/data/chk/%s/chk-7" % ("c" * 32))
    assert verdict([other], 60)["verdict"] == "watching"


def test_parallelism_is_checked_when_given_and_no_id_or_savepoint_check_when_not():
    assert verdict([rec(parallelism=3)], 60, parallelism=3)["verdict"] == "passed"
    out = verdict([rec(parallelism=2)], 91, parallelism=3)
    assert out["verdict"] == "failed" and "parallelism 2, not 3" in out["reason"]
    anyone = rec(id="d" * 32, restored_from=None)
    assert verdict([anyone], 60, job_id="", restored_from="")["verdict"] == "passed"


def test_the_filter_is_registered():
    assert FilterModule().filters()["job_record_validation"] is job_record_validation


# job_records_validation: several jobs changed together, each judged in its own window


def fleet_rec(name, jid, **fields):
    fields.setdefault("state", "RUNNING")
    fields.setdefault("parallelism", 2)
    fields.setdefault("restored_from", SAVEPOINT)
    fields.setdefault("latest_completed", snapshot("checkpoint", 3, "file:/data/chk/%s/chk-3" % jid, T0 + 5000))
    return record("flink", name=name, id=jid, **fields)


def fleet_run(name, jid, started, **extra):
    return dict(name=name, job_id=jid, started=started, restored_from=SAVEPOINT, **extra)


def test_each_run_is_judged_from_its_own_records_and_its_own_start():
    b_id = "b" * 32
    records = [fleet_rec("orders", NEW), fleet_rec("payments", b_id), fleet_rec("unrelated", "c" * 32)]
    runs = [fleet_run("orders", NEW, 1000.0, journal="/j/orders"), fleet_run("payments", b_id, 1030.0)]
    verdicts = job_records_validation(records, runs, now_seconds=1065.0, window_seconds=60)
    assert [v["name"] for v in verdicts] == ["orders", "payments"]
    # orders started 65 s ago: its window is over; payments only 35 s ago: still watched
    assert verdicts[0]["verdict"] == "passed" and verdicts[0]["elapsed_seconds"] == 65.0
    assert verdicts[1]["verdict"] == "watching" and verdicts[1]["elapsed_seconds"] == 35.0
    assert verdicts[0]["run"]["journal"] == "/j/orders", "the caller's own keys come back with the verdict"


def test_one_failing_run_does_not_fail_the_others():
    b_id = "b" * 32
    records = [fleet_rec("orders", NEW, state="FAILED"), fleet_rec("payments", b_id)]
    runs = [fleet_run("orders", NEW, 1000.0), fleet_run("payments", b_id, 1000.0)]
    verdicts = job_records_validation(records, runs, now_seconds=1010.0, window_seconds=60)
    assert verdicts[0]["verdict"] == "failed" and "FAILED" in verdicts[0]["reason"]
    assert verdicts[1]["verdict"] == "watching"


def test_a_run_whose_job_is_gone_or_duplicated_is_named():
    b_id = "b" * 32
    records = [fleet_rec("payments", b_id), fleet_rec("payments", "d" * 32)]
    runs = [fleet_run("orders", NEW, 1000.0), fleet_run("payments", b_id, 1000.0)]
    verdicts = job_records_validation(records, runs, now_seconds=1200.0, window_seconds=60, recovery_seconds=30)
    assert verdicts[0]["verdict"] == "failed" and "no job of that name runs" in verdicts[0]["reason"]
    assert verdicts[1]["verdict"] == "failed" and "2 jobs of that name run" in verdicts[1]["reason"]


def test_a_failed_read_is_named_only_for_the_runs_it_left_unread():
    runs = [fleet_run("orders", NEW, 1000.0)]
    during = job_records_validation([], runs, now_seconds=1010.0, window_seconds=60,
                                    read_error="HTTP 503 from http://jm:8081/jobs/overview")
    assert during[0]["verdict"] == "watching"
    assert "could not be read (HTTP 503" in during[0]["reason"]
    read = job_records_validation([fleet_rec("orders", NEW)], runs, now_seconds=1010.0, window_seconds=60,
                                  read_error="HTTP 503")
    assert "could not be read" not in read[0]["reason"]


def test_no_runs_give_no_verdicts_and_the_fleet_filter_is_registered():
    assert job_records_validation([fleet_rec("orders", NEW)], [], now_seconds=1.0, window_seconds=60) == []
    assert FilterModule().filters()["job_records_validation"] is job_records_validation
