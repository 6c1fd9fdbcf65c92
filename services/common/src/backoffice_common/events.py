"""CloudEvents 1.0 envelope (structured JSON mode) with correlation and causation ids; payload parsing.

Under the CloudEvents Kafka protocol binding a record is a structured-mode event when its
``content-type`` header is ``application/cloudevents+json``; ``ce_``-prefixed headers would make it a
binary-mode event, whose value is the data alone. Every record we write is structured, so it carries
that one header and no ``ce_`` header: the official SDKs then read the whole envelope from the value.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any, TypeVar

import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError

M = TypeVar("M", bound=BaseModel)

STRUCTURED_CONTENT_TYPE = "application/cloudevents+json"
KAFKA_HEADERS: dict[str, str] = {"content-type": STRUCTURED_CONTENT_TYPE}
"""The headers of every record that carries a CloudEvent (structured mode of the Kafka binding)."""


def structured_headers(headers: dict[str, str] | None = None) -> list[tuple[str, bytes]]:
    """Kafka headers for a structured-mode record: ``headers`` without any ``ce_`` header, plus the content type."""
    kept = {k: v for k, v in (headers or {}).items() if not k.lower().startswith("ce_") and k.lower() != "content-type"}
    return [(k, str(v).encode()) for k, v in {**kept, **KAFKA_HEADERS}.items()]


class EnvelopeError(ValueError):
    """A record value that is not a valid CloudEvent."""


class PermanentEventError(Exception):
    """Raised by a handler for an event that can never be handled: dead-lettered without retries."""


class CloudEvent(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    specversion: str = "1.0"
    id: str = Field(default_factory=lambda: str(uuid.uuid4()), min_length=1, max_length=200)
    source: str = Field(min_length=1, max_length=200)
    type: str = Field(min_length=3, max_length=200, pattern=r"^[a-z_]+\.[a-z_]+(\.v\d+)?$")
    subject: str | None = Field(default=None, max_length=200)
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    datacontenttype: str = "application/json"
    data: dict[str, Any] = Field(default_factory=dict)
    correlationid: str | None = Field(default=None, max_length=200)
    causationid: str | None = Field(default=None, max_length=200)

    def to_json_bytes(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()

    @classmethod
    def from_json_bytes(cls, raw: bytes | None) -> CloudEvent:
        """The event a record's value holds; ``EnvelopeError`` naming what is wrong otherwise.

        pydantic parses and validates the bytes in one pass (``model_validate_json``); a value it
        refuses, or one without ``specversion`` 1.0, goes through ``json`` and ``model_validate``
        (``_from_json_bytes_checked``), which accept and refuse exactly what they did before and say
        why (a JSON text that pydantic's parser refuses but ``json`` reads, such as a lone surrogate
        escape, is still accepted there)."""
        if raw is None:
            raise EnvelopeError("record has no value")
        try:
            event = cls.model_validate_json(raw)
        except ValidationError:
            return cls._from_json_bytes_checked(raw)
        if event.specversion != "1.0" or "specversion" not in event.model_fields_set:
            return cls._from_json_bytes_checked(raw)
        return event

    @classmethod
    def _from_json_bytes_checked(cls, raw: bytes) -> CloudEvent:
        try:
            decoded = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise EnvelopeError(f"record value is not UTF-8 JSON: {exc}") from exc
        if not isinstance(decoded, dict):
            raise EnvelopeError("record value is not a JSON object")
        if decoded.get("specversion") != "1.0":
            raise EnvelopeError(f"unsupported specversion {decoded.get('specversion')!r}")
        try:
            return cls.model_validate(decoded)
        except ValidationError as exc:
            raise EnvelopeError(f"invalid CloudEvent: {exc.errors(include_url=False)}") from exc


def new_event(
    *,
    type: str,
    service: str,
    subject: str | None,
    data: dict[str, Any],
    cause: CloudEvent | None = None,
    correlation_id: str | None = None,
) -> CloudEvent:
    """A new event. Its correlation id is the cause's, else the current HTTP request's, else its own id."""
    event_id = str(uuid.uuid4())
    correlation = (
        correlation_id
        or (cause.correlationid if cause else None)
        or structlog.contextvars.get_contextvars().get("correlation_id")
        or event_id
    )
    return CloudEvent(
        id=event_id,
        source=f"backoffice/{service}",
        type=type,
        subject=subject,
        data=data,
        correlationid=correlation,
        causationid=cause.id if cause else None,
    )


def parse_payload(model: type[M], event: CloudEvent) -> M:
    """``event.data`` validated as ``model``; a payload that does not fit raises ``PermanentEventError``
    naming the event type, id and the first errors (the consumer dead-letters it without retrying)."""
    try:
        return model.model_validate(event.data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = "; ".join(f"{_location(err.get('loc', ()))}: {err.get('msg', '')}" for err in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise PermanentEventError(
            f"{event.type} {event.id}: the payload does not fit {model.__name__}: {first}{more}"
        ) from exc


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    path = "data"
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path
