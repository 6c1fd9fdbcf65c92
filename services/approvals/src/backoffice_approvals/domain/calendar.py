"""Business hours: due times that count only working time."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class BusinessHours:
    timezone: str
    start: time
    end: time
    days: frozenset[int]  # ISO weekdays, 1 = Monday

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BusinessHours:
        return cls(
            timezone=str(data["timezone"]),
            start=time.fromisoformat(str(data["start"])),
            end=time.fromisoformat(str(data["end"])),
            days=frozenset(int(d) for d in data["days"]),
        )

    def add(self, moment: datetime, seconds: float) -> datetime:
        """``moment`` plus ``seconds`` of working time (wall-clock time of the calendar's zone)."""
        zone = ZoneInfo(self.timezone)
        local = moment.astimezone(zone).replace(tzinfo=None)
        remaining = timedelta(seconds=seconds)
        for _ in range(3700):  # ten years of days: a bound, never reached with a sane calendar
            day_start = datetime.combine(local.date(), self.start)
            day_end = datetime.combine(local.date(), self.end)
            if local.isoweekday() not in self.days or local >= day_end:
                local = datetime.combine(local.date() + timedelta(days=1), self.start)
                continue
            local = max(local, day_start)
            available = day_end - local
            if remaining <= available:
                return (local + remaining).replace(tzinfo=zone).astimezone(UTC)
            remaining -= available
            local = datetime.combine(local.date() + timedelta(days=1), self.start)
        raise ValueError("the business calendar has no working time")
