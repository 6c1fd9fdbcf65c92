"""Hops at a fixed rate on a running ``make run``, old code against new, alternated (not a test).

Each round restarts every service (``deploy/services.sh restart all``) on one variant - ``old``: the
folder given by ``--old-src`` (holding an older ``backoffice_common``, e.g. from ``git archive``) first
on ``PYTHONPATH``; ``new``: the checkout's own - with ``stall_probe`` loaded, lets it settle, drives
``--warmup`` flows (not counted: the first calls of a fresh process import and build what they use),
then ``--flows`` flows at ``--rate`` and records every flow's hops (``backoffice_cli.flow.HOPS``) and,
from the probe, the event loops' stalls and the collector's full collections in that window.

    git archive HEAD services/common/src | tar -x -C /tmp/old
    source deploy/env.sh
    .venv/bin/python services/common/bench/hop_restart_ab.py --old-src /tmp/old/services/common/src \\
        --order old,new,new,old --flows 60 --rate 2 --probe-dir /tmp/stalls

Every flow must complete in both variants (the same walk, so the same answers); the hops of each
variant's rounds are pooled for p50/p99.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from backoffice_cli import demo
from backoffice_cli.client import Platform
from backoffice_cli.flow import HOPS
from backoffice_cli.load import drive, percentile

ROOT = Path(__file__).resolve().parents[3]
PROBE = ROOT / "services" / "common" / "bench" / "stall_probe"
SECRET = os.environ.get("BACKOFFICE_DEV_JWT_SECRET", "development-only-jwt-secret-never-in-production")


def restart(variant: str, old_src: Path, probe_dir: Path) -> None:
    env = dict(os.environ)
    path = [str(PROBE)] if variant == "new" else [str(old_src), str(PROBE)]
    env["PYTHONPATH"] = os.pathsep.join(path)
    env["STALL_PROBE_DIR"] = str(probe_dir)
    subprocess.run(
        ["bash", str(ROOT / "deploy" / "services.sh"), "restart", "all"], env=env, check=True, stdout=subprocess.DEVNULL
    )


async def flows(count: int, rate: float) -> tuple[dict[str, list[float]], int]:
    client = Platform(endpoints=demo.endpoints_from_env(), jwt_secret=SECRET, timeout=600, poll_interval=1.0)
    try:
        report = await drive(client, flows=count, rate=rate)
    finally:
        await client.aclose()
    hops: dict[str, list[float]] = defaultdict(list)
    for result in report.completed:
        for hop, seconds in result.hop_seconds().items():
            hops[hop].append(seconds * 1000)
    return hops, len(report.failed)


def probe_window(probe_dir: Path, started: float, since: float, until: float) -> dict[str, dict[str, Any]]:
    """Per service: full collections and stalls in [since, until), objects frozen by the processes started
    at ``started``."""
    out: dict[str, dict[str, Any]] = defaultdict(lambda: {"gen2": [], "stalls": [], "frozen": 0})
    for path in probe_dir.glob("*.jsonl"):
        for line in path.read_text().splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if row["svc"] == "?":
                continue
            svc = out[row["svc"]]
            if row["k"] == "frozen" and started <= row["t"] < until:
                svc["frozen"] = row["frozen"]
            if not since <= row["t"] < until:
                continue
            if row["k"] == "gc" and row["gen"] == 2:
                svc["gen2"].append(row["ms"])
            elif row["k"] == "stall":
                svc["stalls"].append(row["ms"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old-src", type=Path, required=True)
    parser.add_argument("--order", default="old,new,new,old")
    parser.add_argument("--flows", type=int, default=60)
    parser.add_argument("--rate", type=float, default=2.0)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--settle", type=float, default=20.0, help="seconds after the restart before the warm-up")
    parser.add_argument("--probe-dir", type=Path, required=True, help="STALL_PROBE_DIR of the restarted services")
    args = parser.parse_args()

    pooled: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for variant in args.order.split(","):
        started = time.time()
        restart(variant, args.old_src, args.probe_dir)
        time.sleep(args.settle)
        asyncio.run(flows(args.warmup, args.rate))
        since = time.time()
        load_before = os.getloadavg()[0]
        hops, failed = asyncio.run(flows(args.flows, args.rate))
        until = time.time()
        load_after = os.getloadavg()[0]
        if failed:
            raise SystemExit(f"{variant}: {failed} flows failed")
        window = probe_window(args.probe_dir, started, since, until)
        print(f"== {variant} ({time.strftime('%H:%M:%S')}, load {load_before:.1f}-{load_after:.1f})", flush=True)
        for hop in HOPS:
            values = hops.get(hop, [])
            pooled[variant][hop].extend(values)
            if values:
                print(
                    f"  {hop:<40} p50 {statistics.median(values):6.0f}  p99 {percentile(values, 0.99):6.0f} ms"
                    f"  (n={len(values)})"
                )
        for svc, figures in sorted(window.items()):
            gen2, stalls = figures["gen2"], figures["stalls"]
            print(
                f"  {svc:<14} gen-2 collections {len(gen2)} (max {max(gen2, default=0):.0f} ms), stalls >50 ms"
                f" {sum(1 for s in stalls if s > 50)} (max {max(stalls, default=0):.0f} ms),"
                f" frozen {figures['frozen']}",
                flush=True,
            )
    print("== pooled")
    for variant, hops in pooled.items():
        for hop, values in hops.items():
            print(
                f"  {variant:<4} {hop:<40} p50 {statistics.median(values):6.0f}  p99 {percentile(values, 0.99):6.0f}"
                f" ms  (n={len(values)})"
            )


if __name__ == "__main__":
    main()
