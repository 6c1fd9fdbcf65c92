"""Statements on a flow's path against the real PostgreSQL: the approved order's upsert returns the stored order
(not read back), the vendor webhook reads its vendor and the vendor's secrets in one statement.

On a database of their own; the statements are counted with asyncpg's query logger on the unit of work's
connection."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from notifications_testkit import MIGRATIONS, make_settings, snapshot, unique_email

from backoffice_common.db import driver_connection, make_engine, make_session_factory
from backoffice_common.testing import private_database
from backoffice_notifications.domain.contracts import Contract
from backoffice_notifications.domain.orders import AWAITING_VENDOR, CANCELLED, IN_APPROVAL
from backoffice_notifications.domain.vendors import Vendor
from backoffice_notifications.domain.webhook_signature import SignatureError, parse_headers, sign
from backoffice_notifications.models import messaging
from backoffice_notifications.service import contracts, orders, secrets, webhook
from backoffice_notifications.service.deliveries import Cause
from backoffice_notifications.service.uow import NotificationsUnitOfWork
from backoffice_notifications.settings import Settings


@pytest.fixture(scope="module")
async def database() -> AsyncIterator[str]:
    async with private_database(MIGRATIONS) as url:
        yield url


@pytest.fixture
async def factory(database: str) -> AsyncIterator[Callable[[], NotificationsUnitOfWork]]:
    engine = make_engine(database, pool_size=2)
    sessions = make_session_factory(engine)
    yield lambda: NotificationsUnitOfWork(sessions, tables=messaging, service="notifications")
    await engine.dispose()


@pytest.fixture
def settings(database: str) -> Settings:
    return make_settings(database, f"stmts-{uuid.uuid4().hex[:6]}")


async def _settled(sent: list[str]) -> list[str]:
    """``sent`` once the logger's callbacks ran (asyncpg calls them soon after each statement, not in it)."""
    await asyncio.sleep(0)
    return sent


async def _logged(uow: NotificationsUnitOfWork) -> list[str]:
    sent: list[str] = []

    def log(query: asyncpg.connection.LoggedQuery) -> None:
        sent.append(query.query)

    (await driver_connection(uow.session)).add_query_logger(log)
    return sent


def _vendor(**changes: Any) -> Vendor:
    now = datetime.now(UTC)
    values: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "legal_name": "Acme GmbH",
        "address": "Hauptstraße 1",
        "contact_emails": ["sales@acme.example", "ops@acme.example"],
        "language": "de",
        "webhook_url": None,
        "status": "active",
        "created_at": now,
        "updated_at": now,
    }
    return Vendor(**{**values, **changes})


def _snapshot(vendor_id: str, *, revision: int = 1) -> dict[str, Any]:
    # Its keys in an order jsonb does not keep (jsonb orders keys by length, then bytes): what the upsert returns
    # must be what is stored, as a read gives it, not the event's dict.
    return snapshot(vendor_id=vendor_id, requester_email=unique_email("requester"), revision=revision)


async def test_the_upsert_returns_the_order_as_a_read_right_after_gives_it(factory) -> None:  # type: ignore[no-untyped-def]
    v = _vendor()
    snap = _snapshot(v.id, revision=2)
    async with factory() as uow:
        await uow.orders.save_snapshot(snap, status=IN_APPROVAL, strictly_newer=True)
        await uow.commit()
    async with factory() as uow:
        order = await uow.orders.get(snap["request_id"], lock=True)
        assert order is not None
        order.sent_to(v.id)
        await uow.orders.save(order)
        await uow.commit()
    changed = {**snap, "title": "Laptops and docks"}
    async with factory() as uow:
        sent = await _logged(uow)
        returned = await uow.orders.upsert(changed, status=AWAITING_VENDOR)
        assert len(await _settled(sent)) == 1
        assert "INSERT INTO order_view" in sent[0]
        read = await uow.orders.get(snap["request_id"])
        assert returned is not None
        upserted, its_vendor = returned
        assert its_vendor is None  # the vendor is not in this database
        assert read is not None
        assert vars(upserted) == vars(read)
        assert list(upserted.snapshot) == list(read.snapshot)  # the stored jsonb's key order, not the event's
        assert list(upserted.snapshot) != list(changed)
        assert upserted.snapshot == changed
        assert (upserted.status, upserted.revision, upserted.sent_to_vendor_id) == (AWAITING_VENDOR, 2, v.id)
        await uow.commit()
    async with factory() as uow:  # an older revision, or a cancelled order: None, nothing stored
        assert await uow.orders.upsert({**snap, "revision": 1, "title": "old"}, status=AWAITING_VENDOR) is None
        assert await uow.orders.upsert({**snap, "revision": 2}, status=AWAITING_VENDOR) is not None  # same: kept
        order = await uow.orders.get(snap["request_id"], lock=True)
        assert order is not None
        order.cancel()
        await uow.orders.save(order)
        await uow.commit()
    async with factory() as uow:
        assert await uow.orders.upsert({**snap, "revision": 3}, status=AWAITING_VENDOR) is None
        stored = await uow.orders.get(snap["request_id"])
        assert stored is not None
        assert (stored.status, stored.revision) == (CANCELLED, 2)


async def test_an_approved_order_is_not_read_back_after_its_upsert(factory, settings) -> None:  # type: ignore[no-untyped-def]
    v = _vendor()
    async with factory() as uow:
        await uow.vendors.add(v)
        await uow.commit()
    snap = _snapshot(v.id)
    async with factory() as uow:
        sent = await _logged(uow)
        await orders.approved(uow, cause=Cause(f"ev-{uuid.uuid4()}", "corr"), snapshot=snap, settings=settings)
        await uow.commit()
    on_orders_or_vendors = [q for q in await _settled(sent) if "order_view" in q or "FROM vendor " in q]
    # The upsert with the vendor joined, then the save of where it went (four before the tenth round: the order
    # read back after the upsert, then its vendor read).
    assert [q.split()[0] for q in on_orders_or_vendors] == ["WITH", "UPDATE"]
    async with factory() as uow:
        stored = await uow.orders.get(snap["request_id"])
        assert stored is not None
        assert (stored.status, stored.sent_to_vendor_id) == (AWAITING_VENDOR, v.id)
        rows = await (await driver_connection(uow.session)).fetch(
            "SELECT recipient, template FROM delivery WHERE request_id = $1 ORDER BY recipient", snap["request_id"]
        )
    assert sorted((r["recipient"], r["template"]) for r in rows) == sorted(
        [
            (snap["requester"]["email"], "request_approved"),
            ("ops@acme.example", "purchase_order"),
            ("sales@acme.example", "purchase_order"),
        ]
    )


async def test_the_vendor_and_its_secrets_are_one_statement_as_the_two_reads_gave_them(factory) -> None:  # type: ignore[no-untyped-def]
    v, bare, other = _vendor(), _vendor(legal_name="Bare AG"), _vendor(legal_name="Other SE")
    now = datetime.now(UTC)
    async with factory() as uow:
        for each in (v, bare, other):
            await uow.vendors.add(each)
        for n, (created, expires) in enumerate(
            [
                (now - timedelta(hours=3), now - timedelta(minutes=1)),  # expired
                (now - timedelta(hours=2), now + timedelta(minutes=5)),  # in its overlap
                (now - timedelta(hours=1), None),  # current
                (now - timedelta(hours=4), None),  # older, never expired
            ]
        ):
            await uow.vendors.add_secret(
                secret_id=str(uuid.uuid4()), vendor_id=v.id, ciphertext=f"c{n}", created_at=created
            )
            if expires is not None:
                await (await driver_connection(uow.session)).execute(
                    "UPDATE vendor_secret SET expires_at = $2 WHERE vendor_id = $1 AND ciphertext = $3",
                    v.id,
                    expires,
                    f"c{n}",
                )
        await uow.vendors.add_secret(secret_id=str(uuid.uuid4()), vendor_id=other.id, ciphertext="x", created_at=now)
        await uow.commit()
    async with factory() as uow:
        for each in (v, bare, other):
            sent = await _logged(uow)
            found, ciphertexts = await uow.vendors.get_with_secrets(each.id, now=now)
            assert len(await _settled(sent)) == 1
            assert found is not None
            assert found == await uow.vendors.get(each.id)
            assert ciphertexts == await uow.vendors.active_secret_ciphertexts(each.id, now=now)
        assert (await uow.vendors.get_with_secrets(v.id, now=now))[1] == ["c2", "c1", "c3"]
        assert (await uow.vendors.get_with_secrets(bare.id, now=now))[1] == []
        assert await uow.vendors.get_with_secrets(str(uuid.uuid4()), now=now) == (None, [])


async def test_a_webhooks_authentication_reads_vendor_and_secrets_in_one_statement(factory, settings) -> None:  # type: ignore[no-untyped-def]
    v = _vendor()
    async with factory() as uow:
        await uow.vendors.add(v)
        rotated = await secrets.rotate(uow, vendor_id=v.id, settings=settings)
        await uow.commit()
    async with factory() as uow:
        _, secret = await secrets.retrieve(
            uow, settings=settings, token=rotated.retrieval_url.rsplit("/vendor-secrets/", 1)[1]
        )
    body, ts = b'{"type": "order.accepted"}', int(time.time())
    headers = {"webhook-id": f"msg_{uuid.uuid4().hex}", "webhook-timestamp": str(ts)}
    headers["webhook-signature"] = sign(secret=secret, msg_id=headers["webhook-id"], timestamp=ts, body=body)
    async with factory() as uow:
        sent = await _logged(uow)
        known = await webhook.authenticate(
            uow, settings=settings, vendor_id=v.id, headers=parse_headers(headers), body=body
        )
        assert known is not None
        assert known.id == v.id
        on_vendors = [q for q in await _settled(sent) if "vendor_secret" in q or "FROM vendor " in q]
        assert len(on_vendors) == 1  # two before the tenth round: the vendor, then its secrets
    async with factory() as uow:  # an unknown vendor: no secrets, refused as before
        with pytest.raises(SignatureError, match="no signature matches"):
            await webhook.authenticate(
                uow, settings=settings, vendor_id=str(uuid.uuid4()), headers=parse_headers(headers), body=body
            )


async def test_the_upsert_and_the_order_read_return_the_vendor_as_its_read_gives_it(factory) -> None:  # type: ignore[no-untyped-def]
    v, other = _vendor(), _vendor(legal_name="Other SE", webhook_url="https://other.example/hook")
    async with factory() as uow:
        await uow.vendors.add(v)
        await uow.vendors.add(other)
        await uow.commit()
    snap = _snapshot(v.id)
    async with factory() as uow:
        returned = await uow.orders.upsert(snap, status=AWAITING_VENDOR)
        assert returned is not None
        order, its_vendor = returned
        assert its_vendor == await uow.vendors.get(v.id)
        assert vars(order) == vars(await uow.orders.get(snap["request_id"]))
        await uow.commit()
    async with factory() as uow:
        for request_id, vendor_id in [
            (snap["request_id"], v.id),
            (snap["request_id"], other.id),  # a contract's vendor need not be the order's
            (snap["request_id"], None),
            (snap["request_id"], str(uuid.uuid4())),
            (str(uuid.uuid4()), v.id),
            (str(uuid.uuid4()), None),
        ]:
            sent = await _logged(uow)
            found, found_vendor = await uow.orders.get_with_vendor(request_id, vendor_id)
            assert len(await _settled(sent)) == 1
            expected = await uow.orders.get(request_id)
            assert (vars(found) if found else None) == (vars(expected) if expected else None)
            assert found_vendor == await uow.vendors.get(vendor_id)


async def test_a_generated_and_an_executed_contract_read_order_and_vendor_in_one_statement(  # type: ignore[no-untyped-def]
    factory, settings
) -> None:
    v = _vendor()
    async with factory() as uow:
        await uow.vendors.add(v)
        await uow.commit()
    snap = _snapshot(v.id)
    async with factory() as uow:
        await orders.approved(uow, cause=Cause(f"ev-{uuid.uuid4()}", "corr"), snapshot=snap, settings=settings)
        await uow.commit()
    contract = Contract(str(uuid.uuid4()), snap["request_id"], v.id, "ab" * 32, "https://docs.example/c", None)
    async with factory() as uow:
        sent = await _logged(uow)
        await contracts.generated(
            uow, cause=Cause(f"ev-{uuid.uuid4()}", "corr"), contract=contract, revision=1, language="en",
            settings=settings,
        )  # fmt: skip
        await uow.commit()
    reads = [q for q in await _settled(sent) if q.startswith("SELECT") and ("order_view" in q or "vendor " in q)]
    assert len(reads) == 1  # two before the tenth round: the order, then the vendor
    async with factory() as uow:
        sent = await _logged(uow)
        await contracts.executed(
            uow, cause=Cause(f"ev-{uuid.uuid4()}", "corr"), contract_id=contract.contract_id,
            request_id=snap["request_id"], executed_sha256="cd" * 32, document_url="https://docs.example/x",
            settings=settings,
        )  # fmt: skip
        await uow.commit()
    reads = [q for q in await _settled(sent) if q.startswith("SELECT") and ("order_view" in q or "vendor " in q)]
    assert len(reads) == 1
    async with factory() as uow:
        rows = await (await driver_connection(uow.session)).fetch(
            "SELECT recipient, template FROM delivery WHERE request_id = $1", snap["request_id"]
        )
    templates = sorted((r["template"], r["recipient"]) for r in rows)
    for template in ("contract_ready_vendor", "contract_executed_vendor"):
        assert [r for t, r in templates if t == template] == ["ops@acme.example", "sales@acme.example"]
    assert [t for t, _ in templates].count("contract_ready_buyer") == 1
    assert [t for t, _ in templates].count("contract_executed") == 1


@pytest.mark.parametrize(
    ("signing_order", "party", "awaiting", "told"),
    [
        ("any", "vendor", ["buyer"], None),
        ("any", "buyer", [], None),
        ("vendor_first", "vendor", ["buyer"], "contract_ready_buyer"),
        ("vendor_first", "buyer", [], None),
        ("buyer_first", "buyer", ["vendor"], "contract_ready_vendor"),
        ("buyer_first", "vendor", [], None),
    ],
)
async def test_a_signature_with_nobody_to_tell_reads_nothing(  # type: ignore[no-untyped-def]
    factory, settings, signing_order, party, awaiting, told
) -> None:
    v = _vendor()
    async with factory() as uow:
        await uow.vendors.add(v)
        await uow.commit()
    snap = _snapshot(v.id)
    async with factory() as uow:
        await orders.approved(uow, cause=Cause(f"ev-{uuid.uuid4()}", "corr"), snapshot=snap, settings=settings)
        await uow.contracts.add(
            Contract(str(uuid.uuid4()), snap["request_id"], v.id, "ab" * 32, "https://docs.example/c", None)
        )
        await uow.commit()
    async with factory() as uow:
        contract_id = await (await driver_connection(uow.session)).fetchval(
            "SELECT contract_id FROM contract_view WHERE request_id = $1", snap["request_id"]
        )
    async with factory() as uow:
        sent = await _logged(uow)
        await contracts.signed(
            uow, cause=Cause(f"ev-{uuid.uuid4()}", "corr"), contract_id=contract_id, party=party,
            signing_order=signing_order, awaiting=awaiting, settings=settings,
        )  # fmt: skip
        # Nobody to tell: not one statement (the contract was read before the tenth round).
        assert (await _settled(sent) == []) == (told is None)
        await uow.commit()
        templates = [
            r["template"]
            for r in await (await driver_connection(uow.session)).fetch(
                "SELECT template FROM delivery WHERE request_id = $1 AND template LIKE 'contract%'", snap["request_id"]
            )
        ]
    assert sorted(set(templates)) == ([told] if told else [])
