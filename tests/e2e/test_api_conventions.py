"""What a client written from the documents alone relies on, across every service as real processes:
each creation answers 201 with ``Location``, a ``GET`` on it gives the same resource back, and that
resource names its identifier ``id``."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from platform_kit import Platform as PlatformProcesses

from backoffice_cli.client import Cast, Person, Platform


async def created_and_found_again(client: Platform, base: str, who: Person, path: str, **kwargs: Any) -> dict[str, Any]:
    """POSTs, then follows ``Location``: the resource found there is the one the 201 answered."""
    r = await client.call("POST", base + path, who, expect=201, **kwargs)
    body: dict[str, Any] = r.json()
    assert "id" in body, f"POST {path} answered without an id field: {sorted(body)}"
    location = r.headers.get("location")
    assert location, f"POST {path} answered 201 without Location"
    assert location.startswith("/"), location
    found = await client.call("GET", base + location, who)
    assert found.json()["id"] == body["id"], (path, location)
    return body


async def test_every_creation_answers_with_location_and_an_id(
    client: Platform, cast: Cast, platform: PlatformProcesses
) -> None:
    notifications, approvals = client.endpoints.notifications, client.endpoints.approvals
    contracts, budgets = client.endpoints.contracts, platform.url("budgets")
    tag = uuid.uuid4().hex[:6]

    vendor = await created_and_found_again(
        client,
        notifications,
        cast.procurement,
        "/vendors",
        json={
            "legal_name": f"Conventions {tag} Ltd",
            "address": "1 Main Street, London",
            "contact_emails": [f"sales-{tag}@vendor.example"],
        },
    )
    assert "vendor_id" not in vendor
    secret = await client.call("POST", f"{notifications}/vendors/{vendor['id']}/secrets", cast.procurement, expect=201)
    assert secret.json()["id"]
    assert "secret" not in secret.json()
    assert "whsec_" not in secret.text
    assert secret.json()["retrieval_sent_to"] == f"sales-{tag}@vendor.example"
    assert secret.headers["location"] == f"/vendors/{vendor['id']}"

    body = client.draft(await client.create_vendor(cast), cast)
    await client.create_draft(cast, body)  # waits until the requests service has heard of the vendor
    await created_and_found_again(client, client.endpoints.requests, cast.requester, "/requests", json=body)

    now = datetime.now(UTC)
    await created_and_found_again(
        client,
        approvals,
        cast.deputy,
        "/absences",
        json={
            "delegate_id": cast.manager.id,
            "starts_at": (now + timedelta(days=300)).isoformat(),
            "ends_at": (now + timedelta(days=301)).isoformat(),
        },
    )
    active = (await client.call("GET", f"{approvals}/policies/active", cast.admin)).json()
    policy = await created_and_found_again(client, approvals, cast.admin, "/policies", json=active["document"])
    assert policy["id"] == policy["version"]

    templates = (await client.call("GET", f"{contracts}/contract-templates", cast.admin)).json()
    newest = max((t for t in templates if t["language"] == "en"), key=lambda t: t["version"])
    template = (await client.call("GET", f"{contracts}/contract-templates/en/{newest['version']}", cast.admin)).json()
    await created_and_found_again(
        client,
        contracts,
        cast.admin,
        "/contract-templates",
        json={"language": "en", "body": template["body"], "description": "the same again"},
    )

    finance = Person(f"finance-{tag}", "Fiona Finance", f"finance-{tag}@example.com", ("finance",))
    owner = {"id": cast.deputy.id, "name": cast.deputy.name, "email": cast.deputy.email}
    centre = await created_and_found_again(
        client,
        budgets,
        finance,
        "/cost-centres",
        json={"id": f"CC-{tag}", "name": f"Team {tag}", "owner": owner, "department": cast.department},
    )
    periods = [f"{date.today().year + 5}-01", f"{date.today().year + 5}-02"]
    first, second = [
        await created_and_found_again(
            client,
            budgets,
            finance,
            "/budgets",
            json={"cost_center": centre["id"], "period": period, "currency": "EUR", "amount": "100.00"},
        )
        for period in periods
    ]
    await created_and_found_again(
        client,
        budgets,
        finance,
        "/transfers",
        json={"from_budget_id": first["id"], "to_budget_id": second["id"], "amount": "10.00", "reason": "test"},
    )
