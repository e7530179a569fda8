"""Acceptance at the floor under load; mail, calendar feeds and edits before accepting

Made by db/new_revision.py from db/functions/, compared with the copies installed at revision 0004 (for
each file, its newest copy under sql/NNNN/functions/ at or below it). Installs sql/0005/functions/: 10
replaced (a new body: CREATE OR REPLACE), 4 re-signed (a new argument list, result or kind: the old one
dropped first), 11 added.

The upgrade runs sql/0005/up.sql first and roles.sql last; the downgrade runs down.sql, drops what this
revision added or re-signed, puts back the copies installed at 0004 and re-runs 0004's roles.sql, so
that those put back get their grants again.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

from astegni.migrations import drop_frozen, install_frozen, restore_frozen, run_frozen

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What this revision does to the files of db/functions/, found when it was made and frozen here.
# A new body, the same signature: CREATE OR REPLACE installs it over the old one.
REPLACED: list[str] = [
    "astegni_accept_requests.sql",
    "astegni_apply_acceptance.sql",
    "astegni_apply_extension.sql",
    "astegni_end_series.sql",
    "astegni_lock_tutors.sql",
    "astegni_notify.sql",
    "astegni_on_extension.sql",
    "astegni_parse_year.sql",
    "astegni_reschedule.sql",
    "astegni_window_passed.sql",
]
# A new argument list, result or kind (function or procedure; a trigger's table): the old object is
# dropped first, else PostgreSQL would keep both routines, as overloads.
RESIGNED: list[str] = [
    "astegni_accept.sql",
    "astegni_extension_work.sql",
    "astegni_refuse_outcome.sql",
    "preview_sessions.sql",
]
# New files: the downgrade drops their objects.
ADDED: list[str] = [
    "astegni_calendar_changed.sql",
    "astegni_calendar_feed.sql",
    "astegni_calendar_link.sql",
    "astegni_check_calendar_owner.sql",
    "astegni_check_edits.sql",
    "astegni_edit_occurrence.sql",
    "astegni_edits.sql",
    "astegni_parse_time.sql",
    "astegni_request_occurrences.sql",
    "astegni_revoke_calendar_links.sql",
    "astegni_stage_edits.sql",
]
# Files removed from db/functions/: the upgrade drops their objects, the downgrade puts them back.
DROPPED: list[str] = []


def upgrade() -> None:
    run_frozen("0005", "up.sql")
    # Before installing: the objects the new ones cannot replace in place.
    drop_frozen("0004", RESIGNED + DROPPED, triggers=True)
    drop_frozen("0004", RESIGNED, triggers=False)
    install_frozen("0005", triggers=False)
    install_frozen("0005", triggers=True)
    # After the triggers: a dropped routine may be what a kept trigger ran until now.
    drop_frozen("0004", DROPPED, triggers=False)
    run_frozen("0005", "roles.sql")


def downgrade() -> None:
    run_frozen("0005", "down.sql")
    drop_frozen("0005", ADDED + RESIGNED, triggers=True)
    drop_frozen("0005", RESIGNED, triggers=False)
    restore_frozen("0004", REPLACED + RESIGNED + DROPPED, triggers=False)
    restore_frozen("0004", REPLACED + RESIGNED + DROPPED, triggers=True)
    # After the triggers are put back: an added routine may be what a kept trigger ran.
    drop_frozen("0005", ADDED, triggers=False)
    # The routines put back by DROP and CREATE lost their grants.
    run_frozen("0004", "roles.sql")
