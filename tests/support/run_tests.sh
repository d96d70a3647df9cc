#!/usr/bin/env bash
# The whole suite, as CI runs it: install, unit and integration tests against real
# Flink, then ansible-test sanity, ansible-lint (production) and the collection build.
# FAST=1 runs only the tests that need no real cluster.
set -euo pipefail
cd "$(dirname "$0")/../.."
tests/support/bootstrap.sh
export PATH="$PWD/.venv/bin:$PATH"
mkdir -p tests/output
# The leader-failover drills (about 15 min on their own bare-metal HA cluster) run with
# `make test-failover`, so that `make test` stays well under the CI budget.
marker=(-m "not failover")
[ "${FAST:-0}" = 1 ] && marker=(-m "not slow")
# Two workers (pytest-xdist), one per core: most real-cluster tests wait on Flink (savepoints,
# validation windows), so two clusters side by side take about half the time. Each worker has its
# own session cluster. --dist loadfile keeps each test file on one worker, in order, as files with a
# module-scoped cluster (bare metal, diagnostics) need. (--dist loadgroup ignores xdist_group marks
# with pytest-xdist 3.8 and pytest 9.2 here: it split test_bare_metal across both workers.)
# FLINKOPS_TEST_WORKERS=0 runs everything in one process.
# --no-loadscope-reorder: files go to the workers in collection order, the slowest first
# (tests/conftest.py SLOWEST_FIRST), not the files with the most tests first.
workers=(-n "${FLINKOPS_TEST_WORKERS:-2}" --dist loadfile --no-loadscope-reorder)
[ "${FLINKOPS_TEST_WORKERS:-2}" = 0 ] && workers=()
# The unit tests run once: in `make test` under ansible-test (gates.sh units: every file of
# tests/unit, in ansible-test's layout and isolated venv, which is the stricter of the two runs),
# in `make test-fast` with pytest here. Running them in both places cost about 3 minutes of CI.
paths=(tests/integration)
[ "${FAST:-0}" = 1 ] && paths=(tests)
python -m pytest "${paths[@]}" "${marker[@]}" "${workers[@]}" -p no:cacheprovider --durations=25 \
  --junitxml=tests/output/junit.xml
tests/support/gates.sh all
