"""How many copies of each topic the services ask for, from the size of the cluster."""

from __future__ import annotations

import uuid

import pytest

from backoffice_common.kafka import Replication, TopicSpec, ensure_topics, replication_for, topic_replication


@pytest.mark.parametrize(
    ("brokers", "expected"),
    [(1, Replication(1, 1)), (2, Replication(2, 1)), (3, Replication(3, 2)), (6, Replication(3, 2))],
)
def test_three_brokers_or_more_get_three_replicas_two_of_them_in_sync(brokers: int, expected: Replication) -> None:
    assert replication_for(brokers) == expected


def test_settings_fix_the_replication_whatever_the_cluster_size() -> None:
    assert replication_for(1, factor=3) == Replication(3, 2)
    assert replication_for(5, factor=3, min_insync=3) == Replication(3, 3)
    assert replication_for(5, factor=2) == Replication(2, 1)


async def test_a_topic_created_on_the_single_test_broker_holds_what_one_broker_can(kafka_bootstrap: str) -> None:
    name = f"replication.{uuid.uuid4().hex[:8]}"
    compacted = f"{name}.compacted"
    await ensure_topics(
        kafka_bootstrap,
        [TopicSpec(name, 2, None), TopicSpec(compacted, 1, None, {"cleanup.policy": "compact"})],
        client_id="test-admin",
    )
    held = await topic_replication(kafka_bootstrap, [name, compacted], client_id="test-admin")
    assert held == {name: Replication(1, 1), compacted: Replication(1, 1)}
