"""Records on the real broker are structured-mode CloudEvents that the official Python SDK reads whole."""

from __future__ import annotations

import json
from datetime import datetime

from cloudevents.core.bindings.kafka import KafkaMessage, from_kafka_event, from_structured_event
from common_testkit import Harness, make_relay, read_topic, running, write_events

from backoffice_common.events import new_event


async def test_every_published_record_decodes_with_the_cloudevents_sdk_to_the_same_attributes(harness: Harness) -> None:
    h = harness
    cause = new_event(type="order.placed", service="shop", subject="req-1", data={"schema_version": 1})
    events = [
        new_event(
            type="thing.happened",
            service="test",
            subject=f"req-{n}",
            data={"schema_version": 1, "amount": "12.50", "currency": "EUR", "lines": [{"n": n}], "note": "Grüße"},
            cause=cause,
        )
        for n in range(3)
    ]
    await write_events(h, events)
    async with running(make_relay(h).run):
        records = await read_topic(h.bootstrap, h.topic, expected=3)
    assert len(records) == 3
    by_id = {e.id: e for e in events}
    for key, value, headers in records:
        assert headers == {"content-type": b"application/cloudevents+json"}
        message = KafkaMessage(headers=headers, key=key, value=value)
        # Auto-detection picks binary mode as soon as one ce_ header is present; it must pick structured.
        decoded = from_kafka_event(message)
        assert decoded.get_attributes() == from_structured_event(message).get_attributes()
        ours = by_id[decoded.get_id()]
        assert key == ours.subject.encode()
        assert decoded.get_specversion() == "1.0"
        assert decoded.get_source() == "backoffice/test"
        assert decoded.get_type() == ours.type
        assert decoded.get_subject() == ours.subject
        time = decoded.get_time()
        assert isinstance(time, datetime)
        assert time == ours.time
        assert decoded.get_datacontenttype() == "application/json"
        assert decoded.get_data() == ours.data
        assert decoded.get_data() == json.loads(value)["data"]
        assert decoded.get_extension("correlationid") == cause.correlationid == ours.correlationid
        assert decoded.get_extension("causationid") == cause.id
        # The SDK turns the record key into the partitionkey extension: it is the subject.
        assert decoded.get_extension("partitionkey") == ours.subject
