"""REST routes under ``/requests``: they build a command from the HTTP request and call one use case."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, TypeAdapter

from backoffice_common.auth import CurrentUser, User, current_user, require_roles
from backoffice_common.db import read_connection
from backoffice_common.deps import ReadConnection, settings_from, settings_of
from backoffice_common.objectstore import ObjectStore
from backoffice_common.openapi import problem_responses
from backoffice_common.strings import NUL_FREE
from backoffice_requests.api import fast
from backoffice_requests.api.deps import UowDep, open_uow
from backoffice_requests.api.fast import CANONICAL_UUID, FastRoute, fast_path
from backoffice_requests.api.idempotency import IdempotencyKey, Reply, respond
from backoffice_requests.domain.closure import ClosurePolicy
from backoffice_requests.domain.lifecycle import Status
from backoffice_requests.domain.model import PurchaseRequest
from backoffice_requests.domain.notes import language_of
from backoffice_requests.schemas import (
    CancelCreate,
    CloseCreate,
    ReceiptCreate,
    RequestCreate,
    RequestPageRead,
    RequestRead,
    RequestRevise,
    RequestUpdate,
    RevisionDiffRead,
    RevisionRead,
    TimelineEntryRead,
    VendorReassignCreate,
)
from backoffice_requests.service import queries
from backoffice_requests.service import requests as service
from backoffice_requests.service.uow import RequestsUnitOfWork
from backoffice_requests.settings import Settings

router = APIRouter(prefix="/requests", tags=["purchase requests"], route_class=FastRoute)

# A command is refused in the wrong state (409) or when If-Match names an older version (412).
COMMAND_PROBLEMS = problem_responses(409, 412)

requester = require_roles("requester", "admin")
Requester = Annotated[User, Depends(requester)]
IfMatch = Annotated[str | None, Header(alias="If-Match", max_length=100)]
AcceptLanguage = Annotated[
    str | None, Header(max_length=1000, description="The language of the timeline notes: `de`, `en` (the default).")
]
RequestId = Annotated[uuid.UUID, "the purchase request id"]
SettingsDep = Annotated[Settings, Depends(settings_of(Settings))]


@dataclass
class Command:
    """What every command route needs besides its body: it runs one use case under the request's
    Idempotency-Key and answers with the request as it now is."""

    uow: RequestsUnitOfWork
    user: User
    http: Request
    key: str | None = None
    if_match: str | None = None
    known_cost_centre: bool = False
    """``REQUESTS_REQUIRE_KNOWN_COST_CENTRE``: handed to the use cases that check the cost centre."""
    closure_policy: ClosurePolicy = field(default_factory=ClosurePolicy)
    """``REQUESTS_REQUESTER_MAY_CLOSE``, ``REQUESTS_BUYER_SIGNER_MAY_CLOSE``: for receipt and closure."""

    async def run(
        self, command: Callable[[], Awaitable[PurchaseRequest]], *, payload: Any, status: int = 200
    ) -> JSONResponse:
        uow, user = self.uow, self.user

        async def answer(request: PurchaseRequest) -> Reply:
            read = await queries.command_answer(uow, user=user, request_id=request.id)
            headers = {"ETag": f'"{read.version}"'}
            if status == 201:
                headers["Location"] = f"/requests/{read.id}"
            return Reply(status, read.model_dump(mode="json"), headers)

        return await respond(
            uow=uow, user=user, request=self.http, key=self.key, payload=payload, command=command, answer=answer
        )

    async def on(
        self,
        use_case: UseCase,
        request_id: uuid.UUID,
        data: BaseModel | None,
        payload: Any,
        *,
        checks_cost_centre: bool = False,
        checks_closer: bool = False,
    ) -> JSONResponse:
        """Run ``use_case`` on the request ``request_id`` with the body ``data``."""
        body: dict[str, Any] = {} if data is None else {"data": data}
        if checks_cost_centre:
            body["require_known_cost_centre"] = self.known_cost_centre
        if checks_closer:
            body["closure_policy"] = self.closure_policy
        return await self.run(
            lambda: use_case(uow=self.uow, user=self.user, request_id=str(request_id), if_match=self.if_match, **body),
            payload=payload,
        )


UseCase = Callable[..., Awaitable[PurchaseRequest]]


async def _command(
    uow: UowDep,
    user: CurrentUser,
    http: Request,
    settings: SettingsDep,
    key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> Command:
    policy = ClosurePolicy(
        requester_may_close=settings.requester_may_close, buyer_signer_may_close=settings.buyer_signer_may_close
    )
    return Command(uow, user, http, key, if_match, settings.require_known_cost_centre, policy)


CommandDep = Annotated[Command, Depends(_command)]


@router.post("", status_code=201, response_model=RequestRead, summary="Create a draft")
async def create_request(
    data: RequestCreate,
    uow: UowDep,
    user: Requester,
    http: Request,
    settings: SettingsDep,
    key: IdempotencyKey = None,
) -> JSONResponse:
    known = settings.require_known_cost_centre
    return await Command(uow, user, http, key).run(
        lambda: service.create_draft(uow=uow, user=user, data=data, require_known_cost_centre=known),
        payload=data.model_dump(mode="json"),
        status=201,
    )


@fast_path(create_request)
async def _create_request_fast(http: Request) -> Response:
    """``create_request`` with its arguments resolved as FastAPI resolves them (``api.fast``): what it would
    validate first, then its dependencies in their order (the unit of work, the user and their role, the
    settings)."""
    data, key = await fast.json_body(http, RequestCreate), fast.idempotency_key(http)
    async with asynccontextmanager(open_uow)(http) as uow:
        user = await requester(await current_user(http))
        return await create_request(data, uow, user, http, settings_from(http, Settings), key)


@router.get(
    "", response_model=RequestPageRead, summary="List the requests you can see", responses=problem_responses(400)
)
async def list_requests(
    user: CurrentUser,
    conn: ReadConnection,
    status: Status | None = None,
    requester: Annotated[str | None, Query(max_length=200)] = None,
    vendor_id: Annotated[str | None, Query(max_length=100)] = None,
    department: Annotated[str | None, Query(max_length=100)] = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    q: Annotated[str | None, Query(max_length=200, pattern=NUL_FREE)] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> RequestPageRead:
    where = queries.RequestFilter(status, requester, vendor_id, department, created_from, created_to, q)
    # No unit of work: one statement on a pooled connection without a transaction (read_connection).
    return await queries.list_requests_now(conn, user=user, where=where, cursor=cursor, limit=limit)


@router.get("/{request_id}", response_model=RequestRead, summary="Read one request")
async def get_request(request_id: RequestId, user: CurrentUser, conn: ReadConnection) -> Response:
    # No unit of work: one statement on a pooled connection without a transaction (read_connection).
    read = await queries.request_read_now(conn, user=user, request_id=str(request_id))
    # Serialised once, by pydantic: the same bytes as JSONResponse(read.model_dump(mode="json")) (the
    # model has no float, the one type the two encoders write differently), without the dict between.
    return Response(read.model_dump_json(), media_type="application/json", headers={"ETag": f'"{read.version}"'})


@fast_path(get_request)
async def _get_request_fast(http: Request) -> Response | None:
    """``get_request`` with its arguments resolved as its dependencies resolve them (``api.fast``)."""
    raw = http.path_params.get("request_id")
    if not isinstance(raw, str) or CANONICAL_UUID.fullmatch(raw) is None:
        return None
    user = await current_user(http)
    async with read_connection(http.app.state.engine) as conn:
        return await get_request(uuid.UUID(raw), user, conn)


@router.patch(
    "/{request_id}",
    response_model=RequestRead,
    summary="Update a draft (If-Match required)",
    responses=problem_responses(409, 412, 428),
)
async def update_request(
    request_id: RequestId,
    data: RequestUpdate,
    uow: UowDep,
    user: CurrentUser,
    http: Request,
    settings: SettingsDep,
    if_match: IfMatch = None,
) -> JSONResponse:
    command = Command(uow, user, http, None, if_match, settings.require_known_cost_centre)
    return await command.on(service.update_draft, request_id, data, payload=None, checks_cost_centre=True)


@fast_path(update_request)
async def _update_request_fast(http: Request) -> JSONResponse:
    """``update_request`` with its arguments resolved as FastAPI resolves them (``api.fast``): the path id, the
    body and ``If-Match`` checked first, then its dependencies in their order (the unit of work, the user, the
    settings). No ``Idempotency-Key``: the route reads none."""
    request_id, data, match = fast.path_id(http), await fast.json_body(http, RequestUpdate), fast.if_match(http)
    async with asynccontextmanager(open_uow)(http) as uow:
        user = await current_user(http)
        return await update_request(request_id, data, uow, user, http, settings_from(http, Settings), match)


@router.post(
    "/{request_id}/submit",
    response_model=RequestRead,
    responses=COMMAND_PROBLEMS,
    summary="Submit a draft for approval",
)
async def submit_request(request_id: RequestId, command: CommandDep) -> JSONResponse:
    return await command.on(service.submit, request_id, None, payload=None, checks_cost_centre=True)


@router.post(
    "/{request_id}/cancel",
    response_model=RequestRead,
    responses=COMMAND_PROBLEMS,
    summary="Cancel (before the contract is executed)",
)
async def cancel_request(request_id: RequestId, data: CancelCreate, command: CommandDep) -> JSONResponse:
    return await command.on(service.cancel, request_id, data, payload=data.model_dump(mode="json"))


@router.post(
    "/{request_id}/revise",
    response_model=RequestRead,
    responses=COMMAND_PROBLEMS,
    summary="Revise after changes were requested",
)
async def revise_request(request_id: RequestId, data: RequestRevise, command: CommandDep) -> JSONResponse:
    payload = data.model_dump(mode="json", exclude_unset=True)
    return await command.on(service.revise, request_id, data, payload=payload, checks_cost_centre=True)


@router.post(
    "/{request_id}/reassign-vendor",
    response_model=RequestRead,
    responses=COMMAND_PROBLEMS,
    summary="Send a declined order elsewhere",
)
async def reassign_vendor(request_id: RequestId, data: VendorReassignCreate, command: CommandDep) -> JSONResponse:
    return await command.on(service.reassign_vendor, request_id, data, payload=data.model_dump(mode="json"))


@router.post(
    "/{request_id}/receipts",
    response_model=RequestRead,
    responses=COMMAND_PROBLEMS,
    summary="Confirm receipt (per line, partial)",
)
async def confirm_receipt(request_id: RequestId, data: ReceiptCreate, command: CommandDep) -> JSONResponse:
    return await command.on(
        service.confirm_receipt, request_id, data, payload=data.model_dump(mode="json"), checks_closer=True
    )


@router.post(
    "/{request_id}/close",
    response_model=RequestRead,
    responses=COMMAND_PROBLEMS,
    summary="Close (or close short with a reason)",
)
async def close_request(request_id: RequestId, data: CloseCreate, command: CommandDep) -> JSONResponse:
    return await command.on(service.close, request_id, data, payload=data.model_dump(mode="json"), checks_closer=True)


async def _fast_command(http: Request, run: Callable[[Command], Awaitable[JSONResponse]]) -> JSONResponse:
    """A ``CommandDep`` as FastAPI resolves it (``_command``'s dependencies in their order, then ``_command``),
    handed to ``run``; the caller checked the path id and the body first."""
    key, match = fast.idempotency_key(http), fast.if_match(http)
    async with asynccontextmanager(open_uow)(http) as uow:
        user = await current_user(http)
        return await run(await _command(uow, user, http, settings_from(http, Settings), key, match))


def _fast_command_with_body(
    endpoint: Callable[[uuid.UUID, Any, Command], Awaitable[JSONResponse]], model: type[BaseModel]
) -> None:
    """Registers the fast path of a command route ``(request_id, data, command)`` whose body is ``model``."""

    @fast_path(endpoint)
    async def path(http: Request) -> JSONResponse:
        request_id, data = fast.path_id(http), await fast.json_body(http, model)
        return await _fast_command(http, lambda command: endpoint(request_id, data, command))


@fast_path(submit_request)
async def _submit_request_fast(http: Request) -> JSONResponse:
    request_id = fast.path_id(http)
    return await _fast_command(http, lambda command: submit_request(request_id, command))


_fast_command_with_body(cancel_request, CancelCreate)
_fast_command_with_body(revise_request, RequestRevise)
_fast_command_with_body(reassign_vendor, VendorReassignCreate)
_fast_command_with_body(confirm_receipt, ReceiptCreate)
_fast_command_with_body(close_request, CloseCreate)


@router.get("/{request_id}/revisions", response_model=list[RevisionRead], summary="Every revision")
async def list_revisions(request_id: RequestId, user: CurrentUser, conn: ReadConnection) -> list[RevisionRead]:
    # No unit of work: one statement on a pooled connection without a transaction (read_connection).
    return await queries.revisions_now(conn, user=user, request_id=str(request_id))


@router.get("/{request_id}/revisions/diff", response_model=RevisionDiffRead, summary="What changed between two")
async def diff_revisions(
    request_id: RequestId,
    user: CurrentUser,
    conn: ReadConnection,
    from_revision: Annotated[int, Query(alias="from", ge=1, le=2_147_483_647)],
    to_revision: Annotated[int, Query(alias="to", ge=1, le=2_147_483_647)],
) -> RevisionDiffRead:
    # No unit of work: one statement on a pooled connection without a transaction (read_connection).
    return await queries.revision_diff_now(
        conn, user=user, request_id=str(request_id), from_revision=from_revision, to_revision=to_revision
    )


TIMELINE_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {
        "headers": {
            "Timeline-Source": {
                "description": "`live`, or `archive` when `archive-timeline` moved this finished request's "
                "timeline to the object store and it was read back from there (hash-checked)",
                "schema": {"type": "string", "enum": ["live", "archive"]},
            }
        }
    },
    **problem_responses(
        410,
        502,
        503,
        s410="`timeline-archived`: the archived timeline's segment is gone from the object store "
        "(`object_key`, `sha256` name it)",
        s502="`document-integrity`: the archived segment does not hash to the SHA-256 recorded for it; "
        "nothing of it is served",
        s503="`document-store-unavailable`: the object store holding the archived timeline did not answer "
        "(`Retry-After`)",
    ),
}


def _archive_store(http: Request) -> ObjectStore | None:
    """The archived timelines' object store: the unit of work's class holds it (``with_archive``), so the
    reads and the unit of work never disagree on it. Asked only for an archived timeline."""
    uow = http.app.state.uow_factory()
    return uow.archive_store if isinstance(uow, RequestsUnitOfWork) else None


@router.get(
    "/{request_id}/timeline",
    response_model=list[TimelineEntryRead],
    summary="Every lifecycle event",
    responses=TIMELINE_ANSWERS,
)
async def request_timeline(
    request_id: RequestId,
    user: CurrentUser,
    conn: ReadConnection,
    http: Request,
    response: Response,
    accept_language: AcceptLanguage = None,
) -> list[TimelineEntryRead]:
    """Each entry's ``note`` is written for people in the first language of ``Accept-Language`` this service
    speaks (``en``, ``de``; English otherwise; the answer's ``Content-Language`` names it), next to its machine
    form ``note_code`` + ``note_params``; ``detail`` says how the service handled the event. A request finished
    long ago may have its timeline in the object store: it is read back from there, reads the same and is
    marked ``Timeline-Source: archive``."""
    language = language_of(accept_language)
    # No unit of work: one statement on a pooled connection without a transaction (read_connection).
    timeline = await queries.timeline_now(
        conn, lambda: _archive_store(http), user=user, request_id=str(request_id), language=language
    )
    response.headers["Content-Language"] = language
    response.headers["Vary"] = "Accept-Language"
    response.headers["Timeline-Source"] = "archive" if timeline.archived else "live"
    return timeline.entries


_TIMELINE_ANSWER = TypeAdapter(list[TimelineEntryRead])
"""The route's response model, as FastAPI serialises it (``serialize_json``: validated, dumped by pydantic)."""
ACCEPT_LANGUAGE_MAX = 1000
"""``AcceptLanguage``'s ``max_length``."""


@fast_path(request_timeline)
async def _request_timeline_fast(http: Request) -> Response:
    """``request_timeline`` with its arguments resolved as FastAPI resolves them (``api.fast``): the path id and
    ``Accept-Language`` checked first, then the user and the read connection; the answer serialised and its
    headers put together as FastAPI's handler does (the body by the response model, then the headers the
    endpoint set on its ``Response``)."""
    request_id = fast.path_id(http)
    accept_language = http.headers.get("accept-language")
    if accept_language is not None and len(accept_language) > ACCEPT_LANGUAGE_MAX:
        raise fast.StepAside
    user = await current_user(http)
    async with read_connection(http.app.state.engine) as conn:
        sub_response = Response()
        del sub_response.headers["content-length"]
        entries = await request_timeline(request_id, user, conn, http, sub_response, accept_language)
    body = _TIMELINE_ANSWER.dump_json(_TIMELINE_ANSWER.validate_python(entries), by_alias=True)
    answer = Response(body, media_type="application/json")
    answer.headers.raw.extend(sub_response.headers.raw)
    return answer
