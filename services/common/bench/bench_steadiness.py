"""How steady the bench's own floor and idle figures are: old against new, repeated, on a running `make run`.

``floor``: the bench's floor part (``backoffice_cli.bench``) as the old code measured it (one round of
``--old-n`` repetitions, tick-counted CPU, the contract's median of 5) and as the new code does (``--rounds``
rounds of ``--new-n`` repetitions, CPU to the nanosecond, ``--contract-samples`` contract samples a round, the
median of the rounds; with ``--gap`` the second half of the rounds that many seconds after the first, as the bench
measures them before and after its fixed-rate run), alternated old, new, new, old... ``--pairs`` times, each in a
fresh process of its own (as the bench runs: the typst compiler memoises within a process). The floor per flow
uses ``--events`` and ``--calls`` (a flow's counts from a bench run). The old code is the bench module of
``--old-commit``, taken with ``git show`` into a temporary folder.

``idle``: ``--reps`` windows of the platform at rest; in each, from the same start, the old figure (``/proc`` ticks
over 10 s) and the new ones (CPU to the nanosecond over 10 s and over ``--idle-seconds``).

    BACKOFFICE_PROFILE=run bash -c 'source deploy/env.sh && .venv/bin/python \\
        services/common/bench/bench_steadiness.py floor --pairs 3'
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from backoffice_cli import bench
from backoffice_cli.bench import PROCESSES, Meter, _roots, load_average

ROOT = Path(__file__).resolve().parents[3]


def old_module(commit: str) -> ModuleType:
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{commit}:tools/cli/src/backoffice_cli/bench.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = Path(tempfile.mkdtemp(prefix="bench-old-")) / "bench_old.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("bench_old", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_old"] = module
    spec.loader.exec_module(module)
    return module


async def one_floor(args: argparse.Namespace) -> dict[str, Any]:
    """One measurement of the floor by the old or the new code (in this process, which does nothing else)."""
    platform = _roots(PROCESSES)
    idle = {"kafka": args.kafka_idle, "postgresql": args.pg_idle}
    bootstrap = os.environ["BACKOFFICE_KAFKA_BOOTSTRAP"]
    dsn = await bench.bench_database(os.environ["BACKOFFICE_PG_DSN_BASE"])
    started = time.perf_counter()
    if args.variant == "old":
        old = old_module(args.old_commit)
        floor = old.Floor()
        floor.pg_commit_ms = await old.floor_pg_commit(dsn, args.old_n)
        floor.kafka_produce_ms = await old.floor_kafka_produce(bootstrap, platform["kafka"], idle["kafka"], args.old_n)
        with old.bare_server(dsn) as (url, pid):
            await old.wait_up(f"{url}/rows/1")
            floor.bare_read_server_ms, floor.bare_read_ms = await old.read_cost(
                f"{url}/rows/1", {}, pid, platform["postgresql"], idle["postgresql"], args.old_n
            )
        floor.render_ms, floor.signature_page_ms, floor.merge_ms, floor.seal_ms = await asyncio.to_thread(
            old.floor_contract, 5
        )
        parts = vars(floor)
        rounds = [parts]
    else:
        floors = []
        for k in range(args.rounds):
            if args.gap and k == (args.rounds + 1) // 2:
                await asyncio.sleep(args.gap)  # where the bench runs its fixed-rate flows: the later rounds later
            floors.append(
                await bench.measure_floor(
                    dsn,
                    bootstrap,
                    platform,
                    idle,
                    args.new_n,
                    args.contract_samples,
                    k * (args.contract_samples + 1),
                )
            )
        floor = bench.median_floor(floors)
        parts = vars(floor)
        rounds = [vars(f) for f in floors]
    return {
        "variant": args.variant,
        "seconds": time.perf_counter() - started,
        "load": load_average(),
        "parts": parts,
        "per_flow": bench.Floor(**parts).per_flow_ms(args.events, args.calls),
        "rounds_per_flow": [bench.Floor(**r).per_flow_ms(args.events, args.calls) for r in rounds],
    }


def summary(name: str, values: list[float]) -> str:
    mean = statistics.mean(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return (
        f"{name}: {', '.join(f'{v:.2f}' for v in values)}; min-max {min(values):.2f}-{max(values):.2f} "
        f"({(max(values) - min(values)) / mean * 100:.0f} % of the mean), sd {sd / mean * 100:.1f} %"
    )


def floor_main(args: argparse.Namespace) -> None:
    roots = _roots(PROCESSES)
    meter = Meter({"kafka": roots["kafka"], "postgresql": roots["postgresql"]})
    meter.start()
    time.sleep(10)
    wall, used, _ = meter.stop()
    kafka_idle, pg_idle = used["kafka"] / wall, used["postgresql"] / wall
    print(f"idle rates: kafka {kafka_idle * 1000:.2f} ms/s, postgresql {pg_idle * 1000:.2f} ms/s ({load_average()})")
    order = ["old", "new", "new", "old"] * ((args.pairs + 1) // 2)
    order = order[: 2 * args.pairs]
    results: dict[str, list[dict[str, Any]]] = {"old": [], "new": []}
    for variant in order:
        command = [
            sys.executable,
            __file__,
            "one-floor",
            variant,
            *("--old-commit", args.old_commit, "--old-n", str(args.old_n), "--new-n", str(args.new_n)),
            *("--rounds", str(args.rounds), "--contract-samples", str(args.contract_samples)),
            *("--events", str(args.events), "--calls", str(args.calls)),
            *("--kafka-idle", str(kafka_idle), "--pg-idle", str(pg_idle), "--gap", str(args.gap)),
        ]
        out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        row = json.loads(out.strip().splitlines()[-1])  # the last line: the libraries may print before it
        results[variant].append(row)
        p = row["parts"]
        per_round = ", ".join(f"{v:.1f}" for v in row["rounds_per_flow"])
        print(
            f"{variant}: floor per flow {row['per_flow']:.1f} ms (rounds {per_round});"
            f" commit {p['pg_commit_ms']:.3f}, produce {p['kafka_produce_ms']:.3f}, read {p['bare_read_ms']:.3f},"
            f" render {p['render_ms']:.2f}, page {p['signature_page_ms']:.2f}, seal {p['seal_ms']:.2f};"
            f" {row['seconds']:.0f} s, {row['load']}",
            flush=True,
        )
    for variant in ("old", "new"):
        rows = results[variant]
        print(f"-- {variant}, {len(rows)} runs")
        print("  " + summary("floor per flow, ms", [r["per_flow"] for r in rows]))
        for part in ("pg_commit_ms", "kafka_produce_ms", "bare_read_ms", "render_ms", "signature_page_ms", "seal_ms"):
            print("  " + summary(part, [r["parts"][part] for r in rows]))


def idle_main(args: argparse.Namespace) -> None:
    roots = _roots(PROCESSES)
    old = old_module(args.old_commit)
    rows: list[tuple[float, float, float]] = []
    for rep in range(args.reps):
        old_meter, new_meter = old.Meter(roots), Meter(roots)
        old_meter.start()
        new_meter.start()
        time.sleep(10)
        old_wall, old_used, _ = old_meter.stop()
        new_wall, new_used, _ = new_meter.stop()
        time.sleep(max(0.0, args.idle_seconds - 10))
        long_wall, long_used, _ = new_meter.stop()
        figures = (
            sum(old_used.values()) / old_wall * 1000,
            sum(new_used.values()) / new_wall * 1000,
            sum(long_used.values()) / long_wall * 1000,
        )
        rows.append(figures)
        print(
            f"window {rep + 1}: old (ticks, 10 s) {figures[0]:.2f}, new over the same 10 s {figures[1]:.2f}, "
            f"new over {long_wall:.0f} s {figures[2]:.2f} ms/s ({load_average()}); by process, new over the long "
            "window: " + ", ".join(f"{name} {long_used[name] / long_wall * 1000:.2f}" for name in roots),
            flush=True,
        )
    for k, name in enumerate(("old, ticks over 10 s", "new, ns over 10 s", f"new, ns over {args.idle_seconds:g} s")):
        print("  " + summary(name, [r[k] for r in rows]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("part", choices=("floor", "idle", "one-floor"))
    parser.add_argument("variant", nargs="?", choices=("old", "new"))
    parser.add_argument("--old-commit", default="411cdc1")
    parser.add_argument("--pairs", type=int, default=3, help="old and new runs each (alternated old, new, new, old)")
    parser.add_argument("--old-n", type=int, default=1000)
    parser.add_argument("--new-n", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--contract-samples", type=int, default=10)
    parser.add_argument("--events", type=float, default=16.0)
    parser.add_argument("--calls", type=float, default=28.0)
    parser.add_argument("--kafka-idle", type=float, default=0.0)
    parser.add_argument("--pg-idle", type=float, default=0.0)
    parser.add_argument(
        "--gap", type=float, default=0.0, help="seconds between the new code's first and second half of rounds"
    )
    parser.add_argument("--reps", type=int, default=4)
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    args = parser.parse_args()
    if args.part == "one-floor":
        print(json.dumps(asyncio.run(one_floor(args))))
    elif args.part == "floor":
        floor_main(args)
    else:
        idle_main(args)


if __name__ == "__main__":
    main()
