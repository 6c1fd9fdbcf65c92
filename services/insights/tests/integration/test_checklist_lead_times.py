"""Onboarding and offboarding lead times from the checklist.* events, in any order, idempotently."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from insights_testkit import ADMIN, PROCUREMENT, T0, running_insights, token

from backoffice_common.events import CloudEvent, new_event
from backoffice_common.testing import eventually, publish_events, unique_prefix


def checklist_event(type: str, cid: str, kind: str, key: str, department: str | None, **data: Any) -> CloudEvent:
    body = {
        "schema_version": 1,
        "checklist_id": cid,
        "kind": kind,
        "language": "en",
        "employee": {"id": f"e-{cid[:6]}", "name": "E", "email": "", "department": department},
        "template": {"key": key, "version": 1},
        **data,
    }
    return new_event(type=type, service="checklists", subject=cid, data=body)


def lifecycle(kind: str, key: str, department: str, days: float | None, *, cancelled: bool = False) -> list[CloudEvent]:
    cid = str(uuid.uuid4())
    started = checklist_event("checklist.started", cid, kind, key, department, items=[])
    events = [started.model_copy(update={"time": T0})]
    if days is not None:
        end = (T0 + timedelta(days=days)).isoformat()
        if cancelled:
            events.append(
                checklist_event("checklist.cancelled", cid, kind, key, department, reason="left", cancelled_at=end)
            )
        else:
            events.append(
                checklist_event(
                    "checklist.completed", cid, kind, key, department, started_at=T0.isoformat(), completed_at=end
                )
            )
    return events


async def test_lead_times_per_kind_template_and_department() -> None:
    async with running_insights(unique_prefix()) as insights:
        sales, eng = (
            lifecycle("onboarding", "onboarding-en", "SALES", 10),
            lifecycle("onboarding", "onboarding-de", "ENG", 20),
        )
        late = lifecycle("onboarding", "onboarding-en", "SALES", 30)
        events = [
            *sales,
            *reversed(eng),  # the completion before the start: the row is the same
            *late,
            *lifecycle("onboarding", "onboarding-en", "ENG", 3, cancelled=True),
            *lifecycle("onboarding", "onboarding-en", "ENG", None),
            *lifecycle("offboarding", "offboarding-en", "ENG", 5),
            sales[1],  # a redelivery
        ]
        await publish_events(insights.bootstrap, insights.topic("backoffice.checklists"), events)

        async def report(**params: str) -> list[dict[str, Any]] | None:
            r = await insights.client.get("/insights/checklists/lead-times", params=params, headers=PROCUREMENT)
            assert r.status_code == 200, r.text
            rows: list[dict[str, Any]] = r.json()["rows"]
            onboarding = next((row for row in rows if row["kind"] == "onboarding"), None)
            offboarding = next((row for row in rows if row["kind"] == "offboarding"), None)
            # each checklist is its own key, so its own partition: wait until every one has arrived
            arrived = onboarding and offboarding and (onboarding["completed"], onboarding["running"]) == (3, 1)
            return rows if arrived and onboarding["cancelled"] == 1 and offboarding["completed"] == 1 else None

        overall = await eventually(lambda: report(), timeout=60, message="the lead times never arrived")
        by_kind = {row["kind"]: row for row in overall}
        assert by_kind["onboarding"] == {
            "kind": "onboarding",
            "group": "",
            "completed": 3,
            "cancelled": 1,
            "running": 1,
            "mean_days": 20.0,
            "median_days": 20.0,
            "p90_days": 28.0,
            "max_days": 30.0,
        }
        assert (by_kind["offboarding"]["completed"], by_kind["offboarding"]["mean_days"]) == (1, 5.0)

        r = await insights.client.get(
            "/insights/checklists/lead-times", params={"group_by": "template", "kind": "onboarding"}, headers=ADMIN
        )
        rows = {row["group"]: row for row in r.json()["rows"]}
        assert (rows["onboarding-en"]["completed"], rows["onboarding-en"]["mean_days"]) == (2, 20.0)
        assert (rows["onboarding-de"]["completed"], rows["onboarding-de"]["max_days"]) == (1, 20.0)
        r = await insights.client.get(
            "/insights/checklists/lead-times", params={"group_by": "department", "format": "csv"}, headers=ADMIN
        )
        assert r.status_code == 200
        assert (
            r.text.splitlines()[0] == "kind,group,completed,cancelled,running,mean_days,median_days,p90_days,max_days"
        )
        assert "onboarding,SALES,2,0,0,20.000,20.000,28.000,30.000" in r.text.splitlines()

        later = datetime(2030, 1, 1).isoformat()
        r = await insights.client.get("/insights/checklists/lead-times", params={"from": later}, headers=ADMIN)
        assert r.json()["rows"] == []
        r = await insights.client.get(
            "/insights/checklists/lead-times", params={"from": later, "to": "2029-01-01"}, headers=ADMIN
        )
        assert r.status_code == 422
        assert (
            await insights.client.get("/insights/checklists/lead-times", headers=token("requester"))
        ).status_code == 403
        assert (await insights.client.get("/insights/checklists/lead-times", headers=token("hr"))).status_code == 200
