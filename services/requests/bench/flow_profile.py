"""The requests service's CPU per flow, broken down by what it was doing (not a test).

Against ``make run``: reads the requests process's CPU from ``/proc`` (utime + stime), records it with
py-spy (``--format raw``) while ``backoffice load --flows N --rate R`` drives whole flows, and splits the
measured CPU per completed flow by the shares of the samples, each sample put in the first class its stack
matches (``CLASSES``, outermost meaning first): the HTTP reads and commands (by route function), the HTTP
stack around them (uvicorn, FastAPI/Starlette, the service edge), the event consumptions (by handler; the
shared consumer's inbox, unit of work and commit apart), the Kafka client, the outbox relay, timers and
jobs, and the rest (the event loop, idle polls). The statements per flow: ``services/common/bench/pg_per_flow.py``.

    BACKOFFICE_PROFILE=run bash -c 'source deploy/env.sh && \
        .venv/bin/python services/requests/bench/flow_profile.py --flows 30 --rate 1 --output before.txt'
    .venv/bin/python services/requests/bench/flow_profile.py --summarise before.txt --flows 30 --cpu-ms 2700
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

# (class, regular expression over a stack from the event loop's callback on); the first that matches wins
CLASSES: tuple[tuple[str, str], ...] = (
    ("HTTP read: GET /requests/{id}, in the route", r"(get_request|_get_request_fast) \("),
    ("HTTP read: GET /requests/{id}/timeline, in the route", r"request_timeline \("),
    ("HTTP read: list, revisions, diff, in the route", r"(list_requests|list_revisions|diff_revisions) \("),
    ("HTTP command, in the route (use case, answer, idempotency)", r"backoffice_requests/api/"),
    ("HTTP: around the routes (FastAPI, dependencies, auth, edge, response)", r"RequestResponseCycle\.run_asgi"),
    ("HTTP: parsing and connections (uvicorn)", r"HttpToolsProtocol|uvicorn/"),
    ("consumption: lifecycle facts, the handler", r"on_lifecycle_event \("),
    (
        "consumption: vendor, cost centre, equipment, the handler",
        r"on_(vendor_updated|cost_centre_updated|purchase_requested) \(",
    ),
    ("consumption: the shared consumer (inbox, unit of work, commit)", r"EventConsumer\._(handle|process)"),
    ("outbox relay", r"OutboxRelay"),
    ("timers, jobs, wake-ups", r"backoffice_common/(wakeup|retention|audit_archive)\.py|archive_timeline|Bell|Timer"),
    (
        "SQLAlchemy in its greenlet (any caller: sessions, commits)",
        r"^(Session|AsyncSession|Connection|Engine|_Connection|PGDialect)",
    ),
    ("asyncpg codecs (any caller)", r"asyncpg|_jsonb_decoder|_json_decoder"),
    (
        "Kafka client (fetch, heartbeat, offsets, produce)",
        r"aiokafka/|Fetcher|Sender|GroupCoordinator|AIOKafka|EventConsumer",
    ),
)
CROSS: tuple[tuple[str, str], ...] = (
    ("the service edge and the body limit (backoffice_common.edge, .limits)", r"backoffice_common/(edge|limits)\.py"),
    (
        "FastAPI/Starlette routing (Router, _IncludedRouter, route matching)",
        r"fastapi/routing\.py|starlette/routing\.py",
    ),
    ("FastAPI's dependency solver (solve_dependencies)", r"solve_dependencies"),
    ("the fast path (api.fast and the routes' fast functions)", r"backoffice_requests/api/fast\.py|_fast \("),
    ("the unit of work (backoffice_common.uow: begin, flush, commit, close)", r"backoffice_common/uow\.py"),
    ("timeline (repository.timeline)", r"repository/timeline\.py"),
    ("audit log (backoffice_common.audit)", r"backoffice_common/audit"),
    ("asyncpg (any caller)", r"asyncpg/"),
    ("Kafka client (aiokafka)", r"aiokafka/"),
)
"""Cross-cutting layers: the share of the samples of work whose stack holds each (they overlap)."""
OWN: tuple[tuple[str, str], ...] = (
    ("the service edge, the body limit", r"backoffice_common/(edge|limits)\.py"),
    ("FastAPI/Starlette routing", r"fastapi/routing\.py|starlette/routing\.py"),
    ("FastAPI's dependency solver", r"fastapi/dependencies/"),
    ("FastAPI/Starlette, the rest (middlewares, requests, responses)", r"fastapi/|starlette/"),
    ("requests' API (routes, fast path, idempotency)", r"backoffice_requests/api/"),
    ("requests' domain, use cases, repositories", r"backoffice_requests/"),
    ("unit of work, db helpers", r"backoffice_common/(uow|db)\.py"),
    ("shared consumer, inbox, outbox", r"backoffice_common/(consumer|inbox|outbox|messaging)"),
    ("auth (backoffice_common.auth, PyJWT)", r"backoffice_common/auth\.py|jwt/"),
    ("backoffice_common, the rest", r"backoffice_common/"),
    ("asyncpg", r"asyncpg/"),
    ("SQLAlchemy", r"sqlalchemy/"),
    ("aiokafka", r"aiokafka/"),
    ("uvicorn", r"uvicorn/"),
    ("pydantic", r"pydantic"),
    ("json", r"json/|orjson"),
    ("structlog, prometheus, opentelemetry", r"structlog/|prometheus_client/|opentelemetry/"),
    ("asyncio, contextlib, anyio", r"asyncio/|contextlib|anyio/"),
)
"""Own time: each sample of work by its innermost Python frame's module (py-spy shows no C frames)."""
IDLE = ("Condition.wait", "Queue.get", "Event.wait (threading")
"""Innermost frames of worker threads waiting for work: not CPU (py-spy cannot always tell)."""


def classify(stack: str) -> str:
    frames = stack.split(";")
    if frames[-1].startswith(IDLE):
        return "-idle threads"
    loop = [i for i, frame in enumerate(frames) if frame.startswith("Runner.run (")]
    if loop and loop[-1] == len(frames) - 1:
        return "-event loop alone (uvloop's C code: I/O, scheduling, and waiting, which py-spy cannot tell apart)"
    rest = ";".join(frames[loop[-1] + 1 :] if loop else frames)
    for name, pattern in CLASSES:
        if re.search(pattern, rest):
            return name
    return "other"


def read_raw(path: Path) -> Counter[str]:
    classes: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        kind = classify(stack)
        classes[kind] += int(count)
        if not kind.startswith("-"):
            leaf = stack.rsplit(";", 1)[-1]
            own = next((name for name, pattern in OWN if re.search(pattern, leaf)), "other")
            classes[f"={own}"] += int(count)
            for name, pattern in CROSS:
                if re.search(pattern, stack):
                    classes[f"+{name}"] += int(count)
    return classes


def report(classes: Counter[str], flows: int, cpu_ms: float) -> None:
    """The CPU measured, split by the shares of the samples that are work (the idle threads and the event
    loop alone apart: listed, not counted)."""
    total = sum(n for name, n in classes.items() if not name.startswith(("-", "+", "=")))
    print(
        f"{total} samples of work; {cpu_ms:.0f} ms of CPU (/proc) over {flows} flows = {cpu_ms / flows:.1f} ms a flow"
    )
    for name, n in classes.most_common():
        if name.startswith("-"):
            print(f"  ({name[1:]}: {n} samples, not counted)")
            continue
        if name.startswith(("+", "=")):
            continue
        share = n / total
        print(f"  {name:<72} {100 * share:5.1f} %  {share * cpu_ms / flows:6.1f} ms/flow")
    print("own time, by the innermost Python frame's module:")
    for name, n in classes.most_common():
        if name.startswith("="):
            share = n / total
            print(f"  {name[1:]:<72} {100 * share:5.1f} %  {share * cpu_ms / flows:6.1f} ms/flow")
    print("cross-cutting layers (a sample may be in several):")
    for name, n in classes.most_common():
        if name.startswith("+"):
            share = n / total
            print(f"  {name[1:]:<72} {100 * share:5.1f} %  {share * cpu_ms / flows:6.1f} ms/flow")


CONSUMED = r'backoffice_events_consumed_total\{outcome="(\w+)",service="\w+",type="([^"]+)"\} ([\d.e+]+)$'


def counts(port: int) -> Counter[str]:
    """The service's HTTP calls by route and its consumed events by type, from its ``/metrics``."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    found: Counter[str] = Counter()
    for line in text.splitlines():
        http = re.match(r'backoffice_http_requests_total\{method="(\w+)",route="([^"]+)".*\} ([\d.e+]+)$', line)
        if http and not http.group(2).startswith(("/healthz", "/readyz", "/metrics")):
            found[f"HTTP {http.group(1)} {http.group(2)}"] += int(float(http.group(3)))
        event = re.match(
            r'backoffice_events_consumed_total\{outcome="(\w+)",service="\w+",type="([^"]+)"\} ([\d.e+]+)$', line
        )
        if event:
            found[f"consumed {event.group(2)} ({event.group(1)})"] += int(float(event.group(3)))
    return found


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--flows", type=int, default=30)
    parser.add_argument("--rate", type=float, default=1.0)
    parser.add_argument("--output", default="requests-profile.txt")
    parser.add_argument("--port", type=int, default=0, help="the requests service's port (else from the env)")
    parser.add_argument("--summarise", help="only summarise this raw profile")
    parser.add_argument("--gil", action="store_true", help="py-spy --gil: only the thread holding the GIL")
    parser.add_argument("--cpu-ms", type=float, default=0.0, help="with --summarise: the CPU measured")
    args = parser.parse_args()
    if args.summarise:
        report(read_raw(Path(args.summarise)), args.flows, args.cpu_ms)
        return
    state = Path(os.environ.get("BACKOFFICE_STATE_DIR", ROOT / ".state" / "run"))
    pid = int((state / "pids" / "requests-1.pid").read_text().strip())
    py_spy = Path(sys.executable).parent / "py-spy"
    spy = subprocess.Popen(
        [str(py_spy), "record", "--pid", str(pid), "--rate", "100", "--format", "raw", "--output", args.output]
        + (["--gil"] if args.gil else []),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(2)
    port = int(os.environ.get("BACKOFFICE_REQUESTS_PORT", "0")) or args.port
    calls_before = counts(port)
    load_before, before = os.getloadavg()[0], cpu_seconds(pid)
    driver = [sys.executable, "-m", "backoffice_cli", "load", "--flows", str(args.flows), "--rate", str(args.rate)]
    subprocess.run(driver, check=True)
    used = cpu_seconds(pid) - before
    calls = counts(port)
    calls.subtract(calls_before)
    spy.send_signal(signal.SIGINT)
    spy.wait(timeout=60)
    print(f"load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}")
    print("per flow:", ", ".join(f"{name} {n / args.flows:.1f}" for name, n in sorted(calls.items()) if n))
    report(read_raw(Path(args.output)), args.flows, used * 1000)


if __name__ == "__main__":
    main()
