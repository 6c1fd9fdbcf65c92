"""Where every transaction of a window comes from: PostgreSQL's statement log grouped into transactions
(not a test).

``pg_per_flow.py`` counts statements by text, which cannot say whose BEGIN or ROLLBACK it is. This reads
the server's log with ``log_statement = 'all'`` (turned on for the window, off after: ``--on``/``--off``)
and the prefix the deploy scripts set (``%m [%p] %q%u@%d``), follows each backend (pid) from BEGIN to
COMMIT or ROLLBACK and prints, per database, the transactions by how they ended and what they held (the
first words of each statement, parameters left out), divided by ``--flows``; statements outside a
transaction (a read connection's) are counted apart.

    source deploy/env.sh
    .venv/bin/python services/common/bench/pg_transactions.py --on
    (mark the log's size, run N flows with ``backoffice load``, mark again)
    .venv/bin/python services/common/bench/pg_transactions.py --off
    .venv/bin/python services/common/bench/pg_transactions.py --log .state/run/pg/postgres.log \\
        --from-byte A --to-byte B --flows N
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
from collections import Counter, defaultdict

import asyncpg

LINE = re.compile(r"^\d{4}-\d\d-\d\d [\d:.]+ \w+ \[(\d+)\] (?:\S+@(\S+) )?(\w+):\s+(.*)$")
STATEMENT = re.compile(r"^(?:statement|execute [^:]+): (.*)$", re.S)


def shape(sql: str) -> str:
    """The statement's first words, literals and parameters left out."""
    sql = re.sub(r"\s+", " ", sql).strip().rstrip(";")
    sql = re.sub(r"'[^']*'", "?", sql)
    sql = re.sub(r"\b\d+\b", "N", sql)
    return sql[:90]


def transactions(lines: list[str]) -> tuple[Counter[tuple[str, str, tuple[str, ...]]], Counter[tuple[str, str]]]:
    """(database, ending, statements' shapes) -> count; (database, shape) -> count of statements run
    outside a transaction."""
    open_: dict[str, tuple[str, list[str]]] = {}
    done: Counter[tuple[str, str, tuple[str, ...]]] = Counter()
    single: Counter[tuple[str, str]] = Counter()
    entries: list[tuple[str, str, str]] = []
    for raw in lines:
        m = LINE.match(raw)
        if m:
            pid, db, level, text = m.groups()
            entries.append((pid, db or "?", text) if level == "LOG" else ("", "", ""))
        elif entries and raw.startswith(("\t", " ")) and entries[-1][0]:
            pid, db, text = entries[-1]
            entries[-1] = (pid, db, text + " " + raw.strip())
    for pid, db, text in entries:
        if not pid:
            continue
        s = STATEMENT.match(text)
        if not s:
            continue
        sql = shape(s.group(1))
        head = sql.split(" ", 1)[0].upper()
        if head in ("BEGIN", "START"):
            open_[pid] = (db, [])
        elif head in ("COMMIT", "ROLLBACK", "END", "ABORT"):
            if pid in open_:
                tdb, body = open_.pop(pid)
                done[(tdb, "COMMIT" if head in ("COMMIT", "END") else "ROLLBACK", tuple(body))] += 1
        elif pid in open_:
            open_[pid][1].append(sql)
        elif sql:
            single[(db, sql)] += 1
    return done, single


def kind(body: tuple[str, ...]) -> str:
    if not body:
        return "empty"
    if all(s.upper().startswith(("SELECT", "WITH W0 AS (SELECT")) and "FOR UPDATE" not in s.upper() for s in body):
        return "reads only"
    return "writes or locks"


async def set_logging(dsn: str, on: bool) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"ALTER SYSTEM SET log_statement = '{'all' if on else 'none'}'")
        await conn.execute("SELECT pg_reload_conf()")
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--on", action="store_true")
    parser.add_argument("--off", action="store_true")
    parser.add_argument("--log")
    parser.add_argument("--from-byte", type=int, default=0)
    parser.add_argument("--to-byte", type=int, default=-1)
    parser.add_argument("--flows", type=float, default=1.0)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    if args.on or args.off:
        base = os.environ["BACKOFFICE_PG_DSN_BASE"].replace("postgresql+asyncpg://", "postgresql://")
        asyncio.run(set_logging(f"{base}/postgres", args.on))
        return
    with open(args.log, "rb") as f:
        f.seek(args.from_byte)
        data = f.read() if args.to_byte < 0 else f.read(args.to_byte - args.from_byte)
    done, single = transactions(data.decode(errors="replace").splitlines())
    n = args.flows
    by_db: dict[str, Counter[str]] = defaultdict(Counter)
    for (db, ending, body), count in done.items():
        by_db[db][f"{ending} {kind(body)}"] += count
    print(f"transactions per flow by database and ending ({n:g} flows)")
    for db in sorted(by_db):
        row = ", ".join(f"{k} {v / n:.1f}" for k, v in sorted(by_db[db].items()))
        print(f"  {db:14} {row}")
    print("\nROLLBACK transactions per flow by what they held")
    rolled = Counter({(db, body): c for (db, ending, body), c in done.items() if ending == "ROLLBACK"})
    for (db, body), count in rolled.most_common(args.top):
        print(f"  {count / n:6.2f}  {db:14} {' | '.join(body)[:300] or '(nothing)'}")
    print("\nCOMMIT transactions per flow by what they held")
    committed = Counter({(db, body): c for (db, ending, body), c in done.items() if ending == "COMMIT"})
    for (db, body), count in committed.most_common(args.top):
        print(f"  {count / n:6.2f}  {db:14} {' | '.join(body)[:300] or '(nothing)'}")
    print("\nstatements outside a transaction per flow")
    for (db, sql), count in single.most_common(args.top):
        print(f"  {count / n:6.2f}  {db:14} {sql}")


if __name__ == "__main__":
    main()
