"""The one error map: each refusal answers with the problem it answered with before the use cases moved."""

from collections.abc import AsyncIterator

import httpx
import pytest

from backoffice_approvals.api import deps
from backoffice_approvals.api.bodies import UnsupportedMediaType
from backoffice_approvals.domain.errors import (
    DecisionConflict,
    DecisionForbidden,
    InconsistentDirectory,
    InvalidDecision,
    InvalidInput,
    InvalidPolicy,
    TaskNotFound,
)
from backoffice_approvals.main import create_app
from backoffice_approvals.settings import Settings

CASES = [
    (DecisionConflict("the task is already approved"), 409, "Conflict", "decision-refused"),
    (DecisionForbidden("nobody approves their own request"), 403, "Forbidden", "decision-refused"),
    (
        InvalidDecision("an admin deciding for someone else must give a reason"),
        422,
        "Invalid decision",
        "decision-refused",
    ),
    (TaskNotFound("no task x"), 404, "Not Found", "decision-refused"),
    (InvalidInput("the body is not UTF-8"), 422, "Invalid input", "validation"),
    (InvalidPolicy([("steps[2].approvers.group", "unknown group 'x'")]), 422, "Invalid policy", "validation"),
    (
        InconsistentDirectory([("approvers[a].manager_id", "cycle")]),
        422,
        "The directory would be inconsistent",
        "validation",
    ),
    (UnsupportedMediaType("send application/json or text/csv"), 415, "Unsupported Media Type", "unsupported-media"),
]


APP = create_app(Settings())
"""Built once (without its lifespan: nothing here reaches the database or Kafka)."""


def _refusing(exc: Exception):
    async def refuse() -> None:
        raise exc

    return refuse


for _number, _case in enumerate(CASES):
    APP.add_api_route(f"/refuse/{_number}", _refusing(_case[0]))


@pytest.mark.parametrize(
    ("number", "exc", "status", "title", "type_"),
    [(i, *case) for i, case in enumerate(CASES)],
    ids=[type(c[0]).__name__ for c in CASES],
)
async def test_a_refusal_is_answered_by_the_error_map(number, exc, status, title, type_):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=APP), base_url="http://test") as client:
        r = await client.get(f"/refuse/{number}")
    assert r.status_code == status
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert (body["title"], body["type"], body["detail"]) == (
        title,
        f"https://backoffice.example/problems/{type_}",
        str(exc),
    )
    if hasattr(exc, "problems"):
        assert body["errors"] == [{"location": loc, "message": msg} for loc, msg in exc.problems]
    else:
        assert "errors" not in body


async def test_a_policy_body_above_its_limit_is_refused_before_anything_reads_it():
    async def no_database() -> AsyncIterator[None]:
        yield None

    # A body let through reaches the route, which refuses the missing token: anything but a 413.
    APP.dependency_overrides[deps.open_uow] = no_database
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=APP), base_url="http://test") as client:
            r = await client.post("/policies", content=b"{" * 256_001, headers={"content-type": "application/json"})
            dry_run = await client.post("/policies/dry-run", content=b"{" * 256_001)
    finally:
        APP.dependency_overrides.clear()
    assert r.status_code == 413
    assert r.json()["detail"] == "the request body is larger than 256000 bytes"
    assert dry_run.status_code in (401, 422)
