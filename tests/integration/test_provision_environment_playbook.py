"""provision_environment.yml -l fko_local against the fake Kubernetes API and its fake operator, in the
recipe's order: namespaces and job RBAC, the operator (its CRDs), the smoke test, which must become
STABLE and RUNNING and is removed. The fake cannot serve ``helm install`` (no OpenAPI documents), so
the real runs pass flink_operator_install=false and the install is planned in the check-mode run.
"""
from __future__ import annotations

import os
import sys

import pytest

from tests.integration.ansible_run import run_playbook
from tests.support.fake_kubernetes import FakeKubernetes, specs_dir

pytestmark = [pytest.mark.integration]

CHART = specs_dir() / "helm" / "flink-kubernetes-operator"
HELM = os.path.join(os.path.dirname(sys.executable), "helm")


@pytest.fixture
def k8s(tmp_path):
    with FakeKubernetes(step_delay=0.1, stable_delay=0.2, savepoint_delay=0.1) as fake:
        fake.kubeconfig_path = fake.kubeconfig(tmp_path / "kubeconfig")
        yield fake


def play(k8s, check=False, **extra):
    env = {"FLINKOPS_FKO_KUBECONFIG": str(k8s.kubeconfig_path), "FLINKOPS_FKO_CHART": str(CHART),
           "FLINKOPS_HELM": HELM, "FLINKOPS_FKO_STABLE_SECONDS": "1", "FLINKOPS_FKO_START_TIMEOUT": "30"}
    return run_playbook("provision_environment.yml", "fko_local", extra_vars=extra, extra_env=env, check=check,
                        diff=check, timeout=600)


def test_check_mode_then_bring_up_in_order_then_nothing_to_do(k8s):
    check = play(k8s, check=True)
    assert check.rc == 0, check.stdout[-3000:]
    assert not [q for (m, _p, q) in k8s.requests if m in ("POST", "PUT", "PATCH", "DELETE") and q.get("dryRun") != "All"]

    first = play(k8s, flink_operator_install=False)
    assert first.rc == 0, first.stdout[-3000:]
    writes = [(m, p) for (m, p, q) in k8s.requests if m in ("POST", "PATCH", "PUT", "DELETE") and q.get("dryRun") != "All"]
    order = [p for m, p in writes if m in ("POST", "PATCH")]
    first_ns = next(i for i, p in enumerate(order) if p == "/api/v1/namespaces")
    first_crd = next(i for i, p in enumerate(order) if "customresourcedefinitions" in p)
    first_fd = next(i for i, p in enumerate(order) if p.endswith("/flinkdeployments"))
    assert first_ns < first_crd < first_fd, "namespaces, then the operator's CRDs, then the smoke test"
    assert ("DELETE", "/apis/flink.apache.org/v1beta1/namespaces/flinkops-local/flinkdeployments/flinkops-smoke-test") \
        in writes, "the smoke test was removed"
    assert k8s.get("flinkdeployments", "flinkops-local", "flinkops-smoke-test") is None
    assert k8s.get("rolebindings", "flinkops-local", "flink-role-binding", api_version="rbac.authorization.k8s.io/v1")

    revision = k8s.revision
    again = play(k8s, flink_operator_install=False)
    assert again.rc == 0 and again.changed_count() == 0, again
    assert k8s.revision == revision, "a second run writes nothing: no smoke test when nothing changed"


def test_a_platform_without_the_recipe_is_refused_naming_it():
    res = run_playbook("provision_environment.yml", "local", timeout=300)
    assert res.rc != 0
    assert "recipe provision_environment is not implemented for platform flink" in res.stdout, res.stdout[-3000:]
    assert "It is implemented for: fko" in res.stdout
