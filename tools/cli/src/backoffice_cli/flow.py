"""One purchase order from draft to closed, step by step, and the latency of each hop."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from backoffice_cli.client import Cast, FlowError, Platform, Vendor

HOPS = {
    "submitted -> task assigned": ("purchase_request.submitted", "approval.task_assigned"),
    "approved -> vendor notified": ("purchase_request.approved", "vendor.notified"),
    "vendor accepted -> contract generated": ("vendor.accepted", "contract.generated"),
    "both signed -> executed": ("contract.signed", "contract.executed"),
}
"""Hops from one event's time to a later event's time (both from the timeline's ``occurred_at``).

"both signed -> executed" is not a Kafka hop: contracts publishes the execution in the same unit of work as the
last signature, so it reads 0 ms; it stays for ``backoffice load``, the bench shows ``BENCH_HOPS`` instead."""

SHOWN_HOPS = {"executed -> the request shows it": "contract.executed"}
"""Hops from an event's time to the moment the requests service recorded it in the request's timeline (the
entry's ``recorded_at``, the consuming transaction's start): contracts' relay, Kafka and requests' consumer."""

ALL_HOPS = (*HOPS, *SHOWN_HOPS)
BENCH_HOPS = tuple(hop for hop in ALL_HOPS if hop != "both signed -> executed")
"""The hops the bench reports: each one at least one Kafka hop on the flow's path."""


@dataclass
class FlowResult:
    request_id: str
    number: str
    contract_id: str
    timeline: list[dict[str, Any]] = field(default_factory=list)

    def hop_seconds(self) -> dict[str, float]:
        """Hop latencies from the events' own times (the timeline), not from polling."""
        result = {}
        for hop, (start_type, end_type) in HOPS.items():
            starts = [_time(e) for e in self.timeline if e["type"] == start_type]
            ends = [_time(e) for e in self.timeline if e["type"] == end_type]
            if not starts or not ends:
                continue
            start = max(starts) if start_type == "contract.signed" else min(starts)
            later = [t for t in ends if t >= start]
            if later:
                result[hop] = (min(later) - start).total_seconds()
        for hop, event_type in SHOWN_HOPS.items():
            entries = [e for e in self.timeline if e["type"] == event_type and e.get("recorded_at")]
            if entries:
                first = min(entries, key=_time)
                result[hop] = max(0.0, (_recorded(first) - _time(first)).total_seconds())
        return result


def _only_a_replay(response: httpx.Response) -> None:
    """A 409 is fine only when the same message was already taken (a retry after a connection error)."""
    if response.status_code == 409 and "replayed" not in response.text:
        raise FlowError(f"the vendor's message was refused: {response.text[:300]}")


def _time(entry: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(entry["occurred_at"]))


def _recorded(entry: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(entry["recorded_at"]))


async def walk(
    client: Platform, cast: Cast, vendor: Vendor, *, say: Callable[[str], None] = lambda _: None
) -> FlowResult:
    """Draft, submit, two approvals, the vendor accepts and signs through the signed webhook, procurement
    signs, receipt of everything, closure. Safe to repeat a step after a connection error."""
    draft = await client.create_draft(cast, client.draft(vendor, cast))
    request_id = str(draft["id"])
    say(f"{cast.requester.name} drafted {draft['number']} ({draft['total']} {draft['currency']})")
    await client.call(
        "POST", f"{client.endpoints.requests}/requests/{request_id}/submit", cast.requester, expect=(200, 409)
    )
    await client.wait_status(cast.requester, request_id, "submitted", "approved", "vendor_notified")
    say("submitted")
    for approver in (cast.manager, cast.head):
        task = await client.task_for(approver, request_id)
        await client.decide(approver, task["id"], "approved", expect=(200, 409))
        say(f"{approver.name} approved" + (f" (step {task['step']})" if task.get("step") else ""))
    await client.wait_status(cast.requester, request_id, "vendor_notified")
    say(f"{vendor.legal_name} was sent the purchase order")
    answer = await client.vendor_says(
        vendor,
        {"action": "accept", "request_id": request_id, "note": "We can deliver in two weeks"},
        expect=(200, 409),
    )
    _only_a_replay(answer)
    try:
        await client.wait_status(cast.requester, request_id, "contract_pending", "contract_executed")
    except FlowError as exc:
        timeline = await client.timeline(cast.requester, request_id)
        raise FlowError(f"{exc}; timeline: {[(e['type'], e['outcome']) for e in timeline]}") from exc
    contract = await client.contract_for(cast.procurement, request_id)
    say(f"the vendor accepted through its signed webhook; contract {contract['id']} generated")

    async def vendor_signs() -> httpx.Response | None:
        # The vendor learns of the contract from the notifications service's email; until that
        # service has read contract.generated it answers 404 and the vendor's system tries again.
        answer = await client.vendor_says(
            vendor,
            {
                "action": "sign_contract",
                "contract_id": contract["id"],
                "document_sha256": contract["document_sha256"],
                "signer_name": "Vera Vendor",
                "signer_email": vendor.emails[0],
            },
            expect=(200, 404, 409),
        )
        return None if answer.status_code == 404 else answer

    signed = await client.eventually("the notifications service offers the contract for signing", vendor_signs)
    _only_a_replay(signed)

    async def vendor_signed() -> bool:
        current = await client.contract_for(cast.procurement, request_id)
        return any(s["party"] == "vendor" for s in current["signatures"])

    await client.eventually("the vendor's signature", vendor_signed)
    say("the vendor signed the contract")

    async def buyer_signed() -> bool | None:
        # 409 approval-not-known: contracts has not yet read who approved (segregation of duties) and
        # asks to come back; any other 409 is a signature already given (a retried request).
        answer = await client.call(
            "POST",
            f"{client.endpoints.contracts}/contracts/{contract['id']}/signatures",
            cast.procurement,
            json={"document_sha256": contract["document_sha256"]},
            expect=(201, 409),
        )
        waiting = answer.status_code == 409 and "approval-not-known" in str(answer.json().get("type", ""))
        return None if waiting else True

    await client.eventually("the buyer's signature", buyer_signed)
    say(f"{cast.procurement.name} signed for the buyer")
    await client.wait_status(cast.requester, request_id, "contract_executed")
    say("the contract is executed and sealed")
    current = await client.request(cast.requester, request_id)
    if current["status"] == "contract_executed":
        await client.receive_everything(cast, request_id)
    await client.wait_status(cast.requester, request_id, "received", "closed")
    say("everything was received")
    current = await client.request(cast.requester, request_id)
    if current["status"] == "received":
        await client.close(cast, request_id)
    await client.wait_status(cast.requester, request_id, "closed")
    say("the order is closed")
    timeline = await client.timeline(cast.requester, request_id)
    return FlowResult(request_id, str(draft["number"]), str(contract["id"]), timeline)
