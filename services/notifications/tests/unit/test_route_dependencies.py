"""No route of the notifications service runs a dependency in FastAPI's thread pool.

FastAPI calls a plain ``def`` dependency through ``run_in_threadpool``: a hand-off to a worker thread and back on
every request (the vendor webhook's settings were one, twice a flow). Every dependency of every route is a
coroutine or an async generator."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from backoffice_notifications.api import ROUTERS


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from _dependencies(sub)


def _runs_on_the_loop(call: Any) -> bool:
    target = call if inspect.isfunction(call) or inspect.ismethod(call) else getattr(call, "__call__", call)  # noqa: B004
    return inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target)


def test_every_dependency_of_every_route_runs_on_the_event_loop() -> None:
    routes = [route for router in ROUTERS for route in router.routes if isinstance(route, APIRoute)]
    checked, threaded = 0, []
    for route in routes:
        for dependency in _dependencies(route.dependant):
            if dependency.call is None:
                continue
            checked += 1
            if not _runs_on_the_loop(dependency.call):
                threaded.append(f"{route.path}: {getattr(dependency.call, '__name__', dependency.call)}")
    assert checked > 0
    assert threaded == []
    hook = next(r for r in routes if r.path == "/vendor-webhook")
    assert {d.call.__name__ for d in _dependencies(hook.dependant) if d.call is not None} >= {"settings_of_Settings"}
