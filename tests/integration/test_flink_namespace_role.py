"""roles/flink_namespace against the fake Kubernetes API: ``molecule test -s flink_namespace`` (check
mode, converge, idempotence, verify), then what the fake holds; and bad input that fails naming it
before anything is sent. Built-in objects are validated by the fake against the Kubernetes OpenAPI
schemas (kubernetes-validate), so a malformed Role or Secret would be refused with 422.
"""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

import pytest

from tests.integration.ansible_run import REPO, ansible_env
from tests.support.fake_kubernetes import FakeKubernetes

pytestmark = [pytest.mark.integration]

MOLECULE = os.path.join(os.path.dirname(sys.executable), "molecule")
NAMESPACES = ["flink-jobs", "flink-backfill"]


@pytest.fixture
def k8s(tmp_path):
    with FakeKubernetes(operator=False) as fake:
        fake.kubeconfig_path = fake.kubeconfig(tmp_path / "kubeconfig")
        yield fake


def real_writes(k8s):
    return [(m, p) for (m, p, q) in k8s.requests if m in ("POST", "PUT", "PATCH", "DELETE")
            and q.get("dryRun") != "All"]


def test_molecule_check_converge_idempotence_verify(k8s, tmp_path):
    env = ansible_env(json_output=False)
    env.pop("ANSIBLE_CONFIG", None)  # molecule writes its own configuration
    env.update({"PATH": os.path.dirname(MOLECULE) + os.pathsep + env.get("PATH", ""),
                "MOLECULE_KUBECONFIG": str(k8s.kubeconfig_path),
                "MOLECULE_EPHEMERAL_DIRECTORY": str(tmp_path / "ephemeral")})
    proc = subprocess.run([MOLECULE, "test", "-s", "flink_namespace"], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=900, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-5000:]
    assert "idempotence" in out and "molecule-s3cr3t" not in out
    # one create per object (the check run's were dry runs), and the second run's patches changed nothing:
    # the fake bumps its revision (from 100, then 101 for the namespace "default" it starts with) on every
    # change of state only
    posts = [p for m, p in real_writes(k8s) if m == "POST"]
    assert len(posts) == 10 and k8s.revision == 111, real_writes(k8s)
    for ns in NAMESPACES:
        assert k8s.get("namespaces", None, ns, api_version="v1")["metadata"]["labels"]["team"] == "streaming"
        assert k8s.get("serviceaccounts", ns, "flink", api_version="v1")
        role = k8s.get("roles", ns, "flink", api_version="rbac.authorization.k8s.io/v1")
        assert {"pods", "configmaps"} <= set(role["rules"][0]["resources"])
        secret = k8s.get("secrets", ns, "flink-s3-credentials", api_version="v1")
        assert base64.b64decode(secret["data"]["AWS_SECRET_ACCESS_KEY"]).decode() == "molecule-s3cr3t"


@pytest.mark.parametrize("bad, said", [
    ({"flink_namespace_names": ["flink-jobs", "Flink_Jobs"]}, "not valid namespace names (RFC 1123 labels): Flink_Jobs"),
    ({"flink_namespace_names": ["flink-jobs"], "flink_namespace_s3_access_key": "only-the-key"},
     "flink_namespace_s3_access_key and flink_namespace_s3_secret_key go together"),
])
def test_bad_input_fails_naming_it_and_sends_nothing(k8s, tmp_path, bad, said):
    play = tmp_path / "play.yml"
    play.write_text("- hosts: localhost\n  gather_facts: false\n  roles:\n    - flinkops.cookbook.flink_namespace\n")
    extra = dict(bad, flink_namespace_kubeconfig=str(k8s.kubeconfig_path))
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), str(play),
                           "-e", json.dumps(extra)], cwd=REPO, env=ansible_env(json_output=False),
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode != 0
    assert said in proc.stdout and "Nothing was changed" in proc.stdout, proc.stdout[-3000:]
    assert k8s.requests == [], "nothing was sent to the API server"
