"""roles/cert_manager against the fake Kubernetes API: cert-manager checked where it is, refused where
it is missing or not ready (naming what), and, with cert_manager_install, planned in check mode. The
fake runs no controllers, so "installed by someone else" is seeded: cert-manager's CRDs and its webhook
Deployment with an available replica, validated by the fake as any create. The fake cannot serve
``helm install`` (no OpenAPI documents) and there is no cert-manager chart offline, so the install itself
does not run here. provision_environment.yml with the operator's webhook on runs this role first.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.integration.ansible_run import REPO, ansible_env, run_playbook
from tests.support.fake_kubernetes import FakeKubernetes, specs_dir

pytestmark = [pytest.mark.integration]

VERSION = "v1.16.2"
LABELS = {"app.kubernetes.io/name": "cert-manager", "app.kubernetes.io/instance": "cert-manager",
          "app.kubernetes.io/version": VERSION}


@pytest.fixture
def k8s(tmp_path):
    with FakeKubernetes(operator=False) as fake:
        fake.kubeconfig_path = fake.kubeconfig(tmp_path / "kubeconfig")
        yield fake


def crd(plural, kind, scope="Namespaced"):
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "%s.cert-manager.io" % plural, "labels": LABELS},
            "spec": {"group": "cert-manager.io", "scope": scope,
                     "names": {"plural": plural, "singular": kind.lower(), "kind": kind, "listKind": kind + "List"},
                     "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                         "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}}


def installed(k8s, available=1, crds=("certificates", "issuers", "clusterissuers")):
    """cert-manager as its chart leaves it, for what the role reads."""
    kinds = {"certificates": ("Certificate", "Namespaced"), "issuers": ("Issuer", "Namespaced"),
             "clusterissuers": ("ClusterIssuer", "Cluster")}
    for plural in crds:
        k8s.seed(crd(plural, *kinds[plural]))
    k8s.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "cert-manager"}})
    k8s.seed({"apiVersion": "apps/v1", "kind": "Deployment",
              "metadata": {"name": "cert-manager-webhook", "namespace": "cert-manager", "labels": LABELS},
              "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "webhook"}},
                       "template": {"metadata": {"labels": {"app": "webhook"}}, "spec": {"containers": [
                           {"name": "cert-manager-webhook", "image": "quay.io/jetstack/cert-manager-webhook:" + VERSION}]}}},
              "status": {"replicas": 1, "readyReplicas": available, "availableReplicas": available}},
             namespace="cert-manager")
    k8s.requests.clear()


def role_play(k8s, tmp_path, check=False, **extra):
    play = tmp_path / "play.yml"
    play.write_text("- hosts: fko_local\n  gather_facts: false\n  roles:\n    - flinkops.cookbook.cert_manager\n"
                    "  tasks:\n    - name: Found\n      ansible.builtin.debug:\n"
                    "        msg: \"{{ {'version': cert_manager_version, 'missing': cert_manager_missing,"
                    " 'changed': cert_manager_changed} }}\"\n")
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), str(play),
           "-i", str(REPO / "inventories" / "hosts.yml"), "-e", json.dumps(extra)]
    if check:
        cmd += ["--check", "--diff"]
    env = ansible_env({"FLINKOPS_FKO_KUBECONFIG": str(k8s.kubeconfig_path)})
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)
    return proc, json.loads(proc.stdout) if proc.stdout.startswith("{") else None


def task_result(out, name):
    found = [t["hosts"]["local-fko"] for play in out["plays"] for t in play["tasks"]
             if t["task"]["name"].split(" : ", 1)[-1] == name]
    assert found, [t["task"]["name"] for play in out["plays"] for t in play["tasks"]]
    return found[-1]


def writes(k8s):
    return [(m, p) for (m, p, _q) in k8s.requests if m in ("POST", "PUT", "PATCH", "DELETE")]


def test_a_cluster_without_cert_manager_is_refused_naming_what_is_missing_and_nothing_is_written(k8s, tmp_path):
    installed(k8s, crds=("certificates",))
    k8s.objects.pop(("apps/v1", "deployments", "cert-manager", "cert-manager-webhook"))
    proc, out = role_play(k8s, tmp_path)
    assert proc.returncode != 0
    msg = task_result(out, "Preconditions | cert-manager is there, or this run installs it")["msg"]
    assert ("cert-manager is not ready in the cluster: no CustomResourceDefinition issuers.cert-manager.io; "
            "no CustomResourceDefinition clusterissuers.cert-manager.io; no Deployment cert-manager/cert-manager-webhook"
            ) in msg, msg
    assert "flink_operator_webhook false" in msg and msg.endswith("Nothing was changed.")
    assert writes(k8s) == []


def test_a_ready_cert_manager_passes_in_check_mode_and_for_real_and_nothing_is_written(k8s, tmp_path):
    installed(k8s)
    for check in (True, False):
        proc, out = role_play(k8s, tmp_path, check=check)
        assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
        assert task_result(out, "Found")["msg"] == {"version": VERSION, "missing": [], "changed": False}
        assert sum(s["changed"] for s in out["stats"].values()) == 0
    assert writes(k8s) == []


def test_a_webhook_without_an_available_replica_is_refused(k8s, tmp_path):
    installed(k8s, available=0)
    proc, out = role_play(k8s, tmp_path)
    assert proc.returncode != 0
    msg = task_result(out, "Preconditions | cert-manager is there, or this run installs it")["msg"]
    assert "Deployment cert-manager/cert-manager-webhook has no available replica" in msg, msg
    assert "CustomResourceDefinition" not in msg.split(".", 1)[0]


def test_an_install_needs_a_pinned_version_and_its_check_mode_run_pulls_and_writes_nothing(k8s, tmp_path):
    proc, out = role_play(k8s, tmp_path, cert_manager_install=True)
    assert proc.returncode != 0
    msg = task_result(out, "Preconditions | a valid namespace, and a pinned chart to install from")["msg"]
    assert 'cert_manager_chart_version must pin a chart version (vX.Y.Z), got ""' in msg, msg
    assert k8s.requests == [], "refused before any request"

    proc, out = role_play(k8s, tmp_path, check=True, cert_manager_install=True, cert_manager_chart_version=VERSION)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    planned = task_result(out, "Check mode | the chart is not on the controller, so nothing is planned from it")["msg"]
    assert ("release cert-manager would be installed or upgraded to chart cert-manager %s from https://charts.jetstack.io"
            " in namespace cert-manager" % VERSION) in planned, planned
    assert "missing: no CustomResourceDefinition certificates.cert-manager.io" in planned
    assert writes(k8s) == []


def test_provision_environment_with_the_webhook_on_is_refused_before_anything_is_written(k8s, tmp_path):
    env = {"FLINKOPS_FKO_KUBECONFIG": str(k8s.kubeconfig_path),
           "FLINKOPS_FKO_CHART": str(specs_dir() / "helm" / "flink-kubernetes-operator"),
           "FLINKOPS_HELM": os.path.join(os.path.dirname(sys.executable), "helm")}
    res = run_playbook("provision_environment.yml", "fko_local", extra_vars={"flink_operator_webhook": True},
                       extra_env=env, timeout=300)
    assert res.rc != 0
    assert "no CustomResourceDefinition certificates.cert-manager.io" in res.stdout, res.stdout[-3000:]
    assert writes(k8s) == [], "cert-manager is checked before the namespaces are written"
