"""Recurring requests become series: a rolling horizon, ending, "this and all following", time off.

Only adds to the database (db/migrations/sql/0003/up.sql): the series, series_patterns, tutor_time_off
and astegni_extensions tables, sessions.cancelled_reason, the 'time_off' skip reason and the new event
kinds. Installs this revision's frozen functions (sql/0003/functions/: the new ones and those it
changes; the two whose arguments change are dropped first). Downgrading restores 0002's copies of the
changed functions.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

from astegni.migrations import FROZEN_DIR, install_frozen, run_frozen

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The functions of 0002 that this revision replaces: its downgrade puts 0002's copies back.
REPLACED = sorted(
    path.name for path in (FROZEN_DIR / "0003" / "functions").glob("*.sql")
    if (FROZEN_DIR / "0002" / "functions" / path.name).is_file()
)


def upgrade() -> None:
    run_frozen("0003", "up.sql")
    install_frozen("0003", triggers=False)
    install_frozen("0003", triggers=True)
    run_frozen("0003", "roles.sql")


def downgrade() -> None:
    run_frozen("0003", "down.sql")
    install_frozen("0002", triggers=False, only=REPLACED)
    run_frozen("0002", "roles.sql")
