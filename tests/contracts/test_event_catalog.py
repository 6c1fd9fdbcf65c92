"""The two descriptions of the events (docs/events.md and docs/asyncapi.yaml) agree and are valid."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
from event_catalog_kit import asyncapi, channel_types, documented_types, message_schemas, validate

from backoffice_common.events import new_event


def test_the_asyncapi_document_and_the_event_catalog_name_the_same_event_types() -> None:
    described = {t for types in channel_types().values() for t in types}
    assert described == documented_types()


def test_every_topic_of_the_platform_is_a_channel() -> None:
    assert set(channel_types()) == {
        "backoffice.requests",
        "backoffice.approvals",
        "backoffice.notifications",
        "backoffice.vendors",
        "backoffice.contracts",
        "backoffice.budgets",
        "backoffice.cost_centres",
        "backoffice.hr",
        "backoffice.checklists",
    }
    assert asyncapi()["asyncapi"].startswith("3.")


def test_every_message_schema_is_a_valid_json_schema() -> None:
    for schema in message_schemas().values():
        jsonschema.Draft202012Validator.check_schema(schema)


def test_a_well_formed_event_validates_and_a_float_amount_does_not() -> None:
    snapshot = {
        "request_id": "r1",
        "revision": 1,
        "requester": {"id": "alice"},
        "vendor_id": "v1",
        "currency": "EUR",
        "lines": [{"line_no": 1, "description": "Chair", "quantity": "2", "unit_price": "10.00", "amount": "20.00"}],
        "total": "20.00",
    }
    good = new_event(
        type="purchase_request.submitted",
        service="requests",
        subject="r1",
        data={"schema_version": 1, "request": snapshot},
    )
    validate("backoffice.requests", good.model_dump(mode="json", exclude_none=True))
    snapshot["total"] = 20.0
    bad = new_event(
        type="purchase_request.submitted",
        service="requests",
        subject="r1",
        data={"schema_version": 1, "request": snapshot},
    )
    with pytest.raises(jsonschema.ValidationError):
        validate("backoffice.requests", bad.model_dump(mode="json", exclude_none=True))


def test_an_event_on_the_wrong_topic_is_refused() -> None:
    event = new_event(type="contract.executed", service="contracts", subject="r1", data={"schema_version": 1})
    with pytest.raises(AssertionError, match=r"not in docs/asyncapi\.yaml"):
        validate("backoffice.requests", event.model_dump(mode="json", exclude_none=True))


ASYNCAPI_SCHEMAS = Path(__file__).parent / "asyncapi-schema"


def official_asyncapi_schema(version: str) -> dict[str, object]:
    """The AsyncAPI specification's JSON schema from the pinned npm package @asyncapi/specs."""
    schemas = ASYNCAPI_SCHEMAS / "node_modules" / "@asyncapi" / "specs" / "schemas"
    if not schemas.is_dir():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is not installed: docs/asyncapi.yaml is validated with the @asyncapi/specs package")
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=ASYNCAPI_SCHEMAS, check=True, timeout=300
        )
    loaded: dict[str, object] = json.loads((schemas / f"{version}-without-$id.json").read_text())
    return loaded


def test_the_asyncapi_document_is_valid_against_the_official_asyncapi_schema() -> None:
    document = asyncapi()
    validator = jsonschema.Draft7Validator(official_asyncapi_schema(document["asyncapi"]))
    errors = [f"{list(e.path)}: {e.message[:200]}" for e in validator.iter_errors(document)]
    assert errors == []
    broken = json.loads(json.dumps(document))
    broken["operations"]["publish_backoffice_requests"]["action"] = "publish"
    assert list(validator.iter_errors(broken)), "the validator must refuse an AsyncAPI 2 style operation"
