"""Run a real, local Apache Flink standalone cluster for the integration tests.

Flink itself comes from the PyPI wheels (``apache-flink`` + ``apache-flink-libraries``),
whose ``pyflink`` directory is a complete Flink distribution (bin/, lib/, conf/, ...).

Library use::

    from tests.support.flink_local import LocalFlink, install_flink
    with LocalFlink(install_flink(), workdir) as flink:
        requests.get(flink.rest_url + "/overview")

CLI (script or ``python -m tests.support.flink_local``)::

    flink_local.py start --workdir DIR [--taskmanagers N] [--slots S] [--scheduler adaptive]
    flink_local.py stop --workdir DIR
    flink_local.py status --workdir DIR
    flink_local.py build-jobs --outdir DIR

Only the standard library and ``requests`` are used.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile

import requests

if __package__ in (None, ""):  # run as a plain script: make "tests.support" importable
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

from tests.support.testjobs import build_test_jobs  # noqa: E402  (re-exported)

__all__ = ["install_flink", "LocalFlink", "build_test_jobs", "DEFAULT_FLINK_VERSION", "CACHE_DIR",
           "LATEST_PATCH", "resolve_version"]

DEFAULT_FLINK_VERSION = "2.3.0"
CACHE_DIR = pathlib.Path.home() / ".cache" / "flinkops"
WHEELS_DIR = CACHE_DIR / "wheels"
# a JobManager and TaskManagers starting on 2 busy cores (the suite runs 2 workers) can take minutes
STARTUP_TIMEOUT = 240.0
# FLINK_IDENT_STRING names the pid/log files (defaults to $USER, which may be unset here)
IDENT = "flinkops"


# --------------------------------------------------------------------------- install
# The Flink versions the collection supports, newest patch per minor (`pip index versions
# apache-flink`). 2.x and some 1.x packages ship wheels; 1.18.x, 1.20.x's libraries and
# 2.0/2.1's libraries ship source archives only: both kinds are unpacked the same way.
LATEST_PATCH = {
    "1.18": "1.18.1", "1.19": "1.19.3", "1.20": "1.20.5",
    "2.0": "2.0.2", "2.1": "2.1.3", "2.2": "2.2.1", "2.3": "2.3.0",
}
PACKAGES = ("apache-flink", "apache-flink-libraries")
# downloaded archives (wheels and sdists), one directory per version: downloaded once
DOWNLOADS_DIR = CACHE_DIR / "pypi"


def resolve_version(version: str) -> str:
    """"1.20" -> "1.20.5" (newest patch we know of); a full version is returned as is."""
    return LATEST_PATCH.get(version, version)


def _archive_names(package: str, version: str) -> list[str]:
    """Glob patterns of the wheel / sdist of ``package`` ``version`` (PyPI spells sdists both ways)."""
    norm = package.replace("-", "_")
    return [f"{norm}-{version}-*.whl", f"{norm}-{version}.tar.gz", f"{package}-{version}.tar.gz"]


def cached_archives(version: str, dirs=None) -> dict[str, pathlib.Path] | None:
    """{package: archive} for both Flink packages from the cache dirs, or None if one is missing.

    A wheel is preferred to a source archive of the same package (it is what pip would pick)."""
    dirs = [DOWNLOADS_DIR / version, WHEELS_DIR] if dirs is None else list(dirs)
    found = {}
    for package in PACKAGES:
        for pattern in _archive_names(package, version):
            hits = sorted(h for d in dirs for h in pathlib.Path(d).glob(pattern) if h.is_file())
            if hits:
                found[package] = hits[0]
                break
        else:
            return None
    return found


def download_archives(version: str) -> dict[str, pathlib.Path]:
    """``pip download`` both packages (wheel where PyPI has one, else the sdist) into the cache."""
    cached = cached_archives(version)
    if cached:
        return cached
    dest = DOWNLOADS_DIR / version
    dest.mkdir(parents=True, exist_ok=True)
    # into a temp dir first: a download cut short never looks like a cached archive
    tmp = pathlib.Path(tempfile.mkdtemp(prefix=".download-", dir=dest))
    try:
        subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", "download",
                        "--no-deps", "--dest", str(tmp), *(f"{p}=={version}" for p in PACKAGES)], check=True)
        for path in tmp.iterdir():
            os.replace(path, dest / path.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    cached = cached_archives(version)
    if not cached:
        raise RuntimeError(f"pip download of Flink {version} left no archives in {dest}: "
                           f"{sorted(p.name for p in dest.iterdir())}")
    return cached


def unpack_archive(archive: pathlib.Path, home: pathlib.Path) -> None:
    """Unpack one Flink package into the distribution directory ``home`` (the ``pyflink`` dir).

    A wheel holds the distribution under ``pyflink/``; a source archive under ``<top>/deps/``
    (``bin/``, ``conf/`` in apache-flink; ``lib/``, ``opt/``, ``plugins/``, ``bin/*.jar`` in
    apache-flink-libraries). Anything else in the archive (Python sources, metadata) is not
    needed by a JVM cluster, except the wheel's ``pyflink`` package, which comes along."""
    home.mkdir(parents=True, exist_ok=True)
    if archive.name.endswith(".whl"):
        with zipfile.ZipFile(archive) as whl:
            for info in whl.infolist():
                parts = pathlib.PurePosixPath(info.filename).parts
                if len(parts) < 2 or parts[0] != "pyflink" or ".." in parts:
                    continue
                dst = home.joinpath(*parts[1:])
                if info.is_dir():
                    dst.mkdir(parents=True, exist_ok=True)
                    continue
                dst.parent.mkdir(parents=True, exist_ok=True)
                with whl.open(info) as src, open(dst, "wb") as out:
                    shutil.copyfileobj(src, out, 1 << 20)
    elif archive.name.endswith(".tar.gz"):
        with tarfile.open(archive) as sdist:
            members = []
            for member in sdist.getmembers():
                parts = pathlib.PurePosixPath(member.name).parts
                if len(parts) < 3 or parts[1] != "deps":
                    continue
                member.name = "/".join(parts[2:])
                members.append(member)
            if not members:
                raise RuntimeError(f"{archive.name} has no <top>/deps/ directory: not a Flink sdist layout")
            sdist.extractall(home, members=members, filter="data")
    else:
        raise ValueError(f"not a wheel or source archive: {archive}")


def check_distribution(home: pathlib.Path) -> None:
    """Raise unless ``home`` looks like a Flink distribution a cluster can start from."""
    missing = [part for part in ("bin/jobmanager.sh", "bin/taskmanager.sh", "bin/config.sh")
               if not (home / part).is_file()]
    if not list((home / "lib").glob("flink-dist*.jar")):
        missing.append("lib/flink-dist*.jar")
    if not list((home / "conf").glob("*.yaml")):
        missing.append("conf/config.yaml or conf/flink-conf.yaml")
    if missing:
        raise RuntimeError(f"incomplete Flink distribution in {home}: missing {', '.join(missing)}")


def build_distribution(archives: dict[str, pathlib.Path], home: pathlib.Path) -> pathlib.Path:
    """Unpack both packages into ``home``, make bin/* executable, check the result."""
    for package in ("apache-flink-libraries", "apache-flink"):
        unpack_archive(archives[package], home)
    for script in (home / "bin").iterdir():
        if script.is_file():
            script.chmod(0o755)
    check_distribution(home)
    return home


def install_flink(version: str | None = None) -> pathlib.Path:
    """Install Flink ``version`` (default $FLINKOPS_FLINK_VERSION or 2.3.0); return FLINK_HOME.

    ``version`` may be a minor ("1.20": the newest patch in LATEST_PATCH). Installs into
    ~/.cache/flinkops/flink-<version>/pyflink from the wheels or source archives of
    apache-flink and apache-flink-libraries, downloaded once into
    ~/.cache/flinkops/pypi/<version>/ (2.3.0 wheels from before are also found in
    ~/.cache/flinkops/wheels). The home is built in a temp dir and renamed into place, so an
    interrupted install is never picked up.
    """
    version = resolve_version(version or os.environ.get("FLINKOPS_FLINK_VERSION") or DEFAULT_FLINK_VERSION)
    target = CACHE_DIR / f"flink-{version}"
    home = target / "pyflink"
    if (home / "bin" / "jobmanager.sh").exists():
        return home

    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    archives = download_archives(version)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix=f".flink-{version}-", dir=CACHE_DIR))
    try:
        build_distribution(archives, tmp / "pyflink")
        try:
            tmp.rename(target)
        except OSError:  # a concurrent install won the race
            if not (home / "bin" / "jobmanager.sh").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return home


# --------------------------------------------------------------------------- helpers
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _read_flat_yaml(path: pathlib.Path) -> dict[str, str]:
    """Flatten a simple (nested or flat) YAML mapping of scalars, like Flink's default conf.

    Enough for the distribution's config.yaml / flink-conf.yaml; not a general YAML parser.
    """
    result: dict[str, str] = {}
    stack: list[tuple[int, str]] = []  # (indent, key prefix)
    for raw in path.read_text().splitlines():
        line = raw.split(" #")[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if not line.strip() or line.lstrip().startswith("-") or ":" not in line:
            continue
        indent = len(line) - len(line.lstrip())
        key, _sep, value = line.strip().partition(":")
        while stack and stack[-1][0] >= indent:
            stack.pop()
        full = ".".join([part for _indent, part in stack] + [key.strip()])
        value = value.strip()
        if value:
            result[full] = value.strip("'\"")
        else:
            stack.append((indent, key.strip()))
    return result


def _yaml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(value))  # a JSON string is a valid YAML scalar


def _pid_alive(pid: int) -> bool:
    """True if pid is a running (non-zombie) Flink daemon.

    Right after ``flink-daemon.sh start`` the recorded pid may still be the forked bash
    (running flink-daemon.sh) that is about to exec the JVM, so accept both.
    """
    try:
        cmdline = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes()
        state = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z" and (b"org.apache.flink" in cmdline or b"flink-daemon.sh" in cmdline)


def terminate(pids, alive, timeout: float = 15.0, poll: float = 0.2) -> list[int]:
    """SIGTERM, wait up to ``timeout``, then SIGKILL; returns the pids ``alive`` still accepts."""
    pids = [p for p in pids if alive(p)]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(alive(p) for p in pids):
            time.sleep(poll)
        pids = [p for p in pids if alive(p)]
        if not pids:
            break
    return pids


def _kill_and_wait(pids, timeout: float = 15.0) -> None:
    """SIGTERM, wait, then SIGKILL whatever Flink process is still there."""
    left = terminate(pids, _pid_alive, timeout)
    if left:
        raise RuntimeError(f"Flink processes {left} survived SIGKILL")


# --------------------------------------------------------------------------- cluster
class LocalFlink:
    """A standalone Flink session cluster (1 JobManager, N TaskManagers) on 127.0.0.1.

    Everything (conf, logs, pid files, checkpoints, savepoints, tmp dirs) lives in
    ``workdir``, so several clusters can run side by side.
    """

    def __init__(self, flink_home, workdir, taskmanagers: int = 1, slots: int = 4,
                 scheduler: str | None = None, extra_conf: dict | None = None):
        self.flink_home = pathlib.Path(flink_home)
        self.workdir = pathlib.Path(workdir).resolve()
        self.taskmanagers = taskmanagers
        self.slots = slots
        self.scheduler = scheduler
        self.extra_conf = dict(extra_conf or {})
        self.rest_port: int | None = None
        self.rpc_port: int | None = None
        self.startup_seconds: float | None = None

    # -- paths / urls
    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.rest_port}"

    @property
    def conf_dir(self) -> pathlib.Path:
        return self.workdir / "conf"

    @property
    def log_dir(self) -> pathlib.Path:
        return self.workdir / "log"

    @property
    def pid_dir(self) -> pathlib.Path:
        return self.workdir / "pid"

    @property
    def checkpoint_dir(self) -> pathlib.Path:
        return self.workdir / "checkpoints"

    @property
    def savepoint_dir(self) -> pathlib.Path:
        return self.workdir / "savepoints"

    @property
    def state_file(self) -> pathlib.Path:
        return self.workdir / "state.json"

    @property
    def jobmanager_log(self) -> pathlib.Path | None:
        logs = sorted(self.log_dir.glob(f"flink-{IDENT}-standalonesession-*.log"), key=os.path.getmtime)
        return logs[-1] if logs else None

    # -- configuration
    def _config(self) -> dict:
        wd = self.workdir
        conf = {
            "jobmanager.rpc.address": "127.0.0.1",
            "jobmanager.rpc.port": self.rpc_port,
            "jobmanager.bind-host": "127.0.0.1",
            "rest.address": "127.0.0.1",
            "rest.bind-address": "127.0.0.1",
            "rest.port": self.rest_port,
            "taskmanager.host": "127.0.0.1",
            "taskmanager.bind-host": "127.0.0.1",
            # "0" = any free port (Flink's default for these, made explicit)
            "taskmanager.rpc.port": "0",
            "taskmanager.data.port": 0,
            "blob.server.port": "0",
            "metrics.internal.query-service.port": "0",
            "jobmanager.memory.process.size": "1024m",
            "taskmanager.memory.process.size": "1024m",
            "taskmanager.numberOfTaskSlots": self.slots,
            "parallelism.default": 1,
            # old (<= 1.20) and new (2.x) key names
            "state.checkpoints.dir": f"file://{wd}/checkpoints",
            "execution.checkpointing.dir": f"file://{wd}/checkpoints",
            "state.savepoints.dir": f"file://{wd}/savepoints",
            "execution.checkpointing.savepoint-dir": f"file://{wd}/savepoints",
            "execution.checkpointing.interval": "1s",
            "execution.checkpointing.externalized-checkpoint-retention": "RETAIN_ON_CANCELLATION",
            "web.submit.enable": True,
            "web.upload.dir": str(wd / "web-upload"),
            "io.tmp.dirs": str(wd / "tmp"),
            "restart-strategy.type": "fixed-delay",
            "restart-strategy.fixed-delay.attempts": 3,
            "restart-strategy.fixed-delay.delay": "1 s",
            # notice a killed JobManager / TaskManager reasonably fast
            "heartbeat.interval": 2000,
            # the REST API caches job details/checkpoint stats for 3 s by default; keep it
            # short so tests see state changes promptly (override via extra_conf)
            "web.refresh-interval": 500,
            "rest.cache.execution-graph.timeout": "500 ms",
            "rest.cache.checkpoint-statistics.timeout": "500 ms",
            "heartbeat.timeout": 15000,
            "env.log.dir": str(self.log_dir),
            "env.pid.dir": str(self.pid_dir),
        }
        if self.scheduler:
            conf["jobmanager.scheduler"] = self.scheduler
        conf.update(self.extra_conf)
        return conf

    def _write_conf(self) -> None:
        """Copy the distribution conf (log4j files etc.) and write our config on top."""
        dist_conf = self.flink_home / "conf"
        shutil.rmtree(self.conf_dir, ignore_errors=True)
        shutil.copytree(dist_conf, self.conf_dir)
        # Flink >= 1.19 ships config.yaml (standard YAML), older ones flink-conf.yaml (flat).
        name = "config.yaml" if (dist_conf / "config.yaml").exists() else "flink-conf.yaml"
        conf = _read_flat_yaml(dist_conf / name)  # keeps e.g. env.java.opts.all (JDK 17 --add-opens)
        conf.update(self._config())
        for stale in ("config.yaml", "flink-conf.yaml"):
            (self.conf_dir / stale).unlink(missing_ok=True)
        if name == "config.yaml":
            lines = [f"{k}: {_yaml_value(v)}" for k, v in conf.items()]
        else:  # legacy parser: "key: value", no quoting
            lines = [f"{k}: {str(v).lower() if isinstance(v, bool) else v}" for k, v in conf.items()]
        (self.conf_dir / name).write_text("# generated by tests/support/flink_local.py\n" + "\n".join(lines) + "\n")

    # -- process control
    def _env(self) -> dict:
        env = dict(os.environ)
        env.update(FLINK_CONF_DIR=str(self.conf_dir), FLINK_LOG_DIR=str(self.log_dir),
                   FLINK_PID_DIR=str(self.pid_dir), FLINK_IDENT_STRING=IDENT)
        env.pop("FLINK_HOME", None)
        return env

    def _script(self, script: str, action: str) -> None:
        proc = subprocess.run([str(self.flink_home / "bin" / script), action], env=self._env(), check=False,
                              capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"{script} {action} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")

    def _pids(self, daemon: str) -> list[int]:
        """PIDs recorded by flink-daemon.sh (daemon: standalonesession | taskexecutor)."""
        pid_file = self.pid_dir / f"flink-{IDENT}-{daemon}.pid"
        if not pid_file.exists():
            return []
        return [int(p) for p in pid_file.read_text().split() if p.strip().isdigit()]

    @property
    def jobmanager_pids(self) -> list[int]:
        return [p for p in self._pids("standalonesession") if _pid_alive(p)]

    @property
    def taskmanager_pids(self) -> list[int]:
        return [p for p in self._pids("taskexecutor") if _pid_alive(p)]

    def _write_state(self) -> None:
        state = {
            "rest_url": self.rest_url, "rest_port": self.rest_port, "rpc_port": self.rpc_port,
            "flink_home": str(self.flink_home), "workdir": str(self.workdir),
            "taskmanagers": self.taskmanagers, "slots": self.slots, "scheduler": self.scheduler,
            "extra_conf": self.extra_conf,
            "jobmanager_pids": self.jobmanager_pids, "taskmanager_pids": self.taskmanager_pids,
            "checkpoint_dir": str(self.checkpoint_dir), "savepoint_dir": str(self.savepoint_dir),
        }
        self.state_file.write_text(json.dumps(state, indent=2) + "\n")

    @classmethod
    def from_state(cls, workdir) -> "LocalFlink":
        """Re-attach to a cluster started earlier (e.g. by the CLI) in ``workdir``."""
        state = json.loads((pathlib.Path(workdir) / "state.json").read_text())
        flink = cls(state["flink_home"], workdir, state["taskmanagers"], state["slots"],
                    state.get("scheduler"), state.get("extra_conf"))
        flink.rest_port, flink.rpc_port = state["rest_port"], state["rpc_port"]
        return flink

    def overview(self, timeout: float = 5.0) -> dict:
        resp = requests.get(self.rest_url + "/overview", timeout=timeout)
        resp.raise_for_status()
        return resp.json()

    def is_up(self) -> bool:
        try:
            return self.rest_port is not None and bool(self.overview(timeout=2))
        except (requests.RequestException, ValueError):
            return False

    def wait_ready(self, taskmanagers: int | None = None, timeout: float = STARTUP_TIMEOUT) -> dict:
        """Wait until /overview reports ``taskmanagers`` registered TaskManagers and their slots.

        A TaskManager is counted once it registers; its slots only once its slot report
        arrives (a separate RPC, and again after a heartbeat timeout under load): wait for both.
        """
        want = self.taskmanagers if taskmanagers is None else taskmanagers
        deadline = time.monotonic() + timeout
        last = None
        gone = 0
        while time.monotonic() < deadline:
            try:
                last = self.overview(timeout=2)
                if last.get("taskmanagers") == want and last.get("slots-total") == want * self.slots:
                    return last
            except (requests.RequestException, ValueError):
                pass
            # the JobManager died: no point in waiting. Seen gone on 4 looks in a row, 2 s: right after
            # jobmanager.sh start, one look can miss it while the forked shell execs the JVM (seen once
            # in two runs of test_upgrade_playbook.py: "not ready", with the new JobManager up 2 s later)
            gone = 0 if self.jobmanager_pids else gone + 1
            if gone >= 4:
                break
            time.sleep(0.5)
        raise RuntimeError(f"Flink at {self.rest_url} not ready with {want} TaskManager(s) "
                           f"(last /overview: {last}).\n{self.log_tail()}")

    def log_tail(self, lines: int = 60) -> str:
        log = self.jobmanager_log
        if log is None:
            return "(no JobManager log in %s)" % self.log_dir
        out = log.with_suffix(".out")
        text = "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
        if out.exists() and out.stat().st_size:
            text += "\n--- %s ---\n%s" % (out.name, out.read_text(errors="replace")[-4000:])
        return f"--- tail of {log} ---\n{text}"

    def start(self) -> "LocalFlink":
        """Write the config, start the JobManager and TaskManagers, wait until ready."""
        t0 = time.monotonic()
        for d in (self.workdir, self.log_dir, self.pid_dir, self.checkpoint_dir, self.savepoint_dir,
                  self.workdir / "tmp", self.workdir / "web-upload"):
            d.mkdir(parents=True, exist_ok=True)
        self.rest_port, self.rpc_port = _free_port(), _free_port()
        while self.rpc_port == self.rest_port:
            self.rpc_port = _free_port()
        self._write_conf()
        try:
            self._script("jobmanager.sh", "start")
            for _tm in range(self.taskmanagers):
                self._script("taskmanager.sh", "start")
            self._write_state()
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        self._write_state()
        self.startup_seconds = time.monotonic() - t0
        return self

    def stop(self) -> None:
        """Stop all daemons of this cluster; never leaves a Flink JVM behind."""
        # remember the pids first: stop-all removes the pid files
        pids = self._pids("taskexecutor") + self._pids("standalonesession")
        if self.conf_dir.exists():
            for script in ("taskmanager.sh", "jobmanager.sh"):
                try:
                    self._script(script, "stop-all")
                except (RuntimeError, subprocess.TimeoutExpired, OSError):
                    pass  # fall through to killing by pid
        _kill_and_wait(pids)
        for daemon in ("taskexecutor", "standalonesession"):
            (self.pid_dir / f"flink-{IDENT}-{daemon}.pid").unlink(missing_ok=True)
        if self.state_file.exists():
            self._write_state()

    def kill_jobmanager(self) -> None:
        """SIGKILL the JobManager process (simulates a crash)."""
        pids = self.jobmanager_pids
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while any(_pid_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        self._write_state()

    def start_jobmanager(self, wait: bool = True) -> None:
        """Start a (new) JobManager with the same config; TaskManagers re-register with it."""
        self._script("jobmanager.sh", "start")
        self._write_state()
        if wait:
            self.wait_ready()

    def add_taskmanager(self, wait: bool = True) -> None:
        """Start one more TaskManager."""
        self._script("taskmanager.sh", "start")
        self.taskmanagers += 1
        self._write_state()
        if wait:
            self.wait_ready()

    def __enter__(self) -> "LocalFlink":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# --------------------------------------------------------------------------- CLI
def _cmd_start(args) -> int:
    workdir = pathlib.Path(args.workdir).resolve()
    if (workdir / "state.json").exists():
        flink = LocalFlink.from_state(workdir)
        if flink.is_up():
            print(flink.rest_url)
            return 0
        flink.stop()  # stale state: clean up leftovers before starting afresh
    flink = LocalFlink(install_flink(args.flink_version), workdir, args.taskmanagers,
                       args.slots, args.scheduler)
    flink.start()
    print(f"started in {flink.startup_seconds:.1f}s", file=sys.stderr)
    print(flink.rest_url)
    return 0


def _cmd_stop(args) -> int:
    workdir = pathlib.Path(args.workdir).resolve()
    if not (workdir / "state.json").exists():
        print(f"no cluster state in {workdir}", file=sys.stderr)
        return 0
    LocalFlink.from_state(workdir).stop()
    print("stopped")
    return 0


def _cmd_status(args) -> int:
    workdir = pathlib.Path(args.workdir).resolve()
    if not (workdir / "state.json").exists():
        print(json.dumps({"running": False, "workdir": str(workdir)}))
        return 1
    flink = LocalFlink.from_state(workdir)
    status = {"running": flink.is_up(), "rest_url": flink.rest_url,
              "jobmanager_pids": flink.jobmanager_pids, "taskmanager_pids": flink.taskmanager_pids}
    if status["running"]:
        status["overview"] = flink.overview()
    print(json.dumps(status, indent=2))
    return 0 if status["running"] else 1


def _cmd_build_jobs(args) -> int:
    print(json.dumps(build_test_jobs(install_flink(args.flink_version), args.outdir), indent=2))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Local Apache Flink cluster for flinkops tests")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("start", help="install Flink if needed and start a cluster (idempotent)")
    p.add_argument("--workdir", required=True)
    p.add_argument("--taskmanagers", type=int, default=1)
    p.add_argument("--slots", type=int, default=4)
    p.add_argument("--scheduler", choices=["adaptive"], default=None)
    p.set_defaults(func=_cmd_start)
    p = sub.add_parser("stop", help="stop the cluster in --workdir")
    p.add_argument("--workdir", required=True)
    p.set_defaults(func=_cmd_stop)
    p = sub.add_parser("status", help="print the cluster state as JSON (rc 1 if not running)")
    p.add_argument("--workdir", required=True)
    p.set_defaults(func=_cmd_status)
    p = sub.add_parser("build-jobs", help="build the Java test jobs, print their paths as JSON")
    p.add_argument("--outdir", required=True)
    p.set_defaults(func=_cmd_build_jobs)
    for name in ("start", "build-jobs"):
        sub.choices[name].add_argument("--flink-version", default=None,
                                       help="default: $FLINKOPS_FLINK_VERSION or %s" % DEFAULT_FLINK_VERSION)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
