"""The hot ``GET`` without FastAPI's dependency solver, and the same answer as with it.

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
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

FastPath = Callable[[Request], Awaitable[Response | None]]
"""Answers the request, or None to leave it to FastAPI's handler."""

FAST_PATHS: dict[Callable[..., Any], FastPath] = {}
"""Endpoint function -> its fast path (``fast_path`` registers them)."""

CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
"""The form this service writes its ids in (lower case, hyphens): ``str(uuid.UUID(x)) == x``. Any other
form pydantic may accept (upper case, no hyphens, braces, ``urn:uuid:``) goes through FastAPI."""


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
                answer = await fast(request)
                if answer is not None:
                    return answer
            return await standard(request)

        return handler
