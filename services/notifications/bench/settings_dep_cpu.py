"""A request's settings dependency: the plain ``def`` (FastAPI's thread pool) against the coroutine (not a test).

Two FastAPI apps with the same route (``POST /vendor-webhook``-shaped: the request, the settings, an answer),
one depending on a plain ``def`` as ``backoffice_common.deps.settings_of(Settings)`` was until the ninth round
(FastAPI calls it through ``run_in_threadpool``; copied below), the other on ``settings_of(Settings)`` now (a
coroutine). Each request is sent
in-process through the ASGI interface (no socket), the apps alternated round by round; the same status and body
from both are checked first. Reported: CPU of this process (all its threads: the pool's worker included) per
request, medians of the rounds.

    .venv/bin/python services/notifications/bench/settings_dep_cpu.py --n 3000 --rounds 6
"""

import argparse
import asyncio
import os
import statistics
import time
from typing import Annotated, Any

from cryptography.fernet import Fernet
from fastapi import Depends, FastAPI, Request

from backoffice_common.deps import settings_of
from backoffice_notifications.settings import Settings


def old_settings_of(request: Request) -> Settings:
    """``settings_of(Settings)``'s dependency before the ninth round: a plain ``def``."""
    settings = request.app.state.settings
    if not isinstance(settings, Settings):
        raise RuntimeError("app.state.settings is not set")
    return settings


def app_with(dependency: Any, settings: Settings) -> FastAPI:
    app = FastAPI()
    app.state.settings = settings
    dep = Annotated[Settings, Depends(dependency)]

    @app.post("/vendor-webhook")
    async def hook(request: Request, settings: dep) -> dict[str, str]:
        return {"status": "accepted", "environment": settings.environment}

    return app


async def call(app: FastAPI) -> tuple[int, bytes]:
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/vendor-webhook", "raw_path": b"/vendor-webhook", "query_string": b"", "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"2")],
        "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000), "app": app,
    }  # fmt: skip
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


async def run(n: int, rounds: int) -> None:
    settings = Settings(
        environment="test",
        database_url="postgresql+asyncpg://unused@127.0.0.1:1/unused",
        jwt_secret="j" * 40,
        secret_encryption_key=Fernet.generate_key().decode(),
        link_signing_key="l" * 40,
        log_json=False,
    )
    apps = {"old (def, thread pool)": app_with(old_settings_of, settings), "new (coroutine)": app_with(
        settings_of(Settings), settings)}  # fmt: skip
    answers = {name: await call(app) for name, app in apps.items()}
    assert len(set(answers.values())) == 1, answers
    assert answers[next(iter(apps))][0] == 200, answers
    for app in apps.values():
        for _ in range(200):
            await call(app)
    cpu: dict[str, list[float]] = {name: [] for name in apps}
    for r in range(rounds):
        for name in list(apps) if r % 2 == 0 else list(reversed(apps)):
            c0 = time.process_time()
            for _ in range(n):
                await call(apps[name])
            cpu[name].append((time.process_time() - c0) / n * 1e6)
    load = os.getloadavg()
    print(f"a request's settings dependency, {rounds} x {n} alternated; load {load[0]:.2f}/{load[1]:.2f}")
    print(f"  the same answer from both: {answers[next(iter(apps))]}")
    for name in apps:
        print(
            f"  {name:24} {statistics.median(cpu[name]):7.1f} us a request   (rounds"
            f" {', '.join(f'{x:.1f}' for x in cpu[name])})"
        )
    old, new = (statistics.median(v) for v in cpu.values())
    print(f"  new/old {new / old:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    asyncio.run(run(args.n, args.rounds))


if __name__ == "__main__":
    main()
