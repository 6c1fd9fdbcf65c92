"""End-to-end smoke check of the local infrastructure started by deploy/infra.sh.

    source deploy/env.sh && .venv/bin/python deploy/smoke.py [--only pg,kafka,smtp] [--keep-topic NAME]

PostgreSQL: connects to every database with asyncpg. Kafka: creates a topic, produces and
consumes one message, deletes the topic (unless --keep-topic). SMTP: sends a mail with text,
html and an attachment via smtplib and reads it back from the mailbox HTTP API.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import smtplib
import sys
import time
import urllib.request
import uuid
from email.message import EmailMessage

E = os.environ


async def check_pg() -> None:
    import asyncpg

    for db in ("requests", "approvals", "notifications", "contracts", "common_test"):
        conn = await asyncpg.connect(f"{E['BACKOFFICE_PG_DSN_BASE']}/{db}", timeout=10)
        try:
            v = await conn.fetchval("select current_database() || ' ' || version()")
            mc = await conn.fetchval("show max_connections")
        finally:
            await conn.close()
        print(f"pg ok: {v[:60]}... max_connections={mc}")


async def check_kafka(topic: str | None) -> None:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    bs = E["BACKOFFICE_KAFKA_BOOTSTRAP"]
    name = topic or f"smoke-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bs)
    await admin.start()
    try:
        if name not in await admin.list_topics():
            await admin.create_topics([NewTopic(name, num_partitions=3, replication_factor=1 if "," not in bs else 3)])
        payload = f"hello {time.time()}".encode()
        prod = AIOKafkaProducer(bootstrap_servers=bs, acks="all", enable_idempotence=True)
        await prod.start()
        try:
            md = await prod.send_and_wait(name, payload, key=b"k")
        finally:
            await prod.stop()
        cons = AIOKafkaConsumer(
            bootstrap_servers=bs,
            group_id=f"smoke-{uuid.uuid4().hex[:6]}",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await cons.start()
        try:
            cons.subscribe([name])
            got = None
            deadline = time.monotonic() + 30
            while got is None and time.monotonic() < deadline:
                batch = await cons.getmany(timeout_ms=1000)
                for recs in batch.values():
                    for r in recs:
                        if r.value == payload:
                            got = r
            assert got is not None, "message not consumed"
            await cons.commit()
        finally:
            await cons.stop()
        print(f"kafka ok: topic {name} p{md.partition}@{md.offset} round-trip")
        if topic is None:
            await admin.delete_topics([name])
            print(f"kafka ok: topic {name} deleted")
    finally:
        await admin.close()


def check_smtp() -> None:
    api = E["BACKOFFICE_MAILBOX_URL"]
    tag = uuid.uuid4().hex[:8]
    msg = EmailMessage()
    msg["From"] = "Back Office <noreply@backoffice.local>"
    msg["To"] = "Ann Approver <ann@example.test>"
    msg["Subject"] = f"Smoke test {tag} – ünïcode"
    msg.set_content("Plain body ✓")
    msg.add_alternative("<p>HTML body ✓</p>", subtype="html")
    msg.add_attachment(b"%PDF-1.4 fake", maintype="application", subtype="pdf", filename="contract.pdf")
    with smtplib.SMTP("127.0.0.1", int(E["BACKOFFICE_SMTP_PORT"]), timeout=10) as s:
        s.send_message(msg, to_addrs=["ann@example.test", "bcc@example.test"])
    with urllib.request.urlopen(f"{api}/messages?to=ann@example.test&subject_contains={tag}", timeout=10) as r:
        msgs = json.load(r)
    assert len(msgs) == 1, msgs
    m = msgs[0]
    assert m["text"].strip() == "Plain body ✓", m["text"]
    assert "HTML body" in m["html"], m["html"]
    assert m["attachments"] == [{"filename": "contract.pdf", "content_type": "application/pdf", "size": 13}], m[
        "attachments"
    ]
    assert sorted(m["rcpt_tos"]) == ["ann@example.test", "bcc@example.test"], m["rcpt_tos"]
    with urllib.request.urlopen(f"{api}/messages?to=bcc@example.test&subject_contains={tag}", timeout=10) as r:
        assert len(json.load(r)) == 1
    with urllib.request.urlopen(f"{api}/messages/{m['id']}.eml", timeout=10) as r:
        raw = r.read()
    assert b"contract.pdf" in raw
    print(f"smtp ok: {m['id']} subject={m['subject']!r} to={m['to']!r}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="pg,kafka,smtp")
    ap.add_argument("--keep-topic", default=None)
    a = ap.parse_args()
    only = set(a.only.split(","))
    if "pg" in only:
        asyncio.run(check_pg())
    if "kafka" in only:
        asyncio.run(check_kafka(a.keep_topic))
    if "smtp" in only:
        check_smtp()
    return 0


if __name__ == "__main__":
    sys.exit(main())
