"""galaxy.yml against what the collection is: versions, dependencies, URLs, licence, build_ignore.

Every plugin is found on disk, so modules and filters added later are checked without a list here.
"""
from __future__ import annotations

import fnmatch
import pathlib
import re

import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
GALAXY = yaml.safe_load((REPO / "galaxy.yml").read_text())
DOC = re.compile(r'^DOCUMENTATION\s*=\s*r?(?:"""|\'\'\')(.*?)(?:"""|\'\'\')', re.S | re.M)
FQCN = re.compile(r"\b([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)\.[a-z][a-z0-9_]*\b")


def version(text):
    return tuple(int(part) for part in str(text).split("."))


def plugin_docs():
    for path in sorted((REPO / "plugins").rglob("*")):
        if path.suffix == ".py" and path.parent.name not in ("module_utils", "doc_fragments"):
            match = DOC.search(path.read_text())
            if match:
                yield path, yaml.safe_load(match.group(1))
        elif path.suffix == ".yml" and path.parent.parent.name == "plugins":
            yield path, yaml.safe_load(path.read_text())["DOCUMENTATION"]


def test_every_plugin_version_added_is_a_version_up_to_galaxy_version():
    docs = list(plugin_docs())
    assert len(docs) >= 20, "plugin docs not found: %s" % docs
    newer = {str(p.relative_to(REPO)): d.get("version_added") for p, d in docs
             if d.get("version_added") is None or version(d["version_added"]) > version(GALAXY["version"])}
    assert not newer, "version_added missing or newer than galaxy.yml's %s: %s" % (GALAXY["version"], newer)


def test_dependencies_are_the_collections_the_content_uses():
    used = set()
    for top in ("plugins", "roles", "playbooks"):
        for path in (REPO / top).rglob("*"):
            if path.suffix in (".py", ".yml", ".yaml", ".j2"):
                used.update("%s.%s" % m for m in FQCN.findall(path.read_text()))
    known = {"ansible.builtin", "flinkops.cookbook"} | set(GALAXY.get("dependencies") or {})
    # FQCN-shaped words that are not collections: Flink, Java and Kubernetes names in docs and specs
    # and ansible-core's own Python packages (ansible.module_utils, ansible.plugins, ...)
    collections = {c for c in used if c.split(".")[0] in ("community", "kubernetes", "amazon", "awx", "confluent",
                                                          "containers", "cloud")
                   or c in ("ansible.posix", "ansible.utils", "ansible.netcommon", "ansible.windows",
                            "ansible.controller")}
    # the kubernetes Python client's packages (imported by module_utils/fko_k8s.py), not collections
    collections -= {"kubernetes.dynamic", "kubernetes.client", "kubernetes.config", "kubernetes.stream",
                    "kubernetes.watch"}
    # the Flink Kubernetes Operator's configuration keys (kubernetes.operator.*, roles/flink_operator)
    collections -= {"kubernetes.operator"}
    assert collections - known == set(), "used but not declared in galaxy.yml dependencies"
    unused = set(GALAXY.get("dependencies") or {}) - used
    assert not unused, "declared in galaxy.yml but used by nothing: %s" % unused


def test_urls_licence_and_license_file():
    for key in ("repository", "documentation", "issues"):
        assert str(GALAXY.get(key, "")).startswith("https://"), key
    assert GALAXY["license"] == ["Apache-2.0"]
    text = (REPO / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text


def test_build_ignore_keeps_development_files_out_of_the_tarball():
    ignored = GALAXY["build_ignore"]

    def shipped(rel):
        parts = rel.split("/")
        prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
        return not any(fnmatch.fnmatch(p, pattern) for p in prefixes for pattern in ignored)

    for dev in ("ansible.cfg", "Makefile", ".ansible-lint", ".ansible-lint-ignore", "requirements.txt", "requirements-test.txt",
                "requirements-lint.txt", "tests/unit/requirements.txt", "tests/support/gates.sh",
                "tests/integration/ansible_run.py", "bench/README.md", "inventories/hosts.yml", ".ci/run",
                ".collections/ansible_collections/flinkops/cookbook"):
        assert (REPO / dev).exists() or (REPO / dev).is_symlink(), dev
        assert not shipped(dev), "%s would be shipped" % dev
    for kept in ("LICENSE", "README.md", "meta/runtime.yml", "meta/execution-environment.yml",
                 "meta/ee-requirements.txt", "playbooks/upgrade_job.yml", "roles/recipe_defaults/defaults/main.yml",
                 "tests/sanity/ignore-2.19.txt", "tests/config.yml", "changelogs/changelog.yaml"):
        assert shipped(kept), "%s would not be shipped" % kept


def test_sanity_ignore_files_match_requires_ansible():
    runtime = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())
    bounds = dict(re.findall(r"([<>]=?)\s*([0-9.]+)", runtime["requires_ansible"]))
    low, high = version(bounds[">="])[:2], version(bounds["<"])[:2]
    ignores = sorted(version(p.stem.split("-")[1]) for p in (REPO / "tests" / "sanity").glob("ignore-*.txt"))
    covered = [(2, minor) for minor in range(low[1], high[1])] if high[0] == low[0] == 2 else None
    assert covered is not None and ignores == covered, (runtime["requires_ansible"], ignores)
