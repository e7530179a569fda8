"""db/schema.sql is the schema the migrations make: same columns, constraints, indexes and types."""

from __future__ import annotations

import psycopg

from tests.support import ROOT

CATALOG = """
SELECT CASE c.relkind WHEN 'c' THEN 'type attribute' ELSE 'column' END,
       c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
       || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
       || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
FROM pg_attribute AS a
JOIN pg_class AS c
  ON c.oid = a.attrelid AND c.relkind IN ('r', 'c') AND c.relnamespace = 'public'::regnamespace
LEFT JOIN pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relname <> 'astegni_alembic_version'
UNION ALL
SELECT 'constraint', conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND conrelid <> 0
  AND conrelid::regclass::text <> 'astegni_alembic_version'
UNION ALL
SELECT 'index', indexdef FROM pg_indexes
WHERE schemaname = 'public' AND tablename <> 'astegni_alembic_version'
"""


def snapshot(url: str) -> set[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        return set(conn.execute(CATALOG).fetchall())


def test_schema_sql_is_what_the_migrations_make(db_url, empty_db_url):
    with psycopg.connect(empty_db_url) as conn:
        conn.execute((ROOT / "db" / "schema.sql").read_text())
    # Columns added by later revisions come last in a migrated table; order is not part of the schema.
    assert snapshot(empty_db_url) == snapshot(db_url)
