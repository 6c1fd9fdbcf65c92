"""PostgreSQL settings, old against new, on the running platform in alternating windows (not a test).

Against ``make run``: each window applies side A's settings (``--a name=value``, none by default: the
server's configuration as deploy/infra.sh writes it) or side B's (``--b name=value``) with ``ALTER SYSTEM``
and ``pg_reload_conf()`` (so only settings a reload changes: every backend takes them at its next
statement; the values a new session sees are printed), runs ``backoffice load --flows N --rate R`` and
reads the server's CPU per completed flow (utime + stime of the postmaster, its live children and its
reaped ones, from ``/proc``). The sides alternate (A B B A A B ...), so a drift of the machine's load
falls on both; every ``ALTER SYSTEM`` is reset at the end.

    source deploy/env.sh && .venv/bin/python services/common/bench/pg_settings_ab.py --b jit=off --rounds 4
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pg_processes import TICK, postmaster_of, snapshot


def pg_ticks(postmaster: int) -> int:
    children, own, reaped = snapshot(postmaster)
    return own + reaped + sum(ticks for _, ticks in children.values())


async def apply(dsn: str, settings: dict[str, str], names: list[str]) -> dict[str, str]:
    conn = await asyncpg.connect(dsn)
    try:
        for name in names:
            if name in settings:
                await conn.execute(f"ALTER SYSTEM SET {name} = '{settings[name]}'")
            else:
                await conn.execute(f"ALTER SYSTEM RESET {name}")
        await conn.execute("SELECT pg_reload_conf()")
        await asyncio.sleep(1.0)
        return {n: await conn.fetchval("SELECT current_setting($1)", n) for n in names}
    finally:
        await conn.close()


async def reset(dsn: str, names: list[str]) -> None:
    await apply(dsn, {}, names)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--a", action="append", default=[], help="name=value for side A (default: none)")
    ap.add_argument("--b", action="append", default=[], help="name=value for side B")
    ap.add_argument("--rounds", type=int, default=4, help="rounds of each side")
    ap.add_argument("--flows", type=int, default=20)
    ap.add_argument("--rate", type=float, default=2.0)
    args = ap.parse_args()
    sides = {"A": dict(s.split("=", 1) for s in args.a), "B": dict(s.split("=", 1) for s in args.b)}
    names = sorted(set(sides["A"]) | set(sides["B"]))
    base = os.environ["BACKOFFICE_PG_DSN_BASE"].replace("postgresql+asyncpg://", "postgresql://")
    dsn = f"{base}/postgres"
    postmaster = postmaster_of(int(os.environ["BACKOFFICE_PG_PORT"]))
    order = [("A", "B") if r % 2 == 0 else ("B", "A") for r in range(args.rounds)]
    results: dict[str, list[float]] = {"A": [], "B": []}
    try:
        for pair in order:
            for side in pair:
                shown = asyncio.run(apply(dsn, sides[side], names))
                cpu0, t0, la0 = pg_ticks(postmaster), time.monotonic(), os.getloadavg()[0]
                load = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "backoffice_cli",
                        "load",
                        "--flows",
                        str(args.flows),
                        "--rate",
                        str(args.rate),
                    ],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                cpu1 = pg_ticks(postmaster)
                match = re.search(r": (\d+) completed", load.stdout)
                flows = int(match.group(1)) if match else 0
                if not flows:
                    print(load.stdout[-1500:], load.stderr[-1500:])
                    raise SystemExit("no flow completed")
                per_flow = (cpu1 - cpu0) * 1000 / TICK / flows
                results[side].append(per_flow)
                print(
                    f"{side} {shown}: PostgreSQL {per_flow:6.1f} ms/flow ({flows} flows in"
                    f" {time.monotonic() - t0:.0f} s, load {la0:.1f} -> {os.getloadavg()[0]:.1f})",
                    flush=True,
                )
    finally:
        asyncio.run(reset(dsn, names))
    for side, values in results.items():
        values = sorted(values)
        if values:
            print(f"{side}: median {values[len(values) // 2]:.1f} ms/flow, {' '.join(f'{v:.1f}' for v in values)}")


if __name__ == "__main__":
    main()
