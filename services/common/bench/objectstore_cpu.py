"""CPU of the object store's put and get: aiobotocore's client (before, ``objectstore_before.py``) against
aiohttp with botocore's S3 SigV4 signer (after, ``backoffice_common.objectstore``).

Not a test. Against a running S3Proxy (``make run`` or ``make infra-up``; ``BACKOFFICE_S3_*`` from
``deploy/env.sh``). First both are checked alike, each against the other: what one puts the other gets
back byte for byte, with the same ``Content-Type`` and ``sha256`` metadata (read by a plain aiobotocore
``head_object``); both refuse a tampered object (``TamperedObject``), both call an absent one missing
(``ObjectMissing``), both delete, both answer the readiness check. Then old and new alternate round by round,
each operation a put then a get of ``--size`` bytes (a contract PDF is 55 kB), one kept client per store as
in a service; reported: this process's CPU per put + get (median of ``--rounds``), S3Proxy's CPU over the
same operations (from ``/proc``), wall time, the load average.

    BACKOFFICE_PROFILE=run source deploy/env.sh && \\
        .venv/bin/python services/common/bench/objectstore_cpu.py --n 200 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from aiobotocore.session import get_session

from backoffice_cli.bench import load_average, pid_listening_on, pid_seconds
from backoffice_common import objectstore as new
from backoffice_common.testing import object_store_settings

sys.path.insert(0, str(Path(__file__).resolve().parent))
import objectstore_before as old


async def head(store: Any, key: str) -> tuple[str, dict[str, str], int]:
    async with get_session().create_client("s3", **store._options) as client:
        found = await client.head_object(Bucket=store.bucket, Key=store.prefix + key)
    return found["ContentType"], found["Metadata"], found["ContentLength"]


async def raw_put(store: Any, key: str, content: bytes) -> None:
    async with get_session().create_client("s3", **store._options) as client:
        await client.put_object(Bucket=store.bucket, Key=store.prefix + key, Body=content)


async def same(before: old.ObjectStore, after: new.ObjectStore, content: bytes) -> None:
    """Each reads what the other wrote; the same metadata; the same refusals."""
    for writer, reader in ((before, after), (after, before)):
        key = f"same/{uuid.uuid4().hex}.pdf"
        stored = await writer.put(key, content, content_type="application/pdf")
        assert stored.sha256 == new.sha256_hex(content)
        assert stored.size == len(content)
        assert await reader.get(key, sha256=stored.sha256) == content
        assert await head(writer, key) == ("application/pdf", {"sha256": stored.sha256}, len(content))
        await raw_put(writer, key, content[:-1] + b"!")
        for store, tampered in ((before, old.TamperedObject), (after, new.TamperedObject)):
            try:
                await store.get(key, sha256=stored.sha256)
            except tampered:
                pass
            else:
                raise AssertionError(f"{type(store).__module__} served a tampered object")
        await reader.delete(key)
        for store, missing in ((before, old.ObjectMissing), (after, new.ObjectMissing)):
            try:
                await store.get(key, sha256=stored.sha256)
            except missing:
                pass
            else:
                raise AssertionError(f"{type(store).__module__} served a deleted object")
    await before.check()
    await after.check()


async def window(store: Any, content: bytes, n: int, s3proxy: int | None) -> tuple[float, float, float]:
    """CPU of this process and of S3Proxy, and wall time, per put + get (ms)."""
    keys = [f"bench/{uuid.uuid4().hex}.pdf" for _ in range(n)]
    s3_before = pid_seconds(s3proxy) if s3proxy else 0.0
    cpu, wall = time.process_time(), time.perf_counter()
    for key in keys:
        stored = await store.put(key, content, content_type="application/pdf")
        await store.get(key, sha256=stored.sha256)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    s3 = (pid_seconds(s3proxy) - s3_before) if s3proxy else 0.0
    return cpu * 1000 / n, s3 * 1000 / n, wall * 1000 / n


async def main(args: argparse.Namespace) -> None:
    settings = object_store_settings(f"bench-{uuid.uuid4().hex[:8]}/")
    before = old.ObjectStore.from_settings(old.ObjectStoreSettings(**settings))
    after = new.ObjectStore.from_settings(new.ObjectStoreSettings(**settings))
    content = b"%PDF-1.7\n" + os.urandom(args.size - 9)
    await same(before, after, content)
    s3proxy = pid_listening_on(int(os.environ["BACKOFFICE_S3_PORT"]))
    stores = {"aiobotocore (before)": before, "aiohttp + S3SigV4Auth (after)": after}
    for store in stores.values():
        await window(store, content, 10, s3proxy)  # warm: connections, first-use imports
    print(f"load average before: {load_average()}; {args.n} put + get of {args.size} bytes a window")
    figures: dict[str, list[tuple[float, float, float]]] = {name: [] for name in stores}
    for r in range(args.rounds):
        order = list(stores) if r % 2 == 0 else list(reversed(stores))
        for name in order:
            figures[name].append(await window(stores[name], content, args.n, s3proxy))
    print(f"load average after: {load_average()}")
    print(f"{'client':32} {'client CPU ms':>14} {'S3Proxy CPU ms':>15} {'wall ms':>9}   (median of {args.rounds})")
    for name, rows in figures.items():
        cpu, s3, wall = (statistics.median(column) for column in zip(*rows, strict=True))
        print(f"{name:32} {cpu:14.3f} {s3:15.3f} {wall:9.3f}")
    await before.close()
    await after.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--size", type=int, default=55_000)
    asyncio.run(main(parser.parse_args()))
