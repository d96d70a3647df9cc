"""The fake Kubernetes API (tests/support/fake_kubernetes.py) against clients nobody here wrote:
the official ``kubernetes`` client (dynamic client, as kubernetes.core uses it) and Debian's
``kubectl``; the FKO examples written by the operator's authors; and the fake operator's
lifecycle, with each failure it can inject."""
from __future__ import annotations

import copy
import shutil
import subprocess
import time

import pytest
import yaml
from kubernetes import client as k8s_client
from kubernetes import dynamic
from kubernetes.dynamic.exceptions import ConflictError, NotFoundError, UnprocessibleEntityError

from tests.support.fake_kubernetes import FLINK_API, FakeKubernetes, specs_dir

EXAMPLES = specs_dir() / "examples"
FLINK_KINDS = ("FlinkDeployment", "FlinkSessionJob", "FlinkStateSnapshot", "FlinkBlueGreenDeployment")


def example_documents():
    """Every flink.apache.org document of every example file, with its file."""
    out = []
    for path in sorted(EXAMPLES.rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and doc.get("apiVersion") == FLINK_API and doc.get("kind") in FLINK_KINDS:
                out.append((path.relative_to(EXAMPLES), doc))
    return out


def dyn(fake):
    conf = k8s_client.Configuration()
    conf.host = fake.url
    return dynamic.DynamicClient(k8s_client.ApiClient(conf))


def when(read, predicate):
    """A probe for ``wait``: what ``read()`` returns once ``predicate`` holds for it, else None."""
    def probe():
        obj = read()
        return obj if obj is not None and predicate(obj) else None
    return probe


def wait(predicate, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not reached in %ss" % timeout)


DEPLOYMENT = {
    "apiVersion": FLINK_API, "kind": "FlinkDeployment",
    "metadata": {"name": "counter"},
    "spec": {"image": "flink:1.20", "flinkVersion": "v1_20", "serviceAccount": "flink",
             "flinkConfiguration": {"state.savepoints.dir": "s3://state/savepoints"},
             "jobManager": {"resource": {"memory": "1024m", "cpu": 1}},
             "taskManager": {"resource": {"memory": "1024m", "cpu": 1}},
             "job": {"jarURI": "local:///opt/flink/usrlib/job.jar", "parallelism": 2, "upgradeMode": "savepoint",
                     "state": "running"}}}


@pytest.fixture
def fake():
    with FakeKubernetes(step_delay=0.05, stable_delay=0.1, savepoint_delay=0.05) as api:
        yield api


@pytest.fixture
def still():
    with FakeKubernetes(operator=False) as api:
        yield api


def test_accepts_every_example_of_the_operator_authors_and_rejects_a_broken_copy(still):
    docs = example_documents()
    assert len(docs) >= 35, docs
    client = dyn(still)
    namespaces = client.resources.get(api_version="v1", kind="Namespace")
    for index, (path, doc) in enumerate(docs):
        res = client.resources.get(api_version=FLINK_API, kind=doc["kind"])
        body = copy.deepcopy(doc)
        body["metadata"]["name"] = "ex-%d" % index  # several examples share a name
        namespace = body["metadata"].get("namespace") or "default"
        if still.get("namespaces", None, namespace, api_version="v1") is None:
            namespaces.create(body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        created = res.create(body=body, namespace=namespace)
        assert created.metadata.uid and created.metadata.generation == 1, path
    broken = copy.deepcopy(next(d for p, d in docs if str(p) == "examples/basic.yaml"))
    broken["spec"]["job"]["upgradeMode"] = "sometimes"
    broken["metadata"]["name"] = "broken"
    with pytest.raises(UnprocessibleEntityError) as err:
        client.resources.get(api_version=FLINK_API, kind="FlinkDeployment").create(body=broken, namespace="default")
    assert "spec.job.upgradeMode" in str(err.value.body) and "sometimes" in str(err.value.body)
    assert still.get("flinkdeployments", "default", "broken") is None


def test_resource_version_generation_status_and_dry_run(still):
    client = dyn(still)
    res = client.resources.get(api_version=FLINK_API, kind="FlinkDeployment")
    created = res.create(body=DEPLOYMENT, namespace="default").to_dict()
    rv = created["metadata"]["resourceVersion"]
    # a write to status through the object is ignored; generation moves only with the spec
    labelled = res.patch(body={"metadata": {"labels": {"a": "b"}}, "status": {"lifecycleState": "STABLE"}},
                         name="counter", namespace="default", content_type="application/merge-patch+json").to_dict()
    assert labelled["metadata"]["generation"] == 1 and "status" not in labelled
    assert labelled["metadata"]["resourceVersion"] != rv
    changed = res.patch(body={"spec": {"job": {"parallelism": 3}}}, name="counter", namespace="default",
                        content_type="application/merge-patch+json").to_dict()
    assert changed["metadata"]["generation"] == 2
    # stale resourceVersion: 409
    stale = copy.deepcopy(created)
    stale["spec"]["job"]["parallelism"] = 5
    with pytest.raises(ConflictError):
        res.replace(body=stale, namespace="default")
    # a strategic merge patch of a custom resource: 415, as on a real server
    with pytest.raises(Exception) as err:
        res.patch(body={"spec": {"job": {"parallelism": 4}}}, name="counter", namespace="default",
                  content_type="application/strategic-merge-patch+json")
    assert getattr(err.value, "status", None) == 415
    # dryRun=All validates and changes nothing
    dry = res.patch(body={"spec": {"job": {"parallelism": 7}}}, name="counter", namespace="default",
                    content_type="application/merge-patch+json", dry_run="All").to_dict()
    assert dry["spec"]["job"]["parallelism"] == 7
    assert still.get("flinkdeployments", "default", "counter")["spec"]["job"]["parallelism"] == 3
    with pytest.raises(UnprocessibleEntityError):
        res.patch(body={"spec": {"job": {"parallelism": "many"}}}, name="counter", namespace="default",
                  content_type="application/merge-patch+json", dry_run="All")
    # the status subresource changes status only
    current = res.get(name="counter", namespace="default").to_dict()
    res.status.patch(body={"status": {"lifecycleState": "STABLE"}, "spec": {"image": "other"}}, name="counter",
                     namespace="default", content_type="application/merge-patch+json")
    after = still.get("flinkdeployments", "default", "counter")
    assert after["status"]["lifecycleState"] == "STABLE" and after["spec"]["image"] == "flink:1.20"
    assert after["metadata"]["generation"] == current["metadata"]["generation"]
    # JSON patch, list with a label selector, delete, 404
    res.patch(body=[{"op": "replace", "path": "/spec/job/parallelism", "value": 4}], name="counter",
              namespace="default", content_type="application/json-patch+json")
    assert still.get("flinkdeployments", "default", "counter")["spec"]["job"]["parallelism"] == 4
    assert [i.metadata.name for i in res.get(namespace="default", label_selector="a=b").items] == ["counter"]
    assert res.get(namespace="default", label_selector="a=c").items == []
    res.delete(name="counter", namespace="default")
    with pytest.raises(NotFoundError):
        res.get(name="counter", namespace="default")
    # namespaces are real objects: a resource in a missing namespace is refused
    ns = client.resources.get(api_version="v1", kind="Namespace")
    ns.create(body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "flink"}})
    with pytest.raises(NotFoundError):
        res.create(body=DEPLOYMENT, namespace="nowhere")


def test_operator_deploys_upgrades_with_a_savepoint_and_restores_from_it(fake):
    client = dyn(fake)
    res = client.resources.get(api_version=FLINK_API, kind="FlinkDeployment")
    res.create(body=DEPLOYMENT, namespace="default")
    seen = set()

    def stable():
        fd = fake.get("flinkdeployments", "default", "counter")
        seen.add((fd.get("status") or {}).get("lifecycleState"))
        st = fd.get("status") or {}
        return fd if st.get("lifecycleState") == "STABLE" and st["jobStatus"]["state"] == "RUNNING" else None
    first = wait(stable)
    assert {"CREATED", "DEPLOYED", "STABLE"} <= seen
    assert first["status"]["observedGeneration"] == 1
    res.patch(body={"spec": {"image": "flink:1.20-b"}}, name="counter", namespace="default",
              content_type="application/merge-patch+json")
    seen.clear()
    upgraded = wait(lambda: (stable() or {}).get("status", {}).get("observedGeneration") == 2 and stable())
    assert "UPGRADING" in seen
    js = upgraded["status"]["jobStatus"]
    path = js["savepointInfo"]["lastSavepoint"]["location"]
    assert path.startswith("s3://state/savepoints/savepoint-") and js["upgradeSavepointPath"] == path
    assert js["jobId"] != first["status"]["jobStatus"]["jobId"]
    snaps = fake.items("flinkstatesnapshots", "default")
    assert [s["status"]["path"] for s in snaps] == [path] and snaps[0]["status"]["state"] == "COMPLETED"
    assert '"flink:1.20-b"' in upgraded["status"]["reconciliationStatus"]["lastReconciledSpec"]


def test_injected_failures_unstable_snapshot_failed_operator_restart(fake):
    client = dyn(fake)
    res = client.resources.get(api_version=FLINK_API, kind="FlinkDeployment")
    res.create(body=DEPLOYMENT, namespace="default")
    wait(lambda: (fake.get("flinkdeployments", "default", "counter").get("status") or {}).get("lifecycleState")
         == "STABLE")
    # the operator restarts right after the upgrade savepoint and continues from the status
    fake.inject("operator_restart", down=0.5)
    res.patch(body={"spec": {"image": "flink:1.20-c"}}, name="counter", namespace="default",
              content_type="application/merge-patch+json")
    fd = wait(when(lambda: fake.get("flinkdeployments", "default", "counter"),
                   lambda o: (o.get("status") or {}).get("observedGeneration") == 2
                   and o["status"]["lifecycleState"] == "STABLE"))
    assert fake.operator.restarts == 1
    assert fd["status"]["jobStatus"]["upgradeSavepointPath"] == \
        fd["status"]["jobStatus"]["savepointInfo"]["lastSavepoint"]["location"]
    # a spec that never becomes STABLE: the job keeps RESTARTING
    fake.inject("unstable", image="broken")
    res.patch(body={"spec": {"image": "flink:broken"}}, name="counter", namespace="default",
              content_type="application/merge-patch+json")
    states = set()
    deadline = time.time() + 2
    while time.time() < deadline:
        st = fake.get("flinkdeployments", "default", "counter")["status"]
        if st["observedGeneration"] == 3:
            states.add((st["lifecycleState"], st["jobStatus"]["state"]))
        time.sleep(0.02)
    assert ("DEPLOYED", "RESTARTING") in states and ("DEPLOYED", "RUNNING") in states, states
    assert not [s for s in states if s[0] == "STABLE"], states
    # a snapshot that FAILS
    fake.inject("snapshot_fails", name="bad-")
    snaps = client.resources.get(api_version=FLINK_API, kind="FlinkStateSnapshot")
    # a job that does not run takes no savepoint: back to the good spec from the last one, as a rollback does
    # (the fake operator has no HA metadata, so no last-state fallback)
    last = fake.get("flinkdeployments", "default", "counter")["status"]["jobStatus"]["upgradeSavepointPath"]
    back = {"image": "flink:1.20-c", "job": {"initialSavepointPath": last, "savepointRedeployNonce": 1}}
    res.patch(body={"spec": back}, name="counter", namespace="default",
              content_type="application/merge-patch+json")
    wait(when(lambda: fake.get("flinkdeployments", "default", "counter"),
              lambda o: o["status"]["observedGeneration"] == 4 and o["status"]["lifecycleState"] == "STABLE"),
         timeout=15)
    for name in ("bad-one", "good-one"):
        snaps.create(namespace="default", body={
            "apiVersion": FLINK_API, "kind": "FlinkStateSnapshot", "metadata": {"name": name},
            "spec": {"backoffLimit": 0, "jobReference": {"kind": "FlinkDeployment", "name": "counter"},
                     "savepoint": {"formatType": "CANONICAL"}}})
    finished = ("FAILED", "COMPLETED")
    bad = wait(when(lambda: fake.get("flinkstatesnapshots", "default", "bad-one"),
                    lambda o: (o.get("status") or {}).get("state") in finished))
    assert bad["status"]["state"] == "FAILED" and "CheckpointException" in bad["status"]["error"]
    good = wait(when(lambda: fake.get("flinkstatesnapshots", "default", "good-one"),
                     lambda o: (o.get("status") or {}).get("state") in finished), timeout=15)
    assert good["status"]["state"] == "COMPLETED" and good["status"]["path"].startswith("s3://state/savepoints/")


def test_kubectl_applies_gets_and_deletes_an_example(still, tmp_path):
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl (Debian kubernetes-client) is installed by tests/support/bootstrap.sh"
    config = still.kubeconfig(tmp_path / "kubeconfig")
    env = {"KUBECONFIG": str(config), "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}

    def run(*args):
        return subprocess.run([kubectl, *args], env=env, capture_output=True, text=True, timeout=60, check=False)
    example = EXAMPLES / "examples" / "basic.yaml"
    applied = run("apply", "--validate=false", "-f", str(example))
    assert applied.returncode == 0, applied.stderr
    assert still.get("flinkdeployments", "default", "basic-example")["spec"]["job"]["upgradeMode"] == "stateless"
    again = run("apply", "--validate=false", "-f", str(example))
    assert again.returncode == 0 and "unchanged" in again.stdout, again.stdout + again.stderr
    got = run("get", "flinkdeployment", "basic-example", "-o", "yaml")
    assert got.returncode == 0 and yaml.safe_load(got.stdout)["metadata"]["name"] == "basic-example", got.stderr
    listed = run("get", "flinkdep")
    assert listed.returncode == 0 and "basic-example" in listed.stdout, listed.stderr
    broken = tmp_path / "broken.yaml"
    doc = yaml.safe_load(example.read_text())
    doc["metadata"]["name"] = "broken"
    doc["spec"]["job"]["parallelism"] = "two"
    broken.write_text(yaml.safe_dump(doc))
    refused = run("apply", "--validate=false", "-f", str(broken))
    assert refused.returncode != 0 and "spec.job.parallelism" in refused.stderr, refused.stderr
    deleted = run("delete", "--wait=false", "-f", str(example))
    assert deleted.returncode == 0, deleted.stderr
    assert still.get("flinkdeployments", "default", "basic-example") is None


def test_built_in_objects_are_validated_against_the_kubernetes_schemas(still):
    """RBAC and CRDs are served for the roles; a built-in object that breaks its Kubernetes OpenAPI schema
    (kubernetes-validate, strict) is refused with 422 naming the field, as the real API server refuses it."""
    api = dyn(still)
    roles = api.resources.get(api_version="rbac.authorization.k8s.io/v1", kind="Role")
    good = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "flink"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]}
    assert roles.create(body=good, namespace="default").metadata.name == "flink"
    broken = copy.deepcopy(good)
    broken["metadata"]["name"] = "broken"
    broken["rules"][0]["verbs"] = "get"
    with pytest.raises(UnprocessibleEntityError) as refused:
        roles.create(body=broken, namespace="default")
    assert "rules.0.verbs" in str(refused.value.body) and still.get(
        "roles", "default", "broken", api_version="rbac.authorization.k8s.io/v1") is None
    unknown = dict(copy.deepcopy(good), metadata={"name": "unknown"}, rulez=[])
    with pytest.raises(UnprocessibleEntityError):
        roles.create(body=unknown, namespace="default")
    crds = api.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition")
    crd = yaml.safe_load((specs_dir() / "flinkdeployments.flink.apache.org-v1.yml").read_text())
    assert crds.create(body=crd).metadata.name == "flinkdeployments.flink.apache.org"
    assert still.get("customresourcedefinitions", None, crd["metadata"]["name"], api_version="apiextensions.k8s.io/v1")
