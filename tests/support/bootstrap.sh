#!/usr/bin/env bash
# Install what the project needs on a fresh Debian machine: Java 17 (apt), a venv with
# Ansible and the Python libraries (pip), the collection link for ansible, and Flink
# from PyPI (cached under ~/.cache/flinkops). Idempotent: a second run does little.
set -euo pipefail
cd "$(dirname "$0")/../.."

missing=()
command -v javac >/dev/null 2>&1 || missing+=(openjdk-17-jdk-headless)
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)  # else ansible-test skips it
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing ${missing[*]} (apt)"
  apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ] || ! cmp -s requirements.txt .venv/.requirements.txt; then
  echo "==> creating .venv and installing requirements.txt (pip)"
  python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r requirements.txt
  cp requirements.txt .venv/.requirements.txt
fi

# Collections the playbooks use come from the `ansible` package; requirements.yml lists
# them for installs from Galaxy elsewhere. The collection itself is linked, not copied.
mkdir -p .collections/ansible_collections/flinkops
[ -L .collections/ansible_collections/flinkops/cookbook ] || \
  ln -sfn ../../.. .collections/ansible_collections/flinkops/cookbook

echo "==> Flink $(.venv/bin/python -c 'from tests.support.flink_local import install_flink; print(install_flink())')"
