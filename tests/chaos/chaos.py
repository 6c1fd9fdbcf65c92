"""The chaos run (`make chaos`): purchase orders through a platform that keeps losing parts of itself.

Two instances of every service and three Kafka brokers (profile "chaos", its own ports and state);
N orders from draft to closed at a fixed rate through `backoffice load`'s client (it retries
connection errors and 503s and fails over between instances, as a client behind a load balancer
would); meanwhile, from a fixed seed: a random service instance killed with SIGKILL every few
seconds and started again, one broker killed and started again, one immediate PostgreSQL
restart, one SMTP server outage, one broker killed for good. Then it waits for the platform to
settle and checks, from the databases, the mail store and the topics, that nothing was lost or
duplicated (see verdict.py). It prints one line of figures and exits 1 on any loss, duplicate or
failed order.

    .venv/bin/python tests/chaos/chaos.py --orders 500 --rate 1 --seed 14
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import statistics
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from types import FrameType

from cluster import INSTANCES, SERVICES, Cluster
from schedule import (
    BOUNCE_BROKER,
    INFRASTRUCTURE,
    KILL_SERVICE,
    LOSE_BROKER,
    RESTART_POSTGRES,
    SMTP_OUTAGE,
    Fault,
    plan,
)
from verdict import Verdict, judge, settle

from backoffice_cli.client import Cast, Endpoints, Platform, Vendor
from backoffice_cli.flow import FlowResult, walk
from backoffice_cli.load import LoadReport, drive, mirrors_of, percentile

DEV_JWT_SECRET = "development-only-jwt-secret-never-in-production"


def say(text: str) -> None:
    print(f"[chaos {time.strftime('%H:%M:%S')}] {text}", flush=True)


class Faults:
    """Inflicts the planned faults from the first order on, until told to stop."""

    def __init__(self, cluster: Cluster, faults: list[Fault]) -> None:
        self.cluster = cluster
        self.faults = faults
        self.done: Counter[str] = Counter()
        self.started = asyncio.Event()
        self.infrastructure_done = asyncio.Event()
        self._infrastructure_left = sum(f.kind in INFRASTRUCTURE for f in faults)
        self._stop = asyncio.Event()
        self._t0 = 0.0

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        await self.started.wait()
        self._t0 = time.monotonic()
        kills: set[asyncio.Task[None]] = set()
        infrastructure: asyncio.Task[None] | None = None
        for fault in self.faults:
            if not await self._until(fault.at):
                break
            if fault.kind == KILL_SERVICE:
                kills.add(asyncio.create_task(self._kill_service(fault)))
            else:
                infrastructure = asyncio.create_task(self._after(infrastructure, fault))
        await asyncio.gather(*kills, *([infrastructure] if infrastructure else []))

    async def _until(self, at: float) -> bool:
        """Waits until ``at`` seconds after the first order; False when told to stop first."""
        delay = self._t0 + at - time.monotonic()
        if delay > 0:
            try:
                await asyncio.wait_for(self._stop.wait(), timeout=delay)
            except TimeoutError:
                return True
        return not self._stop.is_set()

    def _log(self, text: str) -> None:
        say(f"t+{time.monotonic() - self._t0:6.1f} s  {text}")

    async def _kill_service(self, fault: Fault) -> None:
        service, instance = fault.target.split("#")
        if not self.cluster.kill_service(service, int(instance)):
            self._log(f"{fault.target} is already down: not killed")
            return
        self.done[KILL_SERVICE] += 1
        self._log(f"killed {fault.target} (SIGKILL)")
        await asyncio.sleep(fault.down_for)
        await self._retrying(f"start {service}", lambda: self.cluster.start_service(service))
        self._log(f"{fault.target} started again")

    async def _after(self, previous: asyncio.Task[None] | None, fault: Fault) -> None:
        if previous is not None:
            await previous  # one infrastructure fault at a time: the bounced broker is back before the next
        try:
            await self._inflict(fault)
        except Exception as exc:
            self._log(f"{fault.kind} could not be done: {str(exc)[-500:]}")
        self._infrastructure_left -= 1
        if self._infrastructure_left == 0:
            self.infrastructure_done.set()

    async def _inflict(self, fault: Fault) -> None:
        node = int(fault.target.split()[-1]) if "broker" in fault.target else 0
        if fault.kind == BOUNCE_BROKER:
            self.cluster.kill_broker(node)
            self._log(f"killed Kafka broker {node} (SIGKILL)")
            await asyncio.sleep(fault.down_for)
            await self._retrying("start the broker", self.cluster.start_brokers)
            self._log(f"Kafka broker {node} started again, all three answer")
        elif fault.kind == RESTART_POSTGRES:
            self._log("PostgreSQL: immediate restart")
            await self.cluster.crash_restart_postgres()
            self._log("PostgreSQL is back")
        elif fault.kind == SMTP_OUTAGE:
            await self.cluster.kill_smtp()
            self._log("killed the SMTP server")
            await asyncio.sleep(fault.down_for)
            await self._retrying("start the SMTP server", self.cluster.start_smtp)
            self._log("the SMTP server is back")
        elif fault.kind == LOSE_BROKER:
            self.cluster.kill_broker(node)
            self._log(f"killed Kafka broker {node} for good")
        self.done[fault.kind] += 1

    async def _retrying(self, what: str, action: Callable[[], Awaitable[object]]) -> None:
        for attempt in range(1, 6):
            try:
                await action()
                return
            except Exception as exc:
                self._log(f"{what} failed (attempt {attempt}): {str(exc)[-300:]}")
                await asyncio.sleep(2 * attempt)
        raise RuntimeError(f"{what} failed five times")


async def chaos_run(cluster: Cluster, args: argparse.Namespace) -> int:
    window = args.orders / args.rate
    faults = plan(args.seed, window=window, kill_every=tuple(args.kill_every), down_for=tuple(args.down_for))
    say(f"seed {args.seed}: {args.orders} orders at {args.rate:g}/s; infrastructure faults:")
    for fault in faults:
        if fault.kind in INFRASTRUCTURE:
            print(f"    {fault}", flush=True)
    say(f"and a random service instance killed every {args.kill_every[0]:g}-{args.kill_every[1]:g} s")

    endpoints = Endpoints(*(cluster.url(s) for s in SERVICES), mailbox=cluster.env["BACKOFFICE_MAILBOX_URL"])
    client = Platform(endpoints=endpoints, jwt_secret=DEV_JWT_SECRET, timeout=args.flow_timeout, poll_interval=1.0)
    client.mirrors = mirrors_of(endpoints, INSTANCES)
    inflicted = Faults(cluster, faults)
    durations: list[float] = []

    async def timed_walk(c: Platform, cast: Cast, vendor: Vendor) -> FlowResult:
        inflicted.started.set()
        started = time.monotonic()
        result = await walk(c, cast, vendor)
        durations.append(time.monotonic() - started)
        return result

    chaos = asyncio.create_task(inflicted.run())
    load_started = time.monotonic()
    try:
        # Orders keep coming until every infrastructure fault is over, however long a broker takes to
        # start again, so that each fault hits orders in flight.
        report = await drive(
            client,
            flows=args.orders,
            rate=args.rate,
            flow=timed_walk,
            until=inflicted.infrastructure_done,
            cast_per_flow=True,
        )
    finally:
        inflicted.started.set()
        inflicted.stop()
        await chaos
        await client.aclose()
    load_seconds = time.monotonic() - load_started
    for line in report.lines():
        print(line, flush=True)
    requesters = [c.requester.id for c in report.casts]
    say("settling: waiting for empty outboxes, sent emails and every instance ready")
    settle_seconds = await settle(cluster, requesters, timeout=args.settle_timeout)
    verdict = await judge(cluster, requesters=requesters, expected_orders=report.flows)
    for kind in INFRASTRUCTURE:
        if inflicted.done[kind] != 1:
            verdict.problem(f"the fault {kind} happened {inflicted.done[kind]} times, not once")
    for failure in report.failed:
        verdict.problem(f"order flow {failure.index} failed: {failure.reason}")
    for problem in verdict.problems:
        print(f"  problem: {problem}", flush=True)
    print(figures(args, report, verdict, inflicted.done, durations, load_seconds, settle_seconds), flush=True)
    return 1 if verdict.problems else 0


def figures(
    args: argparse.Namespace,
    report: LoadReport,
    v: Verdict,
    done: Counter[str],
    durations: list[float],
    load_seconds: float,
    settle_seconds: float,
) -> str:
    p50 = statistics.median(durations) if durations else 0.0
    p99 = percentile(durations, 0.99) if durations else 0.0
    return (
        f"chaos figures: seed={args.seed} orders={report.flows} rate={args.rate:g}/s closed={v.closed} "
        f"failed_flows={len(report.failed)} emails={v.emails} lost={v.emails_lost} duplicated={v.emails_duplicated} "
        f"resent_same_message_id={v.resent_same_message_id} executed_contracts={v.contracts_executed} "
        f"duplicated_contracts={v.contracts_duplicated} unsent_outbox={v.unsent_outbox} dlq_records={v.dlq_records} "
        f"ready={v.ready}/{len(SERVICES) * INSTANCES} topics_rf3_isr2={v.topics_replicated}/{v.topics} "
        f"service_kills={done[KILL_SERVICE]} brokers_bounced={done[BOUNCE_BROKER]} brokers_lost={done[LOSE_BROKER]} "
        f"pg_restarts={done[RESTART_POSTGRES]} smtp_outages={done[SMTP_OUTAGE]} "
        f"kafka_security={v.kafka_security} foreign_writes_refused={v.foreign_writes_refused} "
        f"retried_503={report.retries['503']} retried_connection={report.retries['connection error']} "
        f"flow_p50={p50:.1f}s flow_p99={p99:.1f}s load={load_seconds:.0f}s settle={settle_seconds:.0f}s "
        f"problems={len(v.problems)}"
    )


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=150, help="at least; more while a fault is still going on")
    parser.add_argument("--rate", type=float, default=0.7, help="new orders per second")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--kill-every", type=float, nargs=2, default=[8.0, 15.0], metavar=("MIN", "MAX"))
    parser.add_argument("--down-for", type=float, nargs=2, default=[1.0, 4.0], metavar=("MIN", "MAX"))
    parser.add_argument("--flow-timeout", type=float, default=600.0, help="seconds one step of an order may wait")
    parser.add_argument("--settle-timeout", type=float, default=300.0)
    parser.add_argument("--keep-running", action="store_true", help="leave the chaos profile running afterwards")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    logging.basicConfig(level=logging.CRITICAL)  # the clients of the checks would log every dead broker

    def terminate(signum: int, _: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    cluster = Cluster(topic_prefix=f"chaos{args.seed}-{int(time.time())}.")
    started = time.monotonic()
    try:
        say(f"starting profile chaos: PostgreSQL, three Kafka brokers, SMTP, {INSTANCES} x {len(SERVICES)} services")
        cluster.start()
        say(f"platform up after {time.monotonic() - started:.0f} s")
        return asyncio.run(chaos_run(cluster, args))
    finally:
        if not args.keep_running:
            say("stopping profile chaos (logs stay in .state/chaos/logs)")
            cluster.stop()
        say(f"done after {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
