"""What closes an item: the evidence each kind asks for, checked before the item is done."""

from __future__ import annotations

from datetime import date

from backoffice_checklists.domain.errors import InvalidEvidence
from backoffice_checklists.domain.templates import Evidence

REQUIRED: dict[str, tuple[str, ...]] = {
    "confirmation": (),
    "serial_number": ("serial_number",),
    "document_reference": ("document_reference",),
    "sign_off": ("signed_off_by",),
    "interview_held": ("held_by", "held_on"),
    "purchase_received": ("purchase_request_id",),
}
"""Fields each evidence kind needs; a confirmation needs none beyond the person who completes the item."""


def check_evidence(kind: Evidence, evidence: dict[str, str], *, completed_by: str) -> dict[str, str]:
    """The evidence to keep, or ``InvalidEvidence`` naming what is missing or wrong."""
    required = REQUIRED[kind]
    missing = [name for name in required if not evidence.get(name, "").strip()]
    if missing:
        raise InvalidEvidence(f"a {kind} item needs {', '.join(missing)}", field="evidence", missing=missing)
    extra = sorted(set(evidence) - set(required) - {"note"})
    if extra:
        raise InvalidEvidence(f"a {kind} item takes no {', '.join(extra)}", field="evidence")
    if kind == "sign_off" and evidence["signed_off_by"] == completed_by:
        raise InvalidEvidence("the sign-off must come from a second person, not the one completing the item")
    if kind == "interview_held":
        try:
            date.fromisoformat(evidence["held_on"].strip())
        except ValueError:
            raise InvalidEvidence("held_on must be the date the interview was held (YYYY-MM-DD)") from None
    return {name: evidence[name].strip() for name in evidence}
