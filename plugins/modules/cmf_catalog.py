#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cmf_catalog
short_description: A Kafka catalog of Confluent Manager for Apache Flink (CMF) and its databases
version_added: 0.1.0
description:
  - Creates, updates or deletes a CMF KafkaCatalog (a Schema Registry instance whose subjects become tables) and the
    Kafka databases under it (one Kafka cluster each, C(/catalogs/kafka/<name>/databases)).
  - Only the options that are set are compared with what CMF has; server-set fields never count as a difference.
    Connection configurations are dicts of strings, merged key by key.
  - Databases listed in O(databases) are created or converged. A database CMF has that is not listed is left alone,
    unless O(purge_databases=true).
  - O(state=absent) deletes the databases of the catalog, then the catalog.
author:
  - flinkops maintainers (@flinkops)
extends_documentation_fragment:
  - flinkops.cookbook.cmf
options:
  name:
    description: Name of the catalog.
    type: str
    required: true
  state:
    description: Whether the catalog exists.
    type: str
    choices: [present, absent]
    default: present
  schema_registry:
    description: The Schema Registry of the catalog (C(spec.srInstance)). Required to create it.
    type: dict
    suboptions:
      connection_config:
        description: Connection options of the Schema Registry client, for example C(schema.registry.url).
        type: dict
        required: true
      connection_secret_id:
        description: Connection secret id whose environment secret mapping holds the credentials.
        type: str
  databases:
    description: Kafka databases of the catalog.
    type: list
    elements: dict
    suboptions:
      name:
        description: Name of the database (the Kafka cluster's name in SQL).
        type: str
        required: true
      connection_config:
        description: Connection options of the Kafka client, for example C(bootstrap.servers).
        type: dict
        required: true
      connection_secret_id:
        description: Connection secret id whose environment secret mapping holds the credentials.
        type: str
      ddl_environments:
        description: Environments allowed to run DDL statements on the database's tables. Replaces the list CMF has.
        type: list
        elements: str
  purge_databases:
    description: Delete the databases of the catalog that O(databases) does not list.
    type: bool
    default: false
  labels:
    description: Labels of the catalog (C(metadata.labels)), merged key by key.
    type: dict
  annotations:
    description: Annotations of the catalog (C(metadata.annotations)), merged key by key.
    type: dict
attributes:
  check_mode:
    support: full
    description: Reports what would change; writes nothing.
  diff_mode:
    support: full
    description: Shows the catalog and its databases before and after.
notes:
  - Idempotent. A second run with the same options reports C(changed=false).
"""

EXAMPLES = r"""
- name: A Kafka catalog with one database
  flinkops.cookbook.cmf_catalog:
    url: https://cmf.example.com
    name: kafka-cat
    schema_registry:
      connection_config:
        schema.registry.url: http://schemaregistry:8081
    databases:
      - name: main-kafka-cluster
        connection_config:
          bootstrap.servers: kafka:9092
        connection_secret_id: kafka-main
        ddl_environments: [production]
"""

RETURN = r"""
catalog:
  description: The catalog as CMF returns it after the run (null when absent).
  returned: always
  type: dict
databases:
  description: The catalog's databases after the run.
  returned: always
  type: list
  elements: dict
outcome:
  description: What was done to the catalog itself, one of C(none), C(created), C(updated), C(deleted).
  returned: always
  type: str
differences:
  description: The fields that differed, prefixed C(catalog.) or C(database <name>.).
  returned: when changed
  type: list
  elements: str
  sample: ["database main-kafka-cluster.kafkaCluster.connectionConfig.bootstrap.servers"]
"""

from ansible_collections.flinkops.cookbook.plugins.module_utils.cmf_module import CmfModule, argument_spec
from ansible_collections.flinkops.cookbook.plugins.module_utils.cmf_ops import (
    Resource, converge, resource_view, stringify_configuration, sync, user_metadata)
from ansible_collections.flinkops.cookbook.plugins.module_utils.cmf_rest import CmfError


def connection(option):
    out = {"connectionConfig": stringify_configuration(option["connection_config"])}
    if option.get("connection_secret_id"):
        out["connectionSecretId"] = option["connection_secret_id"]
    return out


def catalog_spec(params):
    return {"srInstance": connection(params["schema_registry"])} if params["schema_registry"] else {}


def database_spec(db):
    spec = {"kafkaCluster": connection(db)}
    if db.get("ddl_environments") is not None:
        spec["ddlEnvironments"] = list(db["ddl_environments"])
    return spec


def sync_catalog(cm, catalog, current):
    p = cm.params
    if current is None and not p["schema_registry"]:
        raise CmfError("catalog %s does not exist: schema_registry is required to create it" % p["name"])
    outcome, found, body = sync(cm, catalog, current, catalog_spec(p), user_metadata(p["labels"], p["annotations"]))
    return outcome, ["catalog." + f for f in found], body


def sync_databases(cm, catalog_exists):
    """Converge the listed databases; return (differences, before, after) by database name."""
    p = cm.params
    client = cm.client
    existing = dict((d["metadata"]["name"], d) for d in client.list_databases(p["name"])) if catalog_exists else {}
    found, before, after = [], {}, {}
    for db in p["databases"] or []:
        current = existing.get(db["name"])
        database = Resource("KafkaDatabase", db["name"], "database", None,
                            lambda body: client.create_database(p["name"], body),
                            lambda body, name=db["name"]: client.update_database(p["name"], name, body), None)
        outcome, diff, body = sync(cm, database, current, database_spec(db), {})
        if outcome == "none":
            continue
        found += ["database %s.%s" % (db["name"], f) for f in diff]
        before[db["name"]] = resource_view(current).get("spec")
        after[db["name"]] = body["spec"]
    if p["purge_databases"]:
        wanted = set(db["name"] for db in p["databases"] or [])
        for name in sorted(set(existing) - wanted):
            found.append("database %s (deleted)" % name)
            before[name] = existing[name].get("spec")
            if not cm.check_mode:
                client.delete_database(p["name"], name)
    return found, before, after


def ensure_present(cm, catalog, current):
    p = cm.params
    names = [db["name"] for db in p["databases"] or []]
    if len(set(names)) != len(names):
        raise CmfError("databases: each name may appear once (%s)" % ", ".join(names))
    outcome, found, body = sync_catalog(cm, catalog, current)
    db_found, db_before, db_after = sync_databases(cm, current is not None)
    changed = bool(found or db_found)
    result = {"changed": changed, "outcome": outcome}
    if changed:
        result["differences"] = found + db_found
        result["diff"] = {"before": {"catalog": resource_view(current), "databases": db_before},
                          "after": {"catalog": resource_view(body), "databases": db_after}}
    if cm.check_mode:
        result.update(catalog=body, databases=[])
        if current is not None:
            result["databases"] = cm.client.list_databases(p["name"])
        return result
    result["catalog"] = cm.client.get_catalog(p["name"]) if changed else current
    result["databases"] = cm.client.list_databases(p["name"])
    return result


def ensure_absent(cm, _catalog, current):
    p = cm.params
    if current is None:
        return {"changed": False, "outcome": "none", "catalog": None, "databases": []}
    databases = cm.client.list_databases(p["name"])
    if not cm.check_mode:
        for db in databases:
            cm.client.delete_database(p["name"], db["metadata"]["name"])
        cm.client.delete_catalog(p["name"])
    return {"changed": True, "outcome": "deleted", "catalog": None, "databases": [],
            "differences": ["catalog (deleted)"] + ["database %s (deleted)" % d["metadata"]["name"] for d in databases],
            "diff": {"before": {"catalog": resource_view(current),
                                "databases": dict((d["metadata"]["name"], d.get("spec")) for d in databases)},
                     "after": {}}}


def run(cm):
    client, name = cm.client, cm.params["name"]
    catalog = Resource("KafkaCatalog", name, "catalog", lambda: client.get_catalog(name), client.create_catalog,
                       lambda body: client.update_catalog(name, body), lambda: client.delete_catalog(name))
    return converge(cm, catalog, ensure_present, ensure_absent)


def main():
    conn = dict(connection_config=dict(type="dict", required=True), connection_secret_id=dict(type="str"))
    db = dict(conn, name=dict(type="str", required=True), ddl_environments=dict(type="list", elements="str"))
    spec = argument_spec(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        schema_registry=dict(type="dict", options=conn),
        databases=dict(type="list", elements="dict", options=db),
        purge_databases=dict(type="bool", default=False),
        labels=dict(type="dict"),
        annotations=dict(type="dict"),
    )
    CmfModule(spec, supports_check_mode=True).run(run)


if __name__ == "__main__":
    main()
