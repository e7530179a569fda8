"""Accepted requests become sessions: the rule, its tables and constraints, the roles.

Only adds to an Astegni database (db/migrations/sql/0002/up.sql): tables, columns, constraints, a
status CHECK widened to 'cancelled'; no column the app writes changes its type. Installs this
revision's frozen functions (sql/0002/functions/, never db/functions/ directly, so that it keeps its
meaning when the functions change later). Existing sessions get their tutor and instants; where existing
rows break a new constraint (sql/0002/blockers.sql), the upgrade stops with UpgradeBlocked, listing
them, and changes nothing.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

from astegni.errors import UpgradeBlocked
from astegni.migrations import frozen_rows, install_frozen, run_frozen

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    run_frozen("0002", "up.sql")
    install_frozen("0002", triggers=False)
    run_frozen("0002", "backfill.sql")
    if blockers := frozen_rows("0002", "blockers.sql"):
        raise UpgradeBlocked("0002", blockers)
    run_frozen("0002", "constraints.sql")
    install_frozen("0002", triggers=True)
    run_frozen("0002", "roles.sql")


def downgrade() -> None:
    run_frozen("0002", "down.sql")
