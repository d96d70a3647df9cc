"""Large RocksDB state: upgrade downtime with a NATIVE or CANONICAL savepoint, and last-state, playbook versus bare REST.

One local Flink 2.3.0 (1 JobManager, 1 TaskManager). The stateful test job runs on RocksDB with
incremental checkpoints (its flink_configuration) and keeps about ``--state-mb`` MB of keyed state
(``--keys K --payload-bytes N``: N pseudo-random bytes per key, written once). Once a checkpoint
holds that state, six methods alternate ``--runs`` times on the same job:

- playbook NATIVE: ``upgrade_job.yml -l local`` (flink_job's ``format_type: auto``: same backend);
- playbook CANONICAL: the same, with ``flink: {savepoint_format: CANONICAL}`` in the job's declaration;
- REST NATIVE / REST CANONICAL: jar uploaded beforehand, ``POST /jobs/:id/stop`` with
  ``formatType``, the trigger polled every 20 ms, ``POST /jars/:id/run`` with ``savepointPath``
  (``claimMode: NO_CLAIM``, as the module), then polled until every subtask is RUNNING;
- playbook last-state: ``upgrade_job.yml`` with ``flink: {upgrade_mode: last-state}``: no savepoint, the
  job is cancelled and started from the checkpoint the cancel retained;
- REST last-state: ``PATCH /jobs/:id?mode=cancel``, polled every 20 ms until CANCELED, the latest
  completed checkpoint read, ``POST /jars/:id/run`` from it (NO_CLAIM).

For last-state there is no savepoint write; downtime starts at the old job's CANCELED timestamp, and
"stop or cancel request to RUNNING" at its CANCELLING timestamp (for a savepoint method, at the
savepoint's trigger). "Input processed again" is the time from the checkpoint's trigger to the
cancel: the new job reads that input again.

Per run, from Flink's REST API: savepoint write (the savepoint's ``end_to_end_duration`` in the
old job's checkpoint history: trigger to completion), restore (the new job's INITIALIZING
timestamp to its last subtask's RUNNING timestamp), downtime (the old job's FINISHED timestamp to
the new job's last subtask RUNNING) and the savepoint size (Flink's ``state_size`` and the bytes
on disk). Prints every run and a Markdown table of medians, with each playbook method over the
bare-REST floor of its format. The job processes nothing from the savepoint's trigger on (a
stop-with-savepoint is synchronous), so the table also gives trigger to last subtask RUNNING.

    .venv/bin/python bench/large_state_upgrade.py --state-mb 500 --runs 3

A benchmark, not a test: it asserts nothing and is not part of `make test`.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import shutil
import statistics
import sys
import tempfile
import time
import uuid

import requests

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.integration.ansible_run import FlinkApi, run_playbook  # noqa: E402
from tests.support.flink_local import LocalFlink, install_flink  # noqa: E402
from tests.support.testjobs import build_test_jobs  # noqa: E402

JOB = "stateful-counter"
PARALLELISM = 2
METHODS = ("playbook NATIVE", "REST NATIVE", "playbook CANONICAL", "REST CANONICAL", "playbook last-state",
           "REST last-state")
# The order the methods run in each round: a playbook last-state upgrade needs a job started by flink_job
# (it refuses a job whose Flink version it cannot tell, as one started by the bare REST calls is).
RUN_ORDER = ("REST NATIVE", "playbook NATIVE", "playbook last-state", "REST last-state", "playbook CANONICAL",
             "REST CANONICAL")
FORMAT = {"playbook NATIVE": "NATIVE", "REST NATIVE": "NATIVE", "playbook CANONICAL": "CANONICAL",
          "REST CANONICAL": "CANONICAL", "playbook last-state": "last-state", "REST last-state": "last-state"}


def log(msg):
    print(f"[{datetime.datetime.now(datetime.timezone.utc):%H:%M:%S}] {msg}", flush=True)


def dir_bytes(path):
    total = 0
    for root, _dirs, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(root, name)) for name in files)
    return total


def subtasks_running_at(api, job_id):
    """The latest RUNNING timestamp over every subtask of ``job_id``, or None while one is not RUNNING."""
    latest = 0
    for vertex in api.job(job_id)["vertices"]:
        times = api.get(f"/jobs/{job_id}/vertices/{vertex['id']}/subtasktimes")["subtasks"]
        detail = api.get(f"/jobs/{job_id}/vertices/{vertex['id']}")["subtasks"]
        if len(detail) != vertex["parallelism"] or any(s["status"] != "RUNNING" for s in detail):
            return None
        latest = max([latest] + [s["timestamps"].get("RUNNING", 0) for s in times])
    return latest or None


def wait_all_running(api, job_id, poll=0.02, timeout=600):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            at = subtasks_running_at(api, job_id)
        except requests.HTTPError:
            at = None
        if at:
            return at
        time.sleep(poll)
    raise RuntimeError(f"job {job_id} did not reach RUNNING in every subtask")


def wait_new_job(api, old_id, timeout=600):
    deadline = time.time() + timeout
    while time.time() < deadline:
        jobs = [j for j in api.active_jobs(JOB) if j["jid"] != old_id]
        if jobs:
            return jobs[0]["jid"]
        time.sleep(0.05)
    raise RuntimeError("no new job")


def last_savepoint(api, job_id):
    history = api.checkpoints(job_id).get("history") or []
    done = [c for c in history if c.get("is_savepoint") and c.get("status") == "COMPLETED"]
    return max(done, key=lambda c: c["id"]) if done else None


def wait_checkpoint(api, job_id, after_ms, min_state=0, timeout=900):
    """Wait for a checkpoint of ``job_id`` triggered after ``after_ms`` holding at least ``min_state`` bytes."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        latest = (api.checkpoints(job_id).get("latest") or {}).get("completed") or {}
        if latest.get("trigger_timestamp", 0) > after_ms and latest.get("state_size", 0) >= min_state:
            return latest
        time.sleep(0.5)
    raise RuntimeError(f"no checkpoint of job {job_id} with {min_state} bytes of state")


def measure(api, old_id, new_id, savepoint_dir):
    old = api.job(old_id)
    new = api.job(new_id)
    last_running = wait_all_running(api, new_id)
    savepoint = last_savepoint(api, old_id) or {}
    location = savepoint.get("external_path") or ""
    on_disk = dir_bytes(location.replace("file:", "", 1)) if location.startswith("file:") else None
    return {"old": old_id, "new": new_id, "savepoint_write_s": savepoint.get("end_to_end_duration", 0) / 1000.0,
            "restore_s": (last_running - new["timestamps"]["INITIALIZING"]) / 1000.0,
            "downtime_s": (last_running - old["timestamps"]["FINISHED"]) / 1000.0,
            "from_trigger_s": (last_running - savepoint.get("trigger_timestamp", last_running)) / 1000.0,
            "savepoint_state_mb": savepoint.get("state_size", 0) / 2 ** 20,
            "savepoint_disk_mb": on_disk / 2 ** 20 if on_disk is not None else None,
            "format": savepoint.get("savepoint_format") or savepoint.get("savepointFormat"),
            "savepoint": location, "savepoint_dir": savepoint_dir}


def measure_last_state(api, old_id, new_id, checkpoint):
    """``measure`` for a last-state upgrade: from the old job's CANCELED, and from the checkpoint's trigger."""
    old = api.job(old_id)
    new = api.job(new_id)
    last_running = wait_all_running(api, new_id)
    location = checkpoint.get("external_path") or ""
    # an incremental checkpoint's files are mostly under shared/, not chk-N: its bytes on disk are not shown
    return {"old": old_id, "new": new_id, "savepoint_write_s": None,
            "restore_s": (last_running - new["timestamps"]["INITIALIZING"]) / 1000.0,
            "downtime_s": (last_running - old["timestamps"]["CANCELED"]) / 1000.0,
            # the job stops processing at the cancel request (CANCELLING), as a stop does at its savepoint trigger
            "from_trigger_s": (last_running - old["timestamps"]["CANCELLING"]) / 1000.0,
            # the input since the checkpoint's trigger is read and processed again by the new job
            "replayed_s": (old["timestamps"]["CANCELLING"] - checkpoint.get("trigger_timestamp", 0)) / 1000.0,
            "savepoint_state_mb": checkpoint.get("state_size", 0) / 2 ** 20,
            "savepoint_disk_mb": None,
            "format": "checkpoint chk-%s" % checkpoint.get("id"), "savepoint": location, "savepoint_dir": None}


def restored_checkpoint(api, old_id):
    """The completed checkpoint of ``old_id`` a last-state upgrade restored from (its latest)."""
    return (api.checkpoints(old_id).get("latest") or {}).get("completed") or {}


def upgrade_with_playbook(api, env, jobs, version, fmt):
    old = api.active_jobs(JOB)[0]["jid"]
    declared = jobs(version)
    if fmt == "CANONICAL":  # auto takes NATIVE when the backend stays: the declaration forces CANONICAL
        declared = [dict(j, flink=dict(j["flink"], savepoint_format="CANONICAL")) for j in declared]
    if fmt == "last-state":
        declared = [dict(j, flink=dict(j["flink"], upgrade_mode="last-state")) for j in declared]
    res = run_playbook("upgrade_job.yml", "local", {"local_job_version": version, "flink_jobs": declared}, env,
                       timeout=1800)
    if res.rc != 0:
        raise RuntimeError(res.stdout[-3000:])
    new = wait_new_job(api, old)
    if fmt == "last-state":
        return measure_last_state(api, old, new, restored_checkpoint(api, old))
    return measure(api, old, new, None)


def upgrade_last_state_with_rest(api, jar_id, spec):
    old = api.active_jobs(JOB)[0]["jid"]
    requests.patch(f"{api.url}/jobs/{old}", params={"mode": "cancel"}, timeout=30).raise_for_status()
    while api.job(old)["state"] != "CANCELED":
        time.sleep(0.02)
    checkpoint = restored_checkpoint(api, old)
    return measure_last_state(api, old, run_from(api, jar_id, spec, checkpoint["external_path"]), checkpoint)


def upgrade_with_rest(api, jar_id, spec, fmt, target):
    old = api.active_jobs(JOB)[0]["jid"]
    trigger = requests.post(f"{api.url}/jobs/{old}/stop", timeout=30,
                            json={"drain": False, "formatType": fmt, "targetDirectory": target}).json()["request-id"]
    while True:
        status = requests.get(f"{api.url}/jobs/{old}/savepoints/{trigger}", timeout=30).json()
        if status["status"]["id"] == "COMPLETED":
            break
        time.sleep(0.02)
    operation = status.get("operation") or {}
    if "location" not in operation:
        raise RuntimeError(f"savepoint failed: {json.dumps(operation)[:2000]}")
    return measure(api, old, run_from(api, jar_id, spec, operation["location"]), target)


def run_from(api, jar_id, spec, path):
    """``POST /jars/:id/run`` of ``spec`` from the savepoint or checkpoint ``path`` (NO_CLAIM); the new job id."""
    body = {"jobId": uuid.uuid4().hex, "programArgsList": spec["args"], "parallelism": spec["parallelism"],
            "savepointPath": path, "claimMode": "NO_CLAIM",
            "flinkConfiguration": {k: str(v) for k, v in spec["flink_configuration"].items()}}
    res = requests.post(f"{api.url}/jars/{jar_id}/run", json=body, timeout=300)
    res.raise_for_status()
    return res.json()["jobid"]


def upload(api, path):
    with open(path, "rb") as handle:
        res = requests.post(f"{api.url}/jars/upload", timeout=300,
                            files={"jarfile": (os.path.basename(path), handle, "application/x-java-archive")})
    res.raise_for_status()
    return os.path.basename(res.json()["filename"])


def median(rows, key):
    values = [r[key] for r in rows if r.get(key) is not None]
    return statistics.median(values) if values else None


def table(results):
    head = ("| method | runs | savepoint write | restore | downtime | stop or cancel request to RUNNING "
            "| input processed again | restore point size (Flink / disk) | downtime over floor |")
    lines = [head, "|---|---|---|---|---|---|---|---|---|"]
    for method in METHODS:
        rows = results[method]
        if not rows:
            continue
        floor = results["REST " + FORMAT[method]]
        ratio = ""
        if method.startswith("playbook") and floor:
            ratio = f"{median(rows, 'downtime_s') / median(floor, 'downtime_s'):.2f}x"
        disk = median(rows, "savepoint_disk_mb")
        write = median(rows, "savepoint_write_s")
        replayed = median(rows, "replayed_s")
        lines.append(f"| {method} | {len(rows)} | {'none' if write is None else f'{write:.3f} s'} "
                     f"| {median(rows, 'restore_s'):.3f} s | **{median(rows, 'downtime_s'):.3f} s** "
                     f"| {median(rows, 'from_trigger_s'):.3f} s "
                     f"| {'none' if replayed is None else f'{replayed:.3f} s'} "
                     f"| {median(rows, 'savepoint_state_mb'):.0f} MB / "
                     f"{'-' if disk is None else f'{disk:.0f} MB'} | {ratio} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--state-mb", type=int, default=500, help="keyed state to build, MB (default 500)")
    parser.add_argument("--payload-bytes", type=int, default=8192, help="bytes kept per key (default 8192)")
    parser.add_argument("--generate-seconds", type=float, default=60,
                        help="source rate = keys / this: how long the state takes to build (default 60)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--stop-by", help="HH:MM UTC: start no run that the previous ones say would end later")
    args = parser.parse_args()
    keys = max(16, args.state_mb * 2 ** 20 // args.payload_bytes)
    rate = max(20, int(keys / args.generate_seconds))
    deadline = None
    if args.stop_by:
        now = datetime.datetime.now(datetime.timezone.utc)
        hour, minute = (int(x) for x in args.stop_by.split(":"))
        deadline = now.replace(hour=hour, minute=minute, second=0, microsecond=0).timestamp()

    home = install_flink()
    work = pathlib.Path(tempfile.mkdtemp(prefix="flinkops-bench-large-"))
    jars = build_test_jobs(home, work / "jars")  # where the `local` inventory looks for them
    flink = LocalFlink(home, work / "flink", taskmanagers=1, slots=PARALLELISM, extra_conf={
        "taskmanager.memory.process.size": "4g", "jobmanager.memory.process.size": "1g",
        "rest.client.max-content-length": 104857600})
    flink.start()
    results = {m: [] for m in METHODS}
    try:
        api = FlinkApi(flink.rest_url)
        conf = {"state.backend.type": "rocksdb", "execution.checkpointing.incremental": "true",
                "execution.checkpointing.dir": f"file://{work}/flink/checkpoints",
                "execution.checkpointing.interval": "2s"}
        job_args = ["--name", JOB, "--keys", str(keys), "--payload-bytes", str(args.payload_bytes),
                    "--rate", str(rate)]

        def jobs(version):
            return [{"name": JOB, "version": version, "args": job_args, "parallelism": PARALLELISM,
                     "flink_configuration": conf, "flink": {"jar": jars["v" + version.split(".")[0]]}}]

        env = {"FLINKOPS_LOCAL_REST_URL": flink.rest_url, "FLINKOPS_LOCAL_DIR": str(work),
               "FLINKOPS_VALIDATION_SECONDS": "0"}
        log(f"state: {keys} keys x {args.payload_bytes} B = {keys * args.payload_bytes / 2 ** 20:.0f} MB, "
            f"source {rate} records/s")
        res = run_playbook("deploy_job.yml", "local", {"local_job_version": "1.0.0", "flink_jobs": jobs("1.0.0")},
                           env)
        if res.rc != 0:
            raise RuntimeError(res.stdout[-3000:])
        job_id = api.active_jobs(JOB)[0]["jid"]
        started = time.time()
        full = wait_checkpoint(api, job_id, 0, min_state=int(keys * args.payload_bytes * 0.98), timeout=1800)
        log(f"state built in {time.time() - started:.0f} s: checkpoint {full['id']} state_size "
            f"{full['state_size'] / 2 ** 20:.0f} MB, checkpointed_size {full['checkpointed_size'] / 2 ** 20:.0f} MB")
        rest_jars = {"1.0.0": upload(api, jars["v1"]), "2.0.0": upload(api, jars["v2"])}
        version = "1.0.0"
        longest = 0.0
        for i in range(args.runs):
            for method in RUN_ORDER:
                if deadline and time.time() + 1.5 * longest > deadline:
                    log(f"stopping before run {i + 1} {method}: it would end after --stop-by {args.stop_by}")
                    raise StopIteration
                version = "2.0.0" if version == "1.0.0" else "1.0.0"
                began = time.time()
                if method.startswith("playbook"):
                    row = upgrade_with_playbook(api, env, jobs, version, FORMAT[method])
                elif FORMAT[method] == "last-state":
                    row = upgrade_last_state_with_rest(api, rest_jars[version], jobs(version)[0])
                else:
                    spec = jobs(version)[0]
                    row = upgrade_with_rest(api, rest_jars[version], spec, FORMAT[method],
                                            f"file://{work}/rest-savepoints")
                # the first checkpoint after a NO_CLAIM restore is a full one: let it complete before
                # the next upgrade, then the savepoint is no longer referenced and can go
                wait_checkpoint(api, row["new"], int(time.time() * 1000), min_state=int(full["state_size"] * 0.9))
                location = row["savepoint"].replace("file:", "", 1)
                if FORMAT[method] == "last-state":  # the cancelled job's retained checkpoints, shared files too
                    location = str(work / "flink" / "checkpoints" / row["old"])
                if location.startswith(str(work)):
                    shutil.rmtree(location, ignore_errors=True)
                longest = max(longest, time.time() - began)
                results[method].append(row)
                log(f"run {i + 1} {method}: {row['format']} write {row['savepoint_write_s'] or 0:.3f} s, "
                    f"restore {row['restore_s']:.3f} s, downtime {row['downtime_s']:.3f} s, "
                    f"request to RUNNING {row['from_trigger_s']:.3f} s, "
                    f"input processed again {row.get('replayed_s') or 0:.3f} s, "
                    f"{row['savepoint_state_mb']:.0f} MB (disk {row['savepoint_disk_mb'] or 0:.0f} MB); "
                    f"cycle {time.time() - began:.0f} s")
    except StopIteration:
        pass
    finally:
        flink.stop()
        log("Flink stopped")
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({"state_mb": args.state_mb, "keys": keys, "payload_bytes": args.payload_bytes,
                      "runs": {m: [{k: v for k, v in r.items() if k != "savepoint_dir"} for r in rows]
                               for m, rows in results.items()}}, indent=2))
    print(table(results))


if __name__ == "__main__":
    main()
