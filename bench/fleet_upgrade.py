"""Fleet upgrade: the wall time of one `upgrade_job.yml -l local` run that upgrades N jobs, in waves of
`flink_concurrency` (the validation windows of a wave overlap) and one job at a time
(`flink_concurrency=1`), side by side with the floor: the same run for one job.

    .venv/bin/python bench/fleet_upgrade.py --jobs 1 4 8 --window 20

Every job is upgraded for real (savepoint, stop, start from it, validated for --window seconds) on one
local Flink 2.3.0 (1 TaskManager with max(--jobs) + 2 slots, every job at parallelism 1). Each measurement alternates
the version (1.0.0 <-> 2.0.0) so that every run upgrades every job; the script checks from Flink's REST
API that every job runs the new version afterwards, and prints the wall time of each run, the ratio
to the floor and the peak memory of the largest controller process so far (ru_maxrss of the children:
ansible-playbook and its forks; the largest one, not their sum).
A benchmark, not a test: it asserts nothing and is not part of `make test`.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import resource
import shutil
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.integration.ansible_run import FlinkApi, run_playbook  # noqa: E402
from tests.integration.local_inventory import running_version  # noqa: E402
from tests.support.flink_local import LocalFlink, install_flink  # noqa: E402
from tests.support.testjobs import build_test_jobs  # noqa: E402


def fleet(jars, versions):
    """flink_jobs for the jobs of ``versions`` ({name: version}), each at its version."""
    return [{"name": name, "version": version, "jar": str(jars["v2"] if version == "2.0.0" else jars["v1"]),
             "parallelism": 1, "args": ["--name", name]} for name, version in versions.items()]


def upgrade(api, env, jars, versions, concurrency):
    """One run that upgrades every job of ``versions`` to its other version; ``versions`` is updated."""
    wanted = dict((name, "1.0.0" if v == "2.0.0" else "2.0.0") for name, v in versions.items())
    start = time.monotonic()
    res = run_playbook("upgrade_job.yml", "local",
                       {"flink_jobs": fleet(jars, wanted), "flink_concurrency": concurrency}, env, timeout=3600)
    wall = time.monotonic() - start
    if res.rc != 0:
        raise RuntimeError(res.stdout[-3000:])
    running = dict((name, running_version(api, api.active_jobs(name)[0]["jid"])) for name in wanted)
    if running != wanted:
        raise RuntimeError("not every job runs its new version: %s, declared %s" % (running, wanted))
    versions.update(wanted)
    # ru_maxrss of the children only grows: the largest controller process so far
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"jobs": len(wanted), "flink_concurrency": concurrency, "wall_s": round(wall, 1),
            "largest_controller_process_rss_mib": round(peak / 1024.0, 1)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--window", type=int, default=20, help="flink_validation_seconds")
    args = parser.parse_args()
    home = install_flink()
    work = pathlib.Path(tempfile.mkdtemp(prefix="flinkops-bench-fleet-"))
    jars = build_test_jobs(home, work / "jars")
    most = max(args.jobs)
    flink = LocalFlink(home, work / "flink", taskmanagers=1, slots=most + 2)
    flink.start()
    try:
        api = FlinkApi(flink.rest_url)
        env = {"FLINKOPS_LOCAL_REST_URL": flink.rest_url, "FLINKOPS_LOCAL_DIR": str(work),
               "FLINKOPS_VALIDATION_SECONDS": str(args.window)}
        versions = dict(("fleet-%02d" % i, "1.0.0") for i in range(most))
        res = run_playbook("deploy_job.yml", "local", {"flink_jobs": fleet(jars, versions)},
                           dict(env, FLINKOPS_VALIDATION_SECONDS="0"), timeout=3600)
        assert res.rc == 0, res.stdout[-2000:]
        rows = []
        for count in sorted(args.jobs):
            for concurrency in ([8] if count == 1 else [8, 1]):
                # the first `count` jobs are declared (each to its other version); the rest are not touched
                declared = dict(list(versions.items())[:count])
                row = upgrade(api, env, jars, declared, concurrency)
                versions.update(declared)
                rows.append(row)
                print(json.dumps(row), flush=True)
        floor = [r for r in rows if r["jobs"] == 1][0]["wall_s"]
        print("\n| jobs | flink_concurrency | wall time | x the floor (1 job) "
              "| largest controller process RSS so far |")
        print("|---|---|---|---|---|")
        for row in rows:
            print("| %d | %d | %.1f s | %.2f | %.0f MiB |" % (
                row["jobs"], row["flink_concurrency"], row["wall_s"], row["wall_s"] / floor,
                row["largest_controller_process_rss_mib"]))
        print(json.dumps({"flink": flink.overview().get("flink-version"), "window_s": args.window, "rows": rows}))
    finally:
        flink.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
