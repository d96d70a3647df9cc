"""tests/support/matrix_report.py: the README table from the matrix results."""
from __future__ import annotations

from tests.support.matrix_report import table


def test_versions_sort_numerically_and_each_row_shows_result_seconds_setup_and_total():
    data = {
        "2.3.0": {"flink_reports": "2.3.0", "test_job_tree": "java", "setup_seconds": 30.2,
                  "steps": {"deploy": {"result": "pass", "seconds": 14.4}, "upgrade": {"result": "fail", "seconds": 9.6,
                                                                                       "error": "AssertionError"}}},
        "1.18.1": {"flink_reports": "1.18.1", "test_job_tree": "java-legacy", "setup_seconds": 12.0,
                   "steps": {s: {"result": "pass", "seconds": 10.0} for s in
                             ("deploy", "savepoint", "upgrade", "rescale", "rollback")}},
        "1.9.3": {"flink_reports": "1.9.3", "steps": {}},
    }
    lines = table(data).splitlines()
    assert lines[0] == "| Flink | test job | deploy | savepoint | upgrade | rescale | rollback | setup | total |"
    assert [line.split(" | ")[0] for line in lines[2:]] == ["| 1.9.3", "| 1.18.1", "| 2.3.0"]
    assert lines[3] == "| 1.18.1 | java-legacy | pass 10 s | pass 10 s | pass 10 s | pass 10 s | pass 10 s | 12 s | 62 s |"
    assert lines[4] == "| 2.3.0 | java | pass 14 s | — | fail 10 s | — | — | 30 s | 54 s |"
    assert lines[2] == "| 1.9.3 | ? | — | — | — | — | — | — | 0 s |"
