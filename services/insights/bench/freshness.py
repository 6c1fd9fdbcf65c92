"""How long a consumed fact takes to show in insights' read model (not a test).

An insights service in this process (``insights_testkit.running_insights``: a fresh database, topics of a
unique prefix on the test profile's broker); the events of ``--orders`` whole orders published one at a
time, each waited for in ``request_view`` (its ``events`` count reaching the facts published so far, polled
every 5 ms) before the next: the time from the publish to the read model, for a fact arriving alone (the
fold job wakes on the consumer's bell, pauses ``INSIGHTS_FOLD_INTERVAL_SECONDS`` and folds).

    BACKOFFICE_PROFILE=test source deploy/env.sh && .venv/bin/python services/insights/bench/freshness.py --orders 4
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from insights_testkit import Order, full_order, running_insights

from backoffice_common.testing import publish_events, unique_prefix


async def run(orders: int) -> None:
    latencies = []
    async with running_insights(unique_prefix()) as live:
        dsn = live.app.state.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        conn = await asyncpg.connect(dsn)
        try:
            for _ in range(orders):
                order = full_order(Order())
                for published, (topic, event) in enumerate(order.events, 1):
                    started = time.monotonic()
                    await publish_events(live.bootstrap, live.topic(topic), [event])
                    sql = "SELECT events FROM request_view WHERE request_id = $1"
                    while ((await conn.fetchval(sql, order.request_id)) or 0) < published:
                        await asyncio.sleep(0.005)
                    latencies.append(time.monotonic() - started)
        finally:
            await conn.close()
    latencies.sort()
    p90 = latencies[int(0.9 * len(latencies))]
    print(
        f"{len(latencies)} facts, publish -> read model: p50 {1000 * statistics.median(latencies):.0f} ms, "
        f"p90 {1000 * p90:.0f} ms, max {1000 * latencies[-1]:.0f} ms; load {os.getloadavg()[0]:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=4)
    args = parser.parse_args()
    asyncio.run(run(args.orders))


if __name__ == "__main__":
    main()
