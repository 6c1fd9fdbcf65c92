"""Built only from events: out-of-order topics converge, redelivery changes nothing, a replay gives the same answers."""

from __future__ import annotations

from typing import Any

from insights_scenario import AS_OF, by_topic, orders
from insights_testkit import ADMIN, PROCUREMENT, SLOW_VENDOR, Insights, running_insights

from backoffice_common import topics
from backoffice_common.testing import eventually, publish_events, unique_prefix

REPORTS = [
    "/insights/cycle-times?group_by=none",
    "/insights/cycle-times?group_by=department&period=month",
    "/insights/cycle-times?group_by=category",
    "/insights/cycle-times?group_by=vendor",
    "/insights/cycle-times?group_by=amount_band",
    "/insights/bottlenecks/stages",
    f"/insights/bottlenecks/approvers?as_of={AS_OF}",
    "/insights/bottlenecks/vendors",
    "/insights/bottlenecks/revisions",
    "/insights/bottlenecks/deliveries",
    f"/insights/sla/tasks?by=step&as_of={AS_OF}",
    f"/insights/sla/tasks?by=approver&as_of={AS_OF}",
    f"/insights/sla/open-requests?older_than_hours=24&as_of={AS_OF}",
    "/insights/spend?group_by=department",
    "/insights/spend?group_by=vendor&by_month=false",
    "/insights/spend?group_by=cost_center",
]
RATES = {"rates": [{"currency": "USD", "valid_from": "2027-01-01", "rate": "0.9"}]}


async def answers(service: Insights) -> dict[str, Any]:
    result = {}
    for url in REPORTS:
        response = await service.client.get(url, headers=PROCUREMENT)
        assert response.status_code == 200, (url, response.text)
        result[url] = response.json()
    return result


async def folded(service: Insights, count: int) -> None:
    async def done() -> bool:
        return service.handled() >= count

    await eventually(done, timeout=120, message=f"{count} events not folded")


async def test_a_replay_into_an_empty_database_gives_the_same_answers_and_names_the_bottlenecks() -> None:
    prefix = unique_prefix()
    all_orders = orders()
    per_topic = by_topic(all_orders)
    total = sum(len(events) for events in per_topic.values())
    async with running_insights(prefix) as live:
        # The topics arrive one after another, the last stage's first: across topics, nothing is in order.
        for topic in (topics.CONTRACTS, topics.NOTIFICATIONS, topics.APPROVALS, topics.VENDORS, topics.REQUESTS):
            await publish_events(live.bootstrap, live.topic(topic), per_topic[topic])
        await folded(live, total)
        before_rates = (
            await live.client.get("/insights/spend?group_by=department&by_month=false", headers=PROCUREMENT)
        ).json()
        assert {(u["currency"], u["kind"]) for u in before_rates["unconverted"]} == {
            ("USD", "committed"),
            ("USD", "received"),
        }
        assert (await live.client.put("/insights/admin/fx-rates", json=RATES, headers=ADMIN)).status_code == 200
        first = await answers(live)

        # A redelivery of a whole topic changes nothing.
        await publish_events(live.bootstrap, live.topic(topics.APPROVALS), per_topic[topics.APPROVALS])
        await folded(live, total + len(per_topic[topics.APPROVALS]))
        assert await answers(live) == first

    async with running_insights(prefix, group=f"{prefix}rebuild") as rebuilt:
        await folded(rebuilt, total + len(per_topic[topics.APPROVALS]))
        assert (await rebuilt.client.put("/insights/admin/fx-rates", json=RATES, headers=ADMIN)).status_code == 200
        assert await answers(rebuilt) == first

    approvers = first[f"/insights/bottlenecks/approvers?as_of={AS_OF}"]["rows"]
    assert approvers[0]["approver_id"] == "dave"
    assert approvers[0]["median_response_seconds"] == 72 * 3600 - 1
    assert approvers[0]["reminders"] == 1
    assert approvers[0]["escalations"] == 1
    bob = next(a for a in approvers if a["approver_id"] == "bob")
    assert bob["median_response_seconds"] == 4 * 3600 - 1
    assert bob["open_tasks"] == 0
    carol = next(a for a in approvers if a["approver_id"] == "carol")
    assert carol["open_tasks"] == 1

    vendors = first["/insights/bottlenecks/vendors"]["rows"]
    assert vendors[0]["vendor_id"] == SLOW_VENDOR
    assert vendors[0]["vendor_name"] == "Slowpoke Furniture"
    assert vendors[0]["median_answer_seconds"] == 120 * 3600

    shares = first["/insights/bottlenecks/stages"]["rows"]
    assert shares[0]["stage"] == "vendor_answer"
    assert abs(sum(s["share"] for s in shares) - 1.0) < 1e-9

    overall = {r["stage"]: r for r in first["/insights/cycle-times?group_by=none"]["rows"]}
    assert overall["cycle"]["requests"] == 18
    assert overall["approval"]["p50_seconds"] == 4 * 3600
    assert overall["approval"]["max_seconds"] == 72 * 3600
    assert overall["vendor_answer"]["max_seconds"] == 120 * 3600
    assert overall["rework"]["requests"] == 1
    assert overall["rework"]["max_seconds"] == 24 * 3600

    revisions = first["/insights/bottlenecks/revisions"]
    assert revisions["requests_sent_back"] == 1
    assert revisions["rows"][0]["revision"] == 2

    late = first[f"/insights/sla/open-requests?older_than_hours=24&as_of={AS_OF}"]["rows"]
    assert [(r["waiting_kind"], [p["id"] for p in r["waiting_who"]]) for r in late] == [("approver", ["carol"])]

    deliveries = first["/insights/bottlenecks/deliveries"]["rows"]
    assert [(d["channel"], d["attempts"], d["retried"]) for d in deliveries] == [("webhook", 5, True)]

    by_step = first[f"/insights/sla/tasks?by=step&as_of={AS_OF}"]["rows"]
    manager = next(r for r in by_step if r["key"] == "manager")
    assert manager["decided"] == 19
    assert manager["decided_within_due"] == 16
    assert manager["escalated"] == 1

    spend = {r["group"]: r for r in first["/insights/spend?group_by=department"]["rows"]}
    # ENG: six orders of 2400, one of them in USD at 0.9, plus the revised and the two slow-vendor orders (ENG).
    assert spend["ENG"]["committed"] == str(2400 * 8 + 2160) + ".00"
    assert spend["OPS"]["committed"] == str(2400 * 9) + ".00"
    assert first["/insights/spend?group_by=department"]["unconverted"] == []
