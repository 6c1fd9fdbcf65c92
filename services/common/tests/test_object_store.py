"""The object-store adapter against the real S3 API (the S3Proxy that deploy/infra.sh starts)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from aiobotocore.session import get_session

from backoffice_common.objectstore import (
    ObjectMissing,
    ObjectStore,
    ObjectStoreError,
    ObjectStoreSettings,
    TamperedObject,
    sha256_hex,
)
from backoffice_common.testing import object_store_settings


@pytest.fixture
async def store() -> AsyncIterator[ObjectStore]:
    store = ObjectStore.from_settings(ObjectStoreSettings(**object_store_settings(f"t-{uuid.uuid4().hex[:8]}/")))
    yield store
    await store.close()


async def _overwrite_behind_our_back(store: ObjectStore, key: str, content: bytes) -> None:
    """What an attacker or a broken disk does: other bytes under the same key, by the plain S3 API."""
    async with get_session().create_client("s3", **store._options) as client:
        await client.put_object(Bucket=store.bucket, Key=store.prefix + key, Body=content)


async def test_a_stored_document_comes_back_byte_for_byte_with_its_hash(store: ObjectStore) -> None:
    content = b"%PDF-1.7\n" + uuid.uuid4().bytes * 1000

    stored = await store.put("contracts/a/draft.pdf", content, content_type="application/pdf")

    assert stored.sha256 == sha256_hex(content)
    assert stored.size == len(content)
    assert await store.get("contracts/a/draft.pdf", sha256=stored.sha256) == content


async def test_a_tampered_object_is_refused_by_its_hash_check(store: ObjectStore) -> None:
    stored = await store.put("contracts/b/executed.pdf", b"%PDF-1.7 the executed contract")
    await _overwrite_behind_our_back(store, "contracts/b/executed.pdf", b"%PDF-1.7 the executed contraCt")

    with pytest.raises(TamperedObject, match="failed its integrity check"):
        await store.get("contracts/b/executed.pdf", sha256=stored.sha256)


async def test_a_hash_recorded_for_other_content_is_refused_too(store: ObjectStore) -> None:
    await store.put("contracts/c/draft.pdf", b"one")

    with pytest.raises(TamperedObject):
        await store.get("contracts/c/draft.pdf", sha256=sha256_hex(b"two"))


async def test_an_object_the_store_does_not_have_is_missing(store: ObjectStore) -> None:
    with pytest.raises(ObjectMissing):
        await store.get("contracts/nothing-here.pdf", sha256=sha256_hex(b""))


async def test_a_deleted_object_is_gone(store: ObjectStore) -> None:
    stored = await store.put("mail/d.bin", b"attachment")

    await store.delete("mail/d.bin")

    with pytest.raises(ObjectMissing):
        await store.get("mail/d.bin", sha256=stored.sha256)


async def test_wrong_credentials_are_an_unavailable_store_not_a_crash() -> None:
    settings = ObjectStoreSettings(**{**object_store_settings(), "object_store_secret_key": "not-the-secret" * 3})
    store = ObjectStore.from_settings(settings)

    with pytest.raises(ObjectStoreError) as refused:
        await store.put("x", b"x")
    assert refused.value.retry_after == 30
    with pytest.raises(ObjectStoreError):
        await store.check()
    await store.close()


async def test_the_kept_client_is_closed_and_made_again_on_the_next_call(store: ObjectStore) -> None:
    stored = await store.put("again.bin", b"again")
    await store.close()

    assert await store.get("again.bin", sha256=stored.sha256) == b"again"


async def test_the_bucket_answers_the_readiness_check(store: ObjectStore) -> None:
    await store.check()
