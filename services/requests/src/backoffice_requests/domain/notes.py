"""Human-readable timeline notes in the reader's language (en, de), built from a machine code and parameters.

Each timeline entry keeps its event ``type`` and ``data``; :func:`note_of` derives a stable ``code`` and its
``params`` from them (the machine form), and :func:`render_note` writes the note in a language. The text a
person wrote (a revise comment, a receipt note, a close or decline reason) is a parameter and is shown as
written, never translated. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

LANGUAGES = ("en", "de")

TEMPLATES: dict[str, dict[str, str]] = {
    "drafted": {"en": "Draft created", "de": "Entwurf angelegt"},
    "draft_updated": {"en": "Draft changed: {fields}", "de": "Entwurf geändert: {fields}"},
    "submitted": {"en": "Submitted for approval", "de": "Zur Freigabe eingereicht"},
    "revised": {
        "en": "Revised to revision {revision} (changed: {fields}){comment_en}",
        "de": "Überarbeitet zu Revision {revision} (geändert: {fields}){comment_de}",
    },
    "cancelled": {"en": "Cancelled: {reason}", "de": "Storniert: {reason}"},
    "vendor_reassigned": {
        "en": "Order moved to another vendor: {reason}",
        "de": "Bestellung an einen anderen Lieferanten vergeben: {reason}",
    },
    "receipt_full": {"en": "Goods received in full{note_en}", "de": "Ware vollständig erhalten{note_de}"},
    "receipt_partial": {"en": "Goods partly received{note_en}", "de": "Ware teilweise erhalten{note_de}"},
    "closed": {"en": "Closed{reason_en}", "de": "Abgeschlossen{reason_de}"},
    "closed_short": {
        "en": "Closed before full delivery: {reason}",
        "de": "Abgeschlossen vor vollständiger Lieferung: {reason}",
    },
    "task_assigned": {
        "en": "Waiting for the approval of {assignee} (step {step})",
        "de": "Wartet auf die Freigabe von {assignee} (Schritt {step})",
    },
    "task_reminded": {"en": "{assignee} was reminded", "de": "{assignee} wurde erinnert"},
    "task_escalated": {
        "en": "Escalated from {from_} to {to}: {reason}",
        "de": "Eskaliert von {from_} an {to}: {reason}",
    },
    "task_approved": {"en": "Approved by {by} (step {step})", "de": "Freigegeben von {by} (Schritt {step})"},
    "task_rejected": {
        "en": "Rejected by {by} (step {step}){comment_en}",
        "de": "Abgelehnt von {by} (Schritt {step}){comment_de}",
    },
    "task_changes_requested": {
        "en": "{by} asks for changes (step {step}){comment_en}",
        "de": "{by} bittet um Änderungen (Schritt {step}){comment_de}",
    },
    "task_withdrawn": {
        "en": "Approval task withdrawn from {assignee}: {reason}",
        "de": "Freigabeaufgabe zurückgezogen; sie lag bei {assignee}: {reason}",
    },
    "chain_blocked": {"en": "Approval blocked: {reason}", "de": "Freigabe blockiert: {reason}"},
    "approved": {
        "en": "Approved; the order goes to the vendor",
        "de": "Freigegeben; die Bestellung geht an den Lieferanten",
    },
    "rejected": {"en": "Rejected{comment_en}", "de": "Abgelehnt{comment_de}"},
    "changes_requested": {"en": "Changes requested{comment_en}", "de": "Änderungen angefordert{comment_de}"},
    "vendor_notified": {"en": "Order sent to the vendor", "de": "Bestellung an den Lieferanten gesendet"},
    "vendor_accepted": {
        "en": "The vendor accepted the order{note_en}",
        "de": "Der Lieferant hat die Bestellung angenommen{note_de}",
    },
    "vendor_declined": {
        "en": "The vendor declined the order: {reason}",
        "de": "Der Lieferant hat die Bestellung abgelehnt: {reason}",
    },
    "contract_generated": {"en": "Contract generated", "de": "Vertrag erstellt"},
    "contract_signed_vendor": {
        "en": "The vendor signed the contract",
        "de": "Der Lieferant hat den Vertrag unterschrieben",
    },
    "contract_signed_buyer": {"en": "The buyer signed the contract", "de": "Der Käufer hat den Vertrag unterschrieben"},
    "contract_executed": {"en": "Contract signed by both parties", "de": "Vertrag von beiden Parteien unterschrieben"},
    "contract_voided": {"en": "Contract voided: {reason}", "de": "Vertrag storniert: {reason}"},
    "contract_expired": {"en": "Contract expired unsigned", "de": "Vertrag abgelaufen, nicht unterschrieben"},
    "delivery_failed": {
        "en": "A message could not be delivered: {error}",
        "de": "Eine Nachricht konnte nicht zugestellt werden: {error}",
    },
    "event": {"en": "{type}", "de": "{type}"},
}
"""The wording of each note code in each language; ``{x_en}`` / ``{x_de}`` are optional suffixes."""

_SUFFIXES = {
    "comment": {"en": " — comment: {}", "de": " — Kommentar: {}"},
    "note": {"en": " — note: {}", "de": " — Hinweis: {}"},
    "reason": {"en": ": {}", "de": ": {}"},
}


@dataclass(frozen=True)
class Note:
    """A timeline note in machine form: a stable code and the parameters its wording uses."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)


def _name(person: Any) -> str:
    if isinstance(person, Mapping):
        return str(person.get("name") or person.get("id") or "?")
    return "?"


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return str(value) if value else ""


def note_of(event_type: str, data: Mapping[str, Any]) -> Note:
    """The code and parameters of a timeline entry's note, from its event type and data."""
    kind = event_type.split(".", 1)[-1]
    if event_type.startswith("purchase_request."):
        if kind == "draft_updated":
            return Note(kind, {"fields": ", ".join(map(str, data.get("changed_fields") or []))})
        if kind == "revised":
            return Note(
                kind,
                {
                    "revision": data.get("revision"),
                    "fields": ", ".join(map(str, data.get("changed_fields") or [])),
                    "comment": _text(data, "comment"),
                },
            )
        if kind == "receipt_confirmed":
            return Note(
                "receipt_full" if data.get("fully_received") else "receipt_partial", {"note": _text(data, "note")}
            )
        if kind == "closed":
            return Note("closed_short" if data.get("short_closed") else "closed", {"reason": _text(data, "reason")})
        if kind in ("rejected", "changes_requested"):
            return Note(kind, {"comment": _text(data, "comment")})
        if kind in ("drafted", "submitted", "cancelled", "vendor_reassigned", "approved"):
            return Note(kind, {"reason": _text(data, "reason")})
    if event_type.startswith("approval."):
        if kind == "task_assigned":
            return Note(kind, {"assignee": _name(data.get("assignee")), "step": data.get("step") or ""})
        if kind == "reminder_due":
            return Note("task_reminded", {"assignee": _name(data.get("assignee"))})
        if kind == "escalated":
            return Note(
                "task_escalated",
                {"from_": _name(data.get("from")), "to": _name(data.get("to")), "reason": _text(data, "reason")},
            )
        if kind == "task_decided":
            decision = str(data.get("decision") or "")
            code = {"approved": "task_approved", "rejected": "task_rejected"}.get(decision, "task_changes_requested")
            return Note(
                code,
                {
                    "by": _name(data.get("decided_by")),
                    "step": data.get("step") or "",
                    "comment": _text(data, "comment"),
                },
            )
        if kind == "task_withdrawn":
            return Note(kind, {"assignee": _name(data.get("assignee")), "reason": _text(data, "reason")})
        if kind == "chain_blocked":
            return Note(kind, {"reason": _text(data, "reason")})
    if event_type == "vendor.notified":
        return Note("vendor_notified")
    if event_type == "vendor.accepted":
        return Note("vendor_accepted", {"note": _text(data, "note")})
    if event_type == "vendor.declined":
        return Note("vendor_declined", {"reason": _text(data, "reason")})
    if event_type == "vendor.contract_signed":
        return Note("contract_signed_vendor")
    if event_type == "contract.signed":
        return Note("contract_signed_buyer" if data.get("party") == "buyer" else "contract_signed_vendor")
    if event_type in ("contract.generated", "contract.executed", "contract.voided", "contract.expired"):
        return Note(f"contract_{kind}", {"reason": _text(data, "reason")})
    if event_type == "notification.failed":
        return Note("delivery_failed", {"error": _text(data, "error") or _text(data, "reason")})
    return Note("event", {"type": event_type})


def language_of(accept_language: str | None) -> str:
    """The first language of ``LANGUAGES`` an ``Accept-Language`` header asks for (by quality), else English."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        lang = tag.strip().replace("_", "-").split("-", 1)[0].lower()
        if lang in LANGUAGES and quality > 0:
            ranked.append((-quality, position, lang))
    return min(ranked)[2] if ranked else "en"


def render_note(note: Note, language: str) -> str:
    """The note in ``language`` (English for one without a wording)."""
    lang = language if language in LANGUAGES else "en"
    wording = TEMPLATES.get(note.code, TEMPLATES["event"])[lang]
    values: dict[str, Any] = {k: ("" if v is None else v) for k, v in note.params.items()}
    for key, forms in _SUFFIXES.items():
        text = str(values.get(key) or "")
        for suffix_lang, form in forms.items():
            values[f"{key}_{suffix_lang}"] = form.format(text) if text else ""
    for key in ("reason", "error", "fields", "assignee", "step", "by", "from_", "to", "revision", "type"):
        values.setdefault(key, "")
    return wording.format(**values).strip()
