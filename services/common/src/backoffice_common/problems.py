"""RFC 9457 problem details for every error the services return."""

from __future__ import annotations

from typing import Any

import asyncpg
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from backoffice_common.db import is_database_unavailable
from backoffice_common.errors import ErrorMap, problem_type_of

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://backoffice.example/problems/"
DATABASE_RETRY_AFTER_SECONDS = 2

log = structlog.get_logger(__name__)


class Problem(Exception):
    """Raise from anywhere in a request to answer with a problem document."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        type: str | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type
        self.headers = headers
        self.extensions = extensions


def problem_response(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    type: str | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + type if type else "about:blank",
        "title": title,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    correlation_id = structlog.contextvars.get_contextvars().get("correlation_id")
    if correlation_id:
        body["correlation_id"] = correlation_id
    body.update(extensions)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + str(part)
    return path


_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    412: "Precondition Failed",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    428: "Precondition Required",
    429: "Too Many Requests",
}


def _is_data_error(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, asyncpg.exceptions.DataError):
            return True
        seen = getattr(seen, "orig", None) or seen.__cause__
    return False


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(
            exc.status,
            exc.title,
            exc.detail,
            type=exc.type,
            instance=request.url.path,
            headers=exc.headers,
            **exc.extensions,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"location": _location(err.get("loc", ())), "message": str(err.get("msg", "")), "type": err.get("type")}
            for err in exc.errors()[:50]
        ]
        summary = "; ".join(f"{e['location']}: {e['message']}" for e in errors[:5])
        return problem_response(
            422,
            "Request validation failed",
            summary,
            type="validation",
            instance=request.url.path,
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else None
        return problem_response(
            exc.status_code,
            _TITLES.get(exc.status_code, "Error"),
            detail,
            instance=request.url.path,
            headers=dict(exc.headers) if exc.headers else None,
        )

    async def _unavailable_or_unexpected(request: Request, exc: Exception) -> JSONResponse:
        if is_database_unavailable(exc):
            return _database_unavailable(request, exc)
        return await _unexpected(request, exc)

    # Registered by class (not only through the catch-all below) so that Starlette answers without
    # re-raising: a database restart is an expected condition, not a traceback in the server log.
    for unavailable in (
        ConnectionError,
        DisconnectionError,
        PoolTimeoutError,
        asyncpg.PostgresConnectionError,
        asyncpg.CannotConnectNowError,
        asyncpg.AdminShutdownError,
        asyncpg.CrashShutdownError,
        asyncpg.TooManyConnectionsError,
        asyncpg.InterfaceError,
    ):
        app.add_exception_handler(unavailable, _unavailable_or_unexpected)  # type: ignore[arg-type]

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> JSONResponse:
        if is_database_unavailable(exc):
            return _database_unavailable(request, exc)
        if _is_data_error(exc):
            # PostgreSQL's class 22 (or asyncpg refusing to encode a parameter): the request carried a
            # value the column cannot hold, such as an integer beyond int32. The transaction is rolled back.
            return problem_response(
                422,
                "Unprocessable Content",
                "a value in the request is out of range or malformed for the field it is meant for",
                type="validation",
                instance=request.url.path,
            )
        return await _unexpected(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        if is_database_unavailable(exc):
            return _database_unavailable(request, exc)
        log.exception("http.unhandled_error", path=request.url.path)
        return problem_response(
            500,
            "Internal Server Error",
            "An unexpected error occurred; it was logged with the correlation id.",
            instance=request.url.path,
        )


_RESERVED = frozenset({"type", "title", "status", "detail", "instance", "headers", "correlation_id"})


def install_error_map(app: FastAPI, errors: ErrorMap) -> None:
    """One exception handler per mapped class; each answers with the problem type of the most specific
    mapped class of the exception (its MRO), ``detail`` = ``str(exc)``, its ``extensions`` as members."""
    table = dict(errors)

    async def _mapped(request: Request, exc: Exception) -> JSONResponse:
        problem = problem_type_of(exc, table)
        if problem is None:  # not reachable: a handler is installed only for mapped classes
            raise exc
        extensions = {k: v for k, v in (getattr(exc, "extensions", None) or {}).items() if k not in _RESERVED}
        return problem_response(
            problem.status,
            problem.title,
            str(exc) or None,
            type=problem.type,
            instance=request.url.path,
            headers=problem.headers(exc) if problem.headers else None,
            **extensions,
        )

    for cls in table:
        app.add_exception_handler(cls, _mapped)


def _database_unavailable(request: Request, exc: BaseException) -> JSONResponse:
    """The database is restarting or unreachable: the client may retry, the pool heals by itself."""
    log.warning("http.database_unavailable", path=request.url.path, error=repr(exc)[:300])
    return problem_response(
        503,
        "Service Unavailable",
        f"The database is briefly unavailable; retry in {DATABASE_RETRY_AFTER_SECONDS} seconds.",
        type="database-unavailable",
        instance=request.url.path,
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
    )
