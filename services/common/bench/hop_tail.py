"""What makes the hops' tail: every flow's hops at a fixed rate, and for each hop over ``--limit-ms`` (50)
the event-loop stalls of the services on its path that overlap it, by cause (not a test).

Runs against ``make run`` started with ``stall_probe`` (``STALL_PROBE_DIR`` and its folder on
``PYTHONPATH``). With ``--variants`` it restarts every service before each round
(``deploy/services.sh restart all``) with a variant's environment, alternated: ``old`` puts
``--old-src`` (an older ``backoffice_common`` from ``git archive``) first on ``PYTHONPATH``, ``new`` runs the
checkout as it is, ``bare`` the checkout without the probe (its hops and the scheduler's figures only), and
any ``NAME=VAR=VALUE`` variant sets an environment variable for the services.

    rm -rf /tmp/stalls; STALL_PROBE_DIR=/tmp/stalls PYTHONPATH=$PWD/services/common/bench/stall_probe make run
    source deploy/env.sh
    .venv/bin/python services/common/bench/hop_tail.py --probe-dir /tmp/stalls --flows 240 --rate 2
    .venv/bin/python services/common/bench/hop_tail.py --probe-dir /tmp/stalls --flows 120 --rate 2 \\
        --old-src /tmp/old/services/common/src --variants old,new,new,old

A stall is the probe's 10-ms loop timer running more than 10 ms late; its cause (``stall_summary.cause``):
``gc``, ``own work`` (the loop's thread ran), ``core`` (the loop's thread was runnable but on the kernel's
run queue: no core free), ``gil`` (another thread of the process ran), ``waiting`` (none of them). Also
printed per round: the machine's CPU pressure (``/proc/pressure/cpu`` "some": the share of the time at
least one runnable task had no core) and the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

from backoffice_cli import demo
from backoffice_cli.client import Platform
from backoffice_cli.flow import HOPS, FlowResult
from backoffice_cli.load import drive, percentile

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stall_summary import cause

ROOT = Path(__file__).resolve().parents[3]
PROBE = ROOT / "services" / "common" / "bench" / "stall_probe"
SECRET = os.environ.get("BACKOFFICE_DEV_JWT_SECRET", "development-only-jwt-secret-never-in-production")
PATHS = {
    # the services whose loops a hop passes through (the producer's relay, the consumers up to the effect)
    "submitted -> task assigned": ("requests", "budgets", "approvals"),
    "approved -> vendor notified": ("approvals", "notifications"),
    "vendor accepted -> contract generated": ("notifications", "contracts"),
    "both signed -> executed": ("contracts",),
}
CAUSES = ("gc", "own work", "core", "gil", "waiting")


def restart(variant: str, old_src: Path | None, probe_dir: Path) -> None:
    env = dict(os.environ)
    path = [str(PROBE)]
    if variant.startswith("bare"):  # the checkout as it is, without the probe (what the probe itself costs)
        env.pop("STALL_PROBE_DIR", None)
        env.pop("PYTHONPATH", None)
        subprocess.run(
            ["bash", str(ROOT / "deploy" / "services.sh"), "restart", "all"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        return
    if variant == "old":
        assert old_src is not None, "--old-src is needed for the variant old"
        path.insert(0, str(old_src))
    elif "=" in variant:
        _, var, value = variant.split("=", 2)
        env[var] = value
    env["PYTHONPATH"] = os.pathsep.join(path)
    env["STALL_PROBE_DIR"] = str(probe_dir)
    subprocess.run(
        ["bash", str(ROOT / "deploy" / "services.sh"), "restart", "all"], env=env, check=True, stdout=subprocess.DEVNULL
    )


def _at(entry: dict[str, Any]) -> float:
    return datetime.fromisoformat(str(entry["occurred_at"])).timestamp()


def hop_spans(result: FlowResult) -> dict[str, tuple[float, float]]:
    """(start, end) epoch seconds of each hop, as ``FlowResult.hop_seconds`` takes them."""
    spans = {}
    for hop, (start_type, end_type) in HOPS.items():
        starts = [_at(e) for e in result.timeline if e["type"] == start_type]
        ends = [_at(e) for e in result.timeline if e["type"] == end_type]
        if not starts or not ends:
            continue
        start = max(starts) if start_type == "contract.signed" else min(starts)
        later = [t for t in ends if t >= start]
        if later:
            spans[hop] = (start, min(later))
    return spans


async def flows(count: int, rate: float) -> tuple[list[FlowResult], int]:
    client = Platform(endpoints=demo.endpoints_from_env(), jwt_secret=SECRET, timeout=600, poll_interval=1.0)
    try:
        report = await drive(client, flows=count, rate=rate)
    finally:
        await client.aclose()
    return report.completed, len(report.failed)


def probe_lines(
    probe_dir: Path, since: float, until: float
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[dict[str, Any]]]]:
    """Per service: the stalls and the collections (``gc`` lines) in [since, until)."""
    stalls: dict[str, list[dict[str, Any]]] = defaultdict(list)
    collections: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for path in probe_dir.glob("*.jsonl"):
        for line in path.read_text().splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if not since <= row["t"] < until or row["svc"] == "?":
                continue
            if row["k"] == "stall":
                row["from"] = row["t"] - row["ms"] / 1000
                stalls[row["svc"]].append(row)
            elif row["k"] == "gc":
                collections[row["svc"]].append(row)
    return stalls, collections


def _group(cmdline: str) -> str | None:
    if "-m backoffice_" in cmdline:
        return cmdline.split("-m backoffice_", 1)[1].split()[0]
    for needle, group in (
        ("render_worker", "contracts (render workers)"),
        ("postgres", "postgresql"),
        ("kafka", "kafka"),
        ("mailsink", "mail sink"),
        ("keycloak", "keycloak"),
        ("s3proxy", "s3proxy"),
    ):
        if needle in cmdline:
            return group
    return None


def scheduler() -> dict[str, list[float]]:
    """Per process group of this checkout's platform (its processes and their children, e.g. PostgreSQL's
    backends): seconds on a core, seconds runnable on a run queue without one, and times put on a core
    (about one per wake-up), summed over every thread (the kernel's ``/proc/<pid>/task/<tid>/schedstat``)."""
    procs: dict[int, tuple[int, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        procs[int(entry.name)] = (ppid, cmdline)
    root = str(ROOT)
    groups: dict[int, str] = {}
    for pid, (_, cmdline) in procs.items():
        group = _group(cmdline) if root in cmdline else None
        if group:
            groups[pid] = group
    for pid, (ppid, _) in procs.items():
        if pid not in groups and ppid in groups and groups[ppid] == "postgresql":
            groups[pid] = "postgresql"
    out: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for pid, group in groups.items():
        try:
            tasks = list(Path(f"/proc/{pid}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                on_cpu, queued, slices = (task / "schedstat").read_text().split()[:3]
            except (OSError, ValueError):
                continue
            out[group][0] += int(on_cpu) / 1e9
            out[group][1] += int(queued) / 1e9
            out[group][2] += int(slices)
    return out


def pressure() -> float:
    """Microseconds in which some runnable task had no core (``/proc/pressure/cpu``, "some")."""
    try:
        line = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except OSError:
        return 0.0
    return float(dict(kv.split("=") for kv in line.split()[1:])["total"])


def report(
    results: list[FlowResult],
    stalls: dict[str, list[dict[str, Any]]],
    collections: dict[str, list[dict[str, Any]]],
    limit: float,
) -> dict[str, list[float]]:
    hops: dict[str, list[float]] = defaultdict(list)
    slow: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for result in results:
        for hop, (start, end) in hop_spans(result).items():
            ms = (end - start) * 1000
            hops[hop].append(ms)
            if ms > limit:
                slow[hop].append((start, end))
    for hop in HOPS:
        values = hops.get(hop)
        if not values:
            continue
        over = slow.get(hop, [])
        print(
            f"  {hop:<38} p50 {statistics.median(values):5.0f}  p99 {percentile(values, 0.99):5.0f}"
            f"  max {max(values):5.0f} ms  over {limit:.0f} ms: {len(over)}/{len(values)}"
        )
        if not over:
            continue
        # the stall milliseconds inside the slow hops, per service of the path and cause; a hop is "explained"
        # by a cause when stalls of that cause take at least (hop - limit) of it
        by: Counter[tuple[str, str]] = Counter()
        explained: Counter[str] = Counter()
        for start, end in over:
            in_hop: Counter[str] = Counter()
            for svc in PATHS[hop]:
                for s in stalls.get(svc, []):
                    overlap = min(end, s["t"]) - max(start, s["from"])
                    if overlap > 0:
                        by[(svc, cause(s))] += overlap * 1000
                        in_hop[cause(s)] += overlap * 1000
            excess = (end - start) * 1000 - limit
            top = in_hop.most_common(1)
            explained[top[0][0] if top and top[0][1] >= excess / 2 else "(stalls < half the excess)"] += 1
        print(
            f"    {len(over)} hops over {limit:.0f} ms; stall ms inside them: "
            + ", ".join(f"{svc} {c} {ms:.0f}" for (svc, c), ms in by.most_common(6))
        )
        print(
            "    the excess over the limit, half or more of it in stalls of: "
            + ", ".join(f"{c} {n}" for c, n in explained.most_common())
        )
    flows = max(len(results), 1)
    for svc in sorted(set(stalls) | set(collections)):
        rows = stalls.get(svc, [])
        gcs = collections.get(svc, [])
        per_gen = Counter(g["gen"] for g in gcs)
        counts = Counter(cause(s) for s in rows if s["ms"] > 20)
        total = Counter()
        for s in rows:
            total[cause(s)] += s["ms"]
        print(
            f"  {svc:<14} stalls >20/>50 ms: {sum(1 for s in rows if s['ms'] > 20)}/"
            f"{sum(1 for s in rows if s['ms'] > 50)} (max {max((s['ms'] for s in rows), default=0):.0f});"
            " >20 ms by cause: "
            + ", ".join(f"{c} {counts[c]}" for c in CAUSES if counts[c])
            + "; all stall ms by cause: "
            + ", ".join(f"{c} {total[c]:.0f}" for c in CAUSES if total[c])
        )
        if gcs:
            print(
                f"  {'':<14} collections logged (gen 0/1/2): {per_gen[0]}/{per_gen[1]}/{per_gen[2]},"
                f" per flow {sum(g.get('cpu', 0) for g in gcs) / flows:.2f} ms of CPU,"
                f" {sum(g['ms'] for g in gcs) / flows:.2f} ms wall; longest {max(g['ms'] for g in gcs):.0f} ms wall"
            )
    return hops


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--probe-dir", type=Path, required=True, help="STALL_PROBE_DIR of the services")
    parser.add_argument("--flows", type=int, default=240)
    parser.add_argument("--rate", type=float, default=2.0)
    parser.add_argument("--limit-ms", type=float, default=50.0)
    parser.add_argument("--variants", default="", help="comma-separated; each round restarts every service")
    parser.add_argument("--old-src", type=Path)
    parser.add_argument("--warmup", type=int, default=10, help="flows before each round, not counted")
    parser.add_argument("--settle", type=float, default=20.0, help="seconds after a restart before the warm-up")
    args = parser.parse_args()

    pooled: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for variant in args.variants.split(",") if args.variants else ["as running"]:
        if args.variants:
            restart(variant, args.old_src, args.probe_dir)
            time.sleep(args.settle)
        if args.warmup:
            asyncio.run(flows(args.warmup, args.rate))
        since, load0, psi0, sched0 = time.time(), os.getloadavg()[0], pressure(), scheduler()
        results, failed = asyncio.run(flows(args.flows, args.rate))
        until, load1, psi1, sched1 = time.time(), os.getloadavg()[0], pressure(), scheduler()
        if failed:
            raise SystemExit(f"{variant}: {failed} flows failed")
        print(
            f"== {variant} ({time.strftime('%H:%M:%S')}, {len(results)} flows, load {load0:.1f}-{load1:.1f},"
            f" cpu pressure 'some' {(psi1 - psi0) / 1e4 / (until - since):.0f} %)",
            flush=True,
        )
        hops = report(results, *probe_lines(args.probe_dir, since, until), args.limit_ms)
        n = max(len(results), 1)
        rows = []
        for group in sorted(sched1):
            before = sched0.get(group, [0.0, 0.0, 0.0])
            on_cpu, queued, slices = (sched1[group][i] - before[i] for i in range(3))
            rows.append((group, on_cpu, queued, slices))
        cpu_all, queued_all = sum(r[1] for r in rows), sum(r[2] for r in rows)
        slices_all = sum(r[3] for r in rows)
        print(
            "  on a core / waiting for one, ms per flow (every thread; waiting per ms on a core): "
            + ", ".join(
                f"{g} {c * 1000 / n:.0f}/{q * 1000 / n:.0f} ({q / c if c else 0:.1f})"
                for g, c, q, _ in rows
                if c > 0.001
            )
            + f"; platform {cpu_all * 1000 / n:.0f}/{queued_all * 1000 / n:.0f} ({queued_all / max(cpu_all, 1e-9):.1f})"
        )
        print(
            f"  times put on a core per flow: platform {slices_all / n:.0f}, waiting"
            f" {queued_all * 1000 / max(slices_all, 1):.2f} ms on a run queue each: "
            + ", ".join(f"{g} {sl / n:.0f}" for g, c, q, sl in rows if c > 0.001)
        )
        for hop, values in hops.items():
            pooled[variant][hop].extend(values)
        sys.stdout.flush()
    if len(pooled) > 1 or args.variants:
        print("== pooled")
        for variant, hops in pooled.items():
            for hop, values in hops.items():
                print(
                    f"  {variant:<12} {hop:<38} p50 {statistics.median(values):5.0f}  p99"
                    f" {percentile(values, 0.99):5.0f} ms  over {args.limit_ms:.0f}:"
                    f" {sum(1 for v in values if v > args.limit_ms)}/{len(values)}"
                )


if __name__ == "__main__":
    main()
