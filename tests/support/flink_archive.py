"""Flink release archives (like the Apache ``flink-<v>-bin-scala_2.12.tgz``) for the role tests.

Built from the PyPI distribution that ``tests.support.flink_local.install_flink`` installs: its
``pyflink`` directory is a complete Flink distribution; it is packed as ``flink-<version>/...``
(bin, conf, lib, plugins, licenses; without ``opt`` and the Python sources, which a JVM
cluster does not need). Archives are cached in ~/.cache/flinkops/archives.

``broken_flink_archive`` gives an archive that unpacks like a release but whose
``lib/flink-dist-*.jar`` is not a jar: the daemons cannot start (a failed upgrade).
"""
from __future__ import annotations

import hashlib
import io
import os
import pathlib
import tarfile
import tempfile

from tests.support.flink_local import CACHE_DIR, install_flink

ARCHIVES_DIR = CACHE_DIR / "archives"
PARTS = ("bin", "conf", "lib", "plugins", "licenses")


def _add_tree(tar: tarfile.TarFile, home: pathlib.Path, top: str, skip_dist: bool = False) -> None:
    for part in PARTS:
        src = home / part
        if not src.exists():
            continue
        for path in sorted([src, *src.rglob("*")]):
            if "__pycache__" in path.parts or path.suffix == ".pyc":
                continue
            if skip_dist and path.parent.name == "lib" and path.name.startswith("flink-dist"):
                continue
            info = tar.gettarinfo(str(path), arcname=f"{top}/{path.relative_to(home).as_posix()}")
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            if part == "bin" and info.isfile():
                info.mode = 0o755
            if info.isfile():
                with open(path, "rb") as handle:
                    tar.addfile(info, handle)
            else:
                tar.addfile(info)
    log_dir = tarfile.TarInfo(f"{top}/log")
    log_dir.type, log_dir.mode = tarfile.DIRTYPE, 0o755
    tar.addfile(log_dir)


def _write_atomically(target: pathlib.Path, fill) -> pathlib.Path:
    ARCHIVES_DIR.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}-", dir=ARCHIVES_DIR)
    os.close(fd)
    try:
        with tarfile.open(tmp, "w:gz", compresslevel=1) as tar:
            fill(tar)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def flink_archive(version: str) -> pathlib.Path:
    """``~/.cache/flinkops/archives/flink-<version>-bin-pypi.tgz``, built once."""
    target = ARCHIVES_DIR / f"flink-{version}-bin-pypi.tgz"
    if target.exists():
        return target
    home = install_flink(version)
    return _write_atomically(target, lambda tar: _add_tree(tar, home, f"flink-{version}"))


def broken_flink_archive(version: str, based_on: str) -> pathlib.Path:
    """A release archive of ``version`` (from ``based_on``'s files) whose flink-dist jar is garbage."""
    target = ARCHIVES_DIR / f"flink-{version}-broken-from-{based_on}.tgz"
    if target.exists():
        return target
    home = install_flink(based_on)

    def fill(tar):
        _add_tree(tar, home, f"flink-{version}", skip_dist=True)
        garbage = b"this is not a jar\n" * 64
        info = tarfile.TarInfo(f"flink-{version}/lib/flink-dist-{version}.jar")
        info.size, info.mode = len(garbage), 0o644
        tar.addfile(info, io.BytesIO(garbage))

    return _write_atomically(target, fill)


def sha512(path) -> str:
    digest = hashlib.sha512()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


if __name__ == "__main__":
    import sys

    for arg in sys.argv[1:]:
        print(flink_archive(arg))
