"""Page render latency of the console: the approver inbox and a request page, N concurrent users.

Runs against a console started by `make run` (or the test profile), signing each virtual user in
once through Keycloak's real login form (plain HTTP, no browser), then timing full page renders
(console -> services -> HTML). Prints p50/p95/p99 per page.

    BACKOFFICE_PROFILE=run bash -c 'source deploy/env.sh && .venv/bin/python services/console/bench/render_bench.py \\
        --users 20 --seconds 30 --request-id <id>'
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import time
from html import unescape

import httpx

CONSOLE = os.environ.get("BACKOFFICE_CONSOLE_URL", "http://127.0.0.1:8014")
PASSWORDS = {"rita": "rita-requester", "max": "max-approver", "helga": "helga-approver"}


async def signed_in(user: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(follow_redirects=True, timeout=60)
    page = await client.get(f"{CONSOLE}/auth/login?next=/")
    action = re.search(r'<form[^>]+id="kc-form-login"[^>]+action="([^"]+)"', page.text)
    if action is None:
        raise SystemExit(f"no Keycloak login form at {page.url}")
    # Keycloak's cookies are Secure; browsers send them to http://127.0.0.1 (a secure context), httpx does not
    keycloak_cookies = "; ".join(f"{c.name}={c.value}" for c in client.cookies.jar if c.name != "bo_session")
    done = await client.post(
        unescape(action.group(1)),
        data={"username": user, "password": PASSWORDS[user]},
        headers={"Cookie": keycloak_cookies},
    )
    if "bo_session" not in client.cookies or done.status_code != 200:
        raise SystemExit(f"sign-in of {user} failed: {done.status_code} {done.url}")
    return client


async def run(users: int, seconds: float, request_id: str) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {"inbox": [], "request": []}
    clients = [await signed_in("max" if i % 2 == 0 else "rita") for i in range(users)]
    deadline = time.monotonic() + seconds

    async def user(i: int, client: httpx.AsyncClient) -> None:
        name, path = ("inbox", "/inbox") if i % 2 == 0 else ("request", f"/requests/{request_id}")
        while time.monotonic() < deadline:
            t0 = time.perf_counter()
            r = await client.get(CONSOLE + path)
            if r.status_code != 200:
                raise SystemExit(f"{path} answered {r.status_code}")
            timings[name].append((time.perf_counter() - t0) * 1000)

    await asyncio.gather(*(user(i, c) for i, c in enumerate(clients)))
    for c in clients:
        await c.aclose()
    return timings


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--request-id", required=True, help="a request rita can see")
    args = parser.parse_args()
    timings = asyncio.run(run(args.users, args.seconds, args.request_id))
    for name, values in timings.items():
        print(
            f"{name:8s} n={len(values):5d}  p50={statistics.median(values):7.1f} ms  "
            f"p95={pct(values, 95):7.1f} ms  p99={pct(values, 99):7.1f} ms  ({args.users} users, {args.seconds:.0f}s)"
        )


if __name__ == "__main__":
    main()
