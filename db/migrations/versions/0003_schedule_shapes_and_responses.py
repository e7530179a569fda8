"""Acceptance expands each distinct schedule of a statement once; a response is one UPDATE.

The expansion reads a schedule (the new composite type astegni_schedule) instead of a whole request,
so that requests with the same schedule in the same zone share it (and the check judges each
distinct schedule once: astegni_schedule_problem reads one too); astegni_plan gives way to
astegni_occurrences joined with astegni_occurrence_outcome. astegni_accept, astegni_reject and
astegni_cancel update the request without locking it first (astegni_lock_request): only when no row
changes does astegni_refuse_response say why. preview_sessions looks clashes up occurrence by
occurrence only when the tutor has a session somewhere in the window.
Installs the frozen SQL of this revision (db/migrations/sql/0003/); the downgrade re-installs
revision 0002's copies of what it replaced.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

from alembic import op

from astegni.migrations import install_frozen

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Revision 0002's files that this revision replaces or drops.
REPLACED = ("astegni_accept.sql", "astegni_apply_acceptance.sql", "astegni_cancel.sql",
            "astegni_check_requests.sql", "astegni_lock_request.sql", "astegni_occurrences.sql",
            "astegni_plan.sql", "astegni_reject.sql", "astegni_schedule_problem.sql", "preview_sessions.sql")


def upgrade() -> None:
    op.execute("""
        DROP FUNCTION
            astegni_plan(requested_sessions, integer, text, timestamptz, integer, integer, boolean),
            astegni_occurrences(requested_sessions, text, timestamptz, integer, integer),
            astegni_lock_request(integer, integer, text), astegni_schedule_problem(requested_sessions);
        CREATE TYPE astegni_schedule AS (
            schedule_type text, days jsonb, specific_dates jsonb, months jsonb, year_range jsonb,
            start_time time, end_time time);
    """)
    install_frozen("0003", triggers=False)


def downgrade() -> None:
    op.execute("""
        DROP FUNCTION
            astegni_occurrence_outcome(timestamptz, timestamptz, text, integer, integer, text, boolean),
            astegni_occurrences(astegni_schedule, text, timestamptz, integer, integer),
            astegni_schedule_of(requested_sessions), astegni_refuse_response(integer, integer, text),
            astegni_schedule_problem(astegni_schedule);
        DROP TYPE astegni_schedule;
    """)
    install_frozen("0002", triggers=False, only=REPLACED)
