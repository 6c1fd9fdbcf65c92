"""``GET /requests/{id}`` and ``POST /requests`` over real HTTP, this checkout's code against an earlier
commit's, and the read against the bare FastAPI + asyncpg endpoint (not a test).

What ``make bench`` measures for the read, with the old code beside the new in one run: three uvicorn
servers on one private, migrated database of the current profile's PostgreSQL, each a process of its
own: ``bare`` (``backoffice_cli.bare``, the floor), ``new`` (the requests app of this checkout) and
``old`` (the same app from ``--base``, a commit exported with ``git archive`` and put first on
``PYTHONPATH``). The two apps are served without their lifespan's Kafka work (the database only, as
``http_cpu.py`` does), so their CPU is the requests'. One client sends the calls one at a time, the
three servers taking turns round by round; CPU per call of the server process and of PostgreSQL's
process tree (less its idle rate, measured first) from ``/proc``, medians of ``--rounds``. Before
timing, the old and new servers' answers are compared (status, headers but the correlation id and
date, body).

    source deploy/env.sh && .venv/bin/python services/requests/bench/http_servers.py --base 8b3c47d --n 300
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx

import backoffice_requests
from backoffice_cli.bench import free_port, pid_listening_on, tree_seconds, wait_up
from backoffice_common.auth import mint_token
from backoffice_common.testing import private_database

ROOT = Path(__file__).resolve().parents[3]
MIGRATIONS = Path(backoffice_requests.__file__).parent / "migrations"
SECRET = "bench-http-secret-" + "x" * 30
VENDOR = "vendor-bench"
SERVE = """
import sys
from backoffice_common.app import _open_database
from backoffice_common.cli import run_server
from backoffice_requests.main import build_spec, create_app
from backoffice_requests.settings import Settings
import uvicorn

url, secret, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
settings = Settings(
    database_url=url, jwt_secret=secret, environment="test", log_level="WARNING", require_known_cost_centre=False
)
app = create_app(settings)
_open_database(app, build_spec(settings), settings)
run_server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="off"))
"""


def export(base: str, into: Path) -> str:
    """``services/common/src`` and ``services/requests/src`` of ``base``, as a PYTHONPATH."""
    archive = into / "base.tar"
    subprocess.run(
        ["git", "-C", str(ROOT), "archive", "-o", str(archive), base, "services/common/src", "services/requests/src"],
        check=True,
    )
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return os.pathsep.join(str(into / p) for p in ("services/common/src", "services/requests/src"))


@contextlib.contextmanager
def server(argv: list[str], pythonpath: str | None = None) -> Iterator[tuple[str, int]]:
    """A server process started with ``argv`` and a free port as its last argument."""
    port = free_port()
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    proc = subprocess.Popen([sys.executable, *argv, str(port)], env=env)
    try:
        yield f"http://127.0.0.1:{port}", proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def draft_body() -> dict[str, Any]:
    return {
        "title": "Laptops for the new team",
        "description": "Two laptops and a dock",
        "vendor_id": VENDOR,
        "currency": "EUR",
        "cost_center": "CC-100",
        "department": "ENG",
        "category": "hardware",
        "needed_by": "2030-01-31",
        "lines": [
            {"description": "Laptop", "quantity": "2", "unit": "pcs", "unit_price": "1200.00", "sku": "LT-14"},
            {"description": "Dock", "quantity": "1", "unit": "pcs", "unit_price": "99.99"},
        ],
    }


def comparable(response: httpx.Response, volatile: tuple[str, ...] = ()) -> tuple[int, list[tuple[str, str]], Any]:
    skip = {"x-correlation-id", "date", "location", *volatile}
    headers = sorted((k, v) for k, v in response.headers.items() if k not in skip)
    body = response.json()
    for key in ("correlation_id", "id", "number", "created_at", "updated_at") if volatile else ("correlation_id",):
        body.pop(key, None)
    if volatile and body.get("waiting_on"):
        body["waiting_on"].pop("since")
    return response.status_code, headers, body


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True, help="the commit to compare with (its services/*/src)")
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    pg_pid = pid_listening_on(int(os.environ["BACKOFFICE_PG_PORT"]))
    assert pg_pid is not None, "PostgreSQL of this profile is not running (make infra-up)"
    async with private_database(MIGRATIONS) as url:
        dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
        conn = await asyncpg.connect(dsn)
        await conn.execute("CREATE TABLE bench_floor (id int PRIMARY KEY, body text NOT NULL)")
        await conn.execute("INSERT INTO bench_floor VALUES (1, $1)", "x" * 1024)
        await conn.execute(
            "INSERT INTO vendor (vendor_id, legal_name, status, record, record_updated_at) "
            "VALUES ($1, 'Bench', 'active', '{}', '2026')",
            VENDOR,
        )
        await conn.close()
        with contextlib.ExitStack() as stack:
            base_path = export(args.base, Path(stack.enter_context(tempfile.TemporaryDirectory())))
            servers = {
                "bare": stack.enter_context(server(["-m", "backoffice_cli.bare", "--dsn", dsn, "--port"])),
                "old": stack.enter_context(server(["-c", SERVE, url, SECRET], base_path)),
                "new": stack.enter_context(server(["-c", SERVE, url, SECRET])),
            }
            await measure(args, servers, pg_pid)


async def measure(args: argparse.Namespace, servers: dict[str, tuple[str, int]], pg_pid: int) -> None:
    for base, _ in servers.values():
        for _ in range(5):  # wait_up waits 10 s; three servers starting at once on a loaded machine take longer
            with contextlib.suppress(SystemExit):
                await wait_up(base + "/")
                break
        else:
            raise SystemExit(f"{base} did not come up in 50 s")
    requester = {"Authorization": "Bearer " + mint_token(secret=SECRET, sub="requester-bench", roles=["requester"])}
    reader = {"Authorization": "Bearer " + mint_token(secret=SECRET, sub="buyer-bench", roles=["procurement"])}
    async with httpx.AsyncClient(timeout=30) as http:
        created = await http.post(servers["new"][0] + "/requests", json=draft_body(), headers=requester)
        assert created.status_code == 201, created.text
        request_id = created.json()["id"]
        before = await http.get(f"{servers['old'][0]}/requests/{request_id}", headers=reader)
        after = await http.get(f"{servers['new'][0]}/requests/{request_id}", headers=reader)
        assert comparable(before) == comparable(after), (before.text, after.text)
        before = await http.post(servers["old"][0] + "/requests", json=draft_body(), headers=requester)
        after = await http.post(servers["new"][0] + "/requests", json=draft_body(), headers=requester)
        volatile = ("content-length",)
        assert comparable(before, volatile) == comparable(after, volatile), (before.text, after.text)
        print(f"load average {os.getloadavg()[0]:.1f}: the old and new servers answer the same", flush=True)

        idle_before, started = tree_seconds({"pg": pg_pid})["pg"], time.perf_counter()
        await asyncio.sleep(5)
        pg_idle = (tree_seconds({"pg": pg_pid})["pg"] - idle_before) / (time.perf_counter() - started)
        body = json.dumps(draft_body()).encode()
        writer = {**requester, "Content-Type": "application/json"}
        calls: dict[tuple[str, str], tuple[str, str, dict[str, str], bytes | None]] = {
            ("read", "bare"): ("GET", servers["bare"][0] + "/rows/1", {}, None),
            ("read", "old"): ("GET", f"{servers['old'][0]}/requests/{request_id}", reader, None),
            ("read", "new"): ("GET", f"{servers['new'][0]}/requests/{request_id}", reader, None),
            ("write", "old"): ("POST", servers["old"][0] + "/requests", writer, body),
            ("write", "new"): ("POST", servers["new"][0] + "/requests", writer, body),
        }

        async def one(method: str, target: str, headers: dict[str, str], content: bytes | None) -> None:
            if content is not None:  # a new draft each time
                headers = {**headers, "Idempotency-Key": uuid.uuid4().hex}
            (await http.request(method, target, headers=headers, content=content)).raise_for_status()

        pids = {"bare": servers["bare"][1], "old": servers["old"][1], "new": servers["new"][1]}
        server_ms: dict[tuple[str, str], list[float]] = {key: [] for key in calls}
        total_ms: dict[tuple[str, str], list[float]] = {key: [] for key in calls}
        for call in calls.values():
            for _ in range(20):
                await one(*call)
        for _ in range(args.rounds):
            for key, call in calls.items():
                roots = {"server": pids[key[1]], "pg": pg_pid}
                cpu_before, started = tree_seconds(roots), time.perf_counter()
                for _ in range(args.n):
                    await one(*call)
                cpu_after, wall = tree_seconds(roots), time.perf_counter() - started
                used_server = cpu_after["server"] - cpu_before["server"]
                used_pg = max(0.0, cpu_after["pg"] - cpu_before["pg"] - pg_idle * wall)
                server_ms[key].append(used_server / args.n * 1000)
                total_ms[key].append((used_server + used_pg) / args.n * 1000)
    bare, bare_server = statistics.median(total_ms["read", "bare"]), statistics.median(server_ms["read", "bare"])
    print(f"load average {os.getloadavg()[0]:.1f}; CPU per call, medians of {args.rounds} rounds of {args.n}")
    print(f"  {'':12} {'server':>8} {'+PostgreSQL':>12}  {'ratio to the bare read (server+PostgreSQL; server)':>30}")
    for key in calls:
        s, t = statistics.median(server_ms[key]), statistics.median(total_ms[key])
        print(f"  {key[0]:<6}{key[1]:<6} {s:7.3f}  {t:10.3f}     {t / bare:5.2f}x; {s / bare_server:5.2f}x")
    for op in ("read", "write"):
        old, new = statistics.median(total_ms[op, "old"]), statistics.median(total_ms[op, "new"])
        old_s, new_s = statistics.median(server_ms[op, "old"]), statistics.median(server_ms[op, "new"])
        print(f"  {op}: old -> new {old:.3f} -> {new:.3f} ms ({new / old:.2f}); server {old_s:.3f} -> {new_s:.3f}")


if __name__ == "__main__":
    import uvloop

    uvloop.run(main())
