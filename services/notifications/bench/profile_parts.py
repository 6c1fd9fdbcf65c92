"""Notifications' py-spy samples by part of the service (not a test): consumptions by event type, the delivery
worker's passes and looks, the inbound vendor webhook, other HTTP, Jinja2 rendering, Kafka, the rest.

    .venv/bin/python services/notifications/bench/profile_parts.py /tmp/prof/notifications.txt [--flows 30]

The input is ``py-spy record --format raw`` (``services/contracts/bench/flow_cpu.py --profile``). Each sample
goes to the first part whose marker is in its stack (order below); the rendering share is counted across parts.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

HANDLER = re.compile(r";(\w+) \(backoffice_notifications/consumers/(\w+)\.py:\d+\)")
PARTS = (
    ("delivery worker: email pass", ("send_emails (backoffice_notifications/jobs/deliveries.py",)),
    ("delivery worker: webhook pass", ("send_webhooks (backoffice_notifications/jobs/deliveries.py",)),
    (
        "delivery worker: next due / look",
        ("idle_wait (backoffice_notifications", "due_times (backoffice_notifications"),
    ),
    ("delivery worker: loop", ("_work (backoffice_notifications/jobs/deliveries.py",)),
    ("inbound vendor webhook", ("backoffice_notifications/api/webhook.py", "service/webhook.py")),
    ("HTTP, other routes", ("RequestResponseCycle.run_asgi", "uvicorn/protocols")),
    ("consumer: handlers", ("backoffice_notifications/consumers/",)),
    ("consumer: inbox, commit, offsets", ("backoffice_common/consumer.py",)),
    ("outbox relay", ("backoffice_common/outbox.py", "backoffice_common/relay.py")),
    ("kafka client (fetch, heartbeat)", ("aiokafka/",)),
    ("retention, housekeeping", ("housekeeping", "retention")),
)
GREENLET = "sqlalchemy/"  # a stack without the event loop's frames: SQLAlchemy's greenlet of a unit of work
RENDER = "backoffice_notifications/mail/render.py"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("profile", type=Path)
    parser.add_argument("--flows", type=float, default=30)
    args = parser.parse_args()
    parts: Counter[str] = Counter()
    handlers: Counter[str] = Counter()
    render = 0
    total = 0
    for line in args.profile.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        total += n
        if RENDER in stack:
            render += n
        for name, markers in PARTS:
            if any(m in stack for m in markers):
                parts[name] += n
                if name == "consumer: handlers":
                    found = HANDLER.findall(stack)
                    handlers[f"{found[0][1]}.{found[0][0]}" if found else "?"] += n
                break
        else:
            if "Runner.run" not in stack and GREENLET in stack:
                parts["SQLAlchemy greenlet (BEGIN, commit, rollback)"] += n
            else:
                parts["other (event loop, idle tasks)"] += n
    print(f"{args.profile}: {total} samples, {total / args.flows:.1f} per flow")
    for name, n in parts.most_common():
        print(f"  {name:40} {n:6} {100 * n / total:5.1f} %")
    print(f"  {'(of which Jinja2 rendering)':40} {render:6} {100 * render / total:5.1f} %")
    print("  consumer handlers by entry point:")
    for name, n in handlers.most_common():
        print(f"    {name:38} {n:6} {100 * n / total:5.1f} %")


if __name__ == "__main__":
    main()
