"""Kafka's CPU and requests per flow, and at rest, by API (not a test; a measuring aid).

Against a running ``make run`` (nothing else driving it): an idle window, then ``--rate`` flows/s for
``--seconds`` of arrivals (the bench's driver, ``backoffice_cli.bench.load_run``: the CLI's flow, one
token per person). For each window it prints Kafka's CPU (utime + stime of the broker's process tree,
``/proc``) per second and per completed flow, the other processes' beside it, and the broker's requests
by API: the difference of two readings of ``kafka.network:type=RequestMetrics,name=RequestsPerSec``
(``KafkaRequestCounts.java``, compiled into a temporary directory and attached to the broker by pid;
the JDK's ``javac`` is needed). ``Fetch`` counts every fetch, ``FetchConsumer`` the consumers' among
them (the same requests again).

    BACKOFFICE_PROFILE=run bash -c 'source deploy/env.sh && .venv/bin/python services/common/bench/kafka_per_flow.py'
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import tempfile
import time
from pathlib import Path

from backoffice_cli import demo
from backoffice_cli.bench import PROCESSES, Meter, _roots, load_average, load_run

HERE = Path(__file__).resolve().parent
DEV_SECRET = "development-only-jwt-secret-never-in-production"  # noqa: S105 - the documented dev default


class RequestCounter:
    """Cumulative per-API request counts of the broker (JMX through the Attach API)."""

    def __init__(self, pid: int, classes: str) -> None:
        self.pid = pid
        self.classes = classes

    def read(self) -> dict[str, int]:
        out = subprocess.run(
            ["java", "-XX:TieredStopAtLevel=1", "-cp", self.classes, "KafkaRequestCounts", str(self.pid)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        counts: dict[str, int] = {}
        for line in out.splitlines():
            name, count = line.rsplit(" ", 1)
            counts[name] = int(count)
        return counts


def delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0) > 0}


def table(title: str, requests: dict[str, int], per: float, unit: str) -> None:
    print(f"  {title}: requests by API ({unit})")
    for name, n in sorted(requests.items(), key=lambda kv: -kv[1]):
        if name == "FetchConsumer":
            continue
        print(f"    {name:<28}{n / per:9.2f}")
    total = sum(v for k, v in requests.items() if k != "FetchConsumer")
    print(f"    {'all (FetchConsumer not counted)':<28}{total / per:9.2f}")


async def main(args: argparse.Namespace) -> None:
    roots = _roots(PROCESSES)
    if "kafka" not in roots:
        raise SystemExit("Kafka is not running ('make run' first)")
    with tempfile.TemporaryDirectory() as classes:
        subprocess.run(
            ["javac", "-d", classes, str(HERE / "KafkaRequestCounts.java")],
            check=True,
        )
        counter = RequestCounter(roots["kafka"], classes)
        counter.read()  # starts the broker's local JMX agent before any window is measured
        await asyncio.sleep(2)

        print(f"{args.label}: idle for {args.idle_seconds:g} s ({load_average()})", flush=True)
        before = counter.read()
        meter = Meter(roots)
        meter.start()
        await asyncio.sleep(args.idle_seconds)
        wall, cpu, _ = meter.stop()
        idle_requests = delta(counter.read(), before)
        print(f"  ({load_average()})")
        for name in roots:
            print(f"  {name:<16}{cpu[name] / wall * 1000:8.1f} ms/s")
        table("idle", idle_requests, wall, "per second")

        print(f"{args.label}: {args.rate:g} flows/s for {args.seconds:g} s ({load_average()})", flush=True)
        endpoints = demo.endpoints_from_env()
        secret = os.environ.get("BACKOFFICE_DEV_JWT_SECRET", DEV_SECRET)
        before = counter.read()
        started = time.monotonic()
        run = await load_run(
            endpoints, secret, roots, os.environ["BACKOFFICE_KAFKA_BOOTSTRAP"], rate=args.rate, seconds=args.seconds
        )
        flow_requests = delta(counter.read(), before)
        flows = max(run.completed, 1)
        print(
            f"  ({run.load}; {run.completed} flows completed, {len(run.report.failed)} failed, "
            f"{run.events / flows:.1f} events/flow, {time.monotonic() - started:.0f} s)"
        )
        for name in roots:
            rest = cpu[name] / wall * run.wall  # what the idle rate alone would have cost over the run
            print(
                f"  {name:<16}{run.per_flow_ms(name):8.1f} ms/flow"
                f"  ({(run.cpu[name] - rest) / flows * 1000:6.1f} above the idle rate over {run.wall:.0f} s)"
            )
        table("flow window", flow_requests, flows, "per completed flow, the rest between the flows included")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=2.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument("--label", default="kafka")
    asyncio.run(main(parser.parse_args()))
