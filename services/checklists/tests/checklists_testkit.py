"""Test kit of the checklists service: tokens, HR events as an HR system publishes them, settings."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx

import backoffice_checklists
from backoffice_checklists.settings import Settings
from backoffice_common.auth import mint_token
from backoffice_common.events import CloudEvent, new_event
from backoffice_common.testing import TopicReader, publish_events

SECRET = "checklists-test-secret-" + "x" * 20
MIGRATIONS = Path(backoffice_checklists.__file__).parent / "migrations"
HR_TOPIC = "backoffice.hr"


def auth(sub: str, *roles: str) -> dict[str, str]:
    token = mint_token(secret=SECRET, sub=sub, roles=list(roles), name=sub.title())
    return {"Authorization": f"Bearer {token}"}


HR = auth("hanna", "hr")


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def employee(employee_id: str, **kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": employee_id,
        "name": "Erika Muster",
        "email": f"{employee_id}@example.com",
        "language": "en",
        "department": "ENG",
        "location": "office",
        "employment_type": "permanent",
        "manager_id": "mona",
        "start_date": "2027-02-01",
    }
    return {**base, **kw}


@dataclass
class Service:
    client: httpx.AsyncClient
    bootstrap: str
    prefix: str
    events: TopicReader
    app: Any

    async def emit(self, type: str, subject: str, /, **data: Any) -> CloudEvent:
        event = new_event(type=type, service="hr", subject=subject, data={"schema_version": 1, **data})
        await publish_events(self.bootstrap, self.prefix + HR_TOPIC, [event])
        return event

    async def start(self, kind: str, person: dict[str, Any], *, expect: int = 201) -> dict[str, Any]:
        r = await self.client.post("/checklists", json={"kind": kind, "employee": person}, headers=HR)
        assert r.status_code == expect, r.text
        return dict(r.json())

    async def of_employee(self, employee_id: str) -> list[dict[str, Any]]:
        r = await self.client.get(f"/employees/{employee_id}/checklists", headers=HR)
        assert r.status_code == 200, r.text
        return list(r.json())

    async def complete(self, checklist_id: str, key: str, headers: dict[str, str], **evidence: str) -> httpx.Response:
        return await self.client.post(
            f"/checklists/{checklist_id}/items/{key}/complete", json={"evidence": evidence}, headers=headers
        )


def items_by_key(checklist: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["key"]: i for i in checklist["items"]}


def days_ago(n: int) -> str:
    return date.fromordinal(date.today().toordinal() - n).isoformat()


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["detail"]
    return body


def settings_for(url: str, bootstrap: str, prefix: str, **extra: object) -> Settings:
    return Settings(
        database_url=url,
        kafka_bootstrap_servers=bootstrap,
        kafka_topic_prefix=prefix,
        outbox_poll_interval_seconds=0.5,
        consumer_retry_initial_seconds=0.05,
        consumer_max_attempts=2,
        timer_poll_seconds=0.2,
        jwt_secret=SECRET,
        environment="test",
        log_level="WARNING",
        **extra,  # type: ignore[arg-type]
    )
