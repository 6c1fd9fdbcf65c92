"""Use case of the responsible groups: HR replaces a group's members."""

from __future__ import annotations

from backoffice_checklists.service.uow import ChecklistsUnitOfWork


async def set_members(*, uow: ChecklistsUnitOfWork, group: str, members: list[str], by: str) -> list[str]:
    """The group's members become ``members`` (duplicates dropped), kept in the audit log; the caller commits."""
    unique = sorted(set(members))
    await uow.groups.lock(group)  # before reading: the audited "before" is the list this change replaces
    before = await uow.groups.members(group)
    await uow.groups.replace(group, unique)
    uow.record_fact(
        type="checklist_group.members_set",
        subject=group,
        data={
            "group": group,
            "members": unique,
            "added": sorted(set(unique) - set(before)),
            "removed": sorted(set(before) - set(unique)),
            "by": by,
        },
    )
    return unique
