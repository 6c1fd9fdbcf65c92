"""Wait until a Kafka cluster answers a metadata request (used by deploy/infra.sh).

usage: wait_kafka.py [--bootstrap HOST:PORT[,...]] [--timeout SECONDS] [--pid PID ...] [--brokers N]

Exit 0 when ready, 1 on timeout, 2 if one of the given pids died meanwhile.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
import time

from aiokafka.admin import AIOKafkaAdminClient

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "kafka"))
from local_security import admin_options  # SASL_SSL as admin when the cluster is secured


def _alive(pid: int) -> bool:
    """Running, not a zombie (a killed process not yet reaped still answers kill -0)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (FileNotFoundError, IndexError):
        return False


async def _probe(bootstrap: str, min_brokers: int) -> int:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=5000, client_id="backoffice-wait-kafka", **admin_options()
    )
    try:
        await asyncio.wait_for(admin.start(), 8)
        await asyncio.wait_for(admin.list_topics(), 8)
        brokers = admin._client.cluster.brokers()  # filled by the metadata response
        return len(brokers) if len(brokers) >= min_brokers else 0
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(admin.close(), 5)


async def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", default=os.environ.get("BACKOFFICE_KAFKA_BOOTSTRAP", "127.0.0.1:9092"))
    ap.add_argument("--timeout", type=float, default=90.0)
    ap.add_argument("--pid", type=int, action="append", default=[])
    ap.add_argument("--brokers", type=int, default=1)
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.CRITICAL)

    deadline = time.monotonic() + args.timeout
    last_err: object = None
    while True:
        for pid in args.pid:
            if not _alive(pid):
                print(f"wait_kafka: process {pid} exited before Kafka became ready", file=sys.stderr)
                return 2
        try:
            n = await _probe(args.bootstrap, args.brokers)
            if n:
                print(f"wait_kafka: {args.bootstrap} ready ({n} broker(s))")
                return 0
            last_err = "not all brokers registered yet"
        except Exception as exc:  # connection refused, timeout, not ready...
            last_err = exc
        if time.monotonic() >= deadline:
            print(f"wait_kafka: {args.bootstrap} not ready after {args.timeout:.0f}s: {last_err!r}", file=sys.stderr)
            return 1
        await asyncio.sleep(0.5)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
