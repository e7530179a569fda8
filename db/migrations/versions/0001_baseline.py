"""Baseline: the tables the rule touches, exactly as a live Astegni database has them.

An existing database is stamped at this revision (`astegni db adopt` checks that this is true first);
a new database is created from it. The DDL is db/migrations/sql/0001/up.sql and down.sql.

Revision ID: 0001
Revises:
"""

from collections.abc import Sequence

from astegni.migrations import run_frozen

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    run_frozen("0001", "up.sql")


def downgrade() -> None:
    run_frozen("0001", "down.sql")
