"""``GET /requests/{id}`` answers pydantic's JSON of the model: the same bytes the dict through
``JSONResponse`` gave, for every kind of value the model holds."""

from __future__ import annotations

import typing
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from backoffice_requests.schemas import AttachmentCreate, RequestRead

AWKWARD = 'Ä "quoted" \\ back\tslash\nnew\x01line\x1f \u2028 \u00e9\u00df \U0001f600 </script> \x7f'


def read(**overrides: Any) -> RequestRead:
    values: dict[str, Any] = {
        "id": "5b0c8c55-2a8e-4d47-9d8e-4f0b9a1c0e11",
        "number": "PR-000042",
        "status": "submitted",
        "revision": 3,
        "version": 12,
        "requester": {"id": "anna", "name": AWKWARD, "email": "anna@example.com", "department": None},
        "title": AWKWARD,
        "description": "",
        "vendor_id": "vendor-acme",
        "currency": "EUR",
        "cost_center": "CC-100",
        "department": "ENG",
        "category": "hardware",
        "needed_by": date(2030, 1, 31),
        "lines": [
            {
                "line_no": 1,
                "description": AWKWARD,
                "quantity": "2",
                "unit": "pcs",
                "unit_price": "1200.00",
                "amount": "2400.00",
                "sku": None,
            }
        ],
        "attachments": [{"file_name": AWKWARD, "media_type": "application/pdf", "size_bytes": 2**40, "url": None}],
        "total": "2400.00",
        "created_at": datetime(2026, 11, 30, 9, 1, 2, 345678, tzinfo=UTC),
        "updated_at": datetime(2026, 11, 30, 10, 0, tzinfo=timezone(timedelta(hours=1))),
        "allowed_actions": ["approve", "reject"],
        "waiting_on": {
            "who": {"id": "bob", "name": AWKWARD, "role": "approver"},
            "what": AWKWARD,
            "since": datetime.now(UTC),
        },
    }
    return RequestRead.model_validate(values | overrides)


def test_pydantic_json_of_a_request_is_byte_for_byte_what_the_json_response_of_its_dict_was() -> None:
    for model in (read(), read(waiting_on=None, attachments=[], lines=[])):
        expected = JSONResponse(model.model_dump(mode="json"), headers={"ETag": '"12"'})
        answered = Response(model.model_dump_json(), media_type="application/json", headers={"ETag": '"12"'})
        assert answered.body == expected.body
        assert answered.raw_headers == expected.raw_headers


def test_the_request_read_model_holds_no_float_the_one_type_the_two_encoders_write_differently() -> None:
    def annotations(model: type[BaseModel]) -> typing.Iterator[Any]:
        for field in model.model_fields.values():
            stack = [field.annotation]
            while stack:
                annotation = stack.pop()
                yield annotation
                stack.extend(typing.get_args(annotation))
                if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                    yield from annotations(annotation)

    seen = list(annotations(RequestRead))
    assert date in seen  # the walk reaches the fields
    assert float not in seen
    assert Any in seen  # attachments: stored as AttachmentCreate gave them
    assert float not in list(annotations(AttachmentCreate))
