"""The console's composition root: pages, static assets (no CDN), sessions, OIDC and error pages."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from backoffice_common import metrics
from backoffice_common.tracing import instrument, make_tracer_provider, tracing_wanted
from backoffice_console import (
    absences,
    admin,
    approver,
    auth_routes,
    budgets,
    checklists,
    contract_templates,
    insights,
    operations,
    procurement,
    requester,
    vendors,
)
from backoffice_console.backend import ApiError, Backend
from backoffice_console.oidc import OidcClient
from backoffice_console.sessions import COOKIE, SessionDatabase, SessionStore
from backoffice_console.settings import Settings
from backoffice_console.web import CsrfRefused, Forbidden, NeedsSignIn, SignedIn, current_session, render

log = logging.getLogger("backoffice.console")
STATIC = Path(__file__).parent / "static"


def create_app(settings: Settings | None = None, *, tracer_provider: TracerProvider | None = None) -> FastAPI:
    """The console. Traced like the services (``backoffice_common.tracing``) when the settings ask for it, or
    through ``tracer_provider`` (tests): a server span for each page, and its calls to the services as client
    spans whose ``traceparent`` makes each service's work part of the page's trace."""
    settings = settings or Settings()
    provider = tracer_provider
    if provider is None and tracing_wanted(otel_enabled=settings.otel_enabled):
        provider = make_tracer_provider("console")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with httpx.AsyncClient(timeout=settings.api_timeout_seconds) as http:
            app.state.backend = Backend(settings, http)
            try:
                yield
            finally:
                if app.state.sessions.database is not None:
                    await app.state.sessions.database.close()
                if provider is not None:
                    await asyncio.to_thread(provider.force_flush, 5000)

    app = FastAPI(title="Back-office console", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.oidc = OidcClient(settings)
    app.state.sessions = SessionStore(
        idle_seconds=settings.session_idle_seconds,
        max_seconds=settings.session_max_seconds,
        max_sessions=settings.max_sessions,
        database=(
            SessionDatabase(settings.database_url, settings.session_key(), settings.session_encryption_previous_keys)
            if settings.database_url
            else None
        ),
    )
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (
        auth_routes,
        requester,
        approver,
        absences,
        procurement,
        vendors,
        admin,
        contract_templates,
        operations,
        budgets,
        insights,
        checklists,
    ):
        app.include_router(module.router)

    @app.middleware("http")
    async def sessions(request: Request, call_next):  # type: ignore[no-untyped-def]
        """With a database: the request's session is read before and written back after it."""
        store: SessionStore = app.state.sessions
        if store.database is None or request.url.path.startswith(("/static/", "/healthz", "/metrics")):
            return await call_next(request)
        loaded = store.begin()
        await store.load(request.cookies.get(COOKIE))
        response: Response = await call_next(request)
        await store.end(loaded)
        return response

    @app.middleware("http")
    async def http_metrics(request: Request, call_next):  # type: ignore[no-untyped-def]
        """The services' request counter and latency histogram, labelled service="console"."""
        started, status = time.perf_counter(), 500
        try:
            response: Response = await call_next(request)
            status = response.status_code
            return response
        finally:
            template = getattr(request.scope.get("route"), "path", None) or "unmatched"
            metrics.HTTP_REQUESTS.labels("console", request.method, template, str(status)).inc()
            metrics.HTTP_LATENCY.labels("console", request.method, template).observe(time.perf_counter() - started)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response: Response = await call_next(request)
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; form-action 'self' " + settings.oidc_issuer.split("/realms/")[0],
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.url.path.startswith(
            (
                "/requests",
                "/tasks",
                "/inbox",
                "/contracts",
                "/admin",
                "/budgets",
                "/insights",
                "/absences",
                "/vendors",
                "/checklists",
            )
        ):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.get("/", include_in_schema=False)
    async def home(session: SignedIn) -> Response:
        roles = session.roles
        for role, target in (
            ("approver", "/inbox"),
            ("requester", "/requests"),
            ("procurement", "/contracts"),
            ("admin", "/admin"),
            ("finance", "/budgets"),
            ("hr", "/checklists"),
        ):
            if role in roles:
                return RedirectResponse(target, status_code=303)
        return RedirectResponse("/checklists/mine", status_code=303)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        """For Prometheus (the PodMonitor backoffice-console): the Gateway does not route it."""
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        try:
            await app.state.oidc.metadata()
        except Exception as exc:
            return JSONResponse({"status": "not ready", "detail": f"identity provider: {exc}"}, status_code=503)
        database: SessionDatabase | None = app.state.sessions.database
        if database is not None and (problem := await database.schema_problem()) is not None:
            return JSONResponse({"status": "not ready", "detail": f"session store: {problem}"}, status_code=503)
        try:
            sessions = await app.state.sessions.count()
        except Exception as exc:
            return JSONResponse({"status": "not ready", "detail": f"session store: {exc}"}, status_code=503)
        return JSONResponse({"status": "ready", "sessions": sessions})

    @app.exception_handler(NeedsSignIn)
    async def _sign_in(request: Request, exc: NeedsSignIn) -> Response:
        target = f"/auth/login?next={quote(exc.target)}"
        if request.headers.get("hx-request"):
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        return render(request, "403.html", 403, needed=exc.needed)

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, exc: CsrfRefused) -> Response:
        return render(
            request, "error.html", 403, title="Access denied", detail="The form has expired. Please try again."
        )

    @app.exception_handler(ApiError)
    async def _api(request: Request, exc: ApiError) -> Response:
        if exc.status == 401:
            session = current_session(request)
            if session is not None:
                request.app.state.sessions.drop(session.id)
            return RedirectResponse(f"/auth/login?next={quote(request.url.path)}", status_code=303)
        if exc.status == 403:
            return render(request, "403.html", 403, needed=(), detail=exc.detail)
        if exc.status == 404:
            return render(request, "error.html", 404, title="Page not found", detail=exc.detail)
        log.warning("a service answered %s: %s", exc.status, exc.detail)
        return render(request, "error.html", 502, title="Something went wrong", detail=exc.detail)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        title = "Page not found" if exc.status_code == 404 else "Something went wrong"
        return render(request, "error.html", exc.status_code, title=title, detail=str(exc.detail))

    @app.exception_handler(httpx.TransportError)
    async def _unreachable(request: Request, exc: httpx.TransportError) -> Response:
        log.warning("a service is unreachable: %s", exc)
        return render(request, "error.html", 503, title="Something went wrong", detail="A service is not reachable.")

    if provider is not None:
        instrument(app, provider, not_traced=["/static/"])
    return app
