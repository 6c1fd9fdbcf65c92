"""The business metrics are read when scraped, not by a job (docs/performance.md, sixth round: idle): an
unscraped service reads nothing, and a scrape's figures are at most ``metrics_refresh_seconds`` old."""

from __future__ import annotations

import asyncio

from insights_testkit import BOB, Insights, Order, full_order

from backoffice_common.testing import eventually, publish_events

SPEND = 'backoffice_insights_spend_total{currency="EUR",department="QA-SCRAPE",kind="committed"} 2400.0'


async def test_an_unscraped_service_reads_nothing_and_a_scrape_answers_with_figures_at_most_the_interval_old(
    insights: Insights,
) -> None:
    reading = insights.app.state.before_metrics
    assert reading.interval == 0.5  # the testkit's metrics_refresh_seconds
    reads = reading.reads
    await asyncio.sleep(2.0)
    assert reading.reads == reads  # nobody scraped: no read (a job read every interval before)

    order = Order(department="QA-SCRAPE").submit()
    order.assign(BOB)
    events = [pair for o in (order, full_order(Order(department="QA-SCRAPE"))) for pair in o.events]
    before = insights.handled()
    for topic in {t for t, _ in events}:
        await publish_events(insights.bootstrap, insights.topic(topic), [e for t, e in events if t == topic])

    async def folded() -> bool:
        return insights.handled() >= before + len(events)  # handled by the consumer and folded

    await eventually(folded, timeout=60)
    await asyncio.sleep(reading.interval + 0.1)
    # the first scrape after the interval reads the database before it answers: no waiting for a job
    text = (await insights.client.get("/metrics")).text
    assert SPEND in text
    assert reading.reads == reads + 1
    # another scrape within the interval answers from that reading
    assert SPEND in (await insights.client.get("/metrics")).text
    assert reading.reads == reads + 1
    await asyncio.sleep(reading.interval + 0.1)
    await insights.client.get("/metrics")
    assert reading.reads == reads + 2


async def test_concurrent_scrapes_share_one_read(insights: Insights) -> None:
    reading = insights.app.state.before_metrics
    await asyncio.sleep(reading.interval + 0.1)
    reads = reading.reads
    answers = await asyncio.gather(*(insights.client.get("/metrics") for _ in range(5)))
    assert {a.status_code for a in answers} == {200}
    assert reading.reads == reads + 1
