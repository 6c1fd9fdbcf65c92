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
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

# (class, regular expression over the whole stack); the first that matches wins
CLASSES: tuple[tuple[str, str], ...] = (
    ("HTTP read: GET /requests/{id}", r"(get_request|_get_request_fast) \("),
    ("HTTP read: GET /requests/{id}/timeline", r"request_timeline \("),
    ("HTTP read: list, revisions, diff", r"(list_requests|list_revisions|diff_revisions) \("),
    ("HTTP command", r"backoffice_requests/api/"),
    ("consumption: lifecycle facts (handler)", r"on_lifecycle_event \("),
    (
        "consumption: vendor/cost centre/equipment (handler)",
        r"(on_vendor_updated|on_cost_centre_updated|on_purchase_requested) \(",
    ),
    ("consumption: shared consumer (inbox, uow, commit, batch)", r"backoffice_common/consumer\.py"),
    ("outbox relay (incl. its producer)", r"backoffice_common/outbox\.py"),
    ("timers, jobs, wake-ups", r"backoffice_common/(wakeup|retention|audit_archive)\.py|archive_timeline|checks?\.py"),
    (
        "HTTP stack (uvicorn, FastAPI/Starlette, edge) outside a route",
        r"uvicorn/|starlette/|fastapi/|backoffice_common/edge\.py",
    ),
    ("Kafka client (fetch, heartbeat, produce)", r"aiokafka/|kafka/"),
)


def classify(stack: str) -> str:
    for name, pattern in CLASSES:
        if re.search(pattern, stack):
            return name
    if stack.rstrip().endswith("run (asyncio/runners.py") or "Runner.run" in stack.split(";")[-1]:
        return "event loop (uvloop C code: I/O, scheduling)"
    return "other (event loop, idle polls, threads)"


def read_raw(path: Path) -> Counter[str]:
    classes: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        classes[classify(stack)] += int(count)
    return classes


def report(classes: Counter[str], flows: int, cpu_ms: float) -> None:
    total = sum(classes.values())
    print(f"{total} samples; {cpu_ms:.0f} ms of CPU (/proc) over {flows} flows = {cpu_ms / flows:.1f} ms per flow")
    for name, n in classes.most_common():
        share = n / total
        print(f"  {name:<64} {100 * share:5.1f} %  {share * cpu_ms / flows:6.1f} ms/flow")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--flows", type=int, default=30)
    parser.add_argument("--rate", type=float, default=1.0)
    parser.add_argument("--output", default="requests-profile.txt")
    parser.add_argument("--summarise", help="only summarise this raw profile")
    parser.add_argument("--cpu-ms", type=float, default=0.0, help="with --summarise: the CPU measured")
    args = parser.parse_args()
    if args.summarise:
        report(read_raw(Path(args.summarise)), args.flows, args.cpu_ms)
        return
    state = Path(os.environ.get("BACKOFFICE_STATE_DIR", ROOT / ".state" / "run"))
    pid = int((state / "pids" / "requests-1.pid").read_text().strip())
    py_spy = Path(sys.executable).parent / "py-spy"
    spy = subprocess.Popen(
        [str(py_spy), "record", "--pid", str(pid), "--rate", "100", "--format", "raw", "--output", args.output],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(2)
    load_before, before = os.getloadavg()[0], cpu_seconds(pid)
    driver = [sys.executable, "-m", "backoffice_cli", "load", "--flows", str(args.flows), "--rate", str(args.rate)]
    subprocess.run(driver, check=True)
    used = cpu_seconds(pid) - before
    spy.send_signal(signal.SIGINT)
    spy.wait(timeout=60)
    print(f"load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}")
    report(read_raw(Path(args.output)), args.flows, used * 1000)


if __name__ == "__main__":
    main()
