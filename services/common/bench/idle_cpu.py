"""Idle CPU of every process of the platform, per process tree and optionally per thread (not a test).

Against a running profile (``make run``, or the test profile's ``deploy/infra.sh start`` +
``deploy/services.sh start``), nothing driving it: utime + stime from ``/proc`` of the process
listening on each port of ``deploy/env.sh`` and its descendants (``backoffice_cli.bench.Meter``),
over ``--windows`` windows of ``--seconds`` each, printed in ms of CPU per second with the load
average, and beside it the wake-ups per second (voluntary + involuntary context switches of all the
tree's threads: a count, so it holds under load, where the 10-ms CPU ticks are coarse and inflated).
``--threads kafka`` (any name of the table) also splits that process by thread name
(``/proc/<pid>/task/*/comm``, numbers folded: ``kafka-scheduler-3`` -> ``kafka-scheduler-#``).

    BACKOFFICE_PROFILE=test source deploy/env.sh && .venv/bin/python services/common/bench/idle_cpu.py --seconds 60
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import time

from backoffice_cli.bench import TICK, Meter, load_average, pid_listening_on

PORTS = (
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
BESIDE = (
    ("console", "BACKOFFICE_CONSOLE_PORT"),
    ("keycloak", "BACKOFFICE_KEYCLOAK_PORT"),
    ("s3proxy", "BACKOFFICE_S3_PORT"),
)
"""Running beside the platform, not on a purchase order's path: shown, not summed."""


def thread_ticks(pid: int) -> dict[str, int]:
    """CPU ticks so far of each thread of ``pid``, summed by thread name (digits folded to ``#``)."""
    out: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for entry in os.scandir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError):
                with open(f"{entry.path}/stat") as f:
                    text = f.read()
                name = re.sub(r"\d+", "#", text[text.index("(") + 1 : text.rindex(")")])
                fields = text[text.rindex(")") + 2 :].split()
                out[name] = out.get(name, 0) + int(fields[11]) + int(fields[12])
    return out


def tree_switches(root: int) -> int:
    """Context switches so far of every thread of ``root`` and of its live descendants."""
    parents: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError):
                with open(f"/proc/{entry.name}/stat") as f:
                    text = f.read()
                parents[int(entry.name)] = int(text[text.rindex(")") + 2 :].split()[1])
    tree, stack = [], [root]
    while stack:
        pid = stack.pop()
        tree.append(pid)
        stack.extend(child for child, parent in parents.items() if parent == pid)
    total = 0
    for pid in tree:
        with contextlib.suppress(OSError):
            for entry in os.scandir(f"/proc/{pid}/task"):
                with contextlib.suppress(OSError, ValueError), open(f"{entry.path}/status") as f:
                    for line in f:
                        if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                            total += int(line.split()[1])
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="length of one window")
    parser.add_argument("--windows", type=int, default=1)
    parser.add_argument("--threads", action="append", default=[], help="split this process by thread name")
    args = parser.parse_args()

    roots: dict[str, int] = {}
    for name, variable in (*PORTS, *BESIDE):
        pid = pid_listening_on(int(os.environ[variable]))
        if pid is not None:
            roots[name] = pid
    platform = [name for name, _ in PORTS if name in roots]
    for window in range(args.windows):
        meter = Meter(roots)
        before = {name: thread_ticks(roots[name]) for name in args.threads if name in roots}
        switches = {name: tree_switches(pid) for name, pid in roots.items()}
        load_before = load_average()
        meter.start()
        time.sleep(args.seconds)
        wall, used, _ = meter.stop()
        woken = {name: (tree_switches(pid) - switches[name]) / wall for name, pid in roots.items()}
        print(f"window {window + 1}: {wall:.0f} s ({load_before} -> {load_average()}), CPU ms/s, wake-ups/s")
        for name in roots:
            beside = "" if name in platform else "  (beside, not summed)"
            print(f"  {name:<14}{used[name] / wall * 1000:8.1f}{woken[name]:9.1f}{beside}")
        print(
            f"  {'platform':<14}{sum(used[n] for n in platform) / wall * 1000:8.1f}"
            f"{sum(woken[n] for n in platform):9.1f}"
        )
        for name, ticks in before.items():
            after = thread_ticks(roots[name])
            rows = sorted(((after[t] - ticks.get(t, 0), t) for t in after), reverse=True)
            print(f"  {name} by thread:")
            for delta, thread in rows:
                if delta > 0:
                    print(f"    {thread:<32}{delta / TICK / wall * 1000:8.1f}")
        print(flush=True)


if __name__ == "__main__":
    main()
