"""cmf_compute_pool, cmf_catalog, cmf_secret, cmf_statement and cmf_info through real
``ansible-playbook`` runs against the contract-checked fake CMF (no Flink needed).

Each module: check mode writes nothing, a first run converges, a second run changes nothing
(and sends no write), and an injected failure is reported clearly and changes nothing else.
"""
from __future__ import annotations

import pytest

from tests.integration.ansible_run import run_tasks
from tests.support.fake_cmf import FakeCMF, spec_path

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not spec_path("2.3").is_file(), reason="the shared CMF specs are not checked out")]

GROUP = "group/flinkops.cookbook.cmf"
ENV = "sql-env"
SQL = "INSERT INTO orders_enriched SELECT * FROM orders"


def run(cmf, tasks, **kw):
    return run_tasks(tasks, cmf.url, module_group=GROUP, **kw)


def t(task_name, module, **args):
    return {"name": task_name, "flinkops.cookbook." + module: args}


ENV_TASK = t("environment", "cmf_environment", name=ENV, kubernetes_namespace="flink-sql")
POOL_TASK = t("pool", "cmf_compute_pool", environment=ENV, name="pool",
              cluster_spec={"flinkVersion": "v1_19", "image": "confluentinc/cp-flink-sql:1.19-cp1",
                            "flinkConfiguration": {"execution.checkpointing.interval": "10s",
                                                   "pipeline.operator-chaining.enabled": False},
                            "taskManager": {"resource": {"cpu": 1.0, "memory": "1024m"}}})
SECRET_TASK = t("secret", "cmf_secret", name="kafka-creds", data={"sasl.jaas.config": "s3cr3t-v1"},
                mappings=[{"environment": ENV, "name": "kafka-main"}])
CATALOG_TASK = t("catalog", "cmf_catalog", name="kafka-cat",
                 schema_registry={"connection_config": {"schema.registry.url": "http://sr:8081"}},
                 databases=[{"name": "main", "connection_config": {"bootstrap.servers": "kafka:9092"},
                             "connection_secret_id": "kafka-main", "ddl_environments": [ENV]}])
STMT_TASK = t("statement", "cmf_statement", environment=ENV, name="orders", statement=SQL, compute_pool="pool",
              parallelism=2, properties={"sql.current-catalog": "kafka-cat"}, wait_timeout=20)


@pytest.fixture
def cmf():
    with FakeCMF(start_delay=0.3) as fake:
        fake.add_k8s_cluster("k8s-eu-1")
        yield fake


def test_check_mode_create_and_second_run(cmf):
    tasks = [ENV_TASK, POOL_TASK, SECRET_TASK, CATALOG_TASK, STMT_TASK,
             t("info", "cmf_info", gather=["system", "kubernetes_clusters", "resources", "environments", "catalogs",
                                           "secrets"])]
    checked = run(cmf, tasks[:2], check=True, diff=True)
    assert checked.rc == 0, checked.stderr[-2000:]
    assert checked.task("pool")["changed"] and cmf.writes() == []

    first = run(cmf, tasks, diff=True)
    assert first.rc == 0, first.stdout[-3000:]
    assert first.task("pool")["outcome"] == "created" and first.task("pool")["phase"] == "RUNNING"
    assert cmf.pools[(ENV, "pool")]["spec"]["clusterSpec"]["flinkConfiguration"][
        "pipeline.operator-chaining.enabled"] == "false"
    assert cmf.secret_data("kafka-creds") == {"sasl.jaas.config": "s3cr3t-v1"}
    assert "s3cr3t-v1" not in first.stdout  # never logged nor returned
    assert first.task("secret")["mappings"] == [{"environment": ENV, "name": "kafka-main", "outcome": "created"}]
    assert [d["metadata"]["name"] for d in first.task("catalog")["databases"]] == ["main"]
    stmt = first.task("statement")
    assert stmt["outcome"] == "created" and stmt["phase"] == "RUNNING" and "PENDING" in " ".join(stmt["progress"])
    info = first.task("info")
    assert info["version"] == "2.3.1" and info["unsupported"] == []
    assert info["kubernetes_clusters"][0]["name"] == "k8s-eu-1" and info["kubernetes_clusters"][0]["state"] == "CONNECTED"
    assert info["resources"]["resources"]["computePools"] == 1
    assert info["environments"][0]["statements"] == [{"name": "orders", "phase": "RUNNING", "compute_pool": "pool"}]
    assert info["environments"][0]["secret_mappings"] == ["kafka-main"]
    assert info["catalogs"] == [{"name": "kafka-cat", "databases": ["main"]}]
    assert info["secrets"] == [{"name": "kafka-creds", "version": "1", "environments": [ENV]}]

    writes = len(cmf.writes())
    second = run(cmf, tasks)
    assert second.rc == 0, second.stdout[-3000:]
    assert second.changed_count() == 0, second
    assert len(cmf.writes()) == writes

    # updates in check mode: reported, not written
    pool2 = t("pool", "cmf_compute_pool", environment=ENV, name="pool",
              cluster_spec={"taskManager": {"resource": {"cpu": 2.0}}})
    upd = run(cmf, [pool2], check=True, diff=True)
    assert upd.rc == 0 and upd.task("pool")["differences"] == ["clusterSpec.taskManager.resource.cpu"]
    assert len(cmf.writes()) == writes
    upd = run(cmf, [pool2])
    assert upd.rc == 0 and upd.task("pool")["outcome"] == "updated"
    tm = cmf.pools[(ENV, "pool")]["spec"]["clusterSpec"]["taskManager"]["resource"]
    assert tm == {"cpu": 2.0, "memory": "1024m"}  # merged, not replaced


def test_secret_values_are_written_only_with_update_secrets(cmf):
    assert run(cmf, [ENV_TASK, SECRET_TASK]).rc == 0
    rotated = dict(SECRET_TASK["flinkops.cookbook.cmf_secret"], data={"sasl.jaas.config": "s3cr3t-v2"})
    same = run(cmf, [{"name": "secret", "flinkops.cookbook.cmf_secret": rotated}])
    assert same.rc == 0 and same.task("secret")["changed"] is False
    assert cmf.secret_data("kafka-creds") == {"sasl.jaas.config": "s3cr3t-v1"}
    rotated["update_secrets"] = True
    check = run(cmf, [{"name": "secret", "flinkops.cookbook.cmf_secret": rotated}], check=True)
    assert check.task("secret")["changed"] and cmf.secret_data("kafka-creds") == {"sasl.jaas.config": "s3cr3t-v1"}
    done = run(cmf, [{"name": "secret", "flinkops.cookbook.cmf_secret": rotated}])
    assert done.rc == 0 and done.task("secret")["changed"] and done.task("secret")["version"] == "2"
    assert cmf.secret_data("kafka-creds") == {"sasl.jaas.config": "s3cr3t-v2"}
    assert "s3cr3t-v2" not in done.stdout
    gone = run(cmf, [{"name": "secret", "flinkops.cookbook.cmf_secret": {
        "name": "kafka-creds", "state": "absent", "mappings": [{"environment": ENV, "name": "kafka-main"}]}}])
    assert gone.rc == 0 and gone.task("secret")["outcome"] == "deleted"
    assert cmf.secrets == {} and cmf.mappings == {}


def test_statement_stop_resume_from_savepoint_and_delete(cmf):
    assert run(cmf, [ENV_TASK, POOL_TASK, STMT_TASK]).rc == 0
    stop = dict(STMT_TASK["flinkops.cookbook.cmf_statement"], state="stopped")
    res = run(cmf, [{"name": "stop", "flinkops.cookbook.cmf_statement": stop},
                    {"name": "stop again", "flinkops.cookbook.cmf_statement": stop}])
    assert res.rc == 0, res.stdout[-2000:]
    assert res.task("stop")["outcome"] == "stopped" and res.task("stop")["phase"] == "STOPPED"
    assert res.task("stop again")["changed"] is False
    resume = dict(STMT_TASK["flinkops.cookbook.cmf_statement"], savepoint_path="s3://sp/savepoint-1")
    res = run(cmf, [{"name": "resume", "flinkops.cookbook.cmf_statement": resume}])
    assert res.rc == 0 and res.task("resume")["outcome"] == "resumed" and res.task("resume")["phase"] == "RUNNING"
    assert cmf.statements[(ENV, "orders")]["spec"]["startFromSavepoint"] == {"initialSavepointPath": "s3://sp/savepoint-1"}
    other_sql = dict(STMT_TASK["flinkops.cookbook.cmf_statement"], statement=SQL + " WHERE 1=1")
    res = run(cmf, [{"name": "sql", "flinkops.cookbook.cmf_statement": other_sql}])
    assert res.rc != 0 and "recreate=true" in res.task("sql")["msg"]
    assert cmf.statements[(ENV, "orders")]["spec"]["statement"] == SQL
    res = run(cmf, [{"name": "sql", "flinkops.cookbook.cmf_statement": dict(other_sql, recreate=True)},
                    t("pool in use", "cmf_compute_pool", environment=ENV, name="pool", state="absent")])
    assert res.task("sql")["outcome"] == "recreated"
    assert res.rc != 0 and "used by statements" in res.task("pool in use")["msg"]
    assert (ENV, "pool") in cmf.pools
    res = run(cmf, [t("del", "cmf_statement", environment=ENV, name="orders", state="absent"),
                    t("del pool", "cmf_compute_pool", environment=ENV, name="pool", state="absent")])
    assert res.rc == 0 and res.task("del")["outcome"] == "deleted" and cmf.pools == {}


def test_failed_statement_reports_its_exceptions(cmf):
    assert run(cmf, [ENV_TASK, POOL_TASK]).rc == 0
    cmf.inject("statement_failed", statement="orders",
               message="org.apache.flink.table.api.ValidationException: Table 'orders' not found\n\tat x.y(Z.java:1)")
    res = run(cmf, [STMT_TASK])
    assert res.rc != 0
    failed = res.task("statement")
    assert "is FAILED" in failed["msg"] and "Table 'orders' not found" in failed["msg"]
    assert failed["exceptions"][0]["message"].startswith("org.apache.flink.table.api.ValidationException")
    # the next run restarts the FAILED statement (stop, then resume)
    res = run(cmf, [STMT_TASK])
    assert res.rc == 0 and res.task("statement")["outcome"] == "resumed" and res.task("statement")["phase"] == "RUNNING"


def test_catalog_conflict_and_purge(cmf):
    cmf.inject("status", status=409, method="POST", path="/catalogs/kafka$")
    res = run(cmf, [CATALOG_TASK])
    assert res.rc != 0 and "HTTP 409" in res.task("catalog")["msg"] and cmf.catalogs == {}
    assert run(cmf, [ENV_TASK, CATALOG_TASK]).rc == 0
    more = dict(CATALOG_TASK["flinkops.cookbook.cmf_catalog"])
    more["databases"] = [{"name": "other", "connection_config": {"bootstrap.servers": "kafka2:9092"}}]
    res = run(cmf, [{"name": "catalog", "flinkops.cookbook.cmf_catalog": more}])
    assert res.rc == 0 and sorted(k[1] for k in cmf.databases) == ["main", "other"]
    more["purge_databases"] = True
    res = run(cmf, [{"name": "catalog", "flinkops.cookbook.cmf_catalog": more}], check=True)
    assert res.task("catalog")["differences"] == ["database main (deleted)"] and len(cmf.databases) == 2
    res = run(cmf, [{"name": "catalog", "flinkops.cookbook.cmf_catalog": more}])
    assert res.rc == 0 and sorted(k[1] for k in cmf.databases) == ["other"]
    res = run(cmf, [t("catalog", "cmf_catalog", name="kafka-cat", state="absent")])
    assert res.rc == 0 and cmf.catalogs == {} and cmf.databases == {}


def test_info_on_cmf_2_1_names_what_it_lacks():
    with FakeCMF(spec_version="2.1") as cmf:
        res = run(cmf, [t("info", "cmf_info")])
    assert res.rc == 0, res.stdout[-2000:]
    info = res.task("info")
    assert info["version"] is None and sorted(info["unsupported"]) == ["kubernetes_clusters", "resources", "system"]
