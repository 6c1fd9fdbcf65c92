"""A relay process that is killed (SIGKILL, by itself) right after the broker acknowledged a batch
and before it could mark the rows sent: no ``finally``, no clean close, as with ``kill -9``.

    python crashing_relay.py <dsn> <service> <bootstrap>
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from typing import Any

import asyncpg

from backoffice_common.kafka import make_producer
from backoffice_common.outbox import OutboxRelay


class KilledAfterAck(OutboxRelay):
    async def mark_sent(self, conn: asyncpg.Connection, ids: list[int], **pass_: Any) -> Any:
        os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    dsn, service, bootstrap = sys.argv[1:4]
    relay = KilledAfterAck(
        dsn=dsn,
        service=service,
        producer_factory=lambda: make_producer(bootstrap, client_id="crashing-relay"),
        batch_size=100,
    )
    asyncio.run(relay.run())


if __name__ == "__main__":
    main()
