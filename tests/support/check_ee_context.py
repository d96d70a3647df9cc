"""Check the build context `ansible-builder create` rendered from meta/execution-environment.yml.

    python tests/support/check_ee_context.py <repo root> <context dir>

Called by tests/support/gates.sh ee. Exit 1 with one line per problem.
"""
from __future__ import annotations

import pathlib
import re
import sys

import yaml


def lines(path: pathlib.Path) -> list:
    return [s.strip() for s in path.read_text().splitlines() if s.strip() and not s.strip().startswith("#")]


def name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower()


def problems(root: pathlib.Path, ctx: pathlib.Path) -> list:
    ee = yaml.safe_load((root / "meta" / "execution-environment.yml").read_text())
    found = []
    containerfile = (ctx / "Containerfile").read_text()
    if ee.get("version") != 3:
        found.append("meta/execution-environment.yml: version must be 3 (ansible-builder v3)")
    if 'ARG EE_BASE_IMAGE="%s"' % ee["images"]["base_image"]["name"] not in containerfile:
        found.append("the Containerfile does not build FROM the base image")
    for key in ("ansible_core", "ansible_runner"):
        pin = ee["dependencies"][key]["package_pip"]
        if pin not in containerfile:
            found.append("the Containerfile does not install %s" % pin)
    if lines(ctx / "_build" / "requirements.txt") != lines(root / "meta" / "ee-requirements.txt"):
        found.append("_build/requirements.txt differs from meta/ee-requirements.txt")
    if lines(ctx / "_build" / "bindep.txt") != lines(root / "meta" / "ee-bindep.txt"):
        found.append("_build/bindep.txt differs from meta/ee-bindep.txt")
    galaxy = yaml.safe_load((ctx / "_build" / "requirements.yml").read_text()) or {}
    if "flinkops.cookbook" not in [c.get("name") for c in galaxy.get("collections", [])]:
        found.append("_build/requirements.yml does not install flinkops.cookbook")
    # runtime only: the execution environment's Python requirements are requirements.txt
    # without ansible itself (the base image gets ansible-core and ansible-runner)
    runtime = sorted(name(s) for s in lines(root / "requirements.txt") if not s.startswith("-") and name(s) != "ansible")
    ee_python = sorted(name(s) for s in lines(root / "meta" / "ee-requirements.txt"))
    if runtime != ee_python:
        found.append("meta/ee-requirements.txt %s is not requirements.txt without ansible %s" % (ee_python, runtime))
    return found


def main(argv: list) -> int:
    root, ctx = pathlib.Path(argv[1]), pathlib.Path(argv[2])
    found = problems(root, ctx)
    for problem in found:
        print("ee: " + problem, file=sys.stderr)
    print("ee: context %s: %s" % (ctx, "OK" if not found else "%d problem(s)" % len(found)), file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
