"""roles/zookeeper as a three-peer ensemble (three inventory hosts on this machine, each with
its own ports and directories), through provision_bare_metal.yml limited to the ensemble."""
from __future__ import annotations

import pathlib
import re
import shutil

import pytest

from tests.support.baremetal import BareMetal, run_playbook, stop_processes

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.xdist_group("bare_metal")]


@pytest.fixture
def ensemble(tmp_path):
    if shutil.which("java") is None or not pathlib.Path("/usr/share/java/zookeeper.jar").exists():
        pytest.skip("needs java and the Debian zookeeper package (apt-get install zookeeperd)")
    metal = BareMetal(tmp_path, {}, "2.3.0", jobmanagers=0, taskmanagers=0, zookeepers=3)
    metal.write_inventory({"zookeeper_java_opts": "-Xms64m -Xmx128m"})
    try:
        yield metal
    finally:
        left = stop_processes(tmp_path)
        assert not left, f"processes survived SIGKILL: {left}"


def modes(metal: BareMetal) -> list[str]:
    found = []
    for host in metal.zookeepers:
        match = re.search(r"^Mode: (\w+)", metal.zk_command(host, "srvr"), re.M)
        found.append(match.group(1) if match else None)
    return sorted(found, key=str)


def test_three_peers_elect_one_leader_and_restart_one_at_a_time(ensemble):
    first = run_playbook("provision_bare_metal.yml", ensemble.inventory, args=("-l", "zookeeper"))
    assert first.rc == 0, first.stdout[-4000:]
    assert modes(ensemble) == ["follower", "follower", "leader"]
    for index, host in enumerate(ensemble.zookeepers, start=1):
        assert (ensemble.host_dir(host) / "var" / "lib" / "zookeeper" / "myid").read_text().strip() == str(index)
        cfg = (ensemble.host_dir(host) / "etc" / "zookeeper" / "zoo.cfg").read_text()
        assert len(re.findall(r"^server\.\d=127\.0\.0\.1:\d+:\d+$", cfg, re.M)) == 3
    pids = {h: ensemble.pids(h, "zookeeper") for h in ensemble.zookeepers}
    assert all(len(p) == 1 for p in pids.values())

    again = run_playbook("provision_bare_metal.yml", ensemble.inventory, args=("-l", "zookeeper"))
    assert again.rc == 0 and again.changed_count() == 0, again
    assert {h: ensemble.pids(h, "zookeeper") for h in ensemble.zookeepers} == pids

    # a changed setting restarts every peer, one after the other, and the ensemble keeps a leader
    ensemble.write_inventory({"zookeeper_java_opts": "-Xms64m -Xmx128m", "zookeeper_max_client_connections": 100})
    changed = run_playbook("provision_bare_metal.yml", ensemble.inventory, args=("-l", "zookeeper"))
    assert changed.rc == 0, changed.stdout[-4000:]
    restarts = [t for t in changed.tasks if t["_task"].endswith("Restart ZooKeeper") and t.get("changed")]
    assert sorted(t["_host"] for t in restarts) == ensemble.zookeepers, [(t["_task"], t["_host"]) for t in changed.tasks
                                                                         if t.get("changed")]
    after = {h: ensemble.pids(h, "zookeeper") for h in ensemble.zookeepers}
    assert all(after[h] != pids[h] and len(after[h]) == 1 for h in ensemble.zookeepers)
    assert modes(ensemble) == ["follower", "follower", "leader"]
