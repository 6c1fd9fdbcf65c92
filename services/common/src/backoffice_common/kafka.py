"""Kafka client construction and topic provisioning.

Durability of a topic follows the cluster it lives in: with three or more brokers every topic and
DLQ gets three replicas and ``min.insync.replicas=2``, so with the producers' ``acks=all`` a record
is acknowledged only once two brokers have it, and losing one broker for good loses nothing and
stops nothing. A smaller (development) cluster gets what it can hold. Settings may fix both numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError

log = structlog.get_logger(__name__)


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


@dataclass(frozen=True)
class TopicSpec:
    """A topic to create; ``replication_factor=None``: derived from the cluster (``replication_for``)."""

    name: str
    partitions: int
    replication_factor: int | None
    configs: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Replication:
    factor: int
    min_insync: int


def replication_for(brokers: int, *, factor: int | None = None, min_insync: int | None = None) -> Replication:
    """Three replicas with two in sync from three brokers up; below that, what the cluster can hold."""
    chosen = factor if factor is not None else max(1, min(3, brokers))
    return Replication(chosen, min_insync if min_insync is not None else (2 if chosen >= 3 else 1))


def make_producer(
    bootstrap_servers: str,
    *,
    client_id: str,
    request_timeout_ms: int = 15000,
    options: Mapping[str, Any] | None = None,
) -> AIOKafkaProducer:
    """An idempotent producer: ``acks=all``, so a record is acknowledged once all in-sync replicas have it.

    No linger (``linger_ms=0``; it was 5): a record goes out as soon as the sender runs, and what is
    sent while a produce request is in flight still travels together in the next one (one request
    in flight per broker), so batching needs no waiting; a linger only added its time to every hop
    (docs/performance.md, sixth round).

    ``options``: the security arguments of ``ServiceSettings.kafka_client_options`` (TLS, SASL).
    """
    return AIOKafkaProducer(
        **(options or {}),
        bootstrap_servers=bootstrap_servers,
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        linger_ms=0,
        request_timeout_ms=request_timeout_ms,
        retry_backoff_ms=200,
    )


async def ensure_topics(
    bootstrap_servers: str, specs: list[TopicSpec], *, client_id: str, options: Mapping[str, Any] | None = None
) -> list[str]:
    """Create the topics that are missing; returns the names created. Existing topics are left alone."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id=client_id, **(options or {}))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [spec for spec in specs if spec.name not in existing]
        if not missing:
            return []
        brokers = len((await admin.describe_cluster())["brokers"])
        new_topics = []
        for spec in missing:
            replication = replication_for(
                brokers,
                factor=spec.replication_factor,
                min_insync=int(spec.configs["min.insync.replicas"]) if "min.insync.replicas" in spec.configs else None,
            )
            new_topics.append(
                NewTopic(
                    name=spec.name,
                    num_partitions=spec.partitions,
                    replication_factor=replication.factor,
                    topic_configs={"min.insync.replicas": str(replication.min_insync), **spec.configs},
                )
            )
        try:
            response = await admin.create_topics(new_topics)
        except TopicAlreadyExistsError:
            return []
        created = []
        for topic_error in getattr(response, "topic_errors", []):
            name, code = topic_error[0], topic_error[1]
            if code == 0:
                created.append(name)
            elif code != TopicAlreadyExistsError.errno:
                raise RuntimeError(f"creating topic {name} failed with Kafka error code {code}: {topic_error}")
        log.info("kafka.topics_created", topics=created, brokers=brokers)
        return created
    finally:
        await admin.close()


async def topic_replication(
    bootstrap_servers: str, names: list[str], *, client_id: str, options: Mapping[str, Any] | None = None
) -> dict[str, Replication]:
    """What the cluster holds for existing topics: the smallest replica count of their partitions and
    their ``min.insync.replicas`` (for checks and operators; provisioning never changes a topic)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id=client_id, **(options or {}))
    await admin.start()
    try:
        described = await admin.describe_topics(names)
        factors = {t["topic"]: min(len(p["replicas"]) for p in t["partitions"]) for t in described if t["partitions"]}
        responses = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name, {"min.insync.replicas": None}) for name in factors]
        )
        insync: dict[str, int] = {}
        for response in responses:
            for resource in response.to_object()["resources"]:
                for entry in resource["config_entries"]:
                    insync[resource["resource_name"]] = int(entry["config_value"])
        return {name: Replication(factor, insync.get(name, 1)) for name, factor in factors.items()}
    finally:
        await admin.close()
