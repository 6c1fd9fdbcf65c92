"""The `backoffice` command: `demo`, `load`, `bench` and `token` against the services of `make run`."""

from __future__ import annotations

import argparse
import asyncio
import os

import httpx

from backoffice_cli import bench, demo, load, token
from backoffice_cli.client import FlowError


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
    token.add_arguments(sub)
    bench.add_arguments(sub)
    args = parser.parse_args()
    if args.command == "token":
        print(token.run(args))
        return
    try:
        if args.command == "demo":
            demo.main()
        elif args.command == "bench":
            secret = os.environ.get("BACKOFFICE_DEV_JWT_SECRET", "development-only-jwt-secret-never-in-production")
            bench.run(args, demo.endpoints_from_env(), secret)
        else:
            secret = os.environ.get("BACKOFFICE_DEV_JWT_SECRET", "development-only-jwt-secret-never-in-production")
            endpoints = demo.endpoints_from_env()
            mirrors = load.mirrors_of(endpoints, args.instances)
            report = asyncio.run(load.run_load(endpoints, secret, flows=args.flows, rate=args.rate, mirrors=mirrors))
            if report.failed:
                raise SystemExit(1)
    except (FlowError, httpx.HTTPError) as exc:
        raise SystemExit(
            f"backoffice {args.command} stopped: {exc}\nIs the platform up? ('make run', 'make status')"
        ) from None


if __name__ == "__main__":
    main()
