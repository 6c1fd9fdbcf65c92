"""Summarise ``stall_probe``'s lines: per service, the event loop's stalls and the garbage collector.

    rm -rf /tmp/stalls; STALL_PROBE_DIR=/tmp/stalls PYTHONPATH=$PWD/services/common/bench/stall_probe make run
    source deploy/env.sh; .venv/bin/python -m backoffice_cli load --flows 120 --rate 2
    .venv/bin/python services/common/bench/stall_summary.py /tmp/stalls [--since EPOCH] [--until EPOCH]

A stall is a 10-ms timer of the loop that ran more than 10 ms late. Each is put under one cause: ``gc``
(the collector ran for at least half of it), ``own work`` (the main thread's CPU over the period was at
least 60 % of it: the loop ran something that long; the frame of the platform's code the watchdog saw
most is the place), ``core`` (the loop's thread waited on the kernel's run queue for at least half of it:
no core free), ``gil`` (another thread of the process, e.g. contracts' render, ran for at least half of
it), or ``waiting`` (none of these). Per service: stalls over 10 / 20 / 50 ms, by cause,
the five longest, the places of the own-work ones, and the collector's generation-2 collections.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any


def cause(stall: dict[str, Any]) -> str:
    """gc, own work, then - for the probe's lines that carry the kernel's run-queue wait (``queued``) and
    the other threads' CPU (``others``) - core (the loop's thread waited on a run queue for at least
    half of the stall), gil (another thread of the process ran for at least half of it), else waiting
    (older lines, or a stall neither explains: e.g. the other thread itself waiting for a core)."""
    if stall["gc"] >= stall["ms"] / 2:
        return "gc"
    if stall["cpu"] >= 0.6 * stall["ms"]:
        return "own work"
    if "queued" in stall:
        if stall["queued"] >= stall["ms"] / 2:
            return "core"
        if stall["others"] >= stall["ms"] / 2:
            return "gil"
    return "waiting"


def place(stall: dict[str, Any]) -> str:
    where = stall.get("where") or []
    if not where:
        return "(not sampled)"
    inner, own, _ = where[0]
    return f"{own or '-'} | {inner}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--since", type=float, default=0.0, help="only lines at or after this epoch second")
    parser.add_argument("--until", type=float, default=float("inf"), help="only lines before this epoch second")
    parser.add_argument("--top", type=int, default=5)
    args = parser.parse_args()

    stalls: dict[str, list[dict[str, Any]]] = defaultdict(list)
    gcs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for path in sorted(args.folder.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if not args.since <= row["t"] < args.until:
                continue
            if row["k"] == "stall":
                stalls[row["svc"]].append(row)
            elif row["k"] == "gc":
                gcs[row["svc"]].append(row)

    for svc in sorted(set(stalls) | set(gcs)):
        rows = stalls[svc]
        over = [sum(1 for s in rows if s["ms"] > limit) for limit in (10, 20, 50)]
        by_cause = Counter(cause(s) for s in rows if s["ms"] > 20)
        ms_by_cause: Counter[str] = Counter()
        for s in rows:
            if s["ms"] > 20:
                ms_by_cause[cause(s)] += s["ms"]
        gen2 = [g for g in gcs[svc] if g["gen"] == 2]
        long_gc = [g for g in gcs[svc] if g["ms"] > 10]
        print(
            f"{svc}: stalls >10/>20/>50 ms: {over[0]}/{over[1]}/{over[2]}; >20 ms by cause: "
            + ", ".join(f"{c} {n} ({ms_by_cause[c]:.0f} ms)" for c, n in by_cause.most_common())
        )
        if gen2:
            print(
                f"  gen-2 collections: {len(gen2)}, ms p50 {sorted(g['ms'] for g in gen2)[len(gen2) // 2]:.1f},"
                f" max {max(g['ms'] for g in gen2):.1f}; collections > 10 ms (any gen): {len(long_gc)}"
            )
        for s in sorted(rows, key=lambda s: -s["ms"])[: args.top]:
            print(
                f"  {s['ms']:7.1f} ms  cpu {s['cpu']:6.1f}  queued {s.get('queued', 0):6.1f}"
                f"  others {s.get('others', 0):6.1f}  gc {s['gc']:6.1f}  {cause(s):<8}  {place(s)}"
            )
        places = Counter(place(s) for s in rows if s["ms"] > 20 and cause(s) == "own work")
        for where, n in places.most_common(args.top):
            print(f"    own work x{n}: {where}")


if __name__ == "__main__":
    main()
