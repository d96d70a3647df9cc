"""roles/flink_operator against the fake Kubernetes API and the real FKO chart
(``../shared/specs/fko/helm/flink-kubernetes-operator``) with a real ``helm`` (3.17, from the PyPI
wheel tests/support/bootstrap.sh unpacks).

The fake serves no OpenAPI documents, so ``helm install`` cannot run against it (it stops at "failed
to download openapi"): the install task runs in check mode, where kubernetes.core.helm asks the fake
for the release (``helm list``) and plans the install. The CRDs, which the role applies before the
chart, are applied for real. The values the role passes to Helm are rendered with ``helm template``
and ``helm lint``, and every rendered object is validated: built-in kinds against the Kubernetes
OpenAPI schemas (kubernetes-validate, strict).
"""
from __future__ import annotations

import base64
import gzip
import json
import os
import subprocess
import sys

import kubernetes_validate
import pytest
import yaml

from tests.integration.ansible_run import REPO, ansible_env
from tests.support.fake_kubernetes import FakeKubernetes, specs_dir

pytestmark = [pytest.mark.integration]

HELM = os.path.join(os.path.dirname(sys.executable), "helm")
CHART = specs_dir() / "helm" / "flink-kubernetes-operator"
CRDS = ("flinkbluegreendeployments", "flinkdeployments", "flinksessionjobs", "flinkstatesnapshots")


@pytest.fixture
def k8s(tmp_path):
    with FakeKubernetes(operator=False) as fake:
        fake.kubeconfig_path = fake.kubeconfig(tmp_path / "kubeconfig")
        yield fake


def role_play(k8s, tmp_path, check, **extra):
    assert os.access(HELM, os.X_OK), "helm is unpacked into the venv by tests/support/bootstrap.sh"
    play = tmp_path / "play.yml"
    play.write_text("- hosts: fko_local\n  gather_facts: false\n  roles:\n    - flinkops.cookbook.flink_operator\n")
    extra_vars = dict({"flink_operator_chart_path": str(CHART), "flink_operator_chart_version": "1.15.0",
                       "flink_operator_helm_binary": HELM}, **extra)
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), str(play),
           "-i", str(REPO / "inventories" / "hosts.yml"), "-e", json.dumps(extra_vars)]
    if check:
        cmd += ["--check", "--diff"]
    env = ansible_env(dict({"FLINKOPS_FKO_KUBECONFIG": str(k8s.kubeconfig_path)}))
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)
    return proc, json.loads(proc.stdout) if proc.stdout.startswith("{") else None


def task_results(out, name):
    return [t["hosts"]["local-fko"] for play in out["plays"] for t in play["tasks"]
            if t["task"]["name"].split(" : ", 1)[-1] == name]


def test_check_mode_plans_the_install_and_writes_nothing_then_the_crds_go_first(k8s, tmp_path):
    proc, out = role_play(k8s, tmp_path, check=True)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    writes = [(m, p, q) for (m, p, q) in k8s.requests if m in ("POST", "PUT", "PATCH", "DELETE")]
    assert writes and all(q.get("dryRun") == "All" for (_m, _p, q) in writes), "check mode: dry runs only"
    assert not k8s.items("customresourcedefinitions", None, api_version="apiextensions.k8s.io/v1")
    (install,) = task_results(out, "Release | install or upgrade the operator (CRDs skipped, applied above)")
    assert install["changed"] and "upgrade" in install["command"] and "--skip-crds" in install["command"]
    assert "secrets" in " ".join(p for (_m, p, _q) in k8s.requests), "helm asked the fake for its releases"
    values = install["invocation"]["module_args"]["values"]
    assert values["watchNamespaces"] == ["flinkops-local"]
    assert values["jobServiceAccount"]["create"] is False and values["rbac"]["jobRole"]["create"] is False
    assert "kubernetes.operator.savepoint.history.max.count: 10" in values["defaultConfiguration"]["flink-conf.yaml"]


def test_the_crds_are_applied_for_real_and_a_second_run_changes_nothing(k8s, tmp_path):
    """flink_operator_install=false applies only the CRDs, as before a chart upgrade someone else runs;
    here it is also how the CRD step runs for real, since the fake cannot serve helm install."""
    proc, out = role_play(k8s, tmp_path, check=False, flink_operator_install=False)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    crds = k8s.items("customresourcedefinitions", None, api_version="apiextensions.k8s.io/v1")
    assert sorted(c["metadata"]["name"] for c in crds) == ["%s.flink.apache.org" % n for n in CRDS]
    revision = k8s.revision
    proc, out = role_play(k8s, tmp_path, check=False, flink_operator_install=False)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    assert k8s.revision == revision, "the second apply changed nothing"
    assert not [r for r in task_results(out, "CRDs | applied before the chart (Helm installs crds/ once and never "
                                             "upgrades them)")[0]["results"] if r["changed"]]


def test_bad_input_fails_naming_it_and_sends_nothing(k8s, tmp_path):
    proc, _out = role_play(k8s, tmp_path, check=False, flink_operator_chart_version="latest")
    assert proc.returncode != 0 and 'flink_operator_chart_version must pin a chart version (x.y.z), got \\"latest\\"' \
        in proc.stdout, proc.stdout[-3000:]
    assert k8s.requests == []


def test_check_mode_from_the_repository_pulls_nothing_and_writes_nothing(k8s, tmp_path):
    """A chart from the repository is not pulled in check mode (the work directory stays absent); the
    run says what would be pulled and installed."""
    work = tmp_path / "work"
    proc, out = role_play(k8s, tmp_path, check=True, flink_operator_chart_path="", flink_operator_work_dir=str(work))
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    (said,) = task_results(out, "Check mode | the chart is not on the controller yet, so nothing is planned from it")
    assert "flink-kubernetes-operator 1.15.0 would be pulled from https://downloads.apache.org/flink/" in said["msg"]
    assert not work.exists() and not [m for (m, _p, _q) in k8s.requests if m != "GET"]


def test_the_webhook_needs_cert_manager(k8s, tmp_path):
    proc, _out = role_play(k8s, tmp_path, check=True, flink_operator_webhook=True)
    assert proc.returncode != 0 and "the cluster has no cert-manager" in proc.stdout, proc.stdout[-3000:]
    assert not [m for (m, _p, _q) in k8s.requests if m != "GET"], "nothing was sent but reads"
    # with cert-manager's Certificate CRD in the cluster, the install with the webhook is planned
    certificate_crd = {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "certificates.cert-manager.io"},
        "spec": {"group": "cert-manager.io", "scope": "Namespaced",
                 "names": {"plural": "certificates", "singular": "certificate", "kind": "Certificate"},
                 "versions": [{"name": "v1", "served": True, "storage": True,
                               "schema": {"openAPIV3Schema": {"type": "object"}}}]}}
    status, _body = k8s.handle("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                               json.dumps(certificate_crd).encode(), {"Content-Type": "application/json"})
    assert status == 201
    proc, out = role_play(k8s, tmp_path, check=True, flink_operator_webhook=True)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    (install,) = task_results(out, "Release | install or upgrade the operator (CRDs skipped, applied above)")
    assert install["invocation"]["module_args"]["values"]["webhook"]["create"] is True


def test_the_values_render_and_lint_with_the_real_chart_and_every_object_validates(k8s, tmp_path):
    proc, out = role_play(k8s, tmp_path, check=True)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    (install,) = task_results(out, "Release | install or upgrade the operator (CRDs skipped, applied above)")
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump(install["invocation"]["module_args"]["values"]))
    lint = subprocess.run([HELM, "lint", str(CHART), "-f", str(values)], capture_output=True, text=True, check=False)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    rendered = subprocess.run([HELM, "template", "flink-kubernetes-operator", str(CHART), "-n", "flink-operator",
                               "--skip-crds", "-f", str(values)], capture_output=True, text=True, check=False)
    assert rendered.returncode == 0, rendered.stderr
    docs = [d for d in yaml.safe_load_all(rendered.stdout) if d]
    kinds = sorted({d["kind"] for d in docs})
    assert "Deployment" in kinds and "ConfigMap" in kinds, kinds
    for doc in docs:
        kubernetes_validate.validate(doc, "1.30", strict=True)
    # the job RBAC is left to roles/flink_namespace: one owner per object
    assert not [d for d in docs if d["kind"] == "ServiceAccount" and d["metadata"]["name"] == "flink"]
    config = [d for d in docs if d["kind"] == "ConfigMap" and "flink-conf.yaml" in (d.get("data") or {})][0]
    assert "kubernetes.operator.watched.namespaces: flinkops-local" in config["data"]["flink-conf.yaml"]


def helm_release_secret(namespace, name, values, version=1):
    """A release as helm 3 stores it (driver "secret"): Secret sh.helm.release.v1.<name>.v<version>, its
    data.release the base64 of the gzipped release JSON (the API adds its own base64 on top)."""
    release = {"name": name, "namespace": namespace, "version": version, "config": values, "manifest": "",
               "info": {"first_deployed": "2026-11-01T00:00:00Z", "last_deployed": "2026-11-01T00:00:00Z",
                        "deleted": "", "description": "Install complete", "status": "deployed"},
               "chart": {"metadata": {"apiVersion": "v2", "name": "flink-kubernetes-operator", "version": "1.15.0",
                                      "appVersion": "1.15.0"}, "templates": [], "values": {}}}
    encoded = base64.b64encode(gzip.compress(json.dumps(release).encode()))
    return {"apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
            "metadata": {"name": "sh.helm.release.v1.%s.v%d" % (name, version), "namespace": namespace,
                         "labels": {"name": name, "owner": "helm", "status": "deployed", "version": str(version)}},
            "data": {"release": base64.b64encode(encoded).decode()}}


def test_a_change_of_watched_namespaces_restarts_the_operator_pod_and_none_does_not(k8s, tmp_path):
    """The release as installed (its values in helm's release secret, the chart's own Deployment from
    helm template) watching flinkops-local: the same namespaces plan no restart; one more plans the
    pod-template annotation that rolls the operator pod (a dry run here, check mode)."""
    proc, out = role_play(k8s, tmp_path, check=True)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    (install,) = task_results(out, "Release | install or upgrade the operator (CRDs skipped, applied above)")
    values = install["invocation"]["module_args"]["values"]
    (tmp_path / "values.yaml").write_text(yaml.safe_dump(values))
    rendered = subprocess.run([HELM, "template", "flink-kubernetes-operator", str(CHART), "-n", "flink-operator",
                               "--skip-crds", "-f", str(tmp_path / "values.yaml")], capture_output=True, text=True,
                              check=False)
    assert rendered.returncode == 0, rendered.stderr
    (operator,) = [d for d in yaml.safe_load_all(rendered.stdout) if d and d["kind"] == "Deployment"]
    k8s.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "flink-operator"}})
    k8s.seed(operator, namespace="flink-operator")
    k8s.seed(helm_release_secret("flink-operator", "flink-kubernetes-operator", values), namespace="flink-operator")
    restart = "Operator | restart the pod when the watched namespaces changed (the operator reads them at start)"
    deployment_path = "/apis/apps/v1/namespaces/flink-operator/deployments/%s" % operator["metadata"]["name"]

    k8s.requests.clear()
    proc, out = role_play(k8s, tmp_path, check=True)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    (same,) = task_results(out, restart)
    assert same.get("skipped"), same
    assert not [p for (m, p, _q) in k8s.requests if m == "PATCH" and p == deployment_path]

    k8s.requests.clear()
    proc, out = role_play(k8s, tmp_path, check=True, flink_operator_watch_namespaces=["flinkops-local", "team-b"])
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    (changed,) = task_results(out, restart)
    assert changed["changed"], changed
    assert changed["result"]["spec"]["template"]["metadata"]["annotations"]["flinkops.io/watch-namespaces"] \
        == "flinkops-local,team-b"
    patches = [q for (m, p, q) in k8s.requests if m == "PATCH" and p == deployment_path]
    assert patches and all(q.get("dryRun") == "All" for q in patches), "check mode: a dry run only"
    assert "flinkops.io/watch-namespaces" not in (
        k8s.get("deployments", "flink-operator", operator["metadata"]["name"], api_version="apps/v1")["spec"]["template"]
        ["metadata"].get("annotations") or {})
