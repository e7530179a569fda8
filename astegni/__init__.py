"""Astegni sessions: accepted tutoring requests become sessions, by a rule that lives in PostgreSQL."""

from astegni.accept import Acceptance, Cancellation, Rejection, Skipped, accept, cancel, reject
from astegni.errors import AstegniError
from astegni.preview import PreviewRow, preview

__all__ = [
    "Acceptance",
    "AstegniError",
    "Cancellation",
    "PreviewRow",
    "Rejection",
    "Skipped",
    "accept",
    "cancel",
    "preview",
    "reject",
]
