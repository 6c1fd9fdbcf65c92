"""No route of any service runs a dependency in FastAPI's thread pool.

FastAPI calls a plain ``def`` dependency through ``run_in_threadpool``: a hand-off to a worker thread and back on
every request (about 0.14 ms of CPU each, ``services/notifications/bench/settings_dep_cpu.py``; the shared
``settings_of`` was one in five services until the ninth round). Every dependency of every route, and every
route itself, is a coroutine or an async generator. The apps are built as in
``test_body_size_limit_every_service.py``, without their lifespan."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

SERVICES = ("requests", "approvals", "notifications", "contracts", "insights", "budgets", "checklists", "console")


def _api_routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)  # FastAPI's included router (0.16x)
        if included is not None:
            yield from _api_routes(included.routes)


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from _dependencies(sub)


def _on_the_loop(call: Any) -> bool:
    target = call if inspect.isfunction(call) or inspect.ismethod(call) else getattr(call, "__call__", call)  # noqa: B004
    return inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target)


@pytest.mark.parametrize("service", SERVICES)
def test_every_route_and_dependency_runs_on_the_event_loop(service: str) -> None:
    app: FastAPI = importlib.import_module(f"backoffice_{service}.main").create_app()
    routes = [r for r in _api_routes(app.routes) if not r.path.startswith("/docs") and r.path != "/redoc"]
    assert len(routes) >= 15, [r.path for r in routes]  # the service's own routes were found
    threaded = [f"{r.path}: {r.endpoint.__name__}" for r in routes if not _on_the_loop(r.endpoint)]
    threaded += [
        f"{r.path}: {getattr(d.call, '__name__', d.call)}"
        for r in routes
        for d in _dependencies(r.dependant)
        if d.call is not None and not _on_the_loop(d.call)
    ]
    assert threaded == []
