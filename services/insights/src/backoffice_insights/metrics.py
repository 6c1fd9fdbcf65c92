"""Business metrics on /metrics, read from the read model (not counted while folding).

Counting while folding would count a replay twice and differ between replicas; a scrape of
``/metrics`` instead reads the figures from the database when the last reading is older than
``metrics_refresh_seconds`` (``backoffice_insights.jobs.MetricsReading``) and this collector
exposes the latest reading. Every replica exposes the same values, so dashboards take ``max``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import REGISTRY, Collector

STAGE_BUCKETS = (60.0, 300.0, 900.0, 3600.0, 4 * 3600.0, 86400.0, 3 * 86400.0, 7 * 86400.0, 14 * 86400.0, 30 * 86400.0)
TASK_AGE_BUCKETS = (
    ("lt_1h", 0, 3600),
    ("1h_1d", 3600, 86400),
    ("1d_3d", 86400, 3 * 86400),
    ("3d_7d", 3 * 86400, 7 * 86400),
    ("ge_7d", 7 * 86400, None),
)


@dataclass
class Reading:
    stages: dict[str, tuple[list[int], float, int]] = field(default_factory=dict)
    """stage -> (cumulative counts per bucket of STAGE_BUCKETS, sum of seconds, count)."""
    open_tasks: dict[str, int] = field(default_factory=dict)
    open_requests: dict[str, int] = field(default_factory=dict)
    spend: dict[tuple[str, str, str], float] = field(default_factory=dict)
    """(kind, department, currency) -> amount."""
    fold_queue: dict[str, int] = field(default_factory=dict)
    """state (pending|failed) -> requests in the fold queue."""


class InsightsCollector(Collector):
    def __init__(self) -> None:
        self.reading: Reading | None = None

    def collect(self) -> Iterator[Metric]:
        reading = self.reading
        if reading is None:
            return
        stages = HistogramMetricFamily(
            "backoffice_insights_stage_duration_seconds", "Duration of completed order stages", labels=["stage"]
        )
        for stage, (cumulative, total, count) in sorted(reading.stages.items()):
            buckets = [(_le(b), float(c)) for b, c in zip(STAGE_BUCKETS, cumulative, strict=True)]
            stages.add_metric([stage], [*buckets, ("+Inf", float(count))], total)
        yield stages
        tasks = GaugeMetricFamily("backoffice_insights_open_tasks", "Open approval tasks by age", labels=["age"])
        for age, _, _ in TASK_AGE_BUCKETS:
            tasks.add_metric([age], reading.open_tasks.get(age, 0))
        yield tasks
        waiting = GaugeMetricFamily(
            "backoffice_insights_open_requests", "Open requests by whom they wait on", labels=["waiting_on"]
        )
        for kind, count in sorted(reading.open_requests.items()):
            waiting.add_metric([kind], count)
        yield waiting
        spend = CounterMetricFamily(
            "backoffice_insights_spend", "Committed and received amounts", labels=["kind", "department", "currency"]
        )
        for (kind, department, currency), amount in sorted(reading.spend.items()):
            spend.add_metric([kind, department, currency], amount)
        yield spend
        queue = GaugeMetricFamily(
            "backoffice_insights_fold_queue",
            "Requests with facts not folded yet (failed: last fold failed)",
            labels=["state"],
        )
        for state in ("pending", "failed"):
            queue.add_metric([state], reading.fold_queue.get(state, 0))
        yield queue


def _le(bound: float) -> str:
    return f"{bound:g}"


COLLECTOR = InsightsCollector()
REGISTRY.register(COLLECTOR)
