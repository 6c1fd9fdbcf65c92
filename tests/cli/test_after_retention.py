"""tools/after_retention.py re-links a grown audit log so that `archive-audit` (which verifies what it moves) accepts it."""

from __future__ import annotations

import importlib.util
import json
import uuid
from pathlib import Path
from types import ModuleType

import asyncpg
import pytest

import backoffice_budgets
from backoffice_common.audit import GENESIS, hash_of, verify_chain
from backoffice_common.testing import private_database

MIGRATIONS = Path(backoffice_budgets.__file__).parent / "migrations"
TOOL = Path(__file__).resolve().parents[2] / "tools" / "after_retention.py"


def after_retention() -> ModuleType:
    spec = importlib.util.spec_from_file_location("after_retention", TOOL)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def chain(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT seq, request_id, content, prev_hash, hash FROM audit_entry ORDER BY seq")


async def test_a_grown_audit_log_is_relinked_into_a_chain_that_verifies() -> None:
    async with private_database(MIGRATIONS) as url:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
        try:
            prev = GENESIS
            template = []
            for seq in range(1, 4):  # three real entries, a valid chain
                request_id = str(uuid.uuid4())
                content = json.dumps({"type": "budget.checked", "request_id": request_id, "n": seq})
                digest = hash_of(seq, prev, content)
                template.append((seq, request_id, content, prev, digest))
                prev = digest
            # ... and two copies as `grow` makes them: seq shifted by a stride, new request ids, same hashes.
            copies = [
                (seq + k * 1_000_000_000, str(uuid.uuid4()), content, p, h)
                for k in (1, 2)
                for seq, _, content, p, h in template
            ]
            await conn.executemany(
                "INSERT INTO audit_entry (seq, recorded_at, request_id, content, prev_hash, hash)"
                " VALUES ($1, now(), $2, $3, $4, $5)",
                template + copies,
            )
            assert verify_chain(await chain(conn)) is not None

            assert await after_retention().relink_audit(conn) == 9

            rows = await chain(conn)
            assert [r["seq"] for r in rows] == list(range(1, 10))
            assert verify_chain(rows) is None
            assert [r["request_id"] for r in rows] == [t[1] for t in template + copies]
            # The append-only trigger is on again.
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute("DELETE FROM audit_entry WHERE seq = 1")
        finally:
            await conn.close()
