"""Vendor webhook secrets, encrypted at rest with Fernet; old secrets stay valid for the rotation overlap.

A new secret is never shown to whoever made it: it reaches the vendor through a one-time retrieval link
(``/vendor-secrets/<token>``, signed like the vendor links, short-lived, single use) mailed to the
vendor's first contact.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.fernet import Fernet, MultiFernet

from backoffice_notifications.domain.links import (
    LinkClaims,
    LinkNotFound,
    LinkRevoked,
    LinkUsed,
    check_token,
    make_token,
    split_token,
)
from backoffice_notifications.domain.vendors import Vendor
from backoffice_notifications.domain.webhook_signature import new_secret
from backoffice_notifications.repository.vendors import StoredSecret
from backoffice_notifications.service.uow import NotificationsUnitOfWork
from backoffice_notifications.settings import Settings

RETRIEVAL = "retrieve_secret"


@dataclass(frozen=True)
class RotatedSecret:
    """A new secret as its rotator may see it: no plaintext, only where and until when the vendor fetches it."""

    secret_id: str
    created_at: datetime
    previous_secrets_expire_at: datetime | None
    retrieval_url: str
    retrieval_expires_at: datetime
    retrieval_sent_to: str = ""


def _claims(secret_id: str, vendor_id: str, expires_at: datetime) -> LinkClaims:
    return LinkClaims(secret_id, RETRIEVAL, "", vendor_id, expires_at)


async def rotate(uow: NotificationsUnitOfWork, *, vendor_id: str, settings: Settings) -> RotatedSecret:
    """A new secret and its one-time retrieval link; the previous secrets end after the overlap."""
    now = datetime.now(UTC)
    expires = now + timedelta(seconds=settings.secret_rotation_overlap_seconds)
    previous = await uow.vendors.expire_secrets(vendor_id, at=expires)
    secret_id = str(uuid.uuid4())
    ciphertext = encryption(settings).encrypt(new_secret().encode()).decode()
    retrieval_expires = (now + timedelta(minutes=settings.secret_retrieval_ttl_minutes)).replace(microsecond=0)
    await uow.vendors.add_secret(
        secret_id=secret_id,
        vendor_id=vendor_id,
        ciphertext=ciphertext,
        created_at=now,
        retrieval_expires_at=retrieval_expires,
    )
    token = make_token(key=settings.link_signing_key, claims=_claims(secret_id, vendor_id, retrieval_expires))
    url = f"{settings.public_base_url.rstrip('/')}/vendor-secrets/{token}"
    return RotatedSecret(secret_id, now, expires if previous else None, url, retrieval_expires)


async def verify_retrieval(
    uow: NotificationsUnitOfWork, *, settings: Settings, token: str, lock: bool = False
) -> tuple[StoredSecret, Vendor | None]:
    """The secret of a genuine retrieval token and its vendor, retrieved or not; ``LinkNotFound`` (unknown)
    or ``LinkError`` (forged, expired) otherwise. Changes nothing."""
    secret_id, _ = split_token(token)
    try:
        uuid.UUID(secret_id)
    except ValueError as exc:
        raise LinkNotFound("the link is malformed") from exc
    stored = await uow.vendors.secret_for_retrieval(secret_id, lock=lock)
    if stored is None or stored.retrieval_expires_at is None:
        raise LinkNotFound("the link is unknown")
    claims = _claims(stored.id, stored.vendor_id, stored.retrieval_expires_at)
    # A retrieved link is checked as of its retrieval, so that a second open says so even after the expiry.
    when = stored.retrieved_at or datetime.now(UTC)
    check_token(
        key=settings.link_signing_key,
        previous_keys=settings.link_signing_previous_keys,
        token=token,
        claims=claims,
        now=when,
    )
    return stored, await uow.vendors.get(stored.vendor_id)


def ensure_retrievable(stored: StoredSecret, vendor: Vendor | None) -> None:
    """``LinkRevoked`` for a blocked vendor's unretrieved secret, ``LinkUsed`` for a retrieved one."""
    if vendor is not None and not vendor.is_active and stored.retrieved_at is None:
        raise LinkRevoked("This link was withdrawn: we no longer exchange webhooks with this vendor.")
    if stored.retrieved_at is not None:
        raise LinkUsed(
            "This secret was already retrieved: it is shown only once. If you did not keep it, ask us for a new one."
        )


async def open_retrieval(
    uow: NotificationsUnitOfWork, *, settings: Settings, token: str, lock: bool = False
) -> StoredSecret:
    """The secret of a genuine, unexpired, unused retrieval token; ``LinkNotFound`` (unknown), ``LinkUsed``
    (retrieved already) or ``LinkError`` (forged, expired) otherwise. Changes nothing."""
    stored, vendor = await verify_retrieval(uow, settings=settings, token=token, lock=lock)
    ensure_retrievable(stored, vendor)
    return stored


async def reveal(
    uow: NotificationsUnitOfWork, *, settings: Settings, stored: StoredSecret, vendor: Vendor | None
) -> str:
    """The secret of a verified retrieval (``verify_retrieval`` with ``lock``) in plaintext, once: the link is
    used up and the retrieval audited in the same transaction."""
    ensure_retrievable(stored, vendor)
    now = datetime.now(UTC)
    await uow.vendors.mark_retrieved(stored.id, at=now)
    fact = {"vendor_id": stored.vendor_id, "secret_id": stored.id, "retrieved_at": now}
    uow.record_fact(type="vendor.secret_retrieved", subject=stored.vendor_id, data=fact)
    await uow.commit()
    return encryption(settings).decrypt(stored.ciphertext.encode()).decode()


async def retrieve(uow: NotificationsUnitOfWork, *, settings: Settings, token: str) -> tuple[StoredSecret, str]:
    """The secret of a retrieval token in plaintext, once (``verify_retrieval`` then ``reveal``)."""
    stored, vendor = await verify_retrieval(uow, settings=settings, token=token, lock=True)
    return stored, await reveal(uow, settings=settings, stored=stored, vendor=vendor)


async def valid_secrets(uow: NotificationsUnitOfWork, *, vendor_id: str, settings: Settings) -> list[str]:
    """The vendor's unexpired secrets in plaintext, newest first."""
    ciphertexts = await uow.vendors.active_secret_ciphertexts(vendor_id, now=datetime.now(UTC))
    return decrypt_all(ciphertexts, settings=settings)


def decrypt_all(ciphertexts: list[str], *, settings: Settings) -> list[str]:
    """Stored secrets in plaintext, in their order."""
    fernet = encryption(settings)
    return [fernet.decrypt(c.encode()).decode() for c in ciphertexts]


def encryption(settings: Settings) -> MultiFernet:
    """Encrypts with ``secret_encryption_key``; decrypts with it or any of the previous keys of a rotation."""
    keys = [settings.secret_encryption_key, *settings.secret_encryption_previous_keys]
    return MultiFernet([Fernet(key.encode()) for key in keys])


async def reencrypt(uow: NotificationsUnitOfWork, *, settings: Settings) -> int:
    """Every stored secret encrypted again with the current key (after which the previous keys may go)."""
    fernet = encryption(settings)
    changed = 0
    for secret_id, ciphertext in await uow.vendors.all_secret_ciphertexts():
        rotated = fernet.rotate(ciphertext.encode()).decode()
        if rotated != ciphertext:
            await uow.vendors.set_secret_ciphertext(secret_id, rotated)
            changed += 1
    return changed
