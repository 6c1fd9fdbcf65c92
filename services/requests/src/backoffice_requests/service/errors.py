"""Refusals of the use cases that are not the domain's (versions, cursors); mapped in ``api/problems.py``."""

from __future__ import annotations

from backoffice_common.errors import AppError, PreconditionFailed, PreconditionRequired


class VersionRequired(PreconditionRequired):
    """An edit that must name the version it read (If-Match) named none."""


class NotAVersion(PreconditionFailed):
    """The version named (If-Match) is not one this service issues."""


class StaleVersion(PreconditionFailed):
    """The request changed since the caller read it; ``current_etag`` says where it is now."""


class BadCursor(AppError):
    """A list cursor this service did not issue."""


class TimelineArchived(AppError):
    """The request's timeline was moved to the object store (``archive-timeline``) and its segment is no
    longer there; ``object_key`` and ``sha256`` name it (for restoring it from the bucket's backup)."""
