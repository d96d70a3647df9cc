"""``molecule test`` of the roles (molecule/zookeeper, molecule/flink): syntax, converge,
idempotence, verify, cleanup, on this machine (default driver, managed: false, local
connection), with free ports and a work directory under tmp_path.
"""
from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from tests.integration.ansible_run import REPO, ansible_env
from tests.support.baremetal import free_ports, stop_processes

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.xdist_group("bare_metal")]

MOLECULE = pathlib.Path(sys.executable).with_name("molecule")


@pytest.fixture
def molecule_env(tmp_path):
    if not MOLECULE.exists():
        pytest.skip("molecule is not installed in the venv (pip install -r requirements.txt)")
    if shutil.which("java") is None or not pathlib.Path("/usr/share/java/zookeeper.jar").exists():
        pytest.skip("needs java and the Debian zookeeper package")
    ports = free_ports(6)
    env = ansible_env(json_output=False)
    env.pop("ANSIBLE_CONFIG", None)  # molecule writes its own configuration
    env.update({
        "PATH": f"{MOLECULE.parent}{os.pathsep}{env.get('PATH', '')}",
        "MOLECULE_WORKDIR": str(tmp_path / "work"),
        "MOLECULE_ZK_CLIENT_PORT": str(ports[0]), "MOLECULE_ZK_QUORUM_PORT": str(ports[1]),
        "MOLECULE_ZK_ELECTION_PORT": str(ports[2]), "MOLECULE_FLINK_REST_PORT": str(ports[3]),
        "MOLECULE_FLINK_RPC_PORT": str(ports[4]), "MOLECULE_FLINK_PROM_PORT": str(ports[5]),
        "MOLECULE_EPHEMERAL_DIRECTORY": str(tmp_path / "ephemeral"),
    })
    try:
        yield env
    finally:
        stop_processes(tmp_path / "work")


def molecule_test(scenario: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([str(MOLECULE), "test", "-s", scenario], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=1200, check=False)


def test_molecule_zookeeper(molecule_env):
    proc = molecule_test("zookeeper", molecule_env)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-5000:]
    assert "idempotence" in proc.stdout + proc.stderr
    assert not pathlib.Path(molecule_env["MOLECULE_WORKDIR"]).exists(), "cleanup stopped and removed everything"


def test_molecule_flink(molecule_env):
    from tests.support.flink_archive import flink_archive, sha512

    archive = flink_archive("2.3.0")
    molecule_env["MOLECULE_FLINK_ARCHIVE"] = str(archive)
    molecule_env["MOLECULE_FLINK_ARCHIVE_SHA512"] = sha512(archive)
    proc = molecule_test("flink", molecule_env)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-5000:]
    assert not pathlib.Path(molecule_env["MOLECULE_WORKDIR"]).exists(), "cleanup stopped and removed everything"
