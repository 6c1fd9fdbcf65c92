"""PostgreSQL's work per flow, by service database and by statement (not a test).

Against a running platform (``make run``): snapshots ``pg_stat_database`` (commits, rollbacks) and, if
the server loads it, ``pg_stat_statements`` (calls per statement and database), runs
``backoffice load --flows N --rate R`` in a process of its own, snapshots again and prints the
deltas divided by the completed flows: transactions per flow by database, statements per flow by
database, and the most frequent statements. The backend CPU of the server's process tree is printed
too (``/proc``: the postmaster, its backends and its reaped children).

pg_stat_statements must be in ``shared_preload_libraries``; for a measurement (not in the deploy
scripts), once on the profile's server:

    psql -h 127.0.0.1 -p $BACKOFFICE_PG_PORT -U backoffice -d postgres \\
        -c "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'"
    (restart the server, then) psql ... -d postgres -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"

    source deploy/env.sh && .venv/bin/python services/common/bench/pg_per_flow.py --flows 20 --rate 1
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
from collections import Counter

import asyncpg

KINDS = (
    ("BEGIN", re.compile(r"^BEGIN", re.I)),
    ("COMMIT", re.compile(r"^COMMIT", re.I)),
    ("ROLLBACK", re.compile(r"^ROLLBACK", re.I)),
    ("unit of work: audit lock + head", re.compile(r"^(LOCK TABLE audit_entry|SELECT seq, hash FROM audit_entry)")),
    ("unit of work: audit/outbox write", re.compile(r"^(WITH w0 AS|SELECT audit_entry_append)", re.I)),
    ("relay: fetch/mark/backlog", re.compile(r"outbox_message", re.I)),  # the relay's (the writes are above)
    ("consumer: inbox claim", re.compile(r"^INSERT INTO processed_event", re.I)),
    ("consumer: inbox outcome", re.compile(r"^UPDATE processed_event", re.I)),
    ("notifications: delivery claim/next due", re.compile(r"FROM delivery WHERE status|min\(next_attempt_at\)")),
)
"""Statement kinds of the shared messaging path (the first that matches), the rest is "other"."""

SERVICE_DATABASES = re.compile(r"^(requests|approvals|notifications|contracts|insights|budgets|checklists)$")


async def snapshot(
    dsn: str,
) -> tuple[dict[str, tuple[int, int]], Counter[tuple[str, str]] | None, Counter[tuple[str, str]]]:
    conn = await asyncpg.connect(dsn)
    try:
        xacts = {
            row["datname"]: (int(row["xact_commit"]), int(row["xact_rollback"]))
            for row in await conn.fetch(
                "SELECT datname, xact_commit, xact_rollback FROM pg_stat_database WHERE datname IS NOT NULL"
            )
        }
        statements: Counter[tuple[str, str]] | None = None
        times: Counter[tuple[str, str]] = Counter()  # total execution time, ms
        has_extension = await conn.fetchval("SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'")
        if has_extension:
            statements = Counter()
            for row in await conn.fetch(
                "SELECT d.datname, s.query, sum(s.calls)::bigint AS calls,"
                " sum(s.total_exec_time + s.total_plan_time)::float8 AS ms FROM pg_stat_statements s"
                " JOIN pg_database d ON d.oid = s.dbid GROUP BY d.datname, s.query"
            ):
                statements[(row["datname"], row["query"])] += int(row["calls"])
                times[(row["datname"], row["query"])] += float(row["ms"])
        return xacts, statements, times
    finally:
        await conn.close()


def server_cpu_seconds(port: int) -> float:
    """utime + stime (+ reaped children) of the postmaster listening on ``port`` and its live children."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    postmaster = None
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().split(b"\0")
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if cmd and cmd[0].endswith(b"postgres") and b"-D" in cmd:
            data_dir = cmd[cmd.index(b"-D") + 1].decode()
            try:
                with open(os.path.join(data_dir, "postmaster.pid")) as f:
                    lines = f.read().splitlines()
            except OSError:
                continue
            if len(lines) > 3 and lines[3].strip() == str(port):
                postmaster = pid
                total += int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
    if postmaster is None:
        return 0.0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == postmaster:
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flows", type=int, default=20)
    parser.add_argument("--rate", type=float, default=1.0)
    parser.add_argument("--top", type=int, default=40, help="how many statements to list")
    parser.add_argument("--per-db", type=int, default=0, help="also the N most frequent statements of each database")
    args = parser.parse_args()
    base = os.environ["BACKOFFICE_PG_DSN_BASE"].replace("postgresql+asyncpg://", "postgresql://")
    dsn = f"{base}/postgres"
    port = int(os.environ["BACKOFFICE_PG_PORT"])

    before = asyncio.run(snapshot(dsn))
    cpu0 = server_cpu_seconds(port)
    load = subprocess.run(
        [sys.executable, "-m", "backoffice_cli", "load", "--flows", str(args.flows), "--rate", str(args.rate)],
        capture_output=True,
        text=True,
        check=False,
    )
    cpu1 = server_cpu_seconds(port)
    after = asyncio.run(snapshot(dsn))
    print(load.stdout.strip())
    match = re.search(r": (\d+) completed", load.stdout)
    flows = int(match.group(1)) if match else 0
    if not flows:
        print(load.stderr[-2000:])
        raise SystemExit("no flow completed")
    la = os.getloadavg()
    print(f"\nPostgreSQL per completed flow ({flows} flows at {args.rate:g}/s, load {la[0]:.2f}/{la[1]:.2f})")
    print(f"  server CPU (postmaster tree)  {(cpu1 - cpu0) / flows * 1000:8.1f} ms")
    xb, sb, tb = before
    xa, sa, ta = after
    stmts_by_db: Counter[str] = Counter()
    if sa is not None and sb is not None:
        for (db, _), calls in (sa - sb).items():
            stmts_by_db[db] += calls
    print(f"  {'database':<26}{'commits':>9}{'rollbacks':>11}{'statements':>12}")
    totals = [0.0, 0.0, 0.0]
    for db in sorted(xa):
        if not SERVICE_DATABASES.match(db):
            continue
        c = (xa[db][0] - xb.get(db, (0, 0))[0]) / flows
        r = (xa[db][1] - xb.get(db, (0, 0))[1]) / flows
        s = stmts_by_db.get(db, 0) / flows
        if c or r or s:
            totals = [totals[0] + c, totals[1] + r, totals[2] + s]
            print(f"  {db:<26}{c:9.1f}{r:11.1f}{s:12.1f}")
    print(f"  {'all services':<26}{totals[0]:9.1f}{totals[1]:11.1f}{totals[2]:12.1f}")
    if sa is None or sb is None:
        print("  (pg_stat_statements not loaded: no statement counts)")
        return
    kinds: Counter[str] = Counter()
    for (db, query), calls in (sa - sb).items():
        if SERVICE_DATABASES.match(db):
            text = " ".join(query.split())
            kind = next((name for name, pattern in KINDS if pattern.search(text)), "other")
            kinds[kind] += calls
    print("\nstatements per flow by kind (all services)")
    for name, _ in (*KINDS, ("other", None)):
        print(f"  {name:<40}{kinds[name] / flows:8.1f}")
    ms = {key: ta[key] - tb.get(key, 0.0) for key in ta}
    print(f"\nthe {args.top} most frequent statements, calls and server execution time (ms) per flow")
    for (db, query), calls in (sa - sb).most_common(args.top):
        if not SERVICE_DATABASES.match(db):
            continue
        text = " ".join(query.split())
        print(f"  {calls / flows:6.1f} {ms.get((db, query), 0.0) / flows:7.2f}  {db:<13} {text[:150]}")
    if args.per_db:
        by_db: dict[str, Counter[str]] = {}
        for (db, query), calls in (sa - sb).items():
            if SERVICE_DATABASES.match(db):
                by_db.setdefault(db, Counter())[query] += calls
        for db in sorted(by_db):
            total = sum(by_db[db].values())
            print(f"\n{db}: {total / flows:.1f} statements a flow; the {args.per_db} most frequent (calls, ms)")
            for query, calls in by_db[db].most_common(args.per_db):
                text = " ".join(query.split())
                print(f"  {calls / flows:6.1f} {ms.get((db, query), 0.0) / flows:7.2f}  {text[:200]}")


if __name__ == "__main__":
    main()
