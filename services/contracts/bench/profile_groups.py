"""Contracts' py-spy profile (``flow_cpu.py --profile DIR --spy contracts``) by group and by activity (not a test).

By group: the innermost frame of a known kind decides (as ``services/common/bench/profile_summary.py`` does),
with the groups a contract's CPU falls into: the object store (``backoffice_common.objectstore`` and the S3
client under it: aiobotocore, botocore, aiohttp), PDF work (typst, pypdf, pyHanko, asn1crypto and
``backoffice_contracts.documents``), HTTP (FastAPI, Starlette, uvicorn, the edge), the Kafka client (aiokafka),
the unit of work and its SQL (SQLAlchemy, asyncpg, ``backoffice_common.db`` / ``uow``), JSON and pydantic,
logging and metrics, the handlers (contracts' own code), the rest of ``backoffice_common``, the event loop.
By activity: the first activity of the table (the seal before the signature that runs it, a handler before the
consumer) that a frame of the stack names.
Shares of the samples that hold the GIL; the event loop's C code apart.

    .venv/bin/python services/contracts/bench/profile_groups.py /tmp/prof/contracts.txt
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

IDLE_LEAVES = ("Condition.wait (threading.py", "_worker (concurrent/futures/thread.py", "select (selectors.py")
LOOP = "event loop (uvloop's C code)"
GROUPS = (
    ("object store (S3 client)", ("objectstore.py", "aiobotocore/", "botocore/", "aiohttp/", "yarl/", "multidict/")),
    (
        "PDF (typst, pypdf, pyHanko, asn1crypto, documents/)",
        ("typst", "pypdf/", "pyhanko", "asn1crypto/", "/documents/"),
    ),
    ("Kafka client (aiokafka)", ("aiokafka/", "kafka/")),
    (
        "unit of work and SQL (SQLAlchemy, asyncpg, db, uow)",
        ("sqlalchemy/", "asyncpg/", "backoffice_common/db", "backoffice_common/uow"),
    ),
    (
        "HTTP (FastAPI, Starlette, uvicorn, edge)",
        ("fastapi/", "starlette/", "uvicorn/", "httptools/", "h11/", "backoffice_common/edge", "backoffice_common/app"),
    ),
    ("JSON, pydantic", ("json/", "orjson", "pydantic/", "pydantic_core/")),
    ("logging, tracing, metrics", ("structlog/", "logging/", "opentelemetry/", "prometheus_client/")),
    ("JWT, cryptography", ("jwt/", "cryptography/")),
)
ACTIVITIES = (
    ("the seal (execute_when_fully_signed -> Documents.seal_executed)", ("seal_executed",)),
    ("generation (vendor.accepted)", ("on_vendor_accepted", "generation.py")),
    ("vendor signature (event)", ("record_vendor_signature",)),
    ("buyer signature (POST /contracts/{id}/signatures)", ("sign_contract", "sign_as_buyer")),
    ("other routes", ("run_asgi",)),
    ("the consumer (claim, other handlers, commit)", ("backoffice_common/consumer", "consumers.py")),
    ("the outbox relay", ("OutboxRelay", "outbox.py")),
    ("aiokafka's fetch loop and producer", ("aiokafka/",)),
    ("expiry and other jobs", ("jobs.py", "background")),
)


def classify(stack: str, table: tuple[tuple[str, tuple[str, ...]], ...], *, innermost: bool) -> str | None:
    frames = stack.split(";")
    if frames[-1].startswith(IDLE_LEAVES):
        return None
    if innermost:
        for frame in reversed(frames):
            for name, needles in table:
                if any(needle in frame for needle in needles):
                    return name
    else:  # the first activity of the table that any frame names
        for name, needles in table:
            if any(needle in frame for frame in frames for needle in needles):
                return name
    if frames[-1].startswith("Runner.run "):
        return LOOP
    for frame in reversed(frames):
        if "backoffice_contracts" in frame:
            return "handlers and contracts' own code"
        if "backoffice_common" in frame:
            return "backoffice_common, the rest"
    return "asyncio, other"


def summarise(path: Path) -> None:
    groups: Counter[str] = Counter()
    activities: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        group = classify(stack, GROUPS, innermost=True)
        if group is None:
            continue
        groups[group] += int(count)
        if group != LOOP:
            activities[classify(stack, ACTIVITIES, innermost=False) or "other"] += int(count)
    python = sum(n for g, n in groups.items() if g != LOOP)
    print(f"{path}: {python} Python samples holding the GIL ({groups[LOOP]} more in the event loop's C code)")
    print("by group:")
    for name, n in groups.most_common():
        if name != LOOP:
            print(f"  {name:<56} {n:5d} {100 * n / max(python, 1):5.1f} %")
    print("by activity:")
    for name, n in activities.most_common():
        print(f"  {name:<56} {n:5d} {100 * n / max(python, 1):5.1f} %")


if __name__ == "__main__":
    for argument in sys.argv[1:]:
        summarise(Path(argument))
