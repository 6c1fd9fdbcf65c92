"""Delegation: who works an absent approver's task."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

from backoffice_approvals.domain.people import Absence, Directory, Person


def resolve_delegate(
    approver: Person,
    *,
    directory: Directory,
    absences: Iterable[Absence],
    at: datetime,
    excluded: Collection[str],
) -> tuple[Person, Person | None]:
    """Who works a task of ``approver`` at ``at``: (assignee, on behalf of whom or None).

    An absent approver's delegate takes it; an absent delegate's own delegate after them, without
    loops; with nobody left it goes to the approver's manager (followed the same way).
    """
    active: dict[str, str] = {}
    for absence in absences:
        if absence.covers(at):
            active.setdefault(absence.user_id, absence.delegate_id)
    if approver.id not in active:
        return approver, None
    visited: set[str] = {approver.id}
    candidates = [active[approver.id]]
    manager = directory.manager_of(approver.id)
    while candidates:
        current = candidates.pop(0)
        if current in visited or current in excluded:
            continue
        visited.add(current)
        if current in active:
            candidates.insert(0, active[current])
            continue
        person = directory.get(current)
        return (person.person if person else Person(current, current, "")), approver
    while manager is not None and manager.id not in visited:
        visited.add(manager.id)
        if manager.id not in excluded:
            delegate, _ = resolve_delegate(
                manager.person, directory=directory, absences=absences, at=at, excluded={*excluded, approver.id}
            )
            return delegate, approver
        manager = directory.get(manager.manager_id)
    return approver, None
