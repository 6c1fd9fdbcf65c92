"""The object-store adapter against the real S3 API (the S3Proxy that deploy/infra.sh starts)."""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiobotocore.session import get_session
from aiohttp import web
from yarl import URL

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


async def test_keys_with_spaces_plus_signs_and_umlauts_are_signed_and_stored_under_the_same_name(
    store: ObjectStore,
) -> None:
    """The key goes into the URL escaped once, as the signature covers it: another S3 client finds the same name."""
    key = "contracts/ä b+c=d&e~f(1)'@;,$!*.pdf"
    stored = await store.put(key, b"%PDF-1.7 odd name", content_type="application/pdf")

    assert await store.get(key, sha256=stored.sha256) == b"%PDF-1.7 odd name"
    async with get_session().create_client("s3", **store._options) as client:
        found = await client.head_object(Bucket=store.bucket, Key=store.prefix + key)
        listed = await client.list_objects_v2(Bucket=store.bucket, Prefix=store.prefix + "contracts/")
    assert found["ContentType"] == "application/pdf"
    assert found["Metadata"] == {"sha256": stored.sha256}
    assert [o["Key"] for o in listed["Contents"]] == [store.prefix + key]
    await store.delete(key)
    with pytest.raises(ObjectMissing):
        await store.get(key, sha256=stored.sha256)


async def test_what_another_s3_client_wrote_is_read_and_checked(store: ObjectStore) -> None:
    content = b"%PDF-1.7\n" + uuid.uuid4().bytes * 500
    await _overwrite_behind_our_back(store, "segments/e.bin", content)

    assert await store.get("segments/e.bin", sha256=sha256_hex(content).upper()) == content


async def test_without_keys_the_credentials_come_from_botocores_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = object_store_settings(f"t-{uuid.uuid4().hex[:8]}/")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", settings.pop("object_store_access_key"))
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", settings.pop("object_store_secret_key"))
    store = ObjectStore.from_settings(ObjectStoreSettings(**settings))

    stored = await store.put("chain.bin", b"from the environment")
    assert await store.get("chain.bin", sha256=stored.sha256) == b"from the environment"
    await store.close()


async def test_a_store_that_does_not_answer_is_unavailable_after_the_retries() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = {**object_store_settings(), "object_store_endpoint": f"http://127.0.0.1:{port}"}
    store = ObjectStore.from_settings(ObjectStoreSettings(**settings))

    with pytest.raises(ObjectStoreError) as refused:
        await store.get("x", sha256=sha256_hex(b"x"))
    assert refused.value.retry_after == 30
    assert "ClientConnectorError" in str(refused.value)
    await store.close()


async def test_a_503_is_retried_signed_again_and_then_answered() -> None:
    """A real HTTP proxy in front of S3Proxy answers the first request of every method 503 (``SlowDown``), then
    forwards each request as it came (the Host header too, which the signature covers). Every request it sees
    carries its body's SHA-256 in ``x-amz-content-sha256``, the value the signature covers."""
    upstream = object_store_settings()["object_store_endpoint"]
    seen: list[tuple[str, int]] = []
    payload_hashes: list[tuple[str, str, str]] = []

    async def forward(request: web.Request) -> web.Response:
        body = await request.read()
        payload_hashes.append((request.method, request.headers["x-amz-content-sha256"], sha256_hex(body)))
        if request.method not in {m for m, _ in seen}:
            seen.append((request.method, 503))
            return web.Response(status=503, body=b"<Error><Code>SlowDown</Code></Error>")
        async with (
            aiohttp.ClientSession(auto_decompress=False) as http,
            http.request(
                request.method,
                URL(upstream + request.raw_path, encoded=True),
                headers=request.headers,
                data=body,
            ) as answer,
        ):
            seen.append((request.method, answer.status))
            return web.Response(status=answer.status, body=await answer.read())

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", forward)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    settings = {
        **object_store_settings(f"t-{uuid.uuid4().hex[:8]}/"),
        "object_store_endpoint": f"http://127.0.0.1:{port}",
    }
    store = ObjectStore.from_settings(ObjectStoreSettings(**settings))
    try:
        stored = await store.put("retried.bin", b"after a 503")
        assert await store.get("retried.bin", sha256=stored.sha256) == b"after a 503"
    finally:
        await store.close()
        await runner.cleanup()
    assert seen == [("PUT", 503), ("PUT", 200), ("GET", 503), ("GET", 200)]
    # every request signs its payload's SHA-256 (the put's body, the get's empty one), never UNSIGNED-PAYLOAD
    assert [(method, signed == actual) for method, signed, actual in payload_hashes] == [
        ("PUT", True),
        ("PUT", True),
        ("GET", True),
        ("GET", True),
    ]
    assert payload_hashes[1][1] == stored.sha256
