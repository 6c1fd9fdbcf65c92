"""Signing use cases with a fake unit of work and a fake document adapter (no database, broker or PKI).

Sealing runs through ``FakeDocuments`` (a fake signer adapter), not pyHanko: the real sealer needs a
certificate and key on disk; the integration tests seal and validate with the real one.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from contracts_testkit import vendor_signed
from contracts_usecases import LINK_SECRET, OUTSIDER, REQUESTER, SIGNATORY, World, settings

from backoffice_common.events import CloudEvent
from backoffice_contracts.domain import links
from backoffice_contracts.domain.contract import Status
from backoffice_contracts.domain.errors import (
    ContractNotFound,
    NotABuyerSignatory,
    OutOfOrder,
    SealingFailed,
    StaleDocument,
)


def now() -> datetime:
    return datetime.now(UTC)


def stored(world: World, generated: CloudEvent):
    return world.store.contracts[generated.data["contract_id"]]


async def test_the_vendor_signature_is_recorded_with_its_evidence_and_the_event_it_came_with() -> None:
    world = World()
    generated, request = await world.generate()
    signed_event = vendor_signed(generated)
    outcome, uow = await world.deliver(signed_event)
    assert outcome == "signed"
    contract = stored(world, generated)
    assert contract.status == Status.PARTIALLY_SIGNED
    [signature] = contract.signatures
    assert (signature.party, signature.signer_name, signature.channel) == ("vendor", "Vera Vendor", "link")
    assert signature.event_id == signed_event.id
    assert signature.client_ip == "203.0.113.7"
    [event] = uow.published
    assert event.type == "contract.signed"
    assert event.subject == request["request_id"]
    assert event.causationid == signed_event.id
    assert event.correlationid == signed_event.correlationid
    assert event.data == {
        "schema_version": 1,
        "contract_id": generated.data["contract_id"],
        "request_id": request["request_id"],
        "party": "vendor",
        "signer": {"id": "vera@vendor.example", "name": "Vera Vendor", "email": "vera@vendor.example"},
        "document_sha256": generated.data["document_sha256"],
        "signing_order": generated.data["signing_order"],
        "awaiting": ["buyer"],
        "actor": {"id": f"vendor:{generated.data['vendor_id']}", "name": "Acme Supplies Ltd", "role": "vendor"},
    }
    assert event.data["actor"] == signed_event.data["actor"], "the vendor is the same actor on every topic"
    assert uow.vendors.reads == [generated.data["vendor_id"]], "the vendor is read once: its name and its status"


async def test_procurement_countersigns_and_the_contract_is_executed_into_a_sealed_document() -> None:
    world = World()
    generated, request = await world.generate()
    await world.deliver(vendor_signed(generated))
    uow = await world.sign_as_buyer(generated)
    assert uow.committed
    assert [e.type for e in uow.published] == ["contract.signed", "contract.executed"]
    signed, executed = uow.published
    assert signed.data["party"] == "buyer"
    assert signed.data["actor"] == {"id": "paula", "name": "Paula Procurement", "role": "procurement"}
    assert signed.causationid is None
    contract = stored(world, generated)
    assert contract.status == Status.EXECUTED
    sealed = world.store.executed[contract.id]
    assert sealed.startswith(world.store.drafts[contract.id])
    assert sealed.endswith(b"%sealed")
    [(draft, page)] = world.documents.sealed
    assert draft == world.store.drafts[contract.id]
    assert [s["signer_name"] for s in page["signatures"]] == ["Vera Vendor", "Paula Procurement"]
    assert page["document_sha256"] == generated.data["document_sha256"]
    assert executed.subject == request["request_id"]
    assert executed.data["executed_sha256"] == hashlib.sha256(sealed).hexdigest()
    assert executed.data["document_sha256"] == generated.data["document_sha256"]
    assert executed.data["actor"] == {"id": "system", "name": "contracts", "role": "system"}
    url = urlsplit(executed.data["document_url"])
    assert url.path == f"/contracts/{contract.id}/executed.pdf"
    token = parse_qs(url.query)["token"][0]
    links.check(token, secret=LINK_SECRET, contract_id=contract.id, scope="executed", now=now())


async def test_a_configured_buyer_signatory_signs_with_that_role() -> None:
    world = World()
    generated, _ = await world.generate()
    await world.deliver(vendor_signed(generated))
    uow = await world.sign_as_buyer(generated, user=SIGNATORY)
    buyer = next(s for s in stored(world, generated).signatures if s.party == "buyer")
    assert (buyer.signer_id, buyer.role, buyer.user_agent) == ("sam", "buyer_signatory", "procurement-portal/1.0")
    assert uow.of_type("contract.signed")[0].data["actor"]["role"] == "buyer_signatory"


async def test_the_requester_may_read_but_not_sign_for_the_buyer_and_nothing_is_recorded() -> None:
    world = World()
    generated, _ = await world.generate()
    await world.deliver(vendor_signed(generated))
    with pytest.raises(NotABuyerSignatory, match="procurement"):
        await world.sign_as_buyer(generated, user=REQUESTER)
    assert [s.party for s in stored(world, generated).signatures] == ["vendor"]
    assert world.of_type("contract.executed") == []


async def test_someone_who_may_not_see_the_contract_gets_not_found() -> None:
    world = World()
    generated, _ = await world.generate()
    with pytest.raises(ContractNotFound):
        await world.sign_as_buyer(generated, user=OUTSIDER)


async def test_the_buyer_may_not_sign_before_the_vendor_when_the_vendor_signs_first() -> None:
    world = World()
    generated, _ = await world.generate()
    uow = world.uow()
    with pytest.raises(OutOfOrder):
        await world.sign_as_buyer(generated, uow=uow)
    assert not uow.committed
    assert uow.published == []
    assert stored(world, generated).signatures == []


async def test_a_stale_hash_is_refused_and_the_refusal_names_the_current_document() -> None:
    world = World()
    generated, _ = await world.generate()
    await world.deliver(vendor_signed(generated))
    with pytest.raises(StaleDocument) as refused:
        await world.sign_as_buyer(generated, digest="0" * 64)
    assert refused.value.extensions == {"current_document_sha256": generated.data["document_sha256"]}
    assert stored(world, generated).status == Status.PARTIALLY_SIGNED


async def test_when_sealing_fails_the_last_signature_is_not_recorded_either() -> None:
    world = World()
    generated, _ = await world.generate()
    await world.deliver(vendor_signed(generated))
    world.documents.sealing_error = RuntimeError("the sealing key cannot be read")
    with pytest.raises(SealingFailed, match="try again later"):
        await world.sign_as_buyer(generated)
    contract = stored(world, generated)
    assert [s.party for s in contract.signatures] == ["vendor"]
    assert contract.status == Status.PARTIALLY_SIGNED
    assert contract.id not in world.store.executed
    assert world.of_type("contract.executed") == []


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        ({"document_sha256": "ab" * 32}, "document_hash_mismatch"),
        ({"vendor_id": "00000000-0000-4000-8000-000000000001"}, "wrong_vendor"),
    ],
)
async def test_a_vendor_signature_that_does_not_fit_is_kept_as_a_refusal_and_signs_nothing(
    tamper: dict[str, str], reason: str
) -> None:
    world = World()
    generated, _ = await world.generate()
    event = vendor_signed(generated, **tamper)
    outcome, uow = await world.deliver(event)
    assert outcome == f"refused: {reason}"
    assert uow.published == []
    [refusal] = world.store.refusals
    assert (refusal.reason, refusal.signer_email, refusal.event_id) == (reason, "vera@vendor.example", event.id)
    assert stored(world, generated).signatures == []


async def test_a_vendor_signature_for_a_contract_that_does_not_exist_is_refused() -> None:
    world = World()
    generated, _ = await world.generate()
    for contract_id in ("not-a-uuid", "00000000-0000-4000-8000-00000000dead"):
        event = vendor_signed(generated)
        forged = event.model_copy(update={"data": {**event.data, "contract_id": contract_id}})
        outcome, _ = await world.deliver(forged)
        assert outcome == "refused: wrong_vendor"
    assert [r.contract_id for r in world.store.refusals] == ["not-a-uuid", "00000000-0000-4000-8000-00000000dead"]


async def test_a_second_vendor_signature_is_refused_as_already_signed() -> None:
    world = World()
    generated, _ = await world.generate()
    await world.deliver(vendor_signed(generated))
    outcome, uow = await world.deliver(vendor_signed(generated))
    assert outcome == "refused: already_signed"
    assert uow.published == []
    assert len(stored(world, generated).signatures) == 1


async def test_buyer_first_the_vendor_signature_executes_the_contract_caused_by_the_vendor_event() -> None:
    world = World(settings=settings(signing_order="buyer_first"))
    generated, _ = await world.generate()
    assert generated.data["signing_order"] == "buyer_first"
    await world.sign_as_buyer(generated)
    assert stored(world, generated).status == Status.PARTIALLY_SIGNED
    vendor_event = vendor_signed(generated)
    outcome, uow = await world.deliver(vendor_event)
    assert outcome == "signed"
    assert [e.type for e in uow.published] == ["contract.signed", "contract.executed"]
    assert {e.causationid for e in uow.published} == {vendor_event.id}
    assert stored(world, generated).status == Status.EXECUTED


async def test_a_signature_after_the_signing_period_is_refused_as_not_open() -> None:
    world = World()
    generated, _ = await world.generate()
    late = vendor_signed(generated)
    contract = world.store.contracts[generated.data["contract_id"]]
    contract.expires_at = now() - timedelta(seconds=1)
    outcome, _ = await world.deliver(late)
    assert outcome == "refused: not_open"
    assert world.store.refusals[0].detail == "the contract's signing period has ended"
    assert world.of_type("contract.signed") == []
