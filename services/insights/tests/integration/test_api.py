"""The HTTP contract: who may read, CSV exports, exchange rates, refusals as problems, business metrics."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import timedelta

from insights_testkit import ADMIN, BOB, PROCUREMENT, Insights, Order, full_order, token

from backoffice_common.testing import eventually, publish_events


async def fold_orders(insights: Insights, *orders: Order) -> None:
    before = insights.handled()
    events = [pair for order in orders for pair in order.events]
    for topic in {t for t, _ in events}:
        await publish_events(insights.bootstrap, insights.topic(topic), [e for t, e in events if t == topic])

    async def done() -> bool:
        return insights.handled() >= before + len(events)

    await eventually(done, timeout=60)


async def test_only_procurement_and_admin_read_insights(insights: Insights) -> None:
    for headers, status in (
        (token("requester"), 403),
        (token("approver"), 403),
        ({}, 401),
        (PROCUREMENT, 200),
        (ADMIN, 200),
    ):
        response = await insights.client.get("/insights/bottlenecks/stages", headers=headers)
        assert response.status_code == status
        if status != 200:
            assert response.headers["content-type"].startswith("application/problem+json")


async def test_an_order_reports_its_cycle_time_and_stages(insights: Insights) -> None:
    order = full_order(Order(department="QA-API"), approval=timedelta(hours=2))
    await fold_orders(insights, order)
    response = await insights.client.get(f"/insights/requests/{order.request_id}", headers=PROCUREMENT)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "closed"
    assert body["waiting_kind"] is None
    stages = {s["stage"]: s["seconds"] for s in body["stages"]}
    assert stages["approval"] == 2 * 3600
    assert body["cycle_seconds"] == stages["cycle"] == (order.now - order.start).total_seconds()


async def test_reports_download_as_csv_with_a_header_row(insights: Insights) -> None:
    order = full_order(Order(department="QA-CSV"))
    await fold_orders(insights, order)
    response = await insights.client.get(
        "/insights/cycle-times?group_by=department&department=QA-CSV&format=csv", headers=PROCUREMENT
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {r["stage"] for r in rows} >= {"approval", "cycle"}
    assert all(r["group"] == "QA-CSV" for r in rows)


async def test_a_request_without_events_is_a_404_problem(insights: Insights) -> None:
    response = await insights.client.get("/insights/requests/never-seen", headers=PROCUREMENT)
    assert response.status_code == 404
    assert response.json()["type"].endswith("unknown-request")


async def test_bad_filters_are_refused_with_problems(insights: Insights) -> None:
    for url in (
        "/insights/cycle-times?group_by=colour",
        "/insights/cycle-times?from=2027-02-01T00:00:00Z&to=2027-01-01T00:00:00Z",
        "/insights/spend?from=yesterday",
        "/insights/sla/open-requests?older_than_hours=-1",
    ):
        response = await insights.client.get(url, headers=PROCUREMENT)
        assert response.status_code == 422, url
        assert response.headers["content-type"].startswith("application/problem+json")
    response = await insights.client.get("/insights/cycle-times?department=%00", headers=PROCUREMENT)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_exchange_rates_are_loaded_by_an_admin_and_checked(insights: Insights) -> None:
    good = {"rates": [{"currency": "GBP", "valid_from": "2027-01-01", "rate": "1.15"}]}
    assert (await insights.client.put("/insights/admin/fx-rates", json=good, headers=PROCUREMENT)).status_code == 403
    for bad in (
        {"rates": [{"currency": "EUR", "valid_from": "2027-01-01", "rate": "1"}]},
        {"rates": [{"currency": "GBP", "valid_from": "2027-01-01", "rate": "0"}]},
        {"rates": [{"currency": "gbp", "valid_from": "2027-01-01", "rate": "1.1"}]},
        {"rates": [good["rates"][0], good["rates"][0]]},
    ):
        response = await insights.client.put("/insights/admin/fx-rates", json=bad, headers=ADMIN)
        assert response.status_code == 422, bad
    assert (await insights.client.put("/insights/admin/fx-rates", json=good, headers=ADMIN)).status_code == 200
    rates = (await insights.client.get("/insights/fx-rates", headers=PROCUREMENT)).json()
    assert rates["reporting_currency"] == "EUR"
    assert [(r["currency"], r["rate"]) for r in rates["rates"]] == [("GBP", "1.1500000000")]


async def test_concurrent_loads_of_the_rates_end_as_one_of_them_never_a_500(insights: Insights) -> None:
    """Two admins loading the table at once (or a double-click): both 200, the table is one of the two."""
    before = (await insights.client.get("/insights/fx-rates", headers=PROCUREMENT)).json()["rates"]
    tables = [
        {"rates": [{"currency": "GBP", "valid_from": "2027-01-01", "rate": f"1.1{n}"}, {"currency": "USD", "valid_from": "2027-01-01", "rate": "0.9"}]}
        for n in range(4)
    ]  # fmt: skip
    answers = await asyncio.gather(
        *(insights.client.put("/insights/admin/fx-rates", json=t, headers=ADMIN) for t in tables)
    )
    assert [a.status_code for a in answers] == [200] * 4, [a.text[:200] for a in answers]
    rates = (await insights.client.get("/insights/fx-rates", headers=PROCUREMENT)).json()["rates"]
    assert [(r["currency"], r["rate"]) for r in rates][1] == ("USD", "0.9000000000")
    assert rates[0]["rate"] in {f"1.1{n}00000000" for n in range(4)}
    restored = await insights.client.put("/insights/admin/fx-rates", json={"rates": before}, headers=ADMIN)
    assert restored.status_code == 200


async def test_spend_in_a_currency_with_a_rate_is_converted_on_the_day_of_the_figure(insights: Insights) -> None:
    rates = {
        "rates": [
            {"currency": "GBP", "valid_from": "2027-01-01", "rate": "1.10"},
            {"currency": "GBP", "valid_from": "2027-03-01", "rate": "1.20"},
        ]
    }
    assert (await insights.client.put("/insights/admin/fx-rates", json=rates, headers=ADMIN)).status_code == 200
    order = full_order(Order(department="QA-FX", currency="GBP", quantity=1, unit_price="100.00"))
    await fold_orders(insights, order)
    body = (
        await insights.client.get("/insights/spend?group_by=department&department=QA-FX", headers=PROCUREMENT)
    ).json()
    assert body["rows"] == [{"group": "QA-FX", "month": "2027-03", "committed": "120.00", "received": "120.00"}]
    assert body["unconverted"] == []


async def test_business_metrics_are_exposed_for_prometheus(insights: Insights) -> None:
    order = Order(department="QA-MET").submit()
    order.assign(BOB)
    await fold_orders(insights, order, full_order(Order(department="QA-MET")))

    spend = 'backoffice_insights_spend_total{currency="EUR",department="QA-MET",kind="committed"} 2400.0'

    async def exposed() -> str | None:
        text = (await insights.client.get("/metrics")).text
        return text if spend in text else None

    text = await eventually(exposed, timeout=60)
    assert 'backoffice_insights_stage_duration_seconds_bucket{le="+Inf",stage="cycle"}' in text
    assert 'backoffice_insights_open_tasks{age="ge_7d"}' in text
    assert 'backoffice_insights_open_requests{waiting_on="approver"}' in text
