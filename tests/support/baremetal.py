"""A "bare-metal" Flink cluster of several inventory hosts that all live on this machine.

Every host (``zk1``, ``jm1``, ``jm2``, ``tm1``, ...) is an Ansible host with
``ansible_connection: local`` and its own directories (release, conf, logs, pids, data) and
ports under one work directory, so the roles and playbooks run exactly as on separate
machines: ZooKeeper from the Debian package started by hand, Flink from a release archive
with Flink's daemon scripts (no systemd here). Only the directories a real cluster shares
(checkpoints, savepoints, HA storage, uploaded jars) are shared, as an NFS mount would be.

``stop_processes(workdir)`` ends every process whose command line mentions the work
directory (ZooKeeper, JobManagers, TaskManagers), by pid, so no JVM outlives a test.
"""
from __future__ import annotations

import os
import pathlib
import socket
import subprocess
import sys

import yaml

from tests.support.flink_local import terminate

REPO = pathlib.Path(__file__).resolve().parents[2]
MEMORY = "1024m"


def free_ports(count: int) -> list[int]:
    """``count`` distinct free TCP ports on 127.0.0.1."""
    sockets, ports = [], []
    try:
        while len(ports) < count:
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
            ports.append(sock.getsockname()[1])
    finally:
        for sock in sockets:
            sock.close()
    return ports


class BareMetal:
    """Inventory, ports and directories of the test cluster under ``workdir``."""

    def __init__(self, workdir, archives: dict, version: str, jobmanagers: int = 2, taskmanagers: int = 2,
                 slots: int = 2, zookeepers: int = 1):
        self.workdir = pathlib.Path(workdir).resolve()
        self.archives = {k: str(v) for k, v in archives.items()}
        self.version = version
        self.slots = slots
        self.shared = self.workdir / "shared"
        self.jobmanagers = [f"jm{i}" for i in range(1, jobmanagers + 1)]
        self.taskmanagers = [f"tm{i}" for i in range(1, taskmanagers + 1)]
        self.zookeepers = [f"zk{i}" for i in range(1, zookeepers + 1)]
        self.ports: dict[str, dict[str, int]] = {}
        # per-host settings kept for every later inventory, e.g. {"tm3": {"flink_service_state": "stopped"}}
        self.host_vars: dict[str, dict] = {}
        self._allocate()
        self.inventory = self.workdir / "baremetal.yml"

    # -- ports and hosts
    def _allocate(self) -> None:
        for host in self.zookeepers:
            client, quorum, election = free_ports(3)
            self.ports[host] = {"client": client, "quorum": quorum, "election": election}
        for host in self.jobmanagers + self.taskmanagers:
            self._allocate_flink(host)

    def _allocate_flink(self, host: str) -> None:
        rest, rpc, prom = free_ports(3)
        self.ports[host] = {"rest": rest, "rpc": rpc, "prom": prom}

    def add_taskmanager(self) -> str:
        host = f"tm{len(self.taskmanagers) + 1}"
        self.taskmanagers.append(host)
        self._allocate_flink(host)
        return host

    def host_dir(self, host: str) -> pathlib.Path:
        return self.workdir / "hosts" / host

    @property
    def rest_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{self.ports[h]['rest']}" for h in self.jobmanagers]

    @property
    def checkpoint_dir(self) -> pathlib.Path:
        return self.shared / "checkpoints"

    @property
    def savepoint_dir(self) -> pathlib.Path:
        return self.shared / "savepoints"

    def _zk_vars(self, host: str) -> dict:
        base, ports = self.host_dir(host), self.ports[host]
        return {
            "zookeeper_peer_address": "127.0.0.1",
            "zookeeper_client_address": "127.0.0.1",
            "zookeeper_client_port": ports["client"],
            "zookeeper_quorum_port": ports["quorum"],
            "zookeeper_election_port": ports["election"],
            "zookeeper_conf_dir": str(base / "etc" / "zookeeper"),
            "zookeeper_data_dir": str(base / "var" / "lib" / "zookeeper"),
            "zookeeper_log_dir": str(base / "var" / "log" / "zookeeper"),
            "zookeeper_run_dir": str(base / "run" / "zookeeper"),
            "zookeeper_ctl_path": str(base / "bin" / "zookeeperctl"),
            "zookeeper_service_name": f"zookeeper-{host}",
        }

    def _flink_vars(self, host: str) -> dict:
        base, ports = self.host_dir(host), self.ports[host]
        return {
            "flink_base_dir": str(base / "opt" / "flink"),
            "flink_conf_dir": str(base / "etc" / "flink"),
            "flink_log_dir": str(base / "var" / "log" / "flink"),
            "flink_pid_dir": str(base / "run" / "flink"),
            "flink_data_dir": str(base / "var" / "lib" / "flink"),
            "flink_ctl_path": str(base / "bin" / "flinkctl"),
            "flink_rest_port": ports["rest"],
            "flink_rpc_port": ports["rpc"],
            "flink_metrics_reporters": {"prom": {
                "factory.class": "org.apache.flink.metrics.prometheus.PrometheusReporterFactory",
                "port": str(ports["prom"])}},
        }

    def inventory_data(self, extra_vars: dict | None = None, host_vars: dict | None = None) -> dict:
        shared = self.shared
        flink_vars = {
            "flink_advertised_address": "127.0.0.1",
            "flink_jobmanager_process_size": MEMORY,
            "flink_taskmanager_process_size": MEMORY,
            "flink_taskmanager_slots": self.slots,
            "flink_ha_cluster_id": "/baremetal-test",
            "flink_ha_storage_dir": f"file://{shared}/ha",
            "flink_checkpoint_dir": f"file://{self.checkpoint_dir}",
            "flink_savepoint_dir": f"file://{self.savepoint_dir}",
            "flink_checkpoint_interval": "2 s",
            # shared by both JobManagers (as an NFS mount would be)
            "flink_web_upload_dir": str(shared / "web-upload"),
            "flink_config_extra": {
                # a killed JobManager's ZooKeeper session ends, and its leadership with it, quickly
                "high-availability.zookeeper.client.session-timeout": "6 s",
                "heartbeat.interval": "2 s",
                "heartbeat.timeout": "15 s",
                "restart-strategy.type": "fixed-delay",
                "restart-strategy.fixed-delay.attempts": 20,
                "restart-strategy.fixed-delay.delay": "2 s",
                "web.refresh-interval": 500,
                "rest.cache.execution-graph.timeout": "500 ms",
                "rest.cache.checkpoint-statistics.timeout": "500 ms",
                "taskmanager.memory.network.fraction": 0.05,
            },
            "flink_smoke_test_jar": str(self.workdir / "jars" / "stateful-v1.jar"),
        }
        data = {"all": {
            "vars": {
                "ansible_connection": "local",
                "ansible_python_interpreter": sys.executable,
                "zookeeper_manage_user": False,
                "flink_manage_user": False,
                "flink_version": self.version,
                "flink_test_archives": self.archives,
                "flink_archive_local": "{{ flink_test_archives[flink_version] }}",
                "flink_shared_fs": True,
                "flink_upgrade_manifest_dir": str(self.workdir / "manifests"),
                **flink_vars,
            },
            "children": {
                "zookeeper": {"hosts": {h: self._zk_vars(h) for h in self.zookeepers}},
                "flink_jobmanager": {"hosts": {h: self._flink_vars(h) for h in self.jobmanagers}},
                "flink_taskmanager": {"hosts": {h: self._flink_vars(h) for h in self.taskmanagers}},
            },
        }}
        data["all"]["vars"].update(extra_vars or {})
        merged = {h: dict(v) for h, v in self.host_vars.items()}
        for host, overrides in (host_vars or {}).items():
            merged.setdefault(host, {}).update(overrides)
        for host, overrides in merged.items():
            for group in data["all"]["children"].values():
                if host in group["hosts"]:
                    group["hosts"][host].update(overrides)
        return data

    def write_inventory(self, extra_vars: dict | None = None, host_vars: dict | None = None) -> pathlib.Path:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.inventory.write_text(yaml.safe_dump(self.inventory_data(extra_vars, host_vars), sort_keys=False))
        return self.inventory

    # -- processes
    def zk_command(self, host: str, word: str) -> str:
        """A four-letter word (srvr, ruok, mntr) through the host's zookeeperctl."""
        proc = subprocess.run([str(self.host_dir(host) / "bin" / "zookeeperctl"), word], capture_output=True,
                              text=True, check=False, timeout=30)
        return proc.stdout

    def pids(self, host: str, daemon: str) -> list[int]:
        """Running JVMs of ``daemon`` (jobmanager|taskmanager|zookeeper) of ``host``."""
        marker = {"jobmanager": "StandaloneSessionClusterEntrypoint", "taskmanager": "TaskManagerRunner",
                  "zookeeper": "QuorumPeerMain"}[daemon]
        host_dir = str(self.host_dir(host)) + "/"
        return [pid for pid, cmd in _processes() if marker in cmd and host_dir in cmd]

    def log_of(self, host: str, kind: str) -> pathlib.Path | None:
        logs = sorted((self.host_dir(host) / "var" / "log" / "flink").glob(f"flink-*-{kind}-*.log"),
                      key=os.path.getmtime)
        return logs[-1] if logs else None

    def leader(self) -> str | None:
        """The JobManager host whose REST endpoint was granted leadership most recently (and lives)."""
        best, best_time = None, -1.0
        for host in self.jobmanagers:
            if not self.pids(host, "jobmanager"):
                continue
            log = self.log_of(host, "standalonesession")
            if log and "was granted leadership" in log.read_text(errors="replace"):
                mtime = os.path.getmtime(log)
                if mtime > best_time:
                    best, best_time = host, mtime
        return best


def _processes():
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        yield int(entry.name), cmd


def _ancestors() -> set[int]:
    """This process and its parents (never signalled)."""
    pids, pid = set(), os.getpid()
    while pid > 1 and pid not in pids:
        pids.add(pid)
        try:
            pid = int(pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            break
    return pids


def _alive(pid: int) -> bool:
    """True for a process that exists and is not a zombie (PID 1 here may not reap orphans)."""
    try:
        state = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def stop_processes(workdir, timeout: float = 30.0) -> list[int]:
    """SIGTERM, then SIGKILL, every process whose command line contains ``workdir``.

    Returns the pids still alive afterwards (none expected).
    """
    marker = str(pathlib.Path(workdir).resolve()) + "/"
    spared = _ancestors()
    pids = [pid for pid, cmd in _processes() if marker in cmd and pid not in spared]
    return terminate(pids, _alive, timeout, poll=0.3)


def run_playbook(playbook: str, inventory, extra_vars: dict | None = None, timeout: int = 1200,
                 args: tuple = ()):
    """``ansible-playbook -i <inventory> playbooks/<playbook>``; a PlayResult (json callback)."""
    import json

    from tests.integration.ansible_run import PlayResult, ansible_env

    cmd = [str(pathlib.Path(sys.executable).with_name("ansible-playbook")), "-i", str(inventory),
           str(REPO / "playbooks" / playbook), *args]
    if extra_vars:
        cmd += ["-e", json.dumps(extra_vars)]
    proc = subprocess.run(cmd, cwd=REPO, env=ansible_env(), capture_output=True, text=True, timeout=timeout,
                          check=False)
    return PlayResult(proc, json_output=True)
