"""The local broker's housekeeping threads sleep with a longer timer slack, the threads on a record's path
keep the process's (deploy/infra.sh; docs/performance.md, ninth round: idle)."""

from __future__ import annotations

import os
import re
from pathlib import Path

PROCESS_SLACK_NS = 100_000_000
"""``BACKOFFICE_KAFKA_TIMER_SLACK_NS``'s default: the broker process's slack, inherited by every thread."""
HOUSEKEEPING_SLACK_NS = 1_000_000_000
"""``BACKOFFICE_KAFKA_HOUSEKEEPING_TIMER_SLACK_NS``'s default."""
CAP_SYS_NICE = 23


def _broker_pid() -> int:
    """The profile's broker (node 1 of three with ``BACKOFFICE_KAFKA_NODES=3``)."""
    state = Path(os.environ["BACKOFFICE_STATE_DIR"])
    node = (
        state / "kafka-cluster" / "node1" if os.environ.get("BACKOFFICE_KAFKA_NODES", "1") == "3" else state / "kafka"
    )
    return int((node / "kafka.pid").read_text().strip())


def _slack_by_thread(pid: int) -> dict[str, set[int]]:
    """Each thread name (``comm``, digits folded) with the timer slacks its threads have."""
    out: dict[str, set[int]] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        name = re.sub(r"\d+", "#", (task / "comm").read_text().strip())
        out.setdefault(name, set()).add(int(Path(f"/proc/{task.name}/timerslack_ns").read_text()))
    return out


def _may_set_another_threads_slack() -> bool:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapEff:"):
            return bool(int(line.split()[1], 16) >> CAP_SYS_NICE & 1)
    return False


def test_the_brokers_housekeeping_threads_wake_later_and_its_request_path_keeps_the_process_slack() -> None:
    slack = _slack_by_thread(_broker_pid())
    housekeeping = HOUSEKEEPING_SLACK_NS if _may_set_another_threads_slack() else PROCESS_SLACK_NS
    # the purgatories' expiration reapers (eight), the metrics meters' tick threads, the throttle reapers
    for name in ("ExpirationReape", "metrics-meter-t", "broker-#-Thrott", "controller-#-Th", "share-group-loc"):
        assert slack.get(name) == {housekeeping}, (name, slack.get(name))
    # a record's path: network threads, request handlers and acceptors, the group coordinator, KRaft
    for name in ("data-plane-kafk", "group-coordinat", "quorum-controll", "kafka-#-raft-io", "raft-expiration"):
        assert slack.get(name) == {PROCESS_SLACK_NS}, (name, slack.get(name))
