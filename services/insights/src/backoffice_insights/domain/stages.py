"""Stage durations of one request, from its milestones (event times, never arrival times).

Stages are disjoint, so their shares of the waiting time add up: ``rework`` is the time the
requester held the request after a request for changes, and ``approval`` is the rest of the
time from the first submission to the approval.
"""

from __future__ import annotations

from datetime import datetime

from backoffice_insights.domain.view import CYCLE, RequestView, Stage


def _stage(name: str, start: datetime | None, end: datetime | None, seconds: float | None = None) -> Stage | None:
    if start is None or end is None:
        return None
    length = (end - start).total_seconds() if seconds is None else seconds
    return Stage(name, start, end, max(0.0, length))


def stages_of(view: RequestView, rework: list[tuple[datetime, datetime | None]]) -> list[Stage]:
    done = [(start, end) for start, end in rework if end is not None]
    if view.approved_at is not None:
        done = [(start, end) for start, end in done if end <= view.approved_at]
    rework_seconds = sum((end - start).total_seconds() for start, end in done)
    approval_seconds = None
    if view.first_submitted_at is not None and view.approved_at is not None:
        approval_seconds = (view.approved_at - view.first_submitted_at).total_seconds() - rework_seconds
    candidates = [
        _stage("approval", view.first_submitted_at, view.approved_at, approval_seconds),
        _stage("rework", done[0][0], done[-1][1], rework_seconds) if done else None,
        _stage("vendor_answer", view.approved_at, view.accepted_at),
        _stage("contracting", view.accepted_at, view.executed_at),
        _stage("delivery", view.executed_at, view.received_at),
        _stage("closing", view.received_at, view.closed_at),
        _stage(CYCLE, view.first_submitted_at, view.closed_at),
    ]
    return [stage for stage in candidates if stage is not None]
