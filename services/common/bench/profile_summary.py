"""Summarise py-spy profiles by group (not a test): where a service's CPU goes, in shares.

    py-spy record --pid PID --duration 30 --rate 50 --format raw --output requests.txt
    .venv/bin/python services/common/bench/profile_summary.py requests.txt notifications.txt ...

Each sample is attributed to the group of its innermost frame that belongs to a known library
(SQLAlchemy, asyncpg, aiokafka, pydantic, FastAPI/Starlette, uvicorn, logging, tracing, PDF, email,
...), else to the service's own code, else to the event loop (a stack that ends in ``Runner.run``
is time in uvloop's C code: I/O and scheduling, which py-spy cannot tell from waiting, so it is
reported apart) or the rest. Idle worker threads (waiting on a condition) are not counted.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

GROUPS = (
    ("SQLAlchemy", ("sqlalchemy/",)),
    ("asyncpg", ("asyncpg/",)),
    ("aiokafka", ("aiokafka/", "kafka/")),
    ("pydantic", ("pydantic/", "pydantic_core/", "pydantic_settings/")),
    ("FastAPI/Starlette", ("fastapi/", "starlette/")),
    ("uvicorn/HTTP parsing", ("uvicorn/protocols", "httptools/", "h11/")),
    ("logging (structlog)", ("structlog/", "logging/")),
    ("tracing/metrics", ("opentelemetry/", "prometheus_client/")),
    ("JWT", ("jwt/", "cryptography/")),
    ("PDF (typst, pypdf, pyHanko, asn1crypto)", ("typst", "pypdf/", "pyhanko", "asn1crypto/")),
    ("email/SMTP", ("email/", "aiosmtplib/")),
    ("HTTP client (httpx)", ("httpx/", "httpcore/", "anyio/")),
    ("JSON", ("json/", "orjson")),
)


IDLE_LEAVES = ("Condition.wait (threading.py", "_worker (concurrent/futures/thread.py", "select (selectors.py")
LOOP = "event loop (uvloop in C: I/O, scheduling, and waiting)"


def group_of(stack: str) -> str | None:
    """The group of one stack; None for a thread that waits (an idle worker thread)."""
    frames = stack.split(";")
    if frames[-1].startswith(IDLE_LEAVES):
        return None
    for frame in reversed(frames):  # innermost last in py-spy's collapsed format
        for name, needles in GROUPS:
            if any(needle in frame for needle in needles):
                return name
    if frames[-1].startswith("Runner.run "):
        return LOOP
    for frame in reversed(frames):
        if "backoffice_" in frame:
            return "own code (backoffice_*)"
    return "asyncio, other"


def summarise(path: Path) -> tuple[int, Counter[str]]:
    groups: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        group = group_of(stack)
        if group is not None:
            groups[group] += int(count)
            total += int(count)
    return total, groups


def main() -> None:
    for name in sys.argv[1:]:
        total, groups = summarise(Path(name))
        python = total - groups[LOOP]
        print(f"{Path(name).stem}: {total} samples, {groups[LOOP]} of them in the event loop's C code")
        for group, n in groups.most_common():
            if group != LOOP:
                print(f"  {group:<42} {100 * n / max(python, 1):5.1f} % of the Python samples")


if __name__ == "__main__":
    main()
