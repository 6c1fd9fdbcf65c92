"""PostgreSQL's CPU per flow, by server process (not a test).

Against a running platform (``make run``): reads utime + stime of every process of the server (the
postmaster listening on ``$BACKOFFICE_PG_PORT`` and its children) from ``/proc``, runs ``backoffice load
--flows N --rate R`` in a process of its own (or, with ``--idle S``, waits S seconds), reads again, and
prints the CPU per completed flow (or per second) by kind of process: the client backends by database
(the services' connections, named by ``ps``'s title ``postgres: <user> <database> <client> <state>``),
the walwriter, checkpointer, background writer, autovacuum launcher, logical replication launcher,
the postmaster itself, and what exited during the window (reaped by the postmaster: autovacuum
workers, closed connections). The backends' count by database is printed beside.

    source deploy/env.sh && .venv/bin/python services/common/bench/pg_processes.py --flows 30 --rate 1
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
TITLE = re.compile(r"^postgres: (?:\S+ )?(\S[^:]*)$")


def postmaster_of(port: int) -> int:
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmd and cmd[0].endswith(b"postgres") and b"-D" in cmd:
            data_dir = cmd[cmd.index(b"-D") + 1].decode()
            try:
                lines = Path(data_dir, "postmaster.pid").read_text().splitlines()
            except OSError:
                continue
            if len(lines) > 3 and lines[3].strip() == str(port):
                return int(pid)
    raise SystemExit(f"no PostgreSQL server on port {port}")


def kind(title: str) -> str:
    """``postgres: walwriter`` -> walwriter; ``postgres: backoffice requests 127.0.0.1(5) idle`` -> db requests."""
    title = title.removeprefix("postgres: ")
    parts = title.split()
    if len(parts) >= 3 and ("(" in parts[2] or parts[2] == "[local]"):
        return f"backend {parts[1]}"
    return re.sub(r"\s+(process|worker)?\s*$", "", title.split(":")[0]).strip() or title


def snapshot(postmaster: int, field: int | None = None) -> tuple[dict[int, tuple[str, int]], int, int]:
    """({pid: (kind, ticks)} of the live children, the postmaster's own ticks, its reaped children's ticks);
    utime + stime, or only utime (``field`` 11) or stime (12)."""
    fields = Path(f"/proc/{postmaster}/stat").read_text().rsplit(")", 1)[1].split()
    own, reaped = int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])
    children: dict[int, tuple[str, int]] = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            if stat[1] != str(postmaster):
                continue
            title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            continue
        ticks = int(stat[field]) if field is not None else int(stat[11]) + int(stat[12])
        children[int(pid)] = (kind(title), ticks)
    return children, own, reaped


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--flows", type=int, default=30)
    ap.add_argument("--rate", type=float, default=1.0)
    ap.add_argument("--idle", type=float, default=0.0, help="measure S seconds at rest instead of a load run")
    args = ap.parse_args()
    postmaster = postmaster_of(int(os.environ["BACKOFFICE_PG_PORT"]))
    before, own0, reaped0 = snapshot(postmaster)
    system0 = snapshot(postmaster, 12)[0]
    t0 = time.monotonic()
    la0 = os.getloadavg()[0]
    if args.idle:
        time.sleep(args.idle)
        per, unit = args.idle, "ms/s"
    else:
        load = subprocess.run(
            [sys.executable, "-m", "backoffice_cli", "load", "--flows", str(args.flows), "--rate", str(args.rate)],
            capture_output=True,
            text=True,
            check=False,
        )
        print(load.stdout.strip())
        match = re.search(r": (\d+) completed", load.stdout)
        per, unit = (int(match.group(1)) if match else 0), "ms/flow"
        if not per:
            print(load.stderr[-2000:])
            raise SystemExit("no flow completed")
    after, own1, reaped1 = snapshot(postmaster)
    system1 = snapshot(postmaster, 12)[0]
    seconds = time.monotonic() - t0
    spent: Counter[str] = Counter()
    system: Counter[str] = Counter()
    count: Counter[str] = Counter()
    for pid, (name, ticks) in after.items():
        spent[name] += ticks - before.get(pid, (name, 0))[1]
        if pid in system1:
            system[name] += system1[pid][1] - system0.get(pid, (name, 0))[1]
        count[name] += 1
    spent["postmaster"] += own1 - own0
    spent["exited (reaped: autovacuum workers, closed connections)"] += reaped1 - reaped0
    total = sum(spent.values())
    la = os.getloadavg()
    print(
        f"\nPostgreSQL CPU by process, {unit} ({per:g} {'s' if args.idle else 'flows'} in {seconds:.0f} s,"
        f" load {la0:.1f} -> {la[0]:.1f}): all, of which in the kernel (stime)"
    )
    for name, ticks in sorted(spent.items(), key=lambda kv: (-kv[1], kv[0])):
        n = f"({count[name]} live)" if count[name] else ""
        kernel = f"{system[name] * 1000 / TICK / per:8.1f}" if count[name] else " " * 8
        print(f"  {name:<58}{ticks * 1000 / TICK / per:8.1f}{kernel}  {n}")
    print(f"  {'all':<58}{total * 1000 / TICK / per:8.1f}{sum(system.values()) * 1000 / TICK / per:8.1f}")


if __name__ == "__main__":
    main()
