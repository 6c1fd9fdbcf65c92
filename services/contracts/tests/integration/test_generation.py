"""vendor.accepted -> a contract PDF in the vendor's language, exactly once per request revision."""

from __future__ import annotations

import hashlib
import io

from contracts_testkit import generate_contract, local_path, snapshot, vendor_accepted, vendor_record
from pypdf import PdfReader

from backoffice_common.testing import eventually


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


async def test_a_german_vendor_gets_a_german_contract_with_every_line_and_the_total(contracts_env) -> None:
    generated, request = await generate_contract(contracts_env, language="de")
    data = generated.data
    assert data["schema_version"] == 1
    assert data["language"] == "de"
    assert data["signers_required"] == ["buyer", "vendor"]
    assert data["signing_order"] == "vendor_first"
    assert data["document_url"].startswith("http://contracts.test/contracts/")
    r = await contracts_env.client.get(local_path(data["document_url"]))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert hashlib.sha256(r.content).hexdigest() == data["document_sha256"]
    text = text_of(r.content)
    assert "Kaufvertrag" in text
    assert request["number"] in text
    assert "Müller Bürotechnik GmbH" in text
    assert "Laptop 14 inch" in text
    assert "Docking station" in text
    assert "Gesamtbetrag" in text
    assert "2.968,50 EUR" in text
    assert "1.200,00 EUR" in text
    assert "Purchase Contract" not in text


async def test_an_english_vendor_gets_an_english_contract(contracts_env) -> None:
    generated, request = await generate_contract(contracts_env, language="en")
    r = await contracts_env.client.get(local_path(generated.data["document_url"]))
    text = text_of(r.content)
    assert "Purchase Contract" in text
    assert request["number"] in text
    assert "Acme Supplies Ltd" in text
    assert "Laptop 14 inch" in text
    assert "Docking station" in text
    assert "Total" in text
    assert "2,968.50 EUR" in text
    assert "Kaufvertrag" not in text
    assert "Page 1 of" in text


async def test_a_redelivered_or_repeated_acceptance_generates_the_contract_only_once(contracts_env) -> None:
    vendor = vendor_record(language="en")
    request = snapshot(vendor_id=vendor["vendor_id"])
    first = vendor_accepted(request, vendor)
    again_with_a_new_event_id = vendor_accepted(request, vendor)
    await contracts_env.publish("backoffice.notifications", first, first, again_with_a_new_event_id)
    await contracts_env.reader.wait_for("contract.generated", subject=request["request_id"])
    marker = snapshot(vendor_id=vendor["vendor_id"])
    await contracts_env.publish("backoffice.notifications", vendor_accepted(marker, vendor))
    await contracts_env.reader.wait_for("contract.generated", subject=marker["request_id"])
    assert len(contracts_env.reader.of_type("contract.generated", subject=request["request_id"])) == 1
    staff = contracts_env.token("paula", ["procurement"])
    listed = await contracts_env.client.get(f"/contracts?request_id={request['request_id']}", headers=staff)
    assert [c["revision"] for c in listed.json()] == [1]


async def test_a_new_revision_gets_a_new_contract_and_voids_the_old_draft(contracts_env) -> None:
    first, request = await generate_contract(contracts_env, language="en")
    vendor = vendor_record(language="de")
    revised = {**request, "revision": 2, "vendor_id": vendor["vendor_id"]}
    await contracts_env.publish("backoffice.notifications", vendor_accepted(revised, vendor))
    events = await contracts_env.reader.wait_for("contract.generated", subject=request["request_id"], count=2)
    assert events[1].data["revision"] == 2
    assert events[1].data["language"] == "de"
    voided = await contracts_env.reader.wait_for("contract.voided", subject=request["request_id"])
    assert voided[0].data["contract_id"] == first.data["contract_id"]


async def test_an_acceptance_that_cannot_become_a_contract_is_dead_lettered_without_a_contract(contracts_env) -> None:
    vendor = vendor_record()
    request = snapshot(vendor_id=vendor["vendor_id"])
    request["lines"] = []
    bad = vendor_accepted(request, vendor)
    from backoffice_common.testing import TopicReader

    async with TopicReader(
        contracts_env.bootstrap, contracts_env.prefix + "backoffice.notifications.dlq", partitions=1
    ) as dlq:
        await contracts_env.publish("backoffice.notifications", bad)

        async def dead_lettered() -> bool:
            return any(e.id == bad.id for e in dlq.events)

        await eventually(dead_lettered)
    assert contracts_env.reader.of_type("contract.generated", subject=request["request_id"]) == []


async def test_the_vendor_read_model_keeps_the_newest_vendor_record_for_the_contract(contracts_env) -> None:
    from datetime import UTC, datetime, timedelta

    from backoffice_common.events import new_event

    stale = vendor_record(language="en", name="Old Name Ltd")
    stale["updated_at"] = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    newer = {**stale, "legal_name": "Neuer Name GmbH", "language": "de", "updated_at": datetime.now(UTC).isoformat()}
    updated = new_event(
        type="vendor.updated", service="notifications", subject=stale["vendor_id"], data={"schema_version": 1, **newer}
    )
    await contracts_env.publish("backoffice.vendors", updated)
    from contracts_testkit import local_path as path_of

    async def read_model_has_vendor() -> bool:
        import asyncpg

        from backoffice_common.db import asyncpg_dsn

        conn = await asyncpg.connect(asyncpg_dsn(contracts_env.database_url))
        try:
            return bool(await conn.fetchval("SELECT count(*) FROM vendor WHERE vendor_id = $1", stale["vendor_id"]))
        finally:
            await conn.close()

    await eventually(read_model_has_vendor)
    generated, _ = await generate_contract(contracts_env, vendor=stale)
    assert generated.data["language"] == "de"
    text = text_of((await contracts_env.client.get(path_of(generated.data["document_url"]))).content)
    assert "Neuer Name GmbH" in text
    assert "Old Name Ltd" not in text
