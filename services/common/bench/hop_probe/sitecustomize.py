"""Temporary instrumentation of the hop path, for ``services/common/bench/hop_breakdown.py`` (not a test).

Loaded only when this folder is on ``PYTHONPATH`` *and* ``HOP_PROBE_DIR`` is set (Python imports a
``sitecustomize`` module at start-up); nothing of it is in the services' code. Each process appends
one JSON line per step of an event to ``$HOP_PROBE_DIR/<pid>.jsonl``, with ``time.time()`` (the
same clock as the events' own ``time``):

- ``ev``: an event written to the outbox (id, type, causationid, its ``time``) when its unit of work
  flushes; ``commit``: the commit of the session that wrote it returned;
- ``notify``: the relay's LISTEN/NOTIFY callback ran; ``fetched``: the relay's pass read the row;
- ``send``: ``producer.send`` called (or the relay's ``_send_batch``, for each row of the batch);
  ``queued``: ``send`` returned (the record is in the accumulator); ``ack``: the broker's
  acknowledgement resolved the delivery future (of the batch);
- ``got``: ``getmany`` returned the record (with the record's create time, ms); ``handle``: the
  consumer's unit of work for it began; ``handled``: it committed;
- ``wakeup``: a ``Wakeup`` (a background job's LISTEN) was notified, with its channel.

    HOP_PROBE_DIR=/tmp/hops PYTHONPATH=services/common/bench/hop_probe make run
"""

from __future__ import annotations

import os

if os.environ.get("HOP_PROBE_DIR"):
    import json
    import time
    from typing import Any

    _dir = os.environ["HOP_PROBE_DIR"]
    os.makedirs(_dir, exist_ok=True)
    _out: Any = None

    def _log(kind: str, **fields: Any) -> None:
        global _out
        if _out is None:
            _out = open(os.path.join(_dir, f"{os.getpid()}.jsonl"), "a", buffering=1)  # noqa: SIM115
        fields["t"] = time.time()
        fields["k"] = kind
        _out.write(json.dumps(fields) + "\n")

    def _event_id(value: Any) -> str | None:
        try:
            return str(json.loads(bytes(value))["id"])
        except Exception:
            return None

    def _install() -> None:
        from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
        from sqlalchemy.ext.asyncio import AsyncSession

        from backoffice_common import consumer as consumer_mod
        from backoffice_common import outbox, uow, wakeup

        service = os.environ.get("HOP_PROBE_SERVICE") or next(
            (k.split("_", 1)[0].lower() for k in os.environ if k.endswith("_DATABASE_URL")), "?"
        )

        flush = uow.UnitOfWork.flush_events

        async def flush_events(self: uow.UnitOfWork) -> None:
            pending = list(self._pending)
            await flush(self)
            if pending and self._session is not None:
                ids = self._session.info.setdefault("hop_probe", [])
                for _, _, event in pending:
                    ids.append(event.id)
                    _log(
                        "ev",
                        svc=service,
                        id=event.id,
                        type=event.type,
                        cause=event.causationid,
                        subject=event.subject,
                        time=event.time.timestamp(),
                    )

        uow.UnitOfWork.flush_events = flush_events  # type: ignore[method-assign]

        session_commit = AsyncSession.commit

        async def commit(self: AsyncSession) -> None:
            await session_commit(self)
            ids = self.info.pop("hop_probe", None)
            if ids:
                _log("commit", svc=service, ids=ids)

        AsyncSession.commit = commit  # type: ignore[method-assign]

        on_notify = outbox.OutboxRelay._on_notify

        def relay_notify(self: outbox.OutboxRelay, *args: Any) -> None:
            _log("notify", svc=service)
            on_notify(self, *args)

        outbox.OutboxRelay._on_notify = relay_notify  # type: ignore[method-assign]

        run_pass = outbox.OutboxRelay._run_pass

        async def _run_pass(self: outbox.OutboxRelay, conn: Any, ids: list[int], pass_: Any) -> Any:
            result = await run_pass(self, conn, ids, pass_)
            for row in result.rows:
                _log("fetched", svc=service, id=_event_id(row["value"]))
            return result

        outbox.OutboxRelay._run_pass = _run_pass  # type: ignore[method-assign]

        send = AIOKafkaProducer.send

        async def producer_send(self: AIOKafkaProducer, topic: str, value: Any = None, *a: Any, **kw: Any) -> Any:
            event_id = _event_id(value)
            _log("send", svc=service, id=event_id)
            future = await send(self, topic, value, *a, **kw)
            _log("queued", svc=service, id=event_id)
            future.add_done_callback(lambda _: _log("ack", svc=service, id=event_id))
            return future

        AIOKafkaProducer.send = producer_send  # type: ignore[method-assign]

        send_batch = outbox.OutboxRelay._send_batch

        async def relay_send_batch(self: outbox.OutboxRelay, producer: Any, rows: list[Any]) -> Any:
            ids = [_event_id(row["value"]) for row in rows]
            for event_id in ids:
                _log("send", svc=service, id=event_id, batch=True)
            sent, error = await send_batch(self, producer, rows)
            for event_id in ids[: len(sent)]:
                _log("ack", svc=service, id=event_id, batch=True)
            return sent, error

        outbox.OutboxRelay._send_batch = relay_send_batch  # type: ignore[method-assign]

        getmany = AIOKafkaConsumer.getmany

        async def consumer_getmany(self: AIOKafkaConsumer, *partitions: Any, **kw: Any) -> Any:
            batches = await getmany(self, *partitions, **kw)
            for records in batches.values():
                for record in records:
                    _log("got", svc=service, id=_event_id(record.value), ts=record.timestamp / 1000)
            return batches

        AIOKafkaConsumer.getmany = consumer_getmany  # type: ignore[method-assign]

        handle_once = consumer_mod.EventConsumer._handle_once

        async def _handle_once(self: consumer_mod.EventConsumer, event: Any, handler: Any) -> str:
            _log("handle", svc=service, id=event.id)
            try:
                return await handle_once(self, event, handler)
            finally:
                _log("handled", svc=service, id=event.id)

        consumer_mod.EventConsumer._handle_once = _handle_once  # type: ignore[method-assign]

        wake_notify = wakeup.Wakeup._on_notify

        def wakeup_notify(self: wakeup.Wakeup, *args: Any) -> None:
            _log("wakeup", svc=service, channel=self._channel)
            wake_notify(self, *args)

        wakeup.Wakeup._on_notify = wakeup_notify  # type: ignore[method-assign]

    import contextlib

    with contextlib.suppress(ImportError):  # a Python of this environment without the services (a tool, pip)
        _install()
