"""The signing rules of the contract aggregate, without I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backoffice_contracts.domain.contract import (
    AlreadySigned,
    Contract,
    NotOpenForSignature,
    OutOfOrder,
    Party,
    SealedDocument,
    Signature,
    SigningOrder,
    StaleDocument,
    Status,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
HASH = "a" * 64
SEALED = SealedDocument(content=b"%PDF-sealed", sha256="b" * 64)
URL = "http://contracts.test/contracts/c1/executed.pdf?token=t"


def contract(order: SigningOrder = SigningOrder.VENDOR_FIRST) -> Contract:
    return Contract(
        id="c1",
        request_id="r1",
        revision=1,
        vendor_id="v1",
        status=Status.AWAITING_SIGNATURES,
        signing_order=order,
        document_sha256=HASH,
        expires_at=NOW + timedelta(days=1),
    )


def signature(party: Party, digest: str = HASH) -> Signature:
    return Signature(party, "id", "Name", "e@x", "role", digest, NOW, None, None, "api")


def test_the_contract_is_fully_signed_only_after_both_parties_signed() -> None:
    c = contract()
    c.sign(signature(Party.VENDOR), now=NOW)
    assert c.status == Status.PARTIALLY_SIGNED
    assert not c.fully_signed
    c.sign(signature(Party.BUYER), now=NOW)
    assert c.fully_signed
    c.execute(SEALED, at=NOW, document_url=URL)
    assert c.status == Status.EXECUTED


def test_vendor_first_refuses_the_buyer_before_the_vendor() -> None:
    with pytest.raises(OutOfOrder):
        contract(SigningOrder.VENDOR_FIRST).sign(signature(Party.BUYER), now=NOW)


def test_buyer_first_refuses_the_vendor_before_the_buyer() -> None:
    with pytest.raises(OutOfOrder):
        contract(SigningOrder.BUYER_FIRST).sign(signature(Party.VENDOR), now=NOW)


@pytest.mark.parametrize("first", [Party.BUYER, Party.VENDOR])
def test_any_order_accepts_either_party_first(first: Party) -> None:
    c = contract(SigningOrder.ANY)
    c.sign(signature(first), now=NOW)
    assert c.signed_by(first)


def test_a_party_signs_only_once() -> None:
    c = contract()
    c.sign(signature(Party.VENDOR), now=NOW)
    with pytest.raises(AlreadySigned):
        c.sign(signature(Party.VENDOR), now=NOW)


@given(st.text(alphabet="0123456789abcdef", min_size=64, max_size=64).filter(lambda h: h != HASH))
def test_a_signature_on_any_other_hash_is_stale(digest: str) -> None:
    with pytest.raises(StaleDocument):
        contract(SigningOrder.ANY).check_signature(party=Party.BUYER, document_sha256=digest, now=NOW)


def test_the_hash_comparison_ignores_hex_case() -> None:
    contract().check_signature(party=Party.VENDOR, document_sha256=HASH.upper(), now=NOW)


def test_nobody_signs_after_the_signing_period() -> None:
    with pytest.raises(NotOpenForSignature):
        contract().check_signature(party=Party.VENDOR, document_sha256=HASH, now=NOW + timedelta(days=2))


def test_a_voided_contract_cannot_be_signed_and_an_executed_one_cannot_be_voided() -> None:
    c = contract()
    assert c.void(reason="cancelled", now=NOW)
    with pytest.raises(NotOpenForSignature):
        c.check_signature(party=Party.VENDOR, document_sha256=HASH, now=NOW)
    executed = contract(SigningOrder.ANY)
    executed.sign(signature(Party.VENDOR), now=NOW)
    executed.sign(signature(Party.BUYER), now=NOW)
    executed.execute(SEALED, at=NOW, document_url=URL)
    assert executed.void(reason="cancelled", now=NOW) is False
    assert executed.status == Status.EXECUTED


def test_a_contract_expires_only_once_its_period_ended_and_only_while_open() -> None:
    c = contract()
    assert c.expire(now=NOW) is False
    assert c.expire(now=NOW + timedelta(days=1)) is True
    assert c.status == Status.EXPIRED
    assert c.expire(now=NOW + timedelta(days=3)) is False


def test_a_partially_signed_contract_cannot_be_executed() -> None:
    c = contract()
    c.sign(signature(Party.VENDOR), now=NOW)
    with pytest.raises(NotOpenForSignature):
        c.execute(SEALED, at=NOW, document_url=URL)
