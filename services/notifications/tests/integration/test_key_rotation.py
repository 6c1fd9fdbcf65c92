"""Rotating the link key and the encryption key of vendor secrets without breaking what was sent or stored."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from cryptography.fernet import Fernet, InvalidToken
from notifications_flows import make_vendor

from backoffice_common.db import make_engine, make_session_factory
from backoffice_notifications.__main__ import reencrypt_secrets
from backoffice_notifications.domain.links import LinkError
from backoffice_notifications.models import messaging
from backoffice_notifications.service.links import create_link, open_link
from backoffice_notifications.service.secrets import valid_secrets
from backoffice_notifications.service.uow import NotificationsUnitOfWork
from backoffice_notifications.settings import Settings


@asynccontextmanager
async def unit_of_work(settings: Settings) -> AsyncIterator[NotificationsUnitOfWork]:
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        uow = NotificationsUnitOfWork(make_session_factory(engine), tables=messaging, service="notifications")
        async with uow:
            yield uow
            await uow.commit()
    finally:
        await engine.dispose()


async def secrets_of(settings: Settings, vendor_id: str) -> list[str]:
    async with unit_of_work(settings) as uow:
        return await valid_secrets(uow, vendor_id=vendor_id, settings=settings)


async def test_after_an_encryption_key_rotation_and_reencryption_only_the_new_key_is_needed(service) -> None:  # type: ignore[no-untyped-def]
    vendor = await make_vendor(service)
    first: Settings = service.settings
    rotated = first.model_copy(
        update={
            "secret_encryption_key": Fernet.generate_key().decode(),
            "secret_encryption_previous_keys": [first.secret_encryption_key],
        }
    )
    assert await secrets_of(rotated, vendor["id"]) == [vendor["secret"]]  # the previous key still decrypts
    assert await reencrypt_secrets(rotated) == 0
    only_new = rotated.model_copy(update={"secret_encryption_previous_keys": []})
    assert await secrets_of(only_new, vendor["id"]) == [vendor["secret"]]
    with pytest.raises(InvalidToken):  # stored under the new key now: the old one opens nothing
        await secrets_of(first, vendor["id"])


async def test_links_signed_with_a_previous_key_open_until_that_key_is_dropped(service) -> None:  # type: ignore[no-untyped-def]
    vendor = await make_vendor(service)
    first: Settings = service.settings
    async with unit_of_work(first) as uow:
        link = await create_link(
            uow,
            settings=first,
            purpose="respond_order",
            request_id=str(uuid.uuid4()),
            revision=1,
            vendor_id=vendor["id"],
        )
    token = link.url.rsplit("/", 1)[1]
    rotated = first.model_copy(
        update={"link_signing_key": "n" * 40, "link_signing_previous_keys": [first.link_signing_key]}
    )
    async with unit_of_work(rotated) as uow:
        assert (await open_link(uow, settings=rotated, token=token)).vendor_id == vendor["id"]
    dropped = rotated.model_copy(update={"link_signing_previous_keys": []})
    async with unit_of_work(dropped) as uow:
        with pytest.raises(LinkError, match="signature"):
            await open_link(uow, settings=dropped, token=token)


def test_previous_keys_are_read_comma_separated_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    old_a, old_b = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv("NOTIFICATIONS_SECRET_ENCRYPTION_PREVIOUS_KEYS", f"{old_a},{old_b}")
    monkeypatch.setenv("NOTIFICATIONS_LINK_SIGNING_PREVIOUS_KEYS", "an-old-link-key-of-more-than-32-characters")
    settings = Settings()
    assert settings.secret_encryption_previous_keys == [old_a, old_b]
    assert settings.link_signing_previous_keys == ["an-old-link-key-of-more-than-32-characters"]
