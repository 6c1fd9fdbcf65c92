"""Classify py-spy raw profiles (``flow_cpu.py --profile DIR --spy insights,approvals,budgets``) by activity:
the fold job, the facts' claim, the shared consumer, the relay, HTTP, the Kafka client, approvals' timers, else the
innermost own frame (not a test).

    .venv/bin/python services/insights/bench/profile_activity.py DIR/insights.txt DIR/approvals.txt DIR/budgets.txt
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

RULES = (
    ("fold job", ("fold_pending", "fold_batch", "_fold_changes")),
    ("claim/record", ("record_alone", "record_many", "InsightsUnitOfWork.claim", "claim_many", "(claim)")),
    ("shared consumer (inbox/commit/uow)", ("backoffice_common/consumer", "backoffice_common/uow")),
    ("relay/outbox", ("outbox", "relay")),
    ("HTTP", ("starlette/", "fastapi/", "httptools", "h11")),
    ("kafka fetch/produce", ("aiokafka",)),
    ("approvals: timers", ("backoffice_approvals/jobs", "repository/timers")),
)
OWN = re.compile(r"(\w+) \((?:/[^)]*)?backoffice_(\w+)/([\w/]+)\.py")


def activity(stack: str) -> str:
    for name, keys in RULES:
        if any(k in stack for k in keys):
            return name
    own = OWN.findall(stack)
    return "other: " + (f"{own[-1][0]} {own[-1][2]}" if own else "event loop/other")


def main() -> None:
    for path in sys.argv[1:]:
        counts: Counter[str] = Counter()
        for line in Path(path).read_text().splitlines():
            stack, _, n = line.rpartition(" ")
            if stack:
                counts[activity(stack)] += int(n)
        total = sum(counts.values())
        print(path, total)
        for name, samples in counts.most_common(14):
            print(f"  {name:50} {samples:5} {100 * samples / total:5.1f} %")


if __name__ == "__main__":
    main()
