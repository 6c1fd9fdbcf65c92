"""The `backoffice` command: `demo`, `load`, `bench`, `bench-data`, `token` and `audit` (against `make run`)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
from datetime import timedelta
from pathlib import Path

import httpx

from backoffice_cli import audit, bench, bench_data, demo, load, token
from backoffice_cli.client import FlowError

DEV_SECRET = "development-only-jwt-secret-never-in-production"  # noqa: S105 - the documented dev default


def main() -> None:
    parser = argparse.ArgumentParser(prog="backoffice", description="Try and measure the back-office platform.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="walk one purchase order from draft to closed, printing each step")
    load_cmd = sub.add_parser("load", help="drive N purchase orders to closed and report throughput and hop latencies")
    load_cmd.add_argument("--flows", type=int, default=20)
    load_cmd.add_argument("--rate", type=float, default=1.0, help="new flows per second")
    load_cmd.add_argument(
        "--instances",
        type=int,
        default=int(os.environ.get("BACKOFFICE_INSTANCES", "1")),
        help="instances per service (BACKOFFICE_INSTANCES=2 make run): calls fail over between them",
    )
    grow = sub.add_parser(
        "bench-data", help="grow the databases to N orders by SQL and print p50/p99 of the reads and bytes per order"
    )
    grow.add_argument("--orders", type=int, default=1000, help="orders the databases hold when measured")
    grow.add_argument("--seed-orders", type=int, default=20, help="real orders of the first run, at least 10")
    grow.add_argument("--samples", type=int, default=200, help="timed calls per read")
    grow.add_argument("--latency-orders", type=int, default=3, help="new orders timed end to end on the grown data")
    grow.add_argument("--batch", type=int, default=200, help="template copies per INSERT")
    grow.add_argument("--spread-minutes", type=float, default=30, help="how far back each copy's times move")
    grow.add_argument("--out", type=Path, help="write the figures as JSON")
    grow.add_argument("--baseline", type=Path, help="an earlier --out, printed beside these figures")
    token.add_arguments(sub)
    audit.add_arguments(sub)
    bench.add_arguments(sub)
    args = parser.parse_args()
    if args.command == "token":
        print(token.run(args))
        return
    if args.command == "audit":
        try:
            raise SystemExit(asyncio.run(audit.run(args)))
        except httpx.HTTPError as exc:
            raise SystemExit(f"backoffice audit stopped: {exc}") from None
    try:
        if args.command == "demo":
            demo.main()
        elif args.command == "bench-data":
            if args.seed_orders < 10:
                parser.error("--seed-orders: at least 10 (with fewer, directory rows pass for per-order rows)")
            figures = asyncio.run(
                bench_data.run(
                    demo.endpoints_from_env(),
                    os.environ.get("BACKOFFICE_DEV_JWT_SECRET", DEV_SECRET),
                    orders=args.orders,
                    seed_orders=args.seed_orders,
                    samples=args.samples,
                    latency_orders=args.latency_orders,
                    batch=args.batch,
                    spread=timedelta(minutes=args.spread_minutes),
                )
            )
            bench_data.report(figures, out=args.out, baseline=args.baseline)
        elif args.command == "bench":
            secret = os.environ.get("BACKOFFICE_DEV_JWT_SECRET", DEV_SECRET)
            bench.run(args, demo.endpoints_from_env(), secret)
        else:
            secret = os.environ.get("BACKOFFICE_DEV_JWT_SECRET", DEV_SECRET)
            endpoints = demo.endpoints_from_env()
            mirrors = load.mirrors_of(endpoints, args.instances)
            report = asyncio.run(load.run_load(endpoints, secret, flows=args.flows, rate=args.rate, mirrors=mirrors))
            if report.failed:
                raise SystemExit(1)
    except (FlowError, httpx.HTTPError) as exc:
        raise SystemExit(
            f"backoffice {args.command} stopped: {describe(exc)}\nIs the platform up? ('make run', 'make status')"
        ) from None


def describe(exc: Exception) -> str:
    """The error's type and, for HTTP, the call it ended: a timeout's own message is empty."""
    what = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if isinstance(exc, httpx.HTTPError):
        with contextlib.suppress(RuntimeError):  # an error raised before a request was made has none
            what += f" ({exc.request.method} {exc.request.url})"
    return what


if __name__ == "__main__":
    main()
