"""Domain events: what an aggregate records while it changes; the unit of work publishes them at commit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class DomainEvent:
    """Named in the past tense as on the wire; ``data`` is the payload of docs/events.md.

    The id is known when the event is recorded, so a delivery it causes can name it before the commit.
    Correlation and causation are set when the event continues another one (a delivery's outcome).
    """

    type: str
    subject: str | None
    data: dict[str, Any]
    key: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None
    id: str = field(default_factory=lambda: str(uuid.uuid4()))


SYSTEM_ACTOR = {"id": "system", "name": "notifications", "role": "system"}


def system_actor() -> dict[str, str]:
    return dict(SYSTEM_ACTOR)


def vendor_actor(vendor_id: str, legal_name: str) -> dict[str, str]:
    return {"id": f"vendor:{vendor_id}", "name": legal_name, "role": "vendor"}
