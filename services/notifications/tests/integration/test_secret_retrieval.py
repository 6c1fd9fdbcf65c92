"""A vendor's webhook secret reaches only the vendor: a one-time, signed, short-lived link to its first contact."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from notifications_flows import answer, make_vendor, order_sent
from notifications_testkit import JWT_SECRET, secret_link, staff
from sqlalchemy import select, update

from backoffice_common.auth import mint_token
from backoffice_common.db import make_engine
from backoffice_notifications.domain.links import LinkClaims, make_token
from backoffice_notifications.models import vendor as vendor_table
from backoffice_notifications.models import vendor_secret


async def test_the_retrieval_link_shows_the_secret_once_and_a_second_open_says_it_was_retrieved(service) -> None:  # type: ignore[no-untyped-def]
    vendor = await make_vendor(service)  # retrieves its first secret through the link, as a vendor does
    contact = vendor["contact_emails"][0]
    rotated = await service.client.post(f"/vendors/{vendor['id']}/secrets", headers=staff())
    assert rotated.status_code == 201
    assert "whsec_" not in rotated.text
    link = await secret_link(contact, rotated.json()["id"])

    for _ in range(2):  # looking (a mail scanner prefetching the link) uses nothing up
        shown = await service.client.get(link)
        assert shown.status_code == 200
        assert "Reveal the secret" in shown.text
        assert "whsec_" not in shown.text

    revealed = await service.client.post(link)
    assert revealed.status_code == 200
    assert revealed.headers["cache-control"] == "no-store"
    secret = revealed.text.split('<code id="secret">')[1].split("</code>")[0]
    assert secret.startswith("whsec_")
    assert secret != vendor["secret"]

    for method in ("POST", "GET"):
        again = await service.client.request(method, link)
        assert again.status_code == 410
        assert "already retrieved" in again.text
        assert "whsec_" not in again.text

    # The secret from the link verifies the vendor's webhooks; the procurement user never had it.
    snap, _ = await order_sent(service, vendor)
    payload = {"action": "accept", "vendor_id": vendor["id"], "request_id": snap["request_id"]}
    assert (await answer(service, "whsec_" + "QUJD" * 8, payload)).status_code == 401
    assert (await answer(service, secret, payload)).status_code == 200


async def test_a_forged_unknown_or_expired_retrieval_link_reveals_nothing(service) -> None:  # type: ignore[no-untyped-def]
    vendor = await make_vendor(service)
    rotated = await service.client.post(f"/vendors/{vendor['id']}/secrets", headers=staff())
    secret_id = rotated.json()["id"]
    link = await secret_link(vendor["contact_emails"][0], secret_id)

    forged = link[:-4] + ("AAAA" if not link.endswith("AAAA") else "BBBB")
    for method in ("GET", "POST"):
        r = await service.client.request(method, forged)
        assert r.status_code == 410
        assert "signature is invalid" in r.text
        assert (await service.client.request(method, f"/vendor-secrets/{uuid.uuid4()}.abc")).status_code == 404
        assert (await service.client.request(method, "/vendor-secrets/not-a-token")).status_code == 404

    # The same link as the service signs it, for a secret whose retrieval window has passed.
    past = (datetime.now(UTC) - timedelta(minutes=1)).replace(microsecond=0)
    engine = make_engine(service.settings.database_url, pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                update(vendor_secret).where(vendor_secret.c.id == secret_id).values(retrieval_expires_at=past)
            )
    finally:
        await engine.dispose()
    claims = LinkClaims(secret_id, "retrieve_secret", "", vendor["id"], past)
    expired = f"/vendor-secrets/{make_token(key=service.settings.link_signing_key, claims=claims)}"
    for method in ("GET", "POST"):
        r = await service.client.request(method, expired)
        assert r.status_code == 410
        assert "expired" in r.text
        assert "whsec_" not in r.text
    # The refused POSTs used nothing up: the secret was never retrieved.
    engine = make_engine(service.settings.database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            row = (await conn.execute(vendor_secret.select().where(vendor_secret.c.id == secret_id))).mappings().one()
    finally:
        await engine.dispose()
    assert row["retrieved_at"] is None


async def test_the_retrieval_page_speaks_the_vendors_language_and_a_link_naming_no_vendor_the_readers(service) -> None:  # type: ignore[no-untyped-def]
    vendor = await make_vendor(service, language="de", retrieve=False)
    rotated = await service.client.post(f"/vendors/{vendor['id']}/secrets", headers=staff())
    link = await secret_link(vendor["contact_emails"][0], rotated.json()["id"])
    english_reader = {"Accept-Language": "en-US,en;q=0.9"}  # the vendor's record wins over the browser

    shown = await service.client.get(link, headers=english_reader)
    assert shown.status_code == 200
    assert shown.headers["content-language"] == "de"
    assert '<html lang="de">' in shown.text
    assert "Ihr Webhook-Signaturschlüssel" in shown.text
    assert "Schlüssel anzeigen" in shown.text
    assert "Reveal the secret" not in shown.text

    revealed = await service.client.post(link, headers=english_reader)
    assert revealed.status_code == 200
    assert revealed.headers["content-language"] == "de"
    assert "Er wird nicht noch einmal angezeigt" in revealed.text
    assert revealed.text.split('<code id="secret">')[1].startswith("whsec_")

    again = await service.client.get(link, headers=english_reader)  # used: still the vendor's language
    assert again.status_code == 410
    assert again.headers["content-language"] == "de"
    assert "Link bereits verwendet" in again.text

    forged = link[:-4] + ("AAAA" if not link.endswith("AAAA") else "BBBB")  # names no vendor it may trust
    for reader, title in (({"Accept-Language": "de-AT"}, "Link ungültig"), (english_reader, "Link not valid")):
        refused = await service.client.post(forged, headers=reader)
        assert refused.status_code == 410
        assert title in refused.text
    assert (
        "Link ungültig"
        in (await service.client.get(f"/vendor-secrets/{uuid.uuid4()}.abc", headers={"Accept-Language": "de"})).text
    )


async def test_concurrent_reveals_of_one_link_show_the_secret_once_and_other_pages_refuse_its_token(service) -> None:  # type: ignore[no-untyped-def]
    """A double-clicked reveal button (or a replayed POST): one answer shows the secret, the others say it
    was retrieved; the retrieval is audited once."""
    vendor = await make_vendor(service)
    rotated = await service.client.post(f"/vendors/{vendor['id']}/secrets", headers=staff())
    link = await secret_link(vendor["contact_emails"][0], rotated.json()["id"])
    # the token on the order-link page (another purpose) is unknown there, and uses nothing up
    other_purpose = link.replace("/vendor-secrets/", "/vendor-links/")
    assert (await service.client.get(other_purpose)).status_code == 404
    assert (await service.client.post(other_purpose, data={"action": "accept"})).status_code == 404
    answers = await asyncio.gather(*(service.client.post(link) for _ in range(4)))
    assert sorted(a.status_code for a in answers) == [200, 410, 410, 410]
    assert sum("whsec_" in a.text for a in answers) == 1


async def test_concurrent_rotations_each_get_their_own_secret_never_a_500(service) -> None:  # type: ignore[no-untyped-def]
    """A double-clicked rotate button, or two staff at once: every rotation is answered 201 with its own secret."""
    vendor = await make_vendor(service)
    answers = await asyncio.gather(
        *(service.client.post(f"/vendors/{vendor['id']}/secrets", headers=staff()) for _ in range(3))
    )
    assert [a.status_code for a in answers] == [201] * 3, [a.text[:200] for a in answers]
    assert len({a.json()["id"] for a in answers}) == 3


async def test_a_rotation_repeated_with_its_idempotency_key_rotates_once_and_replays_the_first_answer(service) -> None:  # type: ignore[no-untyped-def]
    """A double click of the console's form (one key per form): one secret, one retrieval link, one answer."""
    vendor, other = await make_vendor(service, retrieve=False), await make_vendor(service, retrieve=False)
    key = {"Idempotency-Key": f"rotate-{uuid.uuid4()}"}
    path = f"/vendors/{vendor['id']}/secrets"
    answers = await asyncio.gather(*(service.client.post(path, headers=staff() | key) for _ in range(3)))
    answers.append(await service.client.post(path, headers=staff() | key))
    assert [a.status_code for a in answers] == [201] * 4, [a.text[:200] for a in answers]
    assert all(a.json() == answers[0].json() for a in answers)  # the same secret, recipient and expiry every time
    assert [a.headers.get("idempotent-replayed") for a in answers].count("true") == 3
    assert {a.headers["location"] for a in answers} == {f"/vendors/{vendor['id']}"}
    shown = await service.client.get(f"/vendors/{vendor['id']}", headers=staff())
    assert shown.json()["active_secrets"] == 2  # make_vendor's and this one, not four
    assert await secret_link(vendor["contact_emails"][0], answers[0].json()["id"])

    # The key names that request only: for another vendor it is refused and rotates nothing there.
    reused = await service.client.post(f"/vendors/{other['id']}/secrets", headers=staff() | key)
    assert reused.status_code == 422, reused.text
    assert reused.json()["type"].endswith("/idempotency-key-reused")
    assert (await service.client.get(f"/vendors/{other['id']}", headers=staff())).json()["active_secrets"] == 1

    # A refused request keeps no key: the same key then works for a vendor that exists.
    fresh = {"Idempotency-Key": f"rotate-{uuid.uuid4()}"}
    unknown = await service.client.post(f"/vendors/{uuid.uuid4()}/secrets", headers=staff() | fresh)
    assert unknown.status_code == 404, unknown.text
    after = await service.client.post(f"/vendors/{other['id']}/secrets", headers=staff() | fresh)
    assert after.status_code == 201, after.text
    assert "idempotent-replayed" not in after.headers


async def test_concurrent_contact_changes_end_as_one_of_them_never_a_500(service) -> None:  # type: ignore[no-untyped-def]
    vendor = await make_vendor(service)
    lists = [[f"c{n}-{uuid.uuid4().hex[:6]}@vendor.test"] for n in range(3)]
    answers = await asyncio.gather(
        *(service.client.patch(f"/vendors/{vendor['id']}", json={"contact_emails": c}, headers=staff()) for c in lists)
    )
    assert [a.status_code for a in answers] == [200] * 3, [a.text[:200] for a in answers]
    final = (await service.client.get(f"/vendors/{vendor['id']}", headers=staff())).json()["contact_emails"]
    assert final in lists


def _as(sub: str) -> dict[str, str]:
    token = mint_token(secret=JWT_SECRET, sub=sub, name=sub, roles=["procurement"])
    return {"Authorization": f"Bearer {token}"}


async def test_concurrent_changes_keep_every_credential_administrator(service) -> None:  # type: ignore[no-untyped-def]
    """Whoever changes the contacts or rotates the secret stays among the vendor's credential administrators
    (so may not sign its contracts for the buyer), even when someone else edits the vendor at that moment."""
    for _ in range(3):
        vendor = await make_vendor(service)
        url = f"/vendors/{vendor['id']}"
        contacts = {"contact_emails": [f"m-{uuid.uuid4().hex[:6]}@vendor.test"]}
        answers = await asyncio.gather(
            service.client.patch(url, json=contacts, headers=_as("mallory")),
            service.client.post(f"{url}/secrets", headers=_as("rotor")),
            *(service.client.patch(url, json={"address": f"Street {n}"}, headers=_as(f"bob{n}")) for n in range(3)),
        )
        assert [a.status_code for a in answers] == [200, 201, 200, 200, 200], [a.text[:200] for a in answers]
        engine = make_engine(service.settings.database_url, pool_size=1)
        try:
            async with engine.connect() as conn:
                stored = (
                    await conn.execute(
                        select(vendor_table.c.credential_administrators).where(vendor_table.c.id == vendor["id"])
                    )
                ).scalar_one()
        finally:
            await engine.dispose()
        assert {"mallory", "rotor"} <= set(stored), stored
