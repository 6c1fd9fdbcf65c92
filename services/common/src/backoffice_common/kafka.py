"""Kafka client construction and topic provisioning."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

log = structlog.get_logger(__name__)


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    replication_factor: int
    configs: dict[str, str] = field(default_factory=dict)


def make_producer(
    bootstrap_servers: str,
    *,
    client_id: str,
    request_timeout_ms: int = 15000,
    options: Mapping[str, Any] | None = None,
) -> AIOKafkaProducer:
    """An idempotent producer: ``acks=all``, so a record is acknowledged once all in-sync replicas have it.

    ``options``: the security arguments of ``ServiceSettings.kafka_client_options`` (TLS, SASL).
    """
    return AIOKafkaProducer(
        **(options or {}),
        bootstrap_servers=bootstrap_servers,
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
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
        try:
            response = await admin.create_topics(
                [
                    NewTopic(
                        name=spec.name,
                        num_partitions=spec.partitions,
                        replication_factor=spec.replication_factor,
                        topic_configs=spec.configs,
                    )
                    for spec in missing
                ]
            )
        except TopicAlreadyExistsError:
            return []
        created = []
        for topic_error in getattr(response, "topic_errors", []):
            name, code = topic_error[0], topic_error[1]
            if code == 0:
                created.append(name)
            elif code != TopicAlreadyExistsError.errno:
                raise RuntimeError(f"creating topic {name} failed with Kafka error code {code}: {topic_error}")
        log.info("kafka.topics_created", topics=created)
        return created
    finally:
        await admin.close()
