"""Documents kept in S3-compatible object storage, each checked against its SHA-256 on every read.

Large blobs (contract PDFs, mail attachments) made most of what PostgreSQL kept per order, and a
database is the dearest place to keep bytes nobody queries. The database keeps the object's key and
its hex SHA-256; ``ObjectStore.get`` refuses an object whose bytes no longer hash to what the
database recorded (``TamperedObject``), so a changed, truncated or swapped object is never served.

Write order: a caller puts the object before it commits the row that names it. A transaction that
rolls back leaves an orphan object (keys carry the content's hash, so a retry writes the same key
again), never a row pointing at nothing.

The client: the store uses four S3 operations (PutObject, GetObject, DeleteObject, HeadBucket), each
one signed request. They are sent over aiohttp and signed by botocore's own S3 SigV4 signer
(``S3SigV4Auth``), not through an aiobotocore client: its per-request machinery (endpoint rules,
event hooks, parameter validation and serialisation, response parsing) cost more CPU than the
request itself (eighth round of #15: ``services/common/bench/objectstore_cpu.py``). Every request
signs its payload: ``x-amz-content-sha256`` is the body's SHA-256 (the digest a put computes for the
database anyway), so the store refuses a body changed on the way, over HTTP as over HTTPS. Addressing
is path-style (``endpoint/bucket/key``) as the aiobotocore client was configured; without an endpoint
the regional AWS endpoint ``https://s3.<region>.amazonaws.com``. TLS verifies against botocore's CA
bundle (``AWS_CA_BUNDLE`` or ``ca_bundle`` in the AWS config, else certifi's). Credentials: the keys
given, else botocore's chain (environment, AWS config files, container and instance roles, refreshed
as they expire). A connection error, a timeout or a 500/502/503/504 is retried twice with botocore's
standard backoff (up to 1 s, then 2 s, jittered), then ``ObjectStoreError``.

One HTTP session per event loop: an aiohttp session is bound to the loop that made it, so the store
keeps one per running loop (made at first use, closed by ``close``), with its kept-alive connections.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import re
import ssl
import weakref
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials
from botocore.exceptions import BotoCoreError
from botocore.httpsession import get_cert_path
from pydantic import BaseModel, Field, SecretStr
from yarl import URL

from backoffice_common.errors import ErrorMap, ProblemType, Unavailable, retry_after_header

_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
_RETRIED_STATUSES = frozenset({500, 502, 503, 504})
_ATTEMPTS = 3
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_ERROR_CODE = re.compile(rb"<Code>([^<]{1,200})</Code>")


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


class _Unreachable(Exception):
    """No answer from the store after the retries (connection refused or reset, timeout)."""


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes

    @property
    def code(self) -> str | None:
        """The S3 error code of an error answer (``<Error><Code>``), None without one (a HEAD's answer)."""
        found = _ERROR_CODE.search(self.body)
        return found.group(1).decode("utf-8", "replace") if found else None

    def describe(self) -> str:
        return f"HTTP {self.status} {self.code or ''}".rstrip()


class _SignedPayload(S3SigV4Auth):  # type: ignore[misc]  # botocore has no type hints
    """botocore's S3 SigV4 signer, given the payload's SHA-256 instead of hashing the body again."""

    def payload(self, request: AWSRequest) -> str:
        digest: str = request.context["payload_sha256"]
        return digest


def _host_of(url: str) -> str:
    """The Host header (what the signature covers): the endpoint's host, its port unless the scheme's default."""
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return host if parts.port in (None, default) else f"{host}:{parts.port}"


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
        self._region = region
        base = (endpoint or f"https://s3.{region}.amazonaws.com").rstrip("/")
        self._bucket_url = f"{base}/{quote(bucket, safe='')}"
        self._host = _host_of(base)
        self._timeout = aiohttp.ClientTimeout(total=None, sock_connect=timeout_seconds, sock_read=timeout_seconds)
        self._session = get_session()
        self._static = (
            ReadOnlyCredentials(access_key, secret_key, None) if access_key is not None and secret_key else None
        )
        self._provider: Any = None
        self._ssl: ssl.SSLContext | None = None
        self._https = base.startswith("https:")
        self._sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aiohttp.ClientSession] = (
            weakref.WeakKeyDictionary()
        )
        self._options: dict[str, Any] = {
            "endpoint_url": endpoint,
            "region_name": region,
            "aws_access_key_id": access_key,
            "aws_secret_access_key": secret_key,
            "config": AioConfig(
                s3={"addressing_style": "path"},
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        }
        """The same store as aiobotocore client options (``create_client("s3", **_options)``), for tools and
        tests that reach it by the plain S3 API."""

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

    def _http(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        session = self._sessions.get(loop)
        if session is None or session.closed:
            verify: ssl.SSLContext | bool = False
            if self._https:
                if self._ssl is None:
                    ca_bundle = self._session.get_config_variable("ca_bundle")
                    self._ssl = ssl.create_default_context(cafile=get_cert_path(ca_bundle or True))
                verify = self._ssl
            connector = aiohttp.TCPConnector(ssl=verify)
            session = aiohttp.ClientSession(connector=connector, timeout=self._timeout, auto_decompress=False)
            self._sessions[loop] = session
        return session

    async def close(self) -> None:
        """Close the HTTP session of the running loop (at shutdown); the next call makes a new one."""
        session = self._sessions.pop(asyncio.get_running_loop(), None)
        if session is not None:
            await session.close()

    async def _credentials(self) -> ReadOnlyCredentials:
        if self._static is not None:
            return self._static
        if self._provider is None:
            self._provider = await self._session.get_credentials()
            if self._provider is None:
                raise ObjectStoreError("no credentials for the document store (keys, environment or role)")
        frozen: ReadOnlyCredentials = await self._provider.get_frozen_credentials()
        return frozen

    async def _send(
        self,
        method: str,
        key: str | None,
        *,
        body: bytes | None = None,
        payload_sha256: str = _EMPTY_SHA256,
        headers: dict[str, str] | None = None,
    ) -> _Answer:
        """One signed request (signed again for each retry); the answer's status and body."""
        url = self._bucket_url if key is None else f"{self._bucket_url}/{quote(self.prefix + key, safe='/~')}"
        target = URL(url, encoded=True)
        http = self._http()
        attempt = 1
        while True:
            request = AWSRequest(method=method, url=url, headers={"Host": self._host, **(headers or {})})
            request.context["payload_sha256"] = payload_sha256
            try:
                _SignedPayload(await self._credentials(), "s3", self._region).add_auth(request)
            except BotoCoreError as exc:
                raise ObjectStoreError(f"the document store's credentials: {exc}", retry_after=30) from exc
            try:
                # No redirects followed: the signature covers this host (S3 redirects a wrong region's request).
                sent = http.request(
                    method, target, data=body, headers=dict(request.headers.items()), allow_redirects=False
                )
                async with sent as response:
                    answer = _Answer(response.status, await response.read())
            except (aiohttp.ClientError, TimeoutError) as exc:
                if attempt == _ATTEMPTS:
                    raise _Unreachable(f"{type(exc).__name__}: {exc}") from exc
            else:
                if answer.status not in _RETRIED_STATUSES or attempt == _ATTEMPTS:
                    return answer
            await asyncio.sleep(random.random() * 2 ** (attempt - 1))
            attempt += 1

    async def put(self, key: str, content: bytes, *, content_type: str = "application/octet-stream") -> StoredObject:
        """Store ``content`` under ``key`` (replacing what was there); its SHA-256 travels as metadata too."""
        digest = sha256_hex(content)
        headers = {"Content-Type": content_type, "x-amz-meta-sha256": digest}
        try:
            answer = await self._send("PUT", key, body=content, payload_sha256=digest, headers=headers)
        except _Unreachable as exc:
            raise ObjectStoreError(f"the document store did not take {key!r}: {exc}", retry_after=30) from exc
        if answer.status != 200:
            raise ObjectStoreError(f"the document store did not take {key!r}: {answer.describe()}", retry_after=30)
        return StoredObject(key=key, sha256=digest, size=len(content))

    async def get(self, key: str, *, sha256: str) -> bytes:
        """The object's bytes, if they hash to ``sha256`` (the value the database recorded)."""
        try:
            answer = await self._send("GET", key)
        except _Unreachable as exc:
            raise ObjectStoreError(f"the document store did not return {key!r}: {exc}", retry_after=30) from exc
        if answer.status == 404 and (answer.code is None or answer.code in _MISSING_CODES):
            raise ObjectMissing(f"the document store has no object {key!r}")
        if answer.status != 200:
            raise ObjectStoreError(f"the document store did not return {key!r}: {answer.describe()}", retry_after=30)
        content = answer.body
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
            answer = await self._send("DELETE", key)
        except _Unreachable as exc:
            raise ObjectStoreError(f"the document store did not delete {key!r}: {exc}", retry_after=30) from exc
        gone = answer.status == 404 and answer.code in _MISSING_CODES
        if answer.status not in (200, 204) and not gone:
            raise ObjectStoreError(f"the document store did not delete {key!r}: {answer.describe()}", retry_after=30)

    async def check(self) -> None:
        """Raise ``ObjectStoreError`` unless the bucket answers (for readiness probes)."""
        try:
            answer = await self._send("HEAD", None)
        except _Unreachable as exc:
            raise ObjectStoreError(f"the document store's bucket {self.bucket!r} does not answer: {exc}") from exc
        if answer.status != 200:
            raise ObjectStoreError(f"the document store's bucket {self.bucket!r} does not answer: {answer.describe()}")


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
