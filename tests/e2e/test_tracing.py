"""Traces across the service processes, as an OTLP collector receives them.

Every service process exports its spans over OTLP/HTTP to a real receiver started by the tests
(``otlp_receiver``). A trace starts at an HTTP request and follows the events it causes through
the outbox, Kafka and each consumer: the submit reaches approvals, then notifications and
contracts; the vendor's answer reaches contracts, and the contract it generates goes on to
notifications and requests. A person's step (an approval, the vendor's answer) is a new request,
hence a new trace, linked to the flow by the events' correlation id.
"""

from __future__ import annotations

from otlp_receiver_kit import OtlpReceiver, ReceivedSpan
from vendor_system_kit import VendorSystem

from backoffice_cli.client import Cast, Platform


def consumer_spans(spans: list[ReceivedSpan], service: str, event_type: str) -> list[ReceivedSpan]:
    return [
        s
        for s in spans
        if s.service == f"backoffice-{service}"
        and s.kind == "CONSUMER"
        and s.attributes.get("cloudevents.event_type") == event_type
    ]


def parent_of(span: ReceivedSpan, spans: list[ReceivedSpan]) -> ReceivedSpan:
    (parent,) = [s for s in spans if s.span_id == span.parent_id]
    return parent


def hops(span: ReceivedSpan, spans: list[ReceivedSpan]) -> list[tuple[str, str]]:
    """(service, kind) of the span and its ancestors, the root first."""
    chain = [span]
    while chain[-1].parent_id:
        chain.append(parent_of(chain[-1], spans))
    return [(s.service.removeprefix("backoffice-"), s.kind) for s in reversed(chain)]


async def test_one_trace_follows_the_submit_and_one_the_vendors_answer_through_the_services(
    client: Platform, cast: Cast, vendor_system: VendorSystem, otlp_receiver: OtlpReceiver
) -> None:
    vendor = await client.create_vendor(cast, webhook_url=vendor_system.url)
    vendor_system.secret = vendor.secret
    draft = await client.create_draft(cast, client.draft(vendor, cast))
    request_id = draft["id"]
    await client.submit(cast, request_id)

    async def submit_trace() -> list[ReceivedSpan] | None:
        roots = [
            s
            for s in otlp_receiver.find(service="backoffice-requests", kind="SERVER")
            if s.name.endswith("/submit") and not s.parent_id
        ]
        submits = [r for r in roots if request_id in str(r.attributes)]
        if len(submits) != 1:
            return None
        spans = otlp_receiver.trace(submits[0].trace_id)
        reached = {
            (service, event)
            for service, event in [
                ("approvals", "purchase_request.submitted"),
                ("notifications", "approval.task_assigned"),
                ("contracts", "purchase_request.submitted"),
            ]
            if consumer_spans(spans, service, event)
        }
        return spans if len(reached) == 3 else None

    spans = await client.eventually("one trace from the submit to approvals, notifications, contracts", submit_trace)
    (chain_created,) = consumer_spans(spans, "approvals", "purchase_request.submitted")
    assert hops(chain_created, spans) == [("requests", "SERVER"), ("requests", "PRODUCER"), ("approvals", "CONSUMER")]
    # Approvals routes once the budget check of the revision is known: the chain starts either when
    # the submission is read (the check came first) or when budget.checked is read, so the task's
    # trace runs through budgets in the second case.
    through_approvals = [("approvals", "CONSUMER"), ("approvals", "PRODUCER"), ("notifications", "CONSUMER")]
    for approver_told in consumer_spans(spans, "notifications", "approval.task_assigned"):
        assert hops(approver_told, spans) in (
            [("requests", "SERVER"), ("requests", "PRODUCER"), *through_approvals],
            [
                ("requests", "SERVER"),
                ("requests", "PRODUCER"),
                ("budgets", "CONSUMER"),
                ("budgets", "PRODUCER"),
                *through_approvals,
            ],
        )
    (contracts_saw,) = consumer_spans(spans, "contracts", "purchase_request.submitted")
    assert hops(contracts_saw, spans)[-1] == ("contracts", "CONSUMER")
    assert chain_created.attributes["messaging.kafka.message.key"] == request_id

    manager_task = await client.task_for(cast.manager, request_id)
    await client.decide(cast.manager, manager_task["id"], "approved")
    head_task = await client.task_for(cast.head, request_id)
    await client.decide(cast.head, head_task["id"], "approved")
    await client.wait_status(cast.requester, request_id, "vendor_notified")
    await client.eventually("the vendor's system got the order", lambda: _received(vendor_system))

    # The order webhook carries the W3C context of the notifications service's client span.
    traceparent = vendor_system.received[0]["headers"].get("traceparent")
    assert traceparent is not None
    _, trace_id, span_id, _ = traceparent.split("-")

    async def webhook_span() -> list[ReceivedSpan] | None:
        return [s for s in otlp_receiver.trace(trace_id) if s.span_id == span_id] or None

    (call,) = await client.eventually("the webhook call's span", webhook_span)
    assert (call.service, call.kind) == ("backoffice-notifications", "CLIENT")

    await client.vendor_says(vendor, {"action": "accept", "request_id": request_id, "note": "In two weeks"})
    await client.wait_status(cast.requester, request_id, "contract_pending")

    async def answer_trace() -> list[ReceivedSpan] | None:
        for generated in otlp_receiver.find(service="backoffice-contracts", kind="CONSUMER"):
            if generated.attributes.get("cloudevents.event_type") != "vendor.accepted":
                continue
            spans = otlp_receiver.trace(generated.trace_id)
            if (
                any(request_id in str(s.attributes) for s in spans)
                and consumer_spans(spans, "notifications", "contract.generated")
                and consumer_spans(spans, "requests", "contract.generated")  # spans arrive in batches
            ):
                return spans
        return None

    spans = await client.eventually("one trace from the vendor's answer to contracts and on", answer_trace)
    (contract_mailed,) = consumer_spans(spans, "notifications", "contract.generated")
    assert hops(contract_mailed, spans) == [
        ("notifications", "SERVER"),
        ("notifications", "PRODUCER"),
        ("contracts", "CONSUMER"),
        ("contracts", "PRODUCER"),
        ("notifications", "CONSUMER"),
    ]
    assert parent_of(parent_of(contract_mailed, spans), spans).attributes["cloudevents.event_type"] == "vendor.accepted"
    assert [hops(s, spans)[-1] for s in consumer_spans(spans, "requests", "contract.generated")] == [
        ("requests", "CONSUMER")
    ]


async def _received(vendor_system: VendorSystem) -> bool:
    return bool(vendor_system.received)
