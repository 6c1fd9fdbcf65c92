"""Use cases against a fake unit of work: no database, no broker."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, cast

import pytest

from backoffice_checklists.domain.checklists import Checklist
from backoffice_checklists.domain.employees import Employee
from backoffice_checklists.domain.standard import standard_templates
from backoffice_checklists.domain.templates import Template
from backoffice_checklists.service import checklists as cases
from backoffice_checklists.service.uow import ChecklistsUnitOfWork
from backoffice_common.auth import User
from backoffice_common.errors import Forbidden, Invalid, NotFound


class FakeChecklists:
    def __init__(self) -> None:
        self.rows: dict[str, Checklist] = {}

    async def lock_employee(self, employee_id: str, kind: str) -> None:
        return None

    async def open_of(self, employee_id: str, kind: str, *, lock: bool = False) -> Checklist | None:
        found = [c for c in self.rows.values() if (c.employee.id, c.kind) == (employee_id, kind)]
        return next((c for c in found if c.status != "cancelled"), None)

    async def get(self, checklist_id: str, *, lock: bool = False) -> Checklist | None:
        return self.rows.get(checklist_id)

    async def add(self, checklist: Checklist) -> None:
        self.rows[checklist.id] = checklist

    async def save(self, checklist: Checklist) -> None:
        checklist.version += 1


class FakeTemplates:
    def __init__(self, templates: list[Template]) -> None:
        self.by_key = {t.key: t for t in templates}

    async def latest(self, key: str, *, lock: bool = False) -> tuple[Template, Any] | None:
        return (self.by_key[key], None) if key in self.by_key else None


class FakeTimers:
    def __init__(self) -> None:
        self.armed: dict[tuple[str, str], datetime] = {}

    async def set(self, *, kind: str, ref_id: str, fire_at: datetime) -> None:
        self.armed[(kind, ref_id)] = fire_at


class FakeGroups:
    def __init__(self, members: dict[str, set[str]]) -> None:
        self.members = members

    async def groups_of(self, user_id: str) -> frozenset[str]:
        return frozenset(g for g, users in self.members.items() if user_id in users)


class FakeUow:
    def __init__(self, templates: list[Template] | None = None) -> None:
        self.checklists = FakeChecklists()
        self.templates = FakeTemplates(standard_templates() if templates is None else templates)
        self.timers = FakeTimers()
        self.groups = FakeGroups({"it": {"ivan"}})
        self.actor: dict[str, str] | None = None

    def attribute_to(self, *, actor: dict[str, str] | None = None, cause: Any = None) -> None:
        self.actor = actor


def uow_of(fake: FakeUow) -> ChecklistsUnitOfWork:
    return cast(ChecklistsUnitOfWork, fake)


def leaver(**kw: Any) -> Employee:
    base: dict[str, Any] = {
        "id": "e-9",
        "name": "Max Weg",
        "language": "de",
        "start_date": date(2020, 1, 1),
        "last_day": date(2027, 3, 31),
        "manager_id": "mona",
        "location": "remote",
    }
    return Employee(**{**base, **kw})


async def test_a_start_is_idempotent_per_employee_and_kind_and_arms_the_timers() -> None:
    fake = FakeUow(templates=[t for t in standard_templates() if t.language == "en"])
    first, created = await cases.start(uow=uow_of(fake), kind="offboarding", employee=leaver(), zone="UTC")
    again, created_again = await cases.start(uow=uow_of(fake), kind="offboarding", employee=leaver(), zone="UTC")
    assert (created, created_again) == (True, False)
    assert again is first
    assert first.template_key == "offboarding-en", "without a German template the English one is used"
    assert ("access", f"{first.id}/accounts_disabled") in fake.timers.armed
    assert ("due", f"{first.id}/accounts_disabled") not in fake.timers.armed
    assert fake.timers.armed[("due", f"{first.id}/handover")] == datetime.fromisoformat("2027-03-22T00:00:00+00:00")


async def test_a_named_template_of_the_other_kind_is_refused_and_a_missing_one_is_not_found() -> None:
    fake = FakeUow()
    with pytest.raises(Invalid, match="is for onboarding"):
        await cases.start(
            uow=uow_of(fake), kind="offboarding", employee=leaver(), zone="UTC", template_key="onboarding-de"
        )
    with pytest.raises(NotFound):
        await cases.start(uow=uow_of(FakeUow(templates=[])), kind="onboarding", employee=leaver(), zone="UTC")


async def test_only_the_assignee_their_group_or_hr_completes_an_item() -> None:
    fake = FakeUow()
    checklist, _ = await cases.start(uow=uow_of(fake), kind="offboarding", employee=leaver(), zone="UTC")
    stranger = User(sub="eve", roles=frozenset({"requester"}))
    with pytest.raises(Forbidden):
        await cases.complete_item(
            uow=uow_of(fake), checklist_id=checklist.id, key="equipment_returned", evidence={}, user=stranger
        )
    ivan = User(sub="ivan", name="Ivan")
    item = await cases.complete_item(
        uow=uow_of(fake),
        checklist_id=checklist.id,
        key="equipment_returned",
        evidence={"serial_number": "SN-9"},
        user=ivan,
    )
    assert item.status == "done"
    assert fake.actor == {"id": "ivan", "name": "Ivan", "role": "user"}
    with pytest.raises(NotFound):
        await cases.complete_item(uow=uow_of(fake), checklist_id=checklist.id, key="ghost", evidence={}, user=ivan)


async def test_a_moved_last_day_rearms_the_timers_of_the_moved_items() -> None:
    fake = FakeUow()
    checklist, _ = await cases.start(uow=uow_of(fake), kind="offboarding", employee=leaver(), zone="UTC")
    moved = await cases.move_last_day(uow=uow_of(fake), employee_id="e-9", last_day=date(2027, 4, 30), zone="UTC")
    assert {i.key for i in moved} == {i.key for i in checklist.items}
    assert fake.timers.armed[("access", f"{checklist.id}/vpn_tokens_revoked")] == datetime.fromisoformat(
        "2027-05-01T00:00:00+00:00"
    )
    assert await cases.move_last_day(uow=uow_of(fake), employee_id="e-9", last_day=date(2027, 4, 30), zone="UTC") == []
    with pytest.raises(NotFound):
        await cases.move_last_day(uow=uow_of(fake), employee_id="nobody", last_day=date(2027, 4, 30), zone="UTC")
