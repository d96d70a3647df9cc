"""install_flink's layout logic (tests/support/flink_local.py) and the choice of the test-job
source tree (tests/support/testjobs.py), on small archives laid out like PyPI's: a wheel
holds the distribution under ``pyflink/``, a source archive under ``<top>/deps/``."""
from __future__ import annotations

import io
import os
import shutil
import tarfile
import zipfile

import pytest

from tests.support import flink_local, testjobs

SCRIPTS = ("config.sh", "jobmanager.sh", "taskmanager.sh", "flink")


def _wheel(path, files):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def _sdist(path, top, files, mode=0o644):
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    return path


def _flink_files(prefix):
    files = {f"{prefix}bin/{s}": b"#!/bin/sh\n" for s in SCRIPTS}
    files[f"{prefix}conf/config.yaml"] = b"jobmanager.rpc.address: localhost\n"
    files[f"{prefix}examples/x.jar"] = b"x"
    return files


def _libraries_files(prefix):
    return {f"{prefix}lib/flink-dist-9.9.9.jar": b"jar", f"{prefix}opt/flink-python-9.9.9.jar": b"jar",
            f"{prefix}plugins/README.txt": b"plugins", f"{prefix}bin/bash-java-utils.jar": b"jar"}


def test_resolve_version_takes_the_newest_patch_of_a_minor_and_keeps_a_full_version():
    assert flink_local.resolve_version("1.20") == "1.20.5"
    assert flink_local.resolve_version("1.18") == "1.18.1"
    assert flink_local.resolve_version("1.20.1") == "1.20.1"
    assert set(flink_local.LATEST_PATCH) == {"1.18", "1.19", "1.20", "2.0", "2.1", "2.2", "2.3"}


def test_cached_archives_finds_wheels_and_both_sdist_spellings_and_prefers_the_wheel(tmp_path):
    (tmp_path / "apache-flink-1.18.1.tar.gz").write_bytes(b"")
    (tmp_path / "apache-flink-libraries-1.18.1.tar.gz").write_bytes(b"")
    (tmp_path / "apache_flink-1.20.5-cp311-cp311-manylinux2014_x86_64.whl").write_bytes(b"")
    (tmp_path / "apache_flink-1.20.5.tar.gz").write_bytes(b"")
    (tmp_path / "apache_flink_libraries-1.20.5.tar.gz").write_bytes(b"")
    old = flink_local.cached_archives("1.18.1", [tmp_path])
    assert {k: v.name for k, v in old.items()} == {
        "apache-flink": "apache-flink-1.18.1.tar.gz", "apache-flink-libraries": "apache-flink-libraries-1.18.1.tar.gz"}
    mixed = flink_local.cached_archives("1.20.5", [tmp_path])
    assert mixed["apache-flink"].suffix == ".whl"
    assert mixed["apache-flink-libraries"].name == "apache_flink_libraries-1.20.5.tar.gz"
    # "apache_flink-1.20.5-*" must not match the libraries wheel, nor 1.20.50 match 1.20.5
    (tmp_path / "apache_flink_libraries-2.3.0-py2.py3-none-any.whl").write_bytes(b"")
    (tmp_path / "apache_flink-2.3.01-cp311-x.whl").write_bytes(b"")
    assert flink_local.cached_archives("2.3.0", [tmp_path]) is None


def test_a_home_from_source_archives_has_bin_conf_lib_opt_plugins_and_executable_scripts(tmp_path):
    archives = {
        # apache-flink's sdist: bin/ and conf/ under <top>/deps/, Python sources beside it
        "apache-flink": _sdist(tmp_path / "apache-flink-1.18.1.tar.gz", "apache-flink-1.18.1",
                               {**_flink_files("deps/"),
                                "pyflink/__init__.py": b"", "setup.py": b""}),
        "apache-flink-libraries": _sdist(tmp_path / "apache_flink_libraries-1.18.1.tar.gz",
                                         "apache_flink_libraries-1.18.1", _libraries_files("deps/")),
    }
    home = flink_local.build_distribution(archives, tmp_path / "flink" / "pyflink")
    assert sorted(p.name for p in home.iterdir()) == ["bin", "conf", "examples", "lib", "opt", "plugins"]
    assert (home / "lib" / "flink-dist-9.9.9.jar").read_bytes() == b"jar"
    assert (home / "bin" / "bash-java-utils.jar").exists(), "the libraries' bin/ joins apache-flink's"
    for script in SCRIPTS:
        assert os.access(home / "bin" / script, os.X_OK), script
    assert not (home / "setup.py").exists() and not (home / "pyflink").exists()


def test_a_home_from_wheels_and_from_a_wheel_plus_sdist_is_the_same(tmp_path):
    wheel_flink = _wheel(tmp_path / "apache_flink-2.3.0-cp311-x.whl",
                         {**_flink_files("pyflink/"), "pyflink/__init__.py": b"",
                          "apache_flink-2.3.0.dist-info/METADATA": b""})
    wheel_libs = _wheel(tmp_path / "apache_flink_libraries-2.3.0-py3-none-any.whl", _libraries_files("pyflink/"))
    sdist_libs = _sdist(tmp_path / "apache_flink_libraries-2.3.0.tar.gz", "apache_flink_libraries-2.3.0",
                        _libraries_files("deps/"))
    a = flink_local.build_distribution({"apache-flink": wheel_flink, "apache-flink-libraries": wheel_libs},
                                       tmp_path / "a" / "pyflink")
    b = flink_local.build_distribution({"apache-flink": wheel_flink, "apache-flink-libraries": sdist_libs},
                                       tmp_path / "b" / "pyflink")

    def tree(home):
        return sorted(str(p.relative_to(home)) for p in home.rglob("*"))

    assert tree(a) == tree(b)
    assert "lib/flink-dist-9.9.9.jar" in tree(a) and "__init__.py" in tree(a)
    assert not any("dist-info" in p for p in tree(a))
    assert os.access(a / "bin" / "jobmanager.sh", os.X_OK), "zip entries carry no mode: chmod +x bin/*"


def test_an_incomplete_distribution_names_what_is_missing(tmp_path):
    only_flink = {"apache-flink": _sdist(tmp_path / "apache-flink-1.18.1.tar.gz", "t", _flink_files("deps/")),
                  "apache-flink-libraries": _sdist(tmp_path / "apache-flink-libraries-1.18.1.tar.gz", "t",
                                                   {"deps/opt/x.jar": b"x"})}
    with pytest.raises(RuntimeError, match=r"missing lib/flink-dist\*\.jar"):
        flink_local.build_distribution(only_flink, tmp_path / "home")


def test_an_sdist_without_deps_is_refused(tmp_path):
    bad = _sdist(tmp_path / "apache-flink-1.18.1.tar.gz", "apache-flink-1.18.1", {"setup.py": b""})
    with pytest.raises(RuntimeError, match="no <top>/deps/"):
        flink_local.unpack_archive(bad, tmp_path / "home")


def test_an_sdist_member_escaping_the_home_is_refused(tmp_path):
    evil = _sdist(tmp_path / "apache-flink-1.18.1.tar.gz", "top", {"deps/../../../escaped": b"x"})
    with pytest.raises(tarfile.OutsideDestinationError):
        flink_local.unpack_archive(evil, tmp_path / "a" / "home")
    assert not (tmp_path / "escaped").exists()


def test_install_flink_downloads_once_and_then_installs_from_the_cache(tmp_path, monkeypatch):
    """install_flink with pip replaced by a stand-in that writes archives like `pip download` does."""
    monkeypatch.setattr(flink_local, "CACHE_DIR", tmp_path)
    monkeypatch.setattr(flink_local, "DOWNLOADS_DIR", tmp_path / "pypi")
    monkeypatch.setattr(flink_local, "WHEELS_DIR", tmp_path / "wheels")
    downloads = []

    def fake_run(cmd, check):
        assert cmd[1:4] == ["-m", "pip", "--disable-pip-version-check"] and "download" in cmd
        dest = tmp_path.joinpath(cmd[cmd.index("--dest") + 1])
        downloads.append(cmd[-2:])
        _sdist(dest / "apache-flink-1.18.1.tar.gz", "apache-flink-1.18.1", _flink_files("deps/"))
        _sdist(dest / "apache-flink-libraries-1.18.1.tar.gz", "apache-flink-libraries-1.18.1",
               _libraries_files("deps/"))

    monkeypatch.setattr(flink_local.subprocess, "run", fake_run)
    home = flink_local.install_flink("1.18")
    assert home == tmp_path / "flink-1.18.1" / "pyflink"
    assert downloads == [["apache-flink==1.18.1", "apache-flink-libraries==1.18.1"]]
    assert sorted(p.name for p in (tmp_path / "pypi" / "1.18.1").iterdir()) == [
        "apache-flink-1.18.1.tar.gz", "apache-flink-libraries-1.18.1.tar.gz"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no temp dir left behind"

    shutil.rmtree(tmp_path / "flink-1.18.1")  # the unpacked home is gone, the archives are cached
    assert flink_local.install_flink("1.18.1") == home and (home / "bin" / "jobmanager.sh").exists()
    assert len(downloads) == 1, "the second install came from the cache"


def _jar(path, classes):
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        for name in classes:
            zf.writestr(name, b"")


def test_the_legacy_test_job_is_picked_when_lib_lacks_the_newer_apis(tmp_path):
    modern = tmp_path / "modern"
    _jar(modern / "lib" / "flink-dist-2.3.0.jar", testjobs.MODERN_CLASSES)
    assert testjobs.source_tree(modern) == testjobs.JAVA_SRC
    old = tmp_path / "old"  # 1.18: flink-dist without DataGeneratorSource, OpenContext, sink.v2
    _jar(old / "lib" / "flink-dist-1.18.1.jar", ["org/apache/flink/streaming/api/functions/sink/DiscardingSink.class"])
    assert testjobs.source_tree(old) == testjobs.JAVA_SRC_LEGACY
    # both trees build the same class with the same uids and state names
    for root in (testjobs.JAVA_SRC, testjobs.JAVA_SRC_LEGACY):
        text = (root / "flinkops" / "testjob" / "StatefulCounter.java").read_text()
        for marker in ('.uid("source")', '.uid("counter")', '.uid("sink")', 'new ValueStateDescriptor<>("count"',
                       'String name = "stateful-counter"', "class StatefulCounter"):
            assert marker in text, (root, marker)
