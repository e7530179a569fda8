"""Astegni sessions: accepted tutoring requests become sessions, by a rule that lives in PostgreSQL."""

from astegni.accept import SKIP_REASONS, Acceptance, Cancellation, Rejection, Skipped, accept, cancel, reject
from astegni.errors import AstegniError
from astegni.feeds import calendar_changed, calendar_feed, issue_calendar_link, revoke_calendar_links
from astegni.preview import PreviewRow, preview
from astegni.series import (
    Extension,
    RescheduleRow,
    TimeOff,
    add_time_off,
    end_series,
    extend,
    list_time_off,
    preview_reschedule,
    remove_time_off,
    reschedule,
)

__all__ = [
    "SKIP_REASONS",
    "Acceptance",
    "AstegniError",
    "Cancellation",
    "Extension",
    "PreviewRow",
    "Rejection",
    "RescheduleRow",
    "Skipped",
    "TimeOff",
    "accept",
    "add_time_off",
    "calendar_changed",
    "calendar_feed",
    "cancel",
    "end_series",
    "extend",
    "issue_calendar_link",
    "list_time_off",
    "preview",
    "preview_reschedule",
    "reject",
    "remove_time_off",
    "reschedule",
    "revoke_calendar_links",
]
