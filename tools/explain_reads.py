"""The buffers and execution time of the main reads' SQL, as PostgreSQL ran them (issue 21's flat-cost proof).

    BACKOFFICE_PROFILE=test bash -c 'source deploy/env.sh && .venv/bin/python tools/explain_reads.py on'
    bash deploy/services.sh restart requests; bash deploy/services.sh restart approvals   # new sessions
    .venv/bin/backoffice bench-data --orders N --samples 20 --latency-orders 1   # N = what the databases hold
    .venv/bin/python tools/explain_reads.py report --log .state/test/pg/postgres.log --since '<time on>'
    .venv/bin/python tools/explain_reads.py off    # and restart the two services again

``on`` sets ``auto_explain`` (``ANALYZE``, ``BUFFERS``, every statement) for new sessions of the requests
and approvals databases (``ALTER DATABASE ... SET session_preload_libraries``; the database superuser
of a local profile); ``report`` reads the plans PostgreSQL logged since a time and prints, for each
list query of ``bench-data`` (recognised by its SQL), how many ran, the median execution time and
the median buffers (shared hit + read) of the statement's top plan node; ``off`` resets the settings.
The HTTP figures of a loaded machine wait for a CPU; the buffers a query touches do not.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
from collections import defaultdict

import asyncpg

DATABASES = ("requests", "approvals")
SETTINGS = {
    "session_preload_libraries": "auto_explain",
    "auto_explain.log_min_duration": "0",
    "auto_explain.log_analyze": "on",
    "auto_explain.log_buffers": "on",
    "auto_explain.log_timing": "on",
}
# (database, what, a regular expression on the statement's text); the first that matches names it. The
# same statement for several users (``bench-data`` reads each ``--samples`` times, one read after the
# other) is split into blocks of ``--samples`` runs in log order, named in the order bench-data reads them.
READS: list[tuple[str, tuple[str, ...], str]] = [
    (
        "requests",
        ("own list: the requester (owns all)", "own list: the manager (assigned all)", "own list: a user with no rows"),
        r"UNION SELECT .* JOIN approver_assignment",
    ),
    ("requests", ("procurement list (everything)",), r"FROM purchase_request ORDER BY"),
    ("requests", ("q: a word no request has", "q: a number prefix"), r"ILIKE"),
    ("requests", ("one request",), r"FROM purchase_request WHERE id = \$1::uuid$"),
    ("requests", ("timeline",), r"FROM timeline_entry WHERE request_id"),
    ("approvals", ("open tasks of the manager",), r"o\.status = 'open'"),
    ("approvals", ("decided tasks of the manager",), r"decision IS NOT NULL .*UNION"),
]
ENTRY = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \w+ \[\d+\] \S*@(\S*) LOG:  duration: ([\d.]+) ms  plan:")
PLAN_NODE = re.compile(r"\(cost=|\(actual ")
BUFFERS = re.compile(r"Buffers: shared (?:hit=(\d+))?\s*(?:read=(\d+))?")


async def configure(on: bool) -> None:
    base = os.environ["BACKOFFICE_PG_DSN_BASE"]
    conn = await asyncpg.connect(f"{base}/postgres")
    try:
        for db in DATABASES:
            for name, value in SETTINGS.items():
                if on:
                    await conn.execute(f"ALTER DATABASE \"{db}\" SET {name} = '{value}'")
                else:
                    await conn.execute(f'ALTER DATABASE "{db}" RESET {name}')
    finally:
        await conn.close()
    print(f"auto_explain {'on' if on else 'off'} for new sessions of {', '.join(DATABASES)}")


def entries(log: str, since: str) -> list[tuple[str, float, str]]:
    """(database, milliseconds, the logged plan with its query text) of every plan logged at or after ``since``."""
    found: list[tuple[str, float, str]] = []
    current: list[str] | None = None
    head: tuple[str, float] | None = None
    with open(log, encoding="utf-8", errors="replace") as lines:
        for line in lines:
            match = ENTRY.match(line)
            if match or (line[:4].isdigit() and current is not None):
                if current is not None and head is not None:
                    found.append((head[0], head[1], "".join(current)))
                current, head = None, None
            if match and line[:23] >= since:
                current, head = [], (match.group(1), float(match.group(2)))
            elif current is not None:
                current.append(line)
    if current is not None and head is not None:
        found.append((head[0], head[1], "".join(current)))
    return found


def report(log: str, since: str, samples: int) -> None:
    runs: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for db, ms, plan in entries(log, since):
        query: list[str] = []
        for line in plan.split("Query Text:", 1)[-1].splitlines():
            if PLAN_NODE.search(line):
                break
            query.append(line)
        text = " ".join(" ".join(query).split())
        for read_db, names, pattern in READS:
            if db == read_db and re.search(pattern, text):
                top = BUFFERS.search(plan)
                shared = int(top.group(1) or 0) + int(top.group(2) or 0) if top else 0
                runs[names[0]].append((ms, shared))
                break
    print("| query | runs | buffers (median, top node) | execution (median, ms) |\n|---|---|---|---|")
    for _, names, _ in READS:
        found = runs[names[0]]
        blocks = [found] if len(names) == 1 else [found[i * samples : (i + 1) * samples] for i in range(len(names))]
        for name, block in zip(names, blocks, strict=True):
            if block:
                ms = statistics.median(r[0] for r in block)
                shared = statistics.median(r[1] for r in block)
                print(f"| {name} | {len(block)} | {shared:,.0f} | {ms:.2f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["on", "off", "report"])
    parser.add_argument("--log", default=".state/test/pg/postgres.log")
    parser.add_argument("--since", default="", help="the log's time stamp to start at, e.g. 2026-11-30 07:10")
    parser.add_argument("--samples", type=int, default=20, help="the --samples of the bench-data run")
    args = parser.parse_args()
    if args.action == "report":
        report(args.log, args.since, args.samples)
    else:
        asyncio.run(configure(args.action == "on"))
