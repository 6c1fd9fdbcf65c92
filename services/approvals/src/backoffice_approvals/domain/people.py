"""People the domain routes to: directory entries, persons on events, absences."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

LANGUAGE_PATTERN = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,4}$"
"""A BCP 47 language tag, as simple as people use them: ``de``, ``en``, ``en-GB``, ``pt-BR``."""

DEFAULT_LANGUAGE = "en"
"""The language of a directory entry stored before languages existed (the migration's default)."""


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    email: str
    language: str | None = None
    """The person's language (BCP 47, from the directory): notifications emails them in it. None for
    someone the directory does not list; events then leave the field out."""

    def as_dict(self) -> dict[str, str]:
        values = {"id": self.id, "name": self.name, "email": self.email}
        if self.language:
            values["language"] = self.language
        return values

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Person:
        language = data.get("language")
        return cls(
            id=str(data["id"]),
            name=str(data.get("name", "")),
            email=str(data.get("email", "")),
            language=str(language) if language else None,
        )


@dataclass(frozen=True)
class Approver:
    id: str
    name: str
    email: str
    manager_id: str | None = None
    department: str | None = None
    head_of: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    limit_amount: Decimal | None = None
    limit_currency: str | None = None
    active: bool = True
    language: str = DEFAULT_LANGUAGE

    @property
    def person(self) -> Person:
        return Person(self.id, self.name, self.email, self.language)

    @classmethod
    def of(cls, source: Any, *, default_language: str = DEFAULT_LANGUAGE) -> Approver:
        """From anything with the attributes of an approver (a stored row, an input model); an input
        without a language gets ``default_language`` (the service's setting)."""
        return cls(
            id=source.id,
            name=source.name,
            email=source.email,
            manager_id=source.manager_id,
            department=source.department,
            head_of=frozenset(source.head_of or ()),
            groups=frozenset(source.groups or ()),
            limit_amount=Decimal(source.limit_amount) if source.limit_amount is not None else None,
            limit_currency=source.limit_currency,
            active=source.active,
            language=getattr(source, "language", None) or default_language,
        )

    def as_values(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "email": self.email,
            "manager_id": self.manager_id,
            "department": self.department,
            "head_of": sorted(self.head_of),
            "groups": sorted(self.groups),
            "limit_amount": self.limit_amount,
            "limit_currency": self.limit_currency,
            "active": self.active,
            "language": self.language,
        }


@dataclass(frozen=True)
class Absence:
    user_id: str
    starts_at: datetime
    ends_at: datetime
    delegate_id: str
    id: str = ""
    cancelled_at: datetime | None = None

    def covers(self, moment: datetime) -> bool:
        return self.starts_at <= moment < self.ends_at


@dataclass(frozen=True)
class _Index:
    """What ``Directory`` otherwise finds by scanning every approver: built once for a directory that is read
    many times (the one ``DirectoryRepository.load`` keeps)."""

    heads: dict[str, Approver]
    members: dict[str, list[Approver]]
    groups: frozenset[str]

    @classmethod
    def of(cls, approvers: Iterable[Approver]) -> _Index:
        heads: dict[str, Approver] = {}
        members: dict[str, list[Approver]] = {}
        groups: set[str] = set()
        for approver in approvers:
            groups.update(approver.groups)
            if not approver.active:
                continue
            for department in approver.head_of:
                heads.setdefault(department, approver)  # the first, as the scan finds it
            for group in approver.groups:
                members.setdefault(group, []).append(approver)
        for listed in members.values():
            listed.sort(key=lambda a: a.id)
        return cls(heads, members, frozenset(groups))


@dataclass
class Directory:
    approvers: dict[str, Approver] = field(default_factory=dict)
    index: _Index | None = field(default=None, repr=False, compare=False)
    """Set by ``indexed``: the directory is then read-only (heads, groups and members are not scanned again)."""

    @classmethod
    def of(cls, approvers: Iterable[Approver]) -> Directory:
        return cls({a.id: a for a in approvers})

    @classmethod
    def indexed(cls, approvers: Iterable[Approver]) -> Directory:
        """A directory to be read many times and never changed: shared by concurrent use cases."""
        by_id = {a.id: a for a in approvers}
        return cls(by_id, _Index.of(by_id.values()))

    def get(self, user_id: str | None) -> Approver | None:
        return self.approvers.get(user_id) if user_id else None

    def manager_of(self, user_id: str) -> Approver | None:
        me = self.get(user_id)
        return self.get(me.manager_id) if me else None

    def head_of(self, department: str) -> Approver | None:
        if self.index is not None:
            return self.index.heads.get(department)
        for approver in self.approvers.values():
            if department in approver.head_of and approver.active:
                return approver
        return None

    def members_of(self, group: str) -> list[Approver]:
        if self.index is not None:
            return list(self.index.members.get(group, ()))
        return sorted((a for a in self.approvers.values() if group in a.groups and a.active), key=lambda a: a.id)

    @property
    def groups(self) -> set[str]:
        if self.index is not None:
            return set(self.index.groups)
        return {g for a in self.approvers.values() for g in a.groups}


def directory_problems(directory: Directory) -> list[tuple[str, str]]:
    """Where the directory is inconsistent: (location, message) pairs, empty when it is sound."""
    problems: list[tuple[str, str]] = []
    heads: dict[str, str] = {}
    for approver in sorted(directory.approvers.values(), key=lambda a: a.id):
        where = f"approvers[{approver.id}]"
        if approver.manager_id == approver.id:
            problems.append((f"{where}.manager_id", "an approver cannot be their own manager"))
        elif approver.manager_id and approver.manager_id not in directory.approvers:
            problems.append((f"{where}.manager_id", f"unknown manager {approver.manager_id!r}"))
        if approver.limit_amount is not None and approver.limit_amount < 0:
            problems.append((f"{where}.limit_amount", "the approval limit cannot be negative"))
        for dept in sorted(approver.head_of):
            if dept in heads:
                problems.append((f"{where}.head_of", f"department {dept!r} already has the head {heads[dept]!r}"))
            heads[dept] = approver.id
    reported: set[str] = set()
    for start in sorted(directory.approvers):
        seen: list[str] = []
        current: str | None = start
        while current and current in directory.approvers and current not in seen:
            seen.append(current)
            current = directory.approvers[current].manager_id
        if current in seen and current is not None:
            cycle = seen[seen.index(current) :]
            key = ",".join(sorted(cycle))
            if key not in reported and len(cycle) > 1:
                reported.add(key)
                path = " -> ".join([*cycle, current])
                problems.append((f"approvers[{cycle[0]}].manager_id", f"cycle of managers: {path}"))
    return problems
