"""Shared helpers for the approvals tests: snapshots, request events, a directory."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from backoffice_approvals.domain.people import Approver, Directory
from backoffice_common.events import CloudEvent, new_event

SECRET = "approvals-test-secret-" + "x" * 20


def snapshot(
    *,
    requester: str = "alice",
    total: str = "1000.00",
    currency: str = "EUR",
    category: str = "hardware",
    department: str = "ENG",
    revision: int = 1,
    request_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    rid = request_id or str(uuid.uuid4())
    return {
        "request_id": rid,
        "number": f"PR-{rid[:6]}",
        "revision": revision,
        "title": f"Purchase {rid[:6]}",
        "description": "",
        "requester": {
            "id": requester,
            "name": requester.title(),
            "email": f"{requester}@example.com",
            "department": department,
        },
        "department": department,
        "cost_center": "CC-100",
        "category": category,
        "vendor_id": "v-1",
        "currency": currency,
        "lines": [
            {"line_no": 1, "description": "Thing", "quantity": "1", "unit": "pcs", "unit_price": total, "amount": total}
        ],
        "total": total,
        "needed_by": "2027-01-15",
        **extra,
    }


def submitted(snap: dict[str, Any]) -> CloudEvent:
    actor = {"id": snap["requester"]["id"], "name": snap["requester"]["name"], "role": "requester"}
    return new_event(
        type="purchase_request.submitted",
        service="requests",
        subject=snap["request_id"],
        data={"schema_version": 1, "actor": actor, "request": snap, "submitted_at": "2026-11-27T10:00:00Z"},
    )


def revised(request_id: str, revision: int, changed: list[str]) -> CloudEvent:
    return new_event(
        type="purchase_request.revised",
        service="requests",
        subject=request_id,
        data={
            "schema_version": 1,
            "actor": {"id": "alice", "name": "Alice", "role": "requester"},
            "request_id": request_id,
            "revision": revision,
            "previous_revision": revision - 1,
            "changed_fields": changed,
        },
    )


def cancelled(request_id: str, revision: int = 1) -> CloudEvent:
    return new_event(
        type="purchase_request.cancelled",
        service="requests",
        subject=request_id,
        data={
            "schema_version": 1,
            "actor": {"id": "alice", "name": "Alice", "role": "requester"},
            "request_id": request_id,
            "revision": revision,
            "reason": "not needed any more",
            "previous_status": "pending_approval",
            "vendor_id": "v-1",
        },
    )


DIRECTORY_ROWS: list[dict[str, Any]] = [
    {"id": "carol", "name": "Carol", "email": "carol@example.com"},
    {
        "id": "dave",
        "name": "Dave",
        "email": "dave@example.com",
        "manager_id": "carol",
        "department": "ENG",
        "head_of": ["ENG"],
        "limit_amount": "100000",
        "limit_currency": "EUR",
    },
    {
        "id": "mike",
        "name": "Mike",
        "email": "mike@example.com",
        "manager_id": "dave",
        "department": "ENG",
        "limit_amount": "5000",
        "limit_currency": "EUR",
    },
    {"id": "alice", "name": "Alice", "email": "alice@example.com", "manager_id": "mike", "department": "ENG"},
    {"id": "bob", "name": "Bob", "email": "bob@example.com", "manager_id": "mike", "department": "ENG"},
    {"id": "lena", "name": "Lena", "email": "lena@example.com", "manager_id": "dave", "groups": ["legal"]},
    {"id": "lars", "name": "Lars", "email": "lars@example.com", "manager_id": "dave", "groups": ["legal"]},
    {"id": "mona", "name": "Mona", "email": "mona@example.com", "manager_id": "dave", "department": "ENG"},
    {"id": "erin", "name": "Erin", "email": "erin@example.com", "manager_id": "mona", "department": "ENG"},
    {"id": "dina", "name": "Dina", "email": "dina@example.com", "manager_id": "dave", "department": "ENG"},
    {"id": "max", "name": "Max", "email": "max@example.com", "manager_id": "dave", "department": "ENG"},
    {"id": "fred", "name": "Fred", "email": "fred@example.com", "manager_id": "max", "department": "ENG"},
]


def directory() -> Directory:
    approvers = []
    for row in DIRECTORY_ROWS:
        limit = row.get("limit_amount")
        approvers.append(
            Approver(
                id=row["id"],
                name=row["name"],
                email=row["email"],
                manager_id=row.get("manager_id"),
                department=row.get("department"),
                head_of=frozenset(row.get("head_of", [])),
                groups=frozenset(row.get("groups", [])),
                limit_amount=Decimal(limit) if limit else None,
                limit_currency=row.get("limit_currency"),
            )
        )
    return Directory.of(approvers)


POLICY: dict[str, Any] = {
    "name": "test policy",
    "base_currency": "EUR",
    "steps": [
        {
            "name": "manager",
            "when": {"categories": ["hardware", "software", "legal"]},
            "approvers": {"kind": "manager"},
            "due_seconds": 3600,
            "reapproval": "if_relevant_changed",
        },
        {
            "name": "manager_fast",
            "when": {"categories": ["fast"]},
            "approvers": {"kind": "manager"},
            "due_seconds": 2,
            "reminder_share": 0.4,
        },
        {
            "name": "legal",
            "when": {"categories": ["legal"]},
            "parallel_with_previous": True,
            "approvers": {"kind": "group", "group": "legal", "mode": "all"},
            "due_seconds": 3600,
        },
        {
            "name": "head",
            "when": {"amount_min": "10000"},
            "approvers": {"kind": "department_head"},
            "due_seconds": 3600,
        },
        {
            "name": "cost_centre_owner",
            "when": {"categories": ["budgeted"], "budget_statuses": ["over_budget", "no_budget"]},
            "approvers": {"kind": "cost_centre_owner"},
            "due_seconds": 3600,
        },
        {
            "name": "cfo",
            "when": {"categories": ["budgeted"], "budget_statuses": ["over_budget", "no_budget"]},
            "parallel_with_previous": True,
            "approvers": {"kind": "user", "user": "carol"},
            "due_seconds": 3600,
        },
    ],
}
"""Requests of category ``budgeted`` get no manager step; over or without budget, the cost centre's
owner and the CFO (carol) approve them in parallel."""

OWNER = {"id": "olga", "name": "Olga Owner", "email": "olga@example.com"}


def budget_checked(
    request_id: str, revision: int = 1, status: str = "over_budget", owner: dict[str, str] | None = OWNER
) -> CloudEvent:
    """``budget.checked`` as the budgets service publishes it (docs/events.md)."""
    over = status == "over_budget"
    return new_event(
        type="budget.checked",
        service="budgets",
        subject=request_id,
        data={
            "schema_version": 1,
            "request_id": request_id,
            "revision": revision,
            "status": status,
            "reason": "no_budget_for_period" if status == "no_budget" else "",
            "cost_center": "CC-100",
            "request_currency": "EUR",
            "request_total": "1000.00",
            "budget_id": None if status == "no_budget" else "b-1",
            "period": None if status == "no_budget" else "2026-11",
            "currency": None if status == "no_budget" else "EUR",
            "amount": None if status == "no_budget" else "1000.00",
            "available_before": None if status == "no_budget" else ("400.00" if over else "5000.00"),
            "available_after": None if status == "no_budget" else ("-600.00" if over else "4000.00"),
            "over_by": None if status == "no_budget" else ("600.00" if over else "0.00"),
            "fx": None,
            "owner": owner if status != "no_budget" else None,
        },
    )
