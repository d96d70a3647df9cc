"""Build the Java test jobs under tests/java into runnable jars.

Two source trees: ``tests/java`` (Flink 1.19+ and 2.x: DataGeneratorSource, OpenContext,
sink.v2.DiscardingSink) and ``tests/java-legacy`` (Flink 1.18, whose lib/ has none of these:
a source function and open(Configuration)); the tree is picked by the classes the
distribution's lib/ holds. Both have the same main class, job name, operator uids and state.
Three variants of either (see tests/java/flinkops/testjob/StatefulCounter.java):

* ``stateful-v1.jar`` / ``stateful-v2.jar``: state-compatible versions of the same job.
* ``failing.jar``: same uids/state, but the counter throws in ``open()``.

Jars are cached in ``outdir`` keyed by a hash of the sources and the Flink jars they
are compiled against, so repeated calls are instant.
"""
from __future__ import annotations

import hashlib
import json
import pathlib
import subprocess
import tempfile
import zipfile

JAVA_SRC = pathlib.Path(__file__).resolve().parent.parent / "java"
JAVA_SRC_LEGACY = pathlib.Path(__file__).resolve().parent.parent / "java-legacy"
# what tests/java compiles against; a lib/ without one of these gets tests/java-legacy
MODERN_CLASSES = (
    "org/apache/flink/api/common/functions/OpenContext.class",
    "org/apache/flink/connector/datagen/source/DataGeneratorSource.class",
    "org/apache/flink/streaming/api/functions/sink/v2/DiscardingSink.class",
)
MAIN_CLASS = "flinkops.testjob.StatefulCounter"

# jar key -> (file name, token substitutions)
VARIANTS = {
    "v1": ("stateful-v1.jar", {"@VERSION@": "v1", "@FAIL_AT_START@": "false"}),
    "v2": ("stateful-v2.jar", {"@VERSION@": "v2", "@FAIL_AT_START@": "false"}),
    "failing": ("failing.jar", {"@VERSION@": "failing", "@FAIL_AT_START@": "true"}),
}


def lib_classes(flink_home) -> set[str]:
    """Every class file name in ``flink_home/lib/*.jar``."""
    names: set[str] = set()
    for jar in sorted((pathlib.Path(flink_home) / "lib").glob("*.jar")):
        with zipfile.ZipFile(jar) as zf:
            names.update(n for n in zf.namelist() if n.endswith(".class"))
    return names


def source_tree(flink_home) -> pathlib.Path:
    """tests/java if ``flink_home/lib`` has the APIs it uses, else tests/java-legacy."""
    classes = lib_classes(flink_home)
    return JAVA_SRC if all(c in classes for c in MODERN_CLASSES) else JAVA_SRC_LEGACY


def _sources(root: pathlib.Path = JAVA_SRC) -> list[pathlib.Path]:
    return sorted(root.rglob("*.java"))


def _build_hash(flink_home: pathlib.Path, root: pathlib.Path = JAVA_SRC) -> str:
    h = hashlib.sha256()
    h.update(root.name.encode())
    for src in _sources(root):
        h.update(str(src.relative_to(root)).encode())
        h.update(src.read_bytes())
    # the compile classpath matters too (different Flink version => rebuild)
    for lib in sorted((flink_home / "lib").glob("*.jar")):
        h.update(lib.name.encode())
    h.update(json.dumps(VARIANTS, sort_keys=True).encode())
    return h.hexdigest()


def _write_jar(classes_dir: pathlib.Path, jar_path: pathlib.Path) -> None:
    manifest = f"Manifest-Version: 1.0\r\nMain-Class: {MAIN_CLASS}\r\nCreated-By: flinkops tests\r\n\r\n"
    tmp = jar_path.with_suffix(".jar.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("META-INF/MANIFEST.MF", manifest)
        for f in sorted(classes_dir.rglob("*.class")):
            zf.write(f, f.relative_to(classes_dir).as_posix())
    tmp.replace(jar_path)


def build_test_jobs(flink_home, outdir) -> dict[str, str]:
    """Compile the test jobs against ``flink_home/lib`` and return {"v1"|"v2"|"failing": jar path}."""
    flink_home = pathlib.Path(flink_home)
    outdir = pathlib.Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    jars = {key: str(outdir / name) for key, (name, _variant) in VARIANTS.items()}
    stamp = outdir / ".build-hash"
    root = source_tree(flink_home)
    digest = _build_hash(flink_home, root)
    if stamp.exists() and stamp.read_text() == digest and all(pathlib.Path(j).exists() for j in jars.values()):
        return jars

    classpath = str(flink_home / "lib" / "*")
    with tempfile.TemporaryDirectory(prefix="flinkops-javac-") as tmp:
        tmp = pathlib.Path(tmp)
        for key, (name, tokens) in VARIANTS.items():
            src_dir, classes_dir = tmp / key / "src", tmp / key / "classes"
            files = []
            for src in _sources(root):
                text = src.read_text()
                for token, value in tokens.items():
                    text = text.replace(token, value)
                dst = src_dir / src.relative_to(root)
                dst.parent.mkdir(parents=True, exist_ok=True)
                dst.write_text(text)
                files.append(str(dst))
            classes_dir.mkdir(parents=True)
            proc = subprocess.run(
                ["javac", "--release", "17", "-nowarn", "-cp", classpath, "-d", str(classes_dir), *files],
                capture_output=True, text=True, check=False,
            )
            if proc.returncode != 0:
                raise RuntimeError(f"javac failed for {name}:\n{proc.stdout}\n{proc.stderr}")
            _write_jar(classes_dir, outdir / name)
    stamp.write_text(digest)
    return jars


if __name__ == "__main__":  # pragma: no cover - convenience
    import sys

    print(json.dumps(build_test_jobs(sys.argv[1], sys.argv[2]), indent=2))
