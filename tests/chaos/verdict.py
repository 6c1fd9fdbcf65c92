"""What a chaos run left behind, read from the databases, the mail store and the topics.

Every order of the run closed; exactly one email of each kind per order and contact (the kinds are
what any order of the run was sent: all orders take the same path), each stored once by the SMTP
server (a copy re-sent with the same Message-ID, the window the delivery worker documents, is
counted but is no failure: mail clients show it once); exactly one contract per order, executed; no unsent outbox row in any service; nothing in
any dead-letter topic; every topic replicated three times with two in sync; every instance ready.
"""

from __future__ import annotations

import asyncio
import email.parser
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import TopicAuthorizationFailedError
from cluster import INSTANCES, ROOT, SERVICES, Cluster

from backoffice_common.kafka import Replication, topic_replication

sys.path.insert(0, str(ROOT / "deploy" / "kafka"))
from local_security import client_options


@dataclass
class Verdict:
    orders: int = 0
    closed: int = 0
    emails: int = 0
    emails_lost: int = 0
    emails_duplicated: int = 0
    resent_same_message_id: int = 0
    contracts_executed: int = 0
    contracts_duplicated: int = 0
    unsent_outbox: int = 0
    dlq_records: int = 0
    ready: int = 0
    topics: int = 0
    topics_replicated: int = 0
    kafka_security: str = "none"
    foreign_writes_refused: int = 0
    problems: list[str] = field(default_factory=list)

    def problem(self, text: str) -> None:
        if len(self.problems) < 200:
            self.problems.append(text)


async def _fetch(cluster: Cluster, database: str, query: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(cluster.dsn(database))
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


async def unsent_outbox(cluster: Cluster) -> int:
    counts = await asyncio.gather(
        *(_fetch(cluster, s, "SELECT count(*) AS n FROM outbox_message WHERE sent_at IS NULL") for s in SERVICES)
    )
    return sum(int(rows[0]["n"]) for rows in counts)


async def not_ready(cluster: Cluster) -> list[str]:
    """The instances whose /readyz is not 200, each with the checks that failed."""
    async with httpx.AsyncClient(timeout=20) as http:

        async def why(service: str, n: int) -> str | None:
            try:
                r = await http.get(f"{cluster.url(service, n)}/readyz")
            except httpx.HTTPError as exc:
                return f"{service}#{n}: {exc!r}"
            if r.status_code == 200:
                return None
            failed = {name: check for name, check in r.json().get("checks", {}).items() if not check.get("ok")}
            return f"{service}#{n}: {failed}"

        answers = await asyncio.gather(*(why(s, n) for s in SERVICES for n in range(1, INSTANCES + 1)))
    return [a for a in answers if a is not None]


async def _orders(cluster: Cluster, requesters: list[str]) -> list[asyncpg.Record]:
    return await _fetch(
        cluster,
        "requests",
        "SELECT id::text AS id, status, requester_id FROM purchase_request WHERE requester_id = ANY($1::text[])",
        requesters,
    )


async def _pending_deliveries(cluster: Cluster, ids: list[str]) -> int:
    rows = await _fetch(
        cluster,
        "notifications",
        "SELECT count(*) AS n FROM delivery WHERE request_id = ANY($1::text[]) AND status = 'pending'",
        ids,
    )
    return int(rows[0]["n"])


async def consumer_lag(cluster: Cluster) -> int:
    """Records the services' consumer groups have not handled yet, over every topic of the run.

    An event already published (no outbox row left) but not yet consumed is still in flight: a
    notification it will cause has no delivery row yet."""
    options = client_options(env=cluster.env)
    bootstrap = cluster.env["BACKOFFICE_KAFKA_BOOTSTRAP"]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="chaos-settle", **options)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, client_id="chaos-settle", **options)
    await admin.start()
    await consumer.start()
    try:
        lag = 0
        for service in SERVICES:
            committed = await admin.list_consumer_group_offsets(f"{cluster.topic_prefix}backoffice-{service}")
            partitions = [tp for tp in committed if not tp.topic.endswith(".dlq")]
            if not partitions:
                continue
            ends = await consumer.end_offsets(partitions)
            lag += sum(max(0, ends[tp] - committed[tp].offset) for tp in partitions)
        return lag
    finally:
        await consumer.stop()
        await admin.close()


async def settle(cluster: Cluster, requesters: list[str], *, timeout: float) -> float:
    """Waits until nothing is left in flight: outboxes empty, every event consumed, emails sent,
    every instance ready."""
    started = time.monotonic()
    while True:
        ids = [r["id"] for r in await _orders(cluster, requesters)]
        done = (
            await unsent_outbox(cluster) == 0
            and await consumer_lag(cluster) == 0
            and await _pending_deliveries(cluster, ids) == 0
            and not await not_ready(cluster)
        )
        if done or time.monotonic() - started > timeout:
            return time.monotonic() - started
        await asyncio.sleep(2)


async def judge(cluster: Cluster, *, requesters: list[str], expected_orders: int) -> Verdict:
    v = Verdict()
    orders = await _orders(cluster, requesters)
    ids = [r["id"] for r in orders]
    v.orders = len(orders)
    v.closed = sum(r["status"] == "closed" for r in orders)
    if v.orders != expected_orders:
        v.problem(f"{expected_orders} orders were started, {v.orders} exist")
    for r in orders:
        if r["status"] != "closed":
            v.problem(f"order {r['id']} is {r['status']}, not closed")
    # The people of an order are "<role>-<tag>" (backoffice_cli.client.Cast): an email's kind is its
    # template and the role of its recipient, the same for every order.
    tags = {r["id"]: r["requester_id"].split("-", 1)[1] for r in orders}
    await _judge_emails(cluster, tags, v)
    await _judge_contracts(cluster, ids, v)
    v.unsent_outbox = await unsent_outbox(cluster)
    if v.unsent_outbox:
        v.problem(f"{v.unsent_outbox} outbox rows were never published")
    await _judge_topics(cluster, v)
    await _judge_authorization(cluster, v)
    unready = await not_ready(cluster)
    v.ready = len(SERVICES) * INSTANCES - len(unready)
    for instance in unready:
        v.problem(f"not ready: {instance[:600]}")
    return v


async def _judge_emails(cluster: Cluster, tags: dict[str, str], v: Verdict) -> None:
    ids = list(tags)
    rows = await _fetch(
        cluster,
        "notifications",
        "SELECT id, request_id, template, lower(recipient) AS recipient, status FROM delivery"
        " WHERE channel = 'email' AND request_id = ANY($1::text[])",
        ids,
    )
    per_order: dict[str, Counter[tuple[str, str]]] = defaultdict(Counter)
    for row in rows:
        role = row["recipient"].replace(tags[row["request_id"]].lower(), "*")
        per_order[row["request_id"]][(row["template"], role)] += 1
        if row["status"] != "sent":
            v.problem(f"email {row['template']} to {row['recipient']} for {row['request_id']} is {row['status']}")
    kinds = {kind for counts in per_order.values() for kind in counts}
    v.emails = len(rows)
    for order in ids:
        for kind in kinds:
            n = per_order[order][kind]
            if n == 0:
                v.emails_lost += 1
                v.problem(f"order {order} got no {kind[0]} email to {kind[1]}")
            elif n > 1:
                v.emails_duplicated += n - 1
                v.problem(f"order {order} got {n} {kind[0]} emails to {kind[1]}")
    stored = _stored_mail(cluster)
    for row in rows:
        copies = stored.get(row["id"], [])
        if not copies and row["status"] == "sent":
            v.emails_lost += 1
            v.problem(f"delivery {row['id']} ({row['template']}) is marked sent but the SMTP server has no copy")
        if len(copies) > 1 and len(set(copies)) == 1:
            # A worker killed between the SMTP server's acceptance and recording it sends that one
            # message again, with the same Message-ID: mail clients show it once. Counted, not failed.
            v.resent_same_message_id += len(copies) - 1
        elif len(copies) > 1:
            v.emails_duplicated += len(copies) - 1
            v.problem(
                f"delivery {row['id']} ({row['template']}) reached the SMTP server {len(copies)} times"
                f" with {len(set(copies))} different Message-IDs"
            )


def _stored_mail(cluster: Cluster) -> dict[str, list[str]]:
    """Delivery id -> the Message-IDs of what the SMTP server stored for it."""
    parser = email.parser.BytesHeaderParser()
    stored: dict[str, list[str]] = defaultdict(list)
    for path in cluster.mail_dir.glob("*.eml"):
        with path.open("rb") as f:
            headers = parser.parse(f)
        delivery = headers.get("X-Backoffice-Delivery")
        if delivery:
            stored[str(delivery)].append(str(headers.get("Message-ID")))
    return stored


async def _judge_contracts(cluster: Cluster, ids: list[str], v: Verdict) -> None:
    rows = await _fetch(
        cluster,
        "contracts",
        "SELECT request_id::text AS request_id, count(*) AS n, count(*) FILTER (WHERE status = 'executed') AS executed"
        " FROM contract WHERE request_id = ANY($1::uuid[]) GROUP BY request_id",
        ids,
    )
    by_order = {r["request_id"]: r for r in rows}
    for order in ids:
        row = by_order.get(order)
        if row is None or row["executed"] == 0:
            v.problem(f"order {order} has no executed contract")
            continue
        v.contracts_executed += 1
        if row["n"] > 1:
            v.contracts_duplicated += row["n"] - 1
            v.problem(f"order {order} has {row['n']} contracts")


async def _judge_topics(cluster: Cluster, v: Verdict) -> None:
    bootstrap = cluster.env["BACKOFFICE_KAFKA_BOOTSTRAP"]
    options = client_options(env=cluster.env)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="chaos-verdict", **options)
    await admin.start()
    try:
        names = sorted(t for t in await admin.list_topics() if t.startswith(cluster.topic_prefix))
        described = await admin.describe_topics([t for t in names if t.endswith(".dlq")])
    finally:
        await admin.close()
    replication = await topic_replication(bootstrap, names, client_id="chaos-verdict", options=options)
    v.topics = len(names)
    for name in names:
        if replication.get(name) == Replication(3, 2):
            v.topics_replicated += 1
        else:
            v.problem(f"topic {name} holds {replication.get(name)}, not 3 replicas with 2 in sync")
    partitions = [TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]]
    if not partitions:
        return
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, client_id="chaos-verdict", enable_auto_commit=False, **options
    )
    await consumer.start()
    try:
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
    finally:
        await consumer.stop()
    for tp in partitions:
        records = ends[tp] - starts[tp]
        if records:
            v.dlq_records += records
            v.problem(f"{records} records in {tp.topic}[{tp.partition}]")


async def _judge_authorization(cluster: Cluster, v: Verdict) -> None:
    """With the secured cluster, a service's identity may not write another service's topic."""
    v.kafka_security = cluster.env.get("BACKOFFICE_KAFKA_SECURITY", "none")
    if v.kafka_security != "scram":
        return
    producer = AIOKafkaProducer(
        bootstrap_servers=cluster.env["BACKOFFICE_KAFKA_BOOTSTRAP"],
        client_id="chaos-verdict-foreign-write",
        request_timeout_ms=10000,
        **client_options("backoffice-approvals-kafka", env=cluster.env),
    )
    await producer.start()
    try:
        await producer.send_and_wait(cluster.topic("backoffice.requests"), b"{}", key=b"forged")
        v.problem("approvals' Kafka identity wrote to the requests topic")
    except TopicAuthorizationFailedError:
        v.foreign_writes_refused += 1
    finally:
        await producer.stop()
