"""The hot ``GET`` and the commands without FastAPI's dependency solver, and the same answer as with it.

``GET /requests/{id}`` is what a client polls (about once a second per open request, the flow's
driver included): FastAPI solves its dependencies (the path parameter's validation by pydantic, the
bearer user, the read connection's ``yield`` dependency and its exit stack) on every call. ``FastRoute``
is the router's route class: for an endpoint registered in ``FAST_PATHS`` its handler first tries the
fast path, which calls the same endpoint function with the same arguments resolved by hand (the same
``current_user`` and ``read_connection`` that the dependencies use), and falls back to FastAPI's own
handler for anything else: a path parameter that is not a canonical UUID (FastAPI answers its 422 as
always), or an app with dependency overrides (tests). Errors raised on the fast path (401, 404) are the
same exceptions raised in the same place (inside the route's ``request_response``), so they are answered
the same way. The route, its OpenAPI operation, its matching and its metrics label are FastAPI's, unchanged.

The commands (``POST /requests``, ``/submit``, ``/receipts``, ``/close``...: about four a flow) take the same
road: their fast path first checks what FastAPI would validate (the path id, the ``Idempotency-Key`` and
``If-Match`` headers, the JSON body against the endpoint's model) and steps aside on anything it does not
accept as it stands, so every 422 (and every 400 of an unreadable body) is FastAPI's own; only then does it
resolve the dependencies FastAPI would, with the same functions, in the same order (the unit of work, the
user, the settings), whose refusals (401, 403) are the same exceptions. A body is taken only when its
``Content-Type`` is exactly ``application/json`` and its ``Content-Length`` is declared (a chunked body may
pass the body limit while it is read: FastAPI's handler reads it, as before).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from fastapi import Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)

FastPath = Callable[[Request], Awaitable[Response | None]]
"""Answers the request, or None to leave it to FastAPI's handler."""

FAST_PATHS: dict[Callable[..., Any], FastPath] = {}
"""Endpoint function -> its fast path (``fast_path`` registers them)."""

CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
"""The form this service writes its ids in (lower case, hyphens): ``str(uuid.UUID(x)) == x``. Any other
form pydantic may accept (upper case, no hyphens, braces, ``urn:uuid:``) goes through FastAPI."""

IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,200}")
"""What ``backoffice_common.idempotency.IdempotencyKey`` accepts: 1-200 printable ASCII characters."""
IF_MATCH_MAX = 100
"""``If-Match``'s ``max_length`` (``api.requests.IfMatch``)."""


class StepAside(Exception):
    """A fast path's check found what FastAPI's handler must answer (raised before anything is opened)."""


def path_id(http: Request) -> uuid.UUID:
    """The ``request_id`` path parameter in its canonical form, as FastAPI would validate it."""
    raw = http.path_params.get("request_id")
    if not isinstance(raw, str) or CANONICAL_UUID.fullmatch(raw) is None:
        raise StepAside
    return uuid.UUID(raw)


def idempotency_key(http: Request) -> str | None:
    """The ``Idempotency-Key`` header as FastAPI reads it (the first one; absent: None)."""
    key = http.headers.get("idempotency-key")
    if key is not None and IDEMPOTENCY_KEY.fullmatch(key) is None:
        raise StepAside
    return key


def if_match(http: Request) -> str | None:
    """The ``If-Match`` header as FastAPI reads it (the first one; absent: None)."""
    value = http.headers.get("if-match")
    if value is not None and len(value) > IF_MATCH_MAX:
        raise StepAside
    return value


async def json_body(http: Request, model: type[M]) -> M:
    """The body validated as FastAPI validates a JSON body param: ``json.loads`` (Starlette's ``Request.json``)
    and the model's validation of the result; any other content type, an unreadable body, a body FastAPI
    would refuse or one that is chunked: ``StepAside``."""
    headers = http.headers
    if headers.get("content-type") != "application/json" or "content-length" not in headers:
        raise StepAside
    try:
        raw = await http.body()
    except Exception as exc:  # a client gone: FastAPI's handler answers as it does (its 400)
        raise StepAside from exc
    if not raw:
        raise StepAside
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError: FastAPI's 422 or 400
        raise StepAside from exc
    if value is None:  # JSON null: FastAPI's "missing"
        raise StepAside
    try:
        return model.model_validate(value)
    except ValidationError as exc:  # FastAPI's 422, with its own locations
        raise StepAside from exc


def fast_path(endpoint: Callable[..., Any]) -> Callable[[FastPath], FastPath]:
    def register(path: FastPath) -> FastPath:
        FAST_PATHS[endpoint] = path
        return path

    return register


class FastRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        standard = super().get_route_handler()
        endpoint = self.endpoint

        async def handler(request: Request) -> Response:
            # looked up per call: the route is built (by its decorator) before its fast path is registered
            fast = FAST_PATHS.get(endpoint)
            if fast is not None and not request.app.dependency_overrides:
                try:
                    answer = await fast(request)
                except StepAside:
                    answer = None
                if answer is not None:
                    return answer
            return await standard(request)

        return handler
