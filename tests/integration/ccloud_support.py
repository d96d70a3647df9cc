"""What the Confluent Cloud integration tests share: the fake's connection settings for
``module_defaults`` of ``group/flinkops.cookbook.confluent_cloud``, and a task runner."""
from __future__ import annotations

from tests.integration.ansible_run import run_tasks

GROUP = "group/flinkops.cookbook.confluent_cloud"
KEYS = {"kafka": ("kafka-key", "kafka-secret"), "flink": ("flink-key", "flink-secret"),
        "cloud": ("cloud-key", "cloud-secret")}


def defaults(cc, cluster="lkc-dr"):
    return {"kafka_url": cc.url, "kafka_api_key": KEYS["kafka"][0], "kafka_api_secret": KEYS["kafka"][1],
            "kafka_cluster_id": cluster,
            "flink_url": cc.url, "flink_api_key": KEYS["flink"][0], "flink_api_secret": KEYS["flink"][1],
            "organization_id": cc.organization_id, "environment_id": cc.environment_id,
            "cloud_url": cc.url, "cloud_api_key": KEYS["cloud"][0], "cloud_api_secret": KEYS["cloud"][1],
            "retries": 2}


def run(cc, tasks, cluster="lkc-dr", **kw):
    extra = kw.pop("module_defaults", {})
    return run_tasks(tasks, None, module_group=GROUP, module_defaults=dict(defaults(cc, cluster), **extra), **kw)


def t(task_name, module, **args):
    return {"name": task_name, "flinkops.cookbook." + module: args}
