"""Prometheus metrics shared by the infrastructure (process-wide, labelled by service)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter(
    "backoffice_http_requests_total", "HTTP requests handled", ["service", "method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "backoffice_http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
OUTBOX_PUBLISHED = Counter("backoffice_outbox_published_total", "Outbox rows published to Kafka", ["service"])
OUTBOX_PENDING = Gauge("backoffice_outbox_pending", "Unsent outbox rows", ["service"])
OUTBOX_OLDEST_AGE = Gauge(
    "backoffice_outbox_oldest_unsent_age_seconds", "How long the oldest unsent outbox row has waited", ["service"]
)
OUTBOX_LEADER = Gauge("backoffice_outbox_relay_leader", "1 while this process holds the relay lock", ["service"])
EVENTS_CONSUMED = Counter(
    "backoffice_events_consumed_total", "Events handled by consumers", ["service", "type", "outcome"]
)
EVENTS_DEAD_LETTERED = Counter(
    "backoffice_events_dead_lettered_total", "Records sent to a dead-letter topic", ["service", "topic"]
)
CONSUMER_LAG = Gauge("backoffice_consumer_lag", "Records behind the end of the assigned partitions", ["service"])
