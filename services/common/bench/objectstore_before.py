"""Documents kept in S3-compatible object storage, each checked against its SHA-256 on every read.

Large blobs (contract PDFs, mail attachments) made most of what PostgreSQL kept per order, and a
database is the dearest place to keep bytes nobody queries. The database keeps the object's key and
its hex SHA-256; ``ObjectStore.get`` refuses an object whose bytes no longer hash to what the
database recorded (``TamperedObject``), so a changed, truncated or swapped object is never served.

Write order: a caller puts the object before it commits the row that names it. A transaction that
rolls back leaves an orphan object (keys carry the content's hash, so a retry writes the same key
again), never a row pointing at nothing.

One client per event loop: an aiobotocore client holds an aiohttp session bound to the loop that
made it, so the store keeps one per running loop (made at first use, closed by ``close``). A client
per operation was measured at ten times the CPU of a kept one (about 100 ms against 10 ms per put
and get of 40 KB). Recent botocore sends CRC checksums that S3Proxy and other S3 implementations
refuse, hence ``when_required`` for request and response checksums; the integrity that matters is
ours, the SHA-256 in the database.
"""

from __future__ import annotations

import asyncio
import hashlib
import weakref
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, Field, SecretStr

from backoffice_common.errors import ErrorMap, ProblemType, Unavailable, retry_after_header

_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


class ObjectStoreSettings(BaseModel):
    """The object-store settings a service with documents mixes into its ``Settings`` (its env prefix)."""

    object_store_endpoint: str | None = Field(
        default=None, description="S3 endpoint URL (S3Proxy, MinIO, Ceph RGW...); None: the AWS endpoint"
    )
    object_store_bucket: str = Field(default="backoffice", min_length=3, max_length=63)
    object_store_region: str = "us-east-1"
    object_store_access_key: str | None = None
    object_store_secret_key: SecretStr | None = None
    object_store_prefix: str = Field(default="", max_length=200, pattern=r"^[A-Za-z0-9._/-]*$")
    """Put before every key (one bucket shared by several services or environments)."""
    object_store_timeout_seconds: float = Field(default=10.0, gt=0, le=300)


class ObjectStoreError(Unavailable):
    """The object store did not answer as it should; the operation can be retried later."""


class ObjectMissing(ObjectStoreError):
    """The database names an object the store does not have."""


class TamperedObject(ObjectStoreError):
    """The stored bytes do not hash to the SHA-256 the database recorded: refused, never served."""


OBJECT_STORE_ERRORS: ErrorMap = {
    ObjectStoreError: ProblemType(503, "Service Unavailable", "document-store-unavailable", headers=retry_after_header),
    TamperedObject: ProblemType(502, "Bad Gateway", "document-integrity"),
}
"""For a service's error map: a store that is down answers 503, a document that failed its hash 502."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    sha256: str
    size: int


def sha256_hex(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


class ObjectStore:
    """``put`` and ``get`` by key in one bucket; every ``get`` checks the content against its SHA-256."""

    def __init__(
        self,
        *,
        bucket: str,
        endpoint: str | None = None,
        region: str = "us-east-1",
        access_key: str | None = None,
        secret_key: str | None = None,
        prefix: str = "",
        timeout_seconds: float = 10.0,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self._session = get_session()
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[AsyncExitStack, Any]] = (
            weakref.WeakKeyDictionary()
        )
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()
        self._options: dict[str, Any] = {
            "endpoint_url": endpoint,
            "region_name": region,
            "aws_access_key_id": access_key,
            "aws_secret_access_key": secret_key,
            "config": AioConfig(
                s3={"addressing_style": "path"},
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=timeout_seconds,
                read_timeout=timeout_seconds,
            ),
        }

    @classmethod
    def from_settings(cls, settings: ObjectStoreSettings) -> ObjectStore:
        secret = settings.object_store_secret_key
        return cls(
            bucket=settings.object_store_bucket,
            endpoint=settings.object_store_endpoint,
            region=settings.object_store_region,
            access_key=settings.object_store_access_key,
            secret_key=secret.get_secret_value() if secret is not None else None,
            prefix=settings.object_store_prefix,
            timeout_seconds=settings.object_store_timeout_seconds,
        )

    @asynccontextmanager
    async def _client(self) -> AsyncIterator[Any]:
        loop = asyncio.get_running_loop()
        lock = self._locks.setdefault(loop, asyncio.Lock())
        async with lock:
            if loop not in self._clients:
                stack = AsyncExitStack()
                client = await stack.enter_async_context(self._session.create_client("s3", **self._options))
                self._clients[loop] = (stack, client)
        yield self._clients[loop][1]

    async def close(self) -> None:
        """Close the client of the running loop (at shutdown); the next call makes a new one."""
        loop = asyncio.get_running_loop()
        entry = self._clients.pop(loop, None)
        if entry is not None:
            await entry[0].aclose()

    async def put(self, key: str, content: bytes, *, content_type: str = "application/octet-stream") -> StoredObject:
        """Store ``content`` under ``key`` (replacing what was there); its SHA-256 travels as metadata too."""
        digest = sha256_hex(content)
        try:
            async with self._client() as client:
                await client.put_object(
                    Bucket=self.bucket,
                    Key=self.prefix + key,
                    Body=content,
                    ContentType=content_type,
                    Metadata={"sha256": digest},
                )
        except (BotoCoreError, ClientError) as exc:
            raise ObjectStoreError(f"the document store did not take {key!r}: {exc}", retry_after=30) from exc
        return StoredObject(key=key, sha256=digest, size=len(content))

    async def get(self, key: str, *, sha256: str) -> bytes:
        """The object's bytes, if they hash to ``sha256`` (the value the database recorded)."""
        try:
            async with self._client() as client:
                response = await client.get_object(Bucket=self.bucket, Key=self.prefix + key)
                async with response["Body"] as body:
                    content: bytes = await body.read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING_CODES:
                raise ObjectMissing(f"the document store has no object {key!r}") from exc
            raise ObjectStoreError(f"the document store did not return {key!r}: {exc}", retry_after=30) from exc
        except BotoCoreError as exc:
            raise ObjectStoreError(f"the document store did not return {key!r}: {exc}", retry_after=30) from exc
        actual = sha256_hex(content)
        if actual != sha256.lower():
            raise TamperedObject(
                f"the stored document {key!r} failed its integrity check: its SHA-256 is {actual}, "
                f"the database recorded {sha256.lower()}"
            )
        return content

    async def delete(self, key: str) -> None:
        """Remove the object (no error when it is not there)."""
        try:
            async with self._client() as client:
                await client.delete_object(Bucket=self.bucket, Key=self.prefix + key)
        except (BotoCoreError, ClientError) as exc:
            raise ObjectStoreError(f"the document store did not delete {key!r}: {exc}", retry_after=30) from exc

    async def check(self) -> None:
        """Raise ``ObjectStoreError`` unless the bucket answers (for readiness probes)."""
        try:
            async with self._client() as client:
                await client.head_bucket(Bucket=self.bucket)
        except (BotoCoreError, ClientError) as exc:
            raise ObjectStoreError(f"the document store's bucket {self.bucket!r} does not answer: {exc}") from exc


__all__ = [
    "OBJECT_STORE_ERRORS",
    "ObjectMissing",
    "ObjectStore",
    "ObjectStoreError",
    "ObjectStoreSettings",
    "StoredObject",
    "TamperedObject",
    "sha256_hex",
]
