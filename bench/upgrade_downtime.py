"""Upgrade downtime: upgrade_job.yml (REST, one module call) versus Flink's own CLI.

Downtime = the old job's FINISHED timestamp to the new job's RUNNING timestamp, both read
from Flink's REST API (`GET /jobs/:id` -> `timestamps`). Both methods run on the same local
cluster, alternating, N times each; the script prints every run, the medians and the ratio.

    .venv/bin/python bench/upgrade_downtime.py --runs 5

A benchmark, not a test: it asserts nothing and is not part of `make test`.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.integration.ansible_run import FlinkApi, run_playbook  # noqa: E402
from tests.support.flink_local import LocalFlink, install_flink  # noqa: E402
from tests.support.testjobs import build_test_jobs  # noqa: E402

JOB = "stateful-counter"


def wait_running(api, name, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        jobs = api.active_jobs(name)
        if jobs and jobs[0]["state"] == "RUNNING":
            job = api.job(jobs[0]["jid"])
            if all(v["status"] == "RUNNING" for v in job["vertices"]):
                return jobs[0]["jid"]
        time.sleep(0.2)
    raise RuntimeError("job did not reach RUNNING")


def downtime(api, old_id, new_id):
    old = api.job(old_id)["timestamps"]
    new = api.job(new_id)["timestamps"]
    return (new["RUNNING"] - old["FINISHED"]) / 1000.0


def upgrade_with_playbook(api, env, version):
    old = api.active_jobs(JOB)[0]["jid"]
    res = run_playbook("upgrade_job.yml", "local", {"local_job_version": version}, env)
    if res.rc != 0:
        raise RuntimeError(res.stdout[-3000:])
    new = wait_running(api, JOB)
    return downtime(api, old, new)


def upgrade_with_cli(api, flink, jar, savepoints):
    old = api.active_jobs(JOB)[0]["jid"]
    cli = [str(flink.flink_home / "bin" / "flink")]
    env = dict(os.environ, FLINK_CONF_DIR=str(flink.conf_dir))
    out = subprocess.run(cli + ["stop", "--savepointPath", f"file://{savepoints}", old], env=env,
                         capture_output=True, text=True, check=True).stdout
    location = [ln.split("Savepoint completed. Path: ")[1].strip() for ln in out.splitlines()
                if "Savepoint completed. Path:" in ln][0]
    subprocess.run(cli + ["run", "-d", "-s", location, "-p", "2", jar, "--name", JOB], env=env,
                   capture_output=True, text=True, check=True)
    new = wait_running(api, JOB)
    return downtime(api, old, new)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    home = install_flink()
    work = pathlib.Path(tempfile.mkdtemp(prefix="flinkops-bench-"))
    jars = build_test_jobs(home, work / "jars")  # where the `local` inventory looks for them
    flink = LocalFlink(home, work / "flink", taskmanagers=1, slots=4)
    flink.start()
    try:
        api = FlinkApi(flink.rest_url)
        env = {"FLINKOPS_LOCAL_REST_URL": flink.rest_url, "FLINKOPS_LOCAL_DIR": str(work),
               "FLINKOPS_VALIDATION_SECONDS": "0"}
        res = run_playbook("deploy_job.yml", "local", {"local_job_version": "1.0.0"}, env)
        assert res.rc == 0, res.stdout[-2000:]
        results = {"playbook": [], "cli": []}
        version = "1.0.0"
        for i in range(args.runs):
            version = "2.0.0" if version == "1.0.0" else "1.0.0"
            results["playbook"].append(upgrade_with_playbook(api, env, version))
            jar = jars["v1"] if i % 2 else jars["v2"]
            results["cli"].append(upgrade_with_cli(api, flink, jar, work / "cli-savepoints"))
            print(f"run {i + 1}: playbook {results['playbook'][-1]:.3f} s, cli {results['cli'][-1]:.3f} s", flush=True)
        med = {k: statistics.median(v) for k, v in results.items()}
        print(json.dumps({"flink": flink.overview().get("flink-version"), "runs": args.runs, "median_s": med,
                          "ratio_cli_over_playbook": round(med["cli"] / med["playbook"], 1) if med["playbook"] else None,
                          "all_s": results}, indent=2))
    finally:
        flink.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
