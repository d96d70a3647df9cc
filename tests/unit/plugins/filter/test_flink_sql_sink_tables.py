"""plugins/filter/flink_sql_sink_tables.py: the tables a Flink SQL statement writes to."""
from __future__ import annotations

import pytest

from ansible_collections.flinkops.cookbook.plugins.filter.flink_sql_sink_tables import flink_sql_sink_tables


@pytest.mark.parametrize("sql, tables", [
    ("INSERT INTO orders_enriched SELECT * FROM orders WHERE amount > 0", ["orders_enriched"]),
    ("insert into `env-dr01`.`lkc-dr`.`orders-enriched` select * from `orders`", ["orders-enriched"]),
    ("INSERT OVERWRITE TABLE daily SELECT * FROM orders", ["daily"]),
    ("EXECUTE STATEMENT SET BEGIN INSERT INTO a SELECT * FROM o; INSERT INTO b SELECT * FROM o; "
     "INSERT INTO a SELECT * FROM p; END", ["a", "b"]),
    ("CREATE TABLE totals WITH ('changelog.mode' = 'upsert') AS SELECT k, COUNT(*) FROM orders GROUP BY k", ["totals"]),
    ("CREATE TABLE IF NOT EXISTS t2 AS SELECT * FROM orders", ["t2"]),
    ("CREATE TABLE plain (id INT, PRIMARY KEY (id) NOT ENFORCED) WITH ('connector' = 'kafka')", []),
    ("-- INSERT INTO commented SELECT 1\nSELECT 'INSERT INTO quoted' FROM orders /* INSERT INTO block */", []),
    ("SELECT * FROM orders", []),
    ("", []),
])
def test_the_sink_tables_of_a_statement(sql, tables):
    assert flink_sql_sink_tables(sql) == tables
