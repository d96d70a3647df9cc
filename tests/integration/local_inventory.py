"""The `local` inventory's declared job, as the playbook tests override it with -e."""
from __future__ import annotations

JOB = "stateful-counter"


def running_version(api, job_id):
    return api.get(f"/jobs/{job_id}/config")["execution-config"]["user-config"].get("flinkops.version")


def job_decl(jar_dir, jar, version, extra_args=()):
    return [{"name": JOB, "version": version, "jar": str(jar_dir / "jars" / jar),
             "args": ["--name", JOB, *extra_args], "parallelism": 2}]
