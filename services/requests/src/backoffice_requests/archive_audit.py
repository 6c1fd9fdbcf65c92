"""``python -m backoffice_requests archive-audit``: the audit log's old stretches, moved to the object store
(``backoffice_common.audit_archive_service``; the same ``REQUESTS_OBJECT_STORE_*`` as archived timelines,
keys ``audit/requests/...``, ``REQUESTS_AUDIT_ARCHIVE_AFTER_DAYS``, 365)."""

from __future__ import annotations

from backoffice_common.audit_archive_service import archive_audit_command

SERVICE = "requests"
COMMAND = archive_audit_command(SERVICE)
add_arguments, run = COMMAND

__all__ = ["COMMAND", "add_arguments", "run"]
