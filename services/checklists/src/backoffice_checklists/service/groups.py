"""Use case of the responsible groups: HR replaces a group's members."""

from __future__ import annotations

from backoffice_checklists.service.uow import ChecklistsUnitOfWork


async def set_members(*, uow: ChecklistsUnitOfWork, group: str, members: list[str]) -> list[str]:
    """The group's members become ``members`` (duplicates dropped); the caller commits."""
    unique = sorted(set(members))
    await uow.groups.replace(group, unique)
    return unique
