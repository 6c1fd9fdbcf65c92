"""Live pages by polling with a version (an ETag of what the page shows).

An open request or task page asks every few seconds (htmx ``hx-trigger="every 5s"``) for itself with
``?since=<version>``; the console reads the services as for the page, and when nothing the page shows
changed it answers ``204 No Content`` (htmx swaps nothing). Otherwise it answers the page, of which
htmx swaps the live regions in place (``hx-select-oob``: status, budget check, "waiting on", the
action buttons, chain and timeline; on a task page its status, a notice and the decision form),
leaving the rest (the lines with their receipt inputs) alone. Plain clients get the same version as
``ETag`` and ``304`` for ``If-None-Match``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fastapi import Request
from fastapi.responses import Response

POLL_SECONDS = 5


def version_of(*parts: Any) -> str:
    """A short stable fingerprint of what a page shows."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:20]


def unchanged(request: Request, version: str) -> Response | None:
    """204 for a poll (``since``) or 304 for ``If-None-Match`` when ``version`` is what the client has."""
    if request.query_params.get("since") == version:
        return Response(status_code=204, headers={"ETag": f'"{version}"', "Cache-Control": "no-store"})
    if request.headers.get("if-none-match", "").strip('"') == version:
        return Response(status_code=304, headers={"ETag": f'"{version}"', "Cache-Control": "no-store"})
    return None


def tagged(response: Response, version: str) -> Response:
    response.headers["ETag"] = f'"{version}"'
    return response
