"""Every operation that books or frees a tutor's time holds the core's guarantees: the tutor's lock first,
bounded, scoped to the tutor; the extension in batches, run by the astegni_scheduler role; refusals by
code for bad values

Made by db/new_revision.py from db/functions/, compared with the copies installed at revision 0003 (for
each file, its newest copy under sql/NNNN/functions/ at or below it). Installs sql/0004/functions/: 12
replaced (a new body: CREATE OR REPLACE), 6 re-signed (a new argument list, result or kind: the old one
dropped first), 10 added.

The upgrade runs sql/0004/up.sql first and roles.sql last; the downgrade runs down.sql, drops what this
revision added or re-signed, puts back the copies installed at 0003 and re-runs 0003's roles.sql, so
that those put back get their grants again.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

from astegni.migrations import drop_frozen, install_frozen, restore_frozen, run_frozen

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What this revision does to the files of db/functions/, found when it was made and frozen here.
# A new body, the same signature: CREATE OR REPLACE installs it over the old one.
REPLACED: list[str] = [
    "astegni_accept.sql",
    "astegni_cancel.sql",
    "astegni_extend_series_at.sql",
    "astegni_lock_tutors.sql",
    "astegni_on_extension.sql",
    "astegni_on_schedule_change.sql",
    "astegni_on_session_write.sql",
    "astegni_on_settings_write.sql",
    "astegni_refuse_response.sql",
    "astegni_schedule_problem.sql",
    "trigger_astegni_extensions_run.sql",
    "trigger_requested_sessions_schedule.sql",
]
# A new argument list, result or kind (function or procedure; a trigger's table): the old object is
# dropped first, else PostgreSQL would keep both routines, as overloads.
RESIGNED: list[str] = [
    "astegni_end_series.sql",
    "astegni_extend_series.sql",
    "astegni_reschedule.sql",
    "astegni_reschedule_plan.sql",
    "astegni_series_of.sql",
    "preview_reschedule.sql",
]
# New files: the downgrade drops their objects.
ADDED: list[str] = [
    "astegni_add_time_off.sql",
    "astegni_check_date.sql",
    "astegni_check_text.sql",
    "astegni_claim_request.sql",
    "astegni_extend_step.sql",
    "astegni_extension_work.sql",
    "astegni_on_request_reasons.sql",
    "astegni_remove_time_off.sql",
    "astegni_times_problem.sql",
    "trigger_requested_sessions_reasons.sql",
]
# Files removed from db/functions/: the upgrade drops their objects, the downgrade puts them back.
DROPPED: list[str] = []


def upgrade() -> None:
    run_frozen("0004", "up.sql")
    # Before installing: the objects the new ones cannot replace in place.
    drop_frozen("0003", RESIGNED + DROPPED, triggers=True)
    drop_frozen("0003", RESIGNED, triggers=False)
    install_frozen("0004", triggers=False)
    install_frozen("0004", triggers=True)
    # After the triggers: a dropped routine may be what a kept trigger ran until now.
    drop_frozen("0003", DROPPED, triggers=False)
    run_frozen("0004", "roles.sql")


def downgrade() -> None:
    run_frozen("0004", "down.sql")
    drop_frozen("0004", ADDED + RESIGNED, triggers=True)
    drop_frozen("0004", RESIGNED, triggers=False)
    restore_frozen("0003", REPLACED + RESIGNED + DROPPED, triggers=False)
    restore_frozen("0003", REPLACED + RESIGNED + DROPPED, triggers=True)
    # After the triggers are put back: an added routine may be what a kept trigger ran.
    drop_frozen("0004", ADDED, triggers=False)
    # The routines put back by DROP and CREATE lost their grants.
    run_frozen("0003", "roles.sql")
