"""The broker's housekeeping timer slack, old against new, on the running platform (not a test).

Against a running profile (``make run``), at rest: the windows alternate (A B B A ...) between side A's
slack (``--a-ns``, the process's 100 ms: the eighth round) and side B's (``--b-ns``, 1 s: ninth round) on
the broker's housekeeping threads (the names ``deploy/infra.sh``'s ``kafka_slack_housekeeping`` picks),
written to ``/proc/<tid>/timerslack_ns`` between windows (root or ``CAP_SYS_NICE``; no restart, so both
sides run the same warmed-up broker with the same clients). Each window first waits ``--settle`` seconds,
then measures every process tree of the platform as ``idle_cpu.py`` does (utime + stime, ms per second),
the broker's CPU from ``schedstat`` (ns, not 10-ms ticks) and its wake-ups a second. At the end the
threads are left at side B's slack (what ``deploy/infra.sh`` sets).

    source deploy/env.sh && .venv/bin/python services/common/bench/kafka_slack_live_ab.py --windows 4
"""

from __future__ import annotations

import argparse
import contextlib
import fnmatch
import os
import time
from pathlib import Path

from backoffice_cli.bench import Meter, load_average, pid_listening_on

HOUSEKEEPING = (
    "ExpirationReape*",
    "metrics-meter-t*",
    "broker-*-Thrott*",
    "controller-*-Th",
    "client-metrics-*",
    "share-*",
    "persister-state*",
    "PersisterStateM*",
)
"""The ``comm`` patterns of ``kafka_slack_housekeeping`` in ``deploy/infra.sh``."""
PLATFORM = (
    ("requests", "BACKOFFICE_REQUESTS_PORT"),
    ("approvals", "BACKOFFICE_APPROVALS_PORT"),
    ("notifications", "BACKOFFICE_NOTIFICATIONS_PORT"),
    ("contracts", "BACKOFFICE_CONTRACTS_PORT"),
    ("budgets", "BACKOFFICE_BUDGETS_PORT"),
    ("insights", "BACKOFFICE_INSIGHTS_PORT"),
    ("checklists", "BACKOFFICE_CHECKLISTS_PORT"),
    ("postgresql", "BACKOFFICE_PG_PORT"),
    ("kafka", "BACKOFFICE_KAFKA_PORT"),
    ("mail sink", "BACKOFFICE_SMTP_PORT"),
)


def housekeeping_tids(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            comm = (task / "comm").read_text().strip()
            if any(fnmatch.fnmatchcase(comm, p) for p in HOUSEKEEPING):
                out.append(int(task.name))
    return out


def set_slack(tids: list[int], ns: int) -> None:
    for tid in tids:
        Path(f"/proc/{tid}/timerslack_ns").write_text(str(ns))
    for tid in tids:
        assert int(Path(f"/proc/{tid}/timerslack_ns").read_text()) == ns, f"thread {tid} did not take {ns}"


def broker_sample(pid: int) -> tuple[int, int]:
    """(CPU ns from schedstat, context switches) of all the broker's threads so far."""
    cpu = switches = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError, ValueError):
            cpu += int((task / "schedstat").read_text().split()[0])
            for line in (task / "status").read_text().splitlines():
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    switches += int(line.split()[1])
    return cpu, switches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--a-ns", type=int, default=100_000_000, help="side A's slack (the process's)")
    parser.add_argument("--b-ns", type=int, default=1_000_000_000, help="side B's slack")
    parser.add_argument("--windows", type=int, default=4, help="alternated A B B A A B ...")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--settle", type=float, default=5.0)
    args = parser.parse_args()

    roots = {}
    for name, variable in PLATFORM:
        pid = pid_listening_on(int(os.environ[variable]))
        if pid is not None:
            roots[name] = pid
    broker = roots["kafka"]
    tids = housekeeping_tids(broker)
    print(f"broker pid {broker}: {len(tids)} housekeeping threads", flush=True)
    order = ["A", "B", "B", "A"] * (args.windows // 4 + 1)
    totals: dict[str, list[tuple[float, float, float]]] = {"A": [], "B": []}
    try:
        for window, side in enumerate(order[: args.windows]):
            set_slack(tids, args.a_ns if side == "A" else args.b_ns)
            time.sleep(args.settle)
            meter = Meter(roots)
            cpu0, sw0 = broker_sample(broker)
            load0 = load_average()
            meter.start()
            time.sleep(args.seconds)
            wall, used, _ = meter.stop()
            cpu1, sw1 = broker_sample(broker)
            platform = sum(used.values()) / wall * 1000
            kafka_ns = (cpu1 - cpu0) / 1e6 / wall
            wakeups = (sw1 - sw0) / wall
            totals[side].append((platform, kafka_ns, wakeups))
            services = sum(v for k, v in used.items() if k not in ("postgresql", "kafka", "mail sink")) / wall * 1000
            print(
                f"window {window + 1} {side}: {wall:.0f} s ({load0} -> {load_average()}): platform {platform:5.1f} ms/s"
                f" (services {services:.1f}, postgresql {used.get('postgresql', 0) / wall * 1000:.1f},"
                f" kafka {used['kafka'] / wall * 1000:.1f}); kafka by schedstat {kafka_ns:5.2f} ms/s,"
                f" {wakeups:6.1f} wake-ups/s",
                flush=True,
            )
    finally:
        with contextlib.suppress(OSError, AssertionError):
            set_slack(tids, args.b_ns)
    for side, rows in totals.items():
        if rows:
            n = len(rows)
            print(
                f"{side}: platform {sum(r[0] for r in rows) / n:5.1f} ms/s, kafka {sum(r[1] for r in rows) / n:5.2f}"
                f" ms/s, {sum(r[2] for r in rows) / n:6.1f} wake-ups/s (mean of {n})"
            )


if __name__ == "__main__":
    main()
