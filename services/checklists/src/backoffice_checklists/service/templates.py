"""Use cases of templates: seed the shipped ones, add a version, preview what an employee would get."""

from __future__ import annotations

from dataclasses import replace

from backoffice_checklists.domain.checklists import Item, instantiate
from backoffice_checklists.domain.employees import Employee
from backoffice_checklists.domain.standard import standard_templates
from backoffice_checklists.domain.templates import Template
from backoffice_checklists.service.checklists import now_utc
from backoffice_checklists.service.uow import ChecklistsUnitOfWork
from backoffice_common.errors import Conflict, NotFound


async def seed(*, uow: ChecklistsUnitOfWork) -> int:
    """Store version 1 of each shipped template whose key has no version yet; the caller commits."""
    added = 0
    for template in standard_templates():
        if await uow.templates.latest(template.key) is None:
            added += await uow.templates.add(template, by="system", now=now_utc())
    return added


async def add_version(*, uow: ChecklistsUnitOfWork, draft: Template, by: str) -> Template:
    """``draft`` as the next version of its key; a key keeps its kind and language. The caller commits."""
    latest = await uow.templates.latest(draft.key, lock=True)
    version = 1
    if latest is not None:
        current, _ = latest
        if (current.kind, current.language) != (draft.kind, draft.language):
            raise Conflict(
                f"template {draft.key} is a {current.kind} template in {current.language}",
                kind=current.kind,
                language=current.language,
            )
        version = current.version + 1
    template = replace(draft, version=version)
    if not await uow.templates.add(template, by=by, now=now_utc()):
        raise Conflict(f"template {draft.key} version {version} was added at the same time; try again")
    fact = {"key": template.key, "version": version, "kind": template.kind, "language": template.language}
    uow.record_fact(
        type="checklist_template.added",
        subject=f"{template.key}/{version}",
        data=fact | {"title": template.title, "items": [i.as_dict() for i in template.items], "by": by},
    )
    return template


async def get(*, uow: ChecklistsUnitOfWork, key: str, version: int | None = None) -> Template:
    found = await (uow.templates.latest(key) if version is None else uow.templates.version(key, version))
    if found is None:
        raise NotFound(f"template {key} does not exist" + (f" in version {version}" if version else ""))
    return found[0]


async def preview(*, uow: ChecklistsUnitOfWork, key: str, employee: Employee) -> list[Item]:
    """The items the newest version of ``key`` would give ``employee``; nothing is stored."""
    return instantiate(await get(uow=uow, key=key), employee)
