"""Who may not sign an order's contract for the buyer: its requester, its approvers, the vendor's credential admins."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from contracts_testkit import vendor_record, vendor_signed
from contracts_usecases import PROCUREMENT, World

from backoffice_common.auth import User
from backoffice_common.events import new_event
from backoffice_contracts.domain.contract import Status
from backoffice_contracts.domain.errors import ApprovalNotKnown, SegregationOfDuties
from backoffice_contracts.domain.segregation import OrderParties, check_buyer_signer

REQUESTER_BUYER = User(sub="alice", name="Alice", roles=frozenset({"requester", "procurement"}))
APPROVER_BUYER = User(sub="bob", name="Bob", roles=frozenset({"approver", "procurement"}))


def parties(**overrides: object) -> OrderParties:
    values: dict[str, object] = {
        "requester_id": "alice",
        "approvers": frozenset({"bob", "carol"}),
        "vendor_credential_administrators": frozenset({"victor"}),
    }
    return OrderParties(**{**values, **overrides})  # type: ignore[arg-type]


@pytest.mark.parametrize("signer", ["alice", "bob", "carol", "victor"])
def test_the_requester_an_approver_or_a_vendor_credential_admin_may_not_sign_for_the_buyer(signer: str) -> None:
    with pytest.raises(SegregationOfDuties):
        check_buyer_signer(signer, parties())


def test_someone_else_may_sign_for_the_buyer() -> None:
    check_buyer_signer("paula", parties())


def test_the_buyer_signature_waits_until_the_approval_is_known() -> None:
    with pytest.raises(ApprovalNotKnown):
        check_buyer_signer("paula", parties(approvers=None))


def test_the_requester_is_refused_even_before_the_approval_is_known() -> None:
    with pytest.raises(SegregationOfDuties):
        check_buyer_signer("alice", parties(approvers=None))


async def test_a_requester_with_the_procurement_role_cannot_sign_their_own_order_for_the_buyer() -> None:
    world = World()
    generated, _ = await world.generate()
    await world.deliver(vendor_signed(generated))
    with pytest.raises(SegregationOfDuties, match="requester"):
        await world.sign_as_buyer(generated, user=REQUESTER_BUYER)
    assert world.store.contracts[generated.data["contract_id"]].status == Status.PARTIALLY_SIGNED


async def test_an_approver_of_the_order_cannot_sign_it_for_the_buyer() -> None:
    world = World()
    generated, _ = await world.generate(approvers=("carol", "bob"))
    await world.deliver(vendor_signed(generated))
    uow = world.uow()
    with pytest.raises(SegregationOfDuties, match="approver"):
        await world.sign_as_buyer(generated, user=APPROVER_BUYER, uow=uow)
    assert not uow.committed


async def test_whoever_administers_the_vendors_credentials_cannot_sign_its_contracts_for_the_buyer() -> None:
    world = World()
    vendor = {**vendor_record(), "credential_administrators": ["paula"]}
    generated, _ = await world.generate(vendor=vendor)
    await world.deliver(vendor_signed(generated))
    with pytest.raises(SegregationOfDuties, match="credentials"):
        await world.sign_as_buyer(generated, user=PROCUREMENT)


async def test_a_buyer_signature_before_the_approval_is_read_is_refused_until_it_is() -> None:
    world = World()
    generated, _ = await world.generate(approvers=())
    await world.deliver(vendor_signed(generated))
    with pytest.raises(ApprovalNotKnown):
        await world.sign_as_buyer(generated)


async def test_an_unrelated_procurement_user_signs_and_executes_the_contract() -> None:
    world = World()
    generated, _ = await world.generate(approvers=("bob",))
    await world.deliver(vendor_signed(generated))
    await world.sign_as_buyer(generated, user=PROCUREMENT)
    assert world.store.contracts[generated.data["contract_id"]].status == Status.EXECUTED


async def test_a_blocked_vendors_signature_is_refused_and_kept_as_evidence() -> None:
    world = World()
    vendor = vendor_record()
    generated, _ = await world.generate(vendor=vendor)
    blocked = {**vendor, "status": "blocked", "updated_at": datetime.now(UTC).isoformat()}
    await world.deliver(
        new_event(type="vendor.updated", service="notifications", subject=vendor["vendor_id"], data=blocked)
    )
    outcome, _ = await world.deliver(vendor_signed(generated))
    assert outcome == "refused: vendor_blocked"
    assert world.store.contracts[generated.data["contract_id"]].signatures == []
    assert [r.reason for r in world.store.refusals] == ["vendor_blocked"]
