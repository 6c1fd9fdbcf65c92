"""The relay's pass in one statement: marking, the next page and the backlog, as the three statements did."""

from __future__ import annotations

import asyncpg
from common_testkit import Harness, make_relay, write_events

from backoffice_common.events import CloudEvent, new_event
from backoffice_common.outbox import BACKLOG_SQL, FETCH_SQL, MARK_SQL, RELAY_STATEMENT, _Pass


def _event(key: str | None, seq: int) -> CloudEvent:
    return new_event(type="thing.happened", service="test", subject=key, data={"seq": seq})


async def _unsent(conn: asyncpg.Connection) -> list[int]:
    return [r["id"] for r in await conn.fetch("SELECT id FROM outbox_message WHERE sent_at IS NULL ORDER BY id")]


async def test_one_pass_marks_fetches_and_reads_the_backlog_as_the_separate_statements_would(harness: Harness) -> None:
    h = harness
    events = [_event(key, seq) for seq, key in enumerate(["a", "b", "a", "c", None, "b", None, "c"], start=1)]
    await write_events(h, events)
    relay = make_relay(h)
    conn = await asyncpg.connect(h.dsn)
    try:
        ids = await _unsent(conn)
        assert len(ids) == 8
        acked, keyless_in_flight = ids[:2], ids[6]  # rows 1 (a) and 2 (b) acknowledged; row 7 (no key) in flight
        skip_keys = ["c"]

        # What the three statements give, in a transaction rolled back afterwards.
        tr = conn.transaction()
        await tr.start()
        await conn.execute(MARK_SQL, acked)
        expected_rows = [tuple(r) for r in await conn.fetch(FETCH_SQL, 3, skip_keys, [keyless_in_flight])]
        expected_backlog = await conn.fetchrow(BACKLOG_SQL)
        await tr.rollback()
        assert await _unsent(conn) == ids

        result = await relay._run_pass(
            conn, acked, _Pass(room=3, skip_keys=skip_keys, skip_ids=[keyless_in_flight], backlog=True)
        )
        assert [tuple(r[:5]) for r in result.rows] == expected_rows
        assert [r["id"] for r in result.rows] == [ids[2], ids[4], ids[5]]  # a, the first keyless row, b; not c
        assert expected_backlog is not None
        assert result.backlog is not None
        assert result.backlog.unsent == expected_backlog["unsent"] == 6
        assert await _unsent(conn) == ids[2:]  # the acknowledged rows are marked, in the same statement

        # Nothing due but the backlog: the plain backlog statement; nothing at all: no statement.
        only_backlog = await relay._run_pass(conn, [], _Pass(room=0, skip_keys=[], skip_ids=[], backlog=True))
        assert only_backlog.rows == []
        assert only_backlog.backlog is not None
        assert only_backlog.backlog.unsent == 6
        # The combined statement without a backlog due returns no backlog row, and with no room no rows.
        marked_only = await conn.fetch(RELAY_STATEMENT, [ids[2]], 0, [], [], False)
        assert marked_only == []
        assert await _unsent(conn) == ids[3:]
    finally:
        await conn.close()
