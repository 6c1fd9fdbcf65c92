"""Vendor webhook secrets, encrypted at rest with Fernet; old secrets stay valid for the rotation overlap."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.fernet import Fernet, MultiFernet

from backoffice_notifications.domain.webhook_signature import new_secret
from backoffice_notifications.service.uow import NotificationsUnitOfWork
from backoffice_notifications.settings import Settings


@dataclass(frozen=True)
class RotatedSecret:
    secret_id: str
    secret: str
    created_at: datetime
    previous_secrets_expire_at: datetime | None


async def rotate(uow: NotificationsUnitOfWork, *, vendor_id: str, settings: Settings) -> RotatedSecret:
    """A new secret (plaintext returned once); the previous ones end after the overlap."""
    now = datetime.now(UTC)
    expires = now + timedelta(seconds=settings.secret_rotation_overlap_seconds)
    previous = await uow.vendors.expire_secrets(vendor_id, at=expires)
    secret = new_secret()
    secret_id = str(uuid.uuid4())
    ciphertext = encryption(settings).encrypt(secret.encode()).decode()
    await uow.vendors.add_secret(secret_id=secret_id, vendor_id=vendor_id, ciphertext=ciphertext, created_at=now)
    return RotatedSecret(secret_id, secret, now, expires if previous else None)


async def valid_secrets(uow: NotificationsUnitOfWork, *, vendor_id: str, settings: Settings) -> list[str]:
    """The vendor's unexpired secrets in plaintext, newest first."""
    ciphertexts = await uow.vendors.active_secret_ciphertexts(vendor_id, now=datetime.now(UTC))
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
