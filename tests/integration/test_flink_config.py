"""The Flink configuration roles/flink renders (tasks_from: configure.yml), per Flink version and
per daemon: config.yaml (standard YAML, Flink >= 1.19) or flink-conf.yaml (older), the
version's key names, ZooKeeper HA, and only the keys each daemon reads."""
from __future__ import annotations

import pathlib

import pytest
import yaml

from tests.integration.ansible_run import run_tasks

pytestmark = [pytest.mark.integration]


def render(tmp_path: pathlib.Path, version: str, daemons: list, **extra) -> pathlib.Path:
    """Render the configuration of a host running ``daemons`` with Flink ``version``; its conf dir."""
    base = tmp_path / "opt" / "flink"
    release_conf = base / f"flink-{version}" / "conf"
    release_conf.mkdir(parents=True)
    for name in ("log4j.properties", "log4j-console.properties", "log4j-cli.properties"):
        (release_conf / name).write_text("# log4j\n")
    conf = tmp_path / "conf"
    role_vars = {
        "flink_version": version, "flink_daemons": daemons, "flink_base_dir": str(base),
        "flink_conf_dir": str(conf), "flink_log_dir": str(tmp_path / "log"), "flink_pid_dir": str(tmp_path / "pid"),
        "flink_data_dir": str(tmp_path / "data"), "flink_ctl_path": str(tmp_path / "bin" / "flinkctl"),
        "flink_manage_user": False, "flink_service_state": "stopped", "_flink_service_manager": "daemon",
        "flink_env_java_opts_all": "--add-opens=java.base/java.util=ALL-UNNAMED",
        "flink_advertised_address": "10.0.0.5", "flink_ha_zookeeper_quorum": "zk1:2181,zk2:2181,zk3:2181",
        "flink_ha_storage_dir": "s3://state/ha", "flink_checkpoint_dir": "s3://state/checkpoints",
        "flink_savepoint_dir": "s3://state/savepoints", "flink_taskmanager_slots": 4,
        "flink_config_extra": {"restart-strategy.type": "exponential-delay", "web.submit.enable": False},
    }
    role_vars.update(extra)
    (tmp_path / "bin").mkdir()
    res = run_tasks([{"name": "configure", "ansible.builtin.include_role": {
        "name": "flinkops.cookbook.flink", "tasks_from": "configure.yml"}, "vars": role_vars}], "http://127.0.0.1:1")
    assert res.rc == 0, res.stdout[-3000:]
    return conf


def test_flink_2_gets_config_yaml_with_the_new_keys(tmp_path):
    conf = render(tmp_path, "2.3.0", ["jobmanager", "taskmanager"])
    assert not (conf / "flink-conf.yaml").exists()
    config = yaml.safe_load((conf / "config.yaml").read_text())  # standard YAML
    assert config["high-availability.type"] == "zookeeper"
    assert config["high-availability.zookeeper.quorum"] == "zk1:2181,zk2:2181,zk3:2181"
    assert config["high-availability.storageDir"] == "s3://state/ha"
    assert config["execution.checkpointing.dir"] == "s3://state/checkpoints"
    assert config["execution.checkpointing.savepoint-dir"] == "s3://state/savepoints"
    assert "state.checkpoints.dir" not in config
    assert config["taskmanager.numberOfTaskSlots"] == 4
    assert config["jobmanager.rpc.address"] == "10.0.0.5"
    assert config["metrics.reporter.prom.factory.class"].endswith("PrometheusReporterFactory")
    assert config["web.submit.enable"] is False
    assert config["env.java.opts.all"] == "--add-opens=java.base/java.util=ALL-UNNAMED"
    assert (conf / "masters").exists() and (conf / "workers").exists()
    assert (conf / "config.yaml").read_text().startswith("#\n# Ansible managed")


def test_flink_1_18_gets_flink_conf_yaml_with_the_old_keys(tmp_path):
    conf = render(tmp_path, "1.18.1", ["jobmanager", "taskmanager"])
    assert not (conf / "config.yaml").exists()
    lines = dict(line.split(": ", 1) for line in (conf / "flink-conf.yaml").read_text().splitlines()
                 if line and not line.startswith("#"))
    assert lines["high-availability.type"] == "zookeeper", "legacy format: no quoting"
    assert lines["state.checkpoints.dir"] == "s3://state/checkpoints"
    assert lines["state.savepoints.dir"] == "s3://state/savepoints"
    assert "execution.checkpointing.dir" not in lines
    assert lines["web.submit.enable"] == "false"


def test_each_daemon_gets_only_the_keys_it_reads(tmp_path):
    jobmanager = yaml.safe_load((render(tmp_path / "jm", "2.3.0", ["jobmanager"]) / "config.yaml").read_text())
    taskmanager = yaml.safe_load((render(tmp_path / "tm", "2.3.0", ["taskmanager"]) / "config.yaml").read_text())
    # a slot or TaskManager memory change does not restart JobManagers, and the reverse
    assert "taskmanager.numberOfTaskSlots" not in jobmanager
    assert "taskmanager.memory.process.size" not in jobmanager
    assert "jobmanager.memory.process.size" in jobmanager
    assert "jobmanager.memory.process.size" not in taskmanager
    assert taskmanager["taskmanager.numberOfTaskSlots"] == 4
    assert set(jobmanager) - set(taskmanager) == {"jobmanager.memory.process.size"}
    assert set(taskmanager) - set(jobmanager) == {"taskmanager.numberOfTaskSlots", "taskmanager.memory.process.size"}
