"""Generating a contract on vendor.accepted, with a fake unit of work and a fake renderer."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from contracts_testkit import cancelled, snapshot, vendor_accepted, vendor_record
from contracts_usecases import LINK_SECRET, World

from backoffice_common.consumer import PermanentEventError
from backoffice_contracts.domain import links
from backoffice_contracts.domain.contract import Status


async def test_an_acceptance_generates_a_contract_and_publishes_contract_generated_caused_by_it() -> None:
    world = World()
    vendor = vendor_record(language="en")
    request = snapshot(vendor_id=vendor["vendor_id"])
    accepted = vendor_accepted(request, vendor)
    outcome, uow = await world.deliver(accepted)
    [contract] = world.store.contracts.values()
    assert outcome == f"generated {contract.id}"
    assert (contract.request_id, contract.revision, contract.status) == (
        request["request_id"],
        1,
        Status.AWAITING_SIGNATURES,
    )
    assert (contract.language, contract.template_version, contract.requester_id) == ("en", 1, "alice")
    draft = world.store.drafts[contract.id]
    assert contract.document_sha256 == hashlib.sha256(draft).hexdigest()
    [(source, data)] = world.documents.rendered
    assert source == "#en v1"
    assert data["number"] == request["number"]
    assert data["vendor"]["name"] == "Acme Supplies Ltd"
    assert data["total"] == "2,968.50 EUR"
    assert world.store.vendors[vendor["vendor_id"]]["legal_name"] == "Acme Supplies Ltd"

    [event] = uow.published
    assert (event.type, event.subject, event.source) == (
        "contract.generated",
        request["request_id"],
        "backoffice/contracts",
    )
    assert event.causationid == accepted.id
    assert event.correlationid == accepted.correlationid
    generated_at = contract.generated_at
    assert isinstance(generated_at, datetime)
    url = event.data.pop("document_url")
    assert event.data == {
        "schema_version": 1,
        "contract_id": contract.id,
        "request_id": request["request_id"],
        "revision": 1,
        "vendor_id": vendor["vendor_id"],
        "document_sha256": contract.document_sha256,
        "signers_required": ["buyer", "vendor"],
        "signing_order": "vendor_first",
        "language": "en",
        "expires_at": (generated_at + timedelta(hours=48)).isoformat(),
        "actor": {"id": "system", "name": "contracts", "role": "system"},
    }
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"http://contracts.test/contracts/{contract.id}/draft.pdf"
    token = parse_qs(parts.query)["token"][0]
    links.check(token, secret=LINK_SECRET, contract_id=contract.id, scope="draft", now=generated_at)
    with pytest.raises(links.InvalidLink, match="expired"):
        links.check(
            token, secret=LINK_SECRET, contract_id=contract.id, scope="draft", now=generated_at + timedelta(hours=25)
        )


async def test_a_german_vendor_gets_the_german_template() -> None:
    world = World()
    generated, _ = await world.generate(language="de")
    assert generated.data["language"] == "de"
    assert world.documents.rendered[0][0] == "#de v1"
    assert world.documents.rendered[0][1]["total"] == "2.968,50 EUR"


async def test_a_repeated_acceptance_of_the_same_revision_generates_nothing_more() -> None:
    world = World()
    vendor = vendor_record()
    request = snapshot(vendor_id=vendor["vendor_id"])
    await world.deliver(vendor_accepted(request, vendor))
    again_with_a_new_event_id = vendor_accepted(request, vendor)
    outcome, uow = await world.deliver(again_with_a_new_event_id)
    assert outcome == "ignored: a contract for revision 1 exists"
    assert uow.published == []
    assert len(world.store.contracts) == 1
    assert len(world.of_type("contract.generated")) == 1


async def test_a_new_revision_supersedes_the_open_draft_of_the_older_one() -> None:
    world = World()
    first, request = await world.generate()
    vendor = vendor_record(language="de")
    revised = {**request, "revision": 2, "vendor_id": vendor["vendor_id"]}
    accepted = vendor_accepted(revised, vendor)
    _, uow = await world.deliver(accepted)
    assert [e.type for e in uow.published] == ["contract.voided", "contract.generated"]
    voided, generated = uow.published
    assert voided.data == {
        "schema_version": 1,
        "contract_id": first.data["contract_id"],
        "request_id": request["request_id"],
        "reason": "superseded by the contract of revision 2",
        "actor": {"id": "system", "name": "contracts", "role": "system"},
    }
    assert voided.causationid == accepted.id
    assert (generated.data["revision"], generated.data["language"]) == (2, "de")
    old = world.store.contracts[first.data["contract_id"]]
    assert (old.status, old.closed_reason) == (Status.VOIDED, "superseded by the contract of revision 2")
    assert old.closed_at is not None
    assert world.store.contracts[generated.data["contract_id"]].status == Status.AWAITING_SIGNATURES


async def test_an_acceptance_of_an_older_revision_than_the_contract_is_ignored() -> None:
    world = World()
    _, request = await world.generate(revision=3)
    vendor = vendor_record()
    outcome, uow = await world.deliver(vendor_accepted({**request, "revision": 2}, vendor))
    assert outcome == "ignored: a contract for revision 3 exists"
    assert uow.published == []


async def test_an_acceptance_after_the_cancellation_generates_no_contract() -> None:
    world = World()
    vendor = vendor_record()
    request = snapshot(vendor_id=vendor["vendor_id"])
    await world.deliver(cancelled(request))
    outcome, uow = await world.deliver(vendor_accepted(request, vendor))
    assert outcome == "ignored: the request was cancelled"
    assert uow.published == []
    assert world.store.contracts == {}


async def test_an_order_that_cannot_become_a_contract_is_a_permanent_error_and_writes_nothing() -> None:
    world = World()
    vendor = vendor_record()
    request = snapshot(vendor_id=vendor["vendor_id"])
    request["lines"] = []
    with pytest.raises(PermanentEventError, match="lines"):
        await world.deliver(vendor_accepted(request, vendor))
    world.store.templates.append(
        {"language": "en", "version": 2, "body": "#broken", "created_by": "x", "activated_at": datetime.now(UTC)}
    )
    with pytest.raises(PermanentEventError, match="does not compile"):
        await world.deliver(vendor_accepted(snapshot(vendor_id=vendor["vendor_id"]), vendor))
    assert world.store.contracts == {}
    assert world.store.vendors == {}
