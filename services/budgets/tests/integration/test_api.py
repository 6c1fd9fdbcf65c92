"""The finance API: cost centres on the compacted topic, budgets, transfers, period close, rates, CSV, refusals."""

from __future__ import annotations

import csv
import io

from budgets_testkit import FINANCE, Service, assert_problem, auth, unique
from event_catalog_kit import validate

from backoffice_common.testing import eventually

ECB_DAILY = "Date, USD, JPY, GBP, \n{day}, 1.2500, 160.00, 0.8500, \n"


async def test_a_cost_centre_is_published_on_the_compacted_topic_keyed_by_its_id(service: Service) -> None:
    cc = unique("CC")
    await service.cost_centre(cc)
    [created] = await service.cost_centres.wait_for("cost_centre.updated", subject=cc)
    assert created.data["owner"]["email"] == "olga@example.com"
    assert created.data["active"] is True
    body = {
        "name": "Renamed",
        "owner": {"id": "otto", "email": "otto@example.com"},
        "department": "OPS",
        "active": False,
    }
    r = await service.client.put(f"/cost-centres/{cc}", json=body, headers=FINANCE)
    assert r.status_code == 200, r.text
    updates = await service.cost_centres.wait_for("cost_centre.updated", subject=cc, count=2)
    for event in updates:
        validate("backoffice.cost_centres", event.model_dump(mode="json", exclude_none=True))
    assert (updates[-1].data["name"], updates[-1].data["active"]) == ("Renamed", False)
    r = await service.client.post("/cost-centres", json={**body, "id": cc}, headers=FINANCE)
    assert_problem(r, 422)  # 'active' is not part of a creation
    r = await service.client.post(
        "/cost-centres", json={"id": cc, "name": "x", "owner": body["owner"], "department": "OPS"}, headers=FINANCE
    )
    assert_problem(r, 409)


async def test_only_finance_or_admin_may_define_budgets(service: Service) -> None:
    body = {"id": unique("CC"), "name": "x", "owner": {"id": "o", "email": "o@example.com"}, "department": "ENG"}
    assert_problem(await service.client.post("/cost-centres", json=body, headers=auth("rita", "requester")), 403)
    assert_problem(await service.client.post("/cost-centres", json=body), 401)
    r = await service.client.post("/cost-centres", json=body, headers=auth("ada", "admin"))
    assert r.status_code == 201, r.text


async def test_budgets_refuse_overlapping_periods_bad_periods_currencies_and_amounts(service: Service) -> None:
    cc, _ = await service.funded("100.00", period="2031")
    r = await service.client.post(
        "/budgets", json={"cost_center": cc, "period": "2031-Q2", "currency": "EUR", "amount": "1"}, headers=FINANCE
    )
    assert assert_problem(r, 409)["overlapping_period"] == "2031"
    for bad, field in [
        ({"period": "2031-13"}, "period"),
        ({"currency": "XYZ"}, "currency"),
        ({"amount": "1.234"}, "amount"),
        ({"cost_center": unique("CC-NOPE")}, "cost_center"),
    ]:
        body = {"cost_center": cc, "period": "2032", "currency": "EUR", "amount": "1.00", **bad}
        problem = assert_problem(await service.client.post("/budgets", json=body, headers=FINANCE), 422)
        assert problem["field"] == field
    body = {"cost_center": cc, "period": "2032", "currency": "EUR", "amount": 12.5}
    assert_problem(await service.client.post("/budgets", json=body, headers=FINANCE), 422)


async def test_transfers_move_available_money_and_closed_periods_refuse_them(service: Service) -> None:
    _, source = await service.funded("500.00", period="2033-01")
    _, target = await service.funded("100.00", period="2033-01")
    body = {"from_budget_id": source["id"], "to_budget_id": target["id"], "amount": "200.00", "reason": "re-plan"}
    r = await service.client.post("/transfers", json=body, headers=FINANCE)
    assert r.status_code == 201, r.text
    assert (await service.read(source["id"]))["balances"]["budget"] == "300.00"
    assert (await service.read(target["id"]))["balances"]["budget"] == "300.00"
    [out] = await service.ledger(source["id"], kind="transferred_out")
    assert (out["budget_delta"], out["caused_by"]["event_id"], out["reason"]) == ("-200.00", r.json()["id"], "re-plan")
    too_much = {**body, "amount": "300.01"}
    assert (
        assert_problem(await service.client.post("/transfers", json=too_much, headers=FINANCE), 409)["available"]
        == "300.00"
    )
    same = {**body, "to_budget_id": source["id"]}
    assert_problem(await service.client.post("/transfers", json=same, headers=FINANCE), 422)
    r = await service.client.post(f"/budgets/{target['id']}/close", headers=FINANCE)
    assert r.status_code == 200
    assert r.json()["status"] == "closed"
    assert_problem(await service.client.post("/transfers", json=body, headers=FINANCE), 409)
    assert_problem(await service.client.post(f"/budgets/{target['id']}/close", headers=FINANCE), 409)


async def test_a_closed_period_prices_no_new_request(service: Service) -> None:
    cc, budget = await service.funded("500.00")
    await service.client.post(f"/budgets/{budget['id']}/close", headers=FINANCE)
    rid = unique("req")
    await service.submitted(rid, 1, "10.00", cost_center=cc)
    [check] = await service.check(rid)
    assert (check.data["status"], check.data["reason"]) == ("no_budget", "period_closed")


async def test_rates_are_loaded_from_an_ecb_file_and_stored_with_the_movement(service: Service) -> None:
    from datetime import UTC, datetime

    today = datetime.now(UTC).date()
    csv_body = ECB_DAILY.format(day=today.strftime("%d %B %Y"))
    r = await service.client.put("/admin/rates", content=csv_body, headers={**FINANCE, "Content-Type": "text/csv"})
    assert r.status_code == 200, r.text
    assert (r.json()["rates"], r.json()["currencies"]) == (3, ["GBP", "JPY", "USD"])
    cc, budget = await service.funded("1000.00")
    rid = unique("req")
    await service.submitted(rid, 1, "500.00", cost_center=cc, currency="USD")
    [check] = await service.check(rid)
    assert check.data["amount"] == "400.00"
    assert check.data["fx"] == {
        "from_currency": "USD",
        "to_currency": "EUR",
        "rate": "0.8000000000",
        "rate_date": today.isoformat(),
    }
    [movement] = await service.ledger(budget["id"], request_id=rid)
    assert movement["fx"]["rate"] == "0.8"
    assert movement["source_amount"] == "500"

    gbp_cc, _ = await service.funded("1000.00", currency="GBP")
    rid = unique("req")
    await service.submitted(rid, 1, "100.00", cost_center=gbp_cc, currency="JPY")
    assert (await service.check(rid))[0].data["amount"] == "0.53"  # 100 JPY * 0.85 / 160

    rid = unique("req")
    await service.submitted(rid, 1, "100.00", cost_center=cc, currency="CHF")
    [check] = await service.check(rid)
    assert (check.data["status"], check.data["reason"]) == ("no_budget", "no_exchange_rate")


async def test_a_bad_rate_file_is_refused_and_changes_nothing(service: Service) -> None:
    bad = "Date,USD\n2026-11-27,abc\n"
    r = await service.client.put("/admin/rates", content=bad, headers={**FINANCE, "Content-Type": "text/csv"})
    assert "line 2" in assert_problem(r, 422)["detail"]
    r = await service.client.put("/admin/rates", content=b"\xff\xfe", headers={**FINANCE, "Content-Type": "text/csv"})
    assert_problem(r, 422)
    r = await service.client.put("/admin/rates", json={"a": 1}, headers=FINANCE)
    assert_problem(r, 422)
    r = await service.client.get(
        "/rates", params={"currency": "USD", "from": "2026-11-27", "to": "2026-11-27"}, headers=FINANCE
    )
    assert r.json() == []


async def test_budgets_filter_page_and_export_their_ledger_as_csv(service: Service) -> None:
    cc, budget = await service.funded("1000.00")
    for i in range(3):
        rid = unique("req")
        await service.submitted(rid, 1, f"{i + 1}0.00", cost_center=cc)
        await service.check(rid)
    first = await service.client.get(f"/budgets/{budget['id']}/ledger", params={"limit": 2}, headers=FINANCE)
    page = first.json()
    assert len(page["items"]) == 2
    assert page["next_cursor"]
    second = await service.client.get(
        f"/budgets/{budget['id']}/ledger", params={"limit": 2, "cursor": page["next_cursor"]}, headers=FINANCE
    )
    assert [m["kind"] for m in page["items"] + second.json()["items"]] == [
        "allocated",
        "reserved",
        "reserved",
        "reserved",
    ]
    assert second.json()["next_cursor"] is None
    r = await service.client.get(f"/budgets/{budget['id']}/ledger.csv", headers=FINANCE)
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["reserved"] for row in rows] == ["0.00", "10.00", "30.00", "60.00"]
    assert rows[-1]["available"] == "940.00"
    assert rows[-1]["cause_event_type"] == "purchase_request.submitted"
    listed = await service.client.get("/budgets", params={"cost_center": cc}, headers=FINANCE)
    assert [b["id"] for b in listed.json()["items"]] == [budget["id"]]
    assert listed.json()["items"][0]["balances"]["utilisation_percent"] == "6.00"
    r = await service.client.get(f"/cost-centres/{cc}/availability", headers=FINANCE)
    assert r.json()["budget"]["balances"]["available"] == "940.00"
    assert_problem(await service.client.get("/budgets", params={"cursor": "bm9wZQ"}, headers=FINANCE), 422)
    assert_problem(await service.client.get("/budgets/not-a-uuid", headers=FINANCE), 422)
    assert_problem(await service.client.get(f"/cost-centres/{unique('CC')}/availability", headers=FINANCE), 404)

    async def paged() -> bool:
        r = await service.client.get("/budgets", params={"limit": 1}, headers=FINANCE)
        return r.json()["next_cursor"] is not None

    assert await eventually(paged)
