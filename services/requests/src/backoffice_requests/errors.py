"""Domain refusals as RFC 9457 problems: 409 for an illegal transition, 422 for unacceptable content."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from backoffice_common.problems import problem_response
from backoffice_requests.domain.errors import IllegalTransition, InvalidRequest


def install_domain_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(IllegalTransition)
    async def _illegal(request: Request, exc: IllegalTransition) -> JSONResponse:
        return problem_response(
            409,
            "Action not allowed in this state",
            str(exc),
            type="illegal-transition",
            instance=request.url.path,
            current_state=exc.current_state,
            allowed_actions=exc.allowed_actions,
        )

    @app.exception_handler(InvalidRequest)
    async def _invalid(request: Request, exc: InvalidRequest) -> JSONResponse:
        return problem_response(
            422, "Invalid request", exc.detail, type="invalid-request", instance=request.url.path, field=exc.field
        )
