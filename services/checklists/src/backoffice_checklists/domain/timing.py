"""When a day-based due date turns into an overdue item: midnight after the day, in the company's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from backoffice_checklists.domain.checklists import Checklist, Item

DUE = "due"
ACCESS = "access"
REMIND = "remind"


def end_of(day: date, zone: str) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def ref_of(checklist_id: str, key: str) -> str:
    return f"{checklist_id}/{key}"


def split_ref(ref: str) -> tuple[str, str]:
    checklist_id, _, key = ref.partition("/")
    return checklist_id, key


def timers_of(
    checklist: Checklist, items: list[Item], zone: str, now: datetime | None = None
) -> list[tuple[str, str, datetime]]:
    """(kind, ref, fire_at) for ``items``: each undone item's due date, and each access item's last day;
    with ``now``, also a reminder at the start of each due day still ahead (none for a day begun).

    An access item due on the last day itself gets only the escalation: one red report, not two.
    """
    timers = []
    last_day = checklist.employee.last_day
    for item in items:
        if item.status == "done":
            continue
        ref = ref_of(checklist.id, item.key)
        escalates = item.access_revocation and last_day is not None
        if not (escalates and item.due_on == last_day):
            timers.append((DUE, ref, end_of(item.due_on, zone)))
        if escalates and last_day is not None:
            timers.append((ACCESS, ref, end_of(last_day, zone)))
        remind_at = end_of(item.due_on - timedelta(days=1), zone)
        if now is not None and remind_at > now:
            timers.append((REMIND, ref, remind_at))
    return timers
