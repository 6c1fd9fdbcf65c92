"""Calls to the four services' public REST APIs with the signed-in user's access token."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from backoffice_console.settings import Settings


@dataclass
class ApiError(Exception):
    """A service answered with a problem (RFC 9457); shown to the user, never a stack trace."""

    status: int
    title: str
    detail: str
    errors: list[dict[str, Any]]
    type: str = ""
    """The problem's ``type`` URI (``.../segregation-of-duties``), or empty."""

    def field_errors(self) -> dict[str, str]:
        """``body.lines.0.quantity`` -> ``lines.0.quantity``: messages shown next to the field."""
        result: dict[str, str] = {}
        for error in self.errors:
            location = str(error.get("location", ""))
            result.setdefault(location.removeprefix("body.").removeprefix("body"), str(error.get("message", "")))
        return result


class Backend:
    def __init__(self, settings: Settings, http: httpx.AsyncClient) -> None:
        self.http = http
        self.base = {
            "requests": settings.requests_url.rstrip("/"),
            "approvals": settings.approvals_url.rstrip("/"),
            "notifications": settings.notifications_url.rstrip("/"),
            "contracts": settings.contracts_url.rstrip("/"),
            "budgets": settings.budgets_url.rstrip("/"),
            "insights": settings.insights_url.rstrip("/"),
            "checklists": settings.checklists_url.rstrip("/"),
        }

    async def call(
        self,
        token: str,
        method: str,
        service: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        if_match: str | None = None,
        raw: bool = False,
        content: str | None = None,
        content_type: str | None = None,
        language: str | None = None,
    ) -> Any:
        """``json`` for a JSON body, or ``content`` with its ``content_type`` (YAML, CSV) as typed;
        ``language`` (the reader's) as ``Accept-Language``, for answers written for people (timeline notes)."""
        headers = {"Authorization": f"Bearer {token}"}
        if language is not None:
            headers["Accept-Language"] = language
        if content_type is not None:
            headers["Content-Type"] = content_type
        if if_match is not None:
            headers["If-Match"] = f'"{if_match}"'

        if method in ("POST", "PUT", "PATCH"):
            headers["Idempotency-Key"] = idempotency_key or str(uuid.uuid4())
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        url = f"{self.base[service]}{path}"
        try:
            response = await self.http.request(method, url, headers=headers, json=json, content=content, params=clean)
        except httpx.RemoteProtocolError:
            # a kept-alive connection the service closed as we reused it: once more on a fresh one
            # (safe: reads, and writes carry the same Idempotency-Key)
            response = await self.http.request(method, url, headers=headers, json=json, content=content, params=clean)
        if response.status_code >= 400:
            raise _problem(response)
        if raw:
            return response
        if response.status_code == 204 or not response.content:
            return None
        return response.json()


def _problem(response: httpx.Response) -> ApiError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    found = body.get("errors")
    errors: list[Any] = found if isinstance(found, list) else []
    return ApiError(
        status=response.status_code,
        title=str(body.get("title") or response.reason_phrase),
        detail=str(body.get("detail") or response.text[:300]),
        errors=[e for e in errors if isinstance(e, dict)],
        type=str(body.get("type") or ""),
    )
