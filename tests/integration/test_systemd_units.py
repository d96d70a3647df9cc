"""The systemd units of roles/flink and roles/zookeeper, rendered by the roles themselves
(tasks_from: units.yml), checked with ``systemd-analyze verify`` and a small parser.

systemd does not run on the test machines (PID 1 is not systemd), so the roles run their
daemons by hand there; these units are what production hosts get.
"""
from __future__ import annotations

import configparser
import os
import pathlib
import shutil
import subprocess

import pytest

from tests.integration.ansible_run import run_tasks

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("bare_metal")]


def parse_unit(path: pathlib.Path) -> configparser.ConfigParser:
    """A unit file as sections of keys (repeated keys such as Environment= are joined)."""
    parser = configparser.ConfigParser(strict=False, interpolation=None, comment_prefixes=("#", ";"),
                                       empty_lines_in_values=False)
    parser.optionxform = str  # keys are case-sensitive
    parser.read_string(path.read_text())
    return parser


@pytest.fixture(scope="module")
def units(flink_home, tmp_path_factory):
    root = tmp_path_factory.mktemp("units")
    unit_dir = root / "system"
    unit_dir.mkdir()
    base = root / "opt" / "flink"
    base.mkdir(parents=True)
    (base / "current").symlink_to(flink_home)
    ctl = root / "bin" / "zookeeperctl"
    ctl.parent.mkdir()
    ctl.write_text("#!/bin/sh\n")
    ctl.chmod(0o755)
    tasks = [
        {"name": "flink units", "ansible.builtin.include_role": {"name": "flinkops.cookbook.flink",
                                                                 "tasks_from": "units.yml"},
         "vars": {"flink_systemd_unit_dir": str(unit_dir), "flink_base_dir": str(base),
                  "flink_daemons": ["jobmanager", "taskmanager"], "flink_manage_user": True,
                  "flink_user": "root", "flink_group": "root", "flink_conf_dir": str(root / "conf"),
                  "flink_service_state": "stopped", "flink_java_home": "/usr/lib/jvm/default-java"}},
        {"name": "zookeeper unit", "ansible.builtin.include_role": {"name": "flinkops.cookbook.zookeeper",
                                                                    "tasks_from": "units.yml"},
         "vars": {"zookeeper_systemd_unit_dir": str(unit_dir), "zookeeper_ctl_path": str(ctl),
                  "zookeeper_manage_user": True, "zookeeper_user": "root", "zookeeper_group": "root",
                  "zookeeper_service_state": "stopped"}},
    ]
    res = run_tasks(tasks, "http://127.0.0.1:1")
    assert res.rc == 0, res.stdout[-3000:]
    return {p.name: p for p in unit_dir.glob("*.service")}


def test_the_roles_render_one_unit_per_daemon(units):
    assert sorted(units) == ["flink-jobmanager.service", "flink-taskmanager.service", "zookeeper.service"]


@pytest.mark.parametrize("name", ["flink-jobmanager.service", "flink-taskmanager.service", "zookeeper.service"])
def test_unit_is_well_formed(units, name):
    unit = parse_unit(units[name])
    assert unit.sections() == ["Unit", "Service", "Install"]
    service = unit["Service"]
    assert service["Type"] == "simple"
    assert service["Restart"] == "on-failure"
    assert service["SuccessExitStatus"] == "143", "a JVM stopped by SIGTERM exits 143: not a failure"
    assert service["User"] == "root"
    command = service["ExecStart"].split()
    assert os.access(command[0], os.X_OK), f"ExecStart {command[0]} is not executable"
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    if name.startswith("flink-"):
        daemon = name[len("flink-"):-len(".service")]
        assert command[1:] == ["start-foreground"], "systemd supervises the JVM in the foreground"
        assert command[0].endswith(f"/current/bin/{daemon}.sh"), "the unit follows the `current` release"
        text = units[name].read_text()
        for var in ("FLINK_CONF_DIR", "FLINK_LOG_DIR", "FLINK_PID_DIR", "JAVA_HOME"):
            assert f"Environment={var}=" in text
    else:
        assert command[1:] == ["foreground"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verify_accepts_the_units(units):
    proc = subprocess.run(["systemd-analyze", "verify", *map(str, units.values())], capture_output=True, text=True,
                          check=False, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    problems = [line for line in proc.stderr.splitlines() if any(u in line for u in units)]
    assert not problems, problems
