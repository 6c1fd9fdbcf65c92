"""The AsyncAPI document as a validator: every event seen on a topic must be described there."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[2]
ASYNCAPI = ROOT / "docs" / "asyncapi.yaml"
EVENTS_MD = ROOT / "docs" / "events.md"


@cache
def asyncapi() -> dict[str, Any]:
    return yaml.safe_load(ASYNCAPI.read_text())


def message_schemas() -> dict[str, dict[str, Any]]:
    """Event type -> JSON schema of the whole envelope, with the document's components resolvable."""
    doc = asyncapi()
    result = {}
    for message in doc["components"]["messages"].values():
        schema = dict(message["payload"])
        schema["components"] = doc["components"]
        result[message["name"]] = schema
    return result


def channel_types() -> dict[str, set[str]]:
    """Topic address -> the event types the document says travel on it."""
    doc = asyncapi()
    by_ref = {f"#/components/messages/{key}": m["name"] for key, m in doc["components"]["messages"].items()}
    return {
        channel["address"]: {by_ref[m["$ref"]] for m in channel["messages"].values()}
        for channel in doc["channels"].values()
    }


def documented_types() -> set[str]:
    """Event types in the tables of docs/events.md."""
    return set(re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \|", EVENTS_MD.read_text(), flags=re.MULTILINE))


def validate(topic: str, envelope: dict[str, Any]) -> None:
    """Raise if the event is not on the document's list for that topic or does not match its schema."""
    event_type = envelope.get("type")
    allowed = channel_types().get(topic)
    if allowed is None:
        raise AssertionError(f"topic {topic} is not in docs/asyncapi.yaml")
    if event_type not in allowed:
        raise AssertionError(f"{event_type} on {topic} is not in docs/asyncapi.yaml")
    jsonschema.validate(envelope, message_schemas()[event_type])
