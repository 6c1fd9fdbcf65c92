"""Responsible groups: HR says who belongs to ``it``, ``facilities``, ``security``... ("my items" reads it)."""

from __future__ import annotations

from fastapi import APIRouter

from backoffice_checklists.api.auth import Hr
from backoffice_checklists.api.common import GroupName, Uow
from backoffice_checklists.schemas import GroupMembersRead, GroupMembersUpdate
from backoffice_checklists.service import groups as service

router = APIRouter(prefix="/groups", tags=["groups"])


@router.get("/{group}", response_model=GroupMembersRead)
async def get_group(group: GroupName, uow: Uow, user: Hr) -> GroupMembersRead:
    return GroupMembersRead(group=group, members=await uow.groups.members(group))


@router.put("/{group}", response_model=GroupMembersRead)
async def put_group(group: GroupName, body: GroupMembersUpdate, uow: Uow, user: Hr) -> GroupMembersRead:
    """Replace the group's members."""
    members = await service.set_members(uow=uow, group=group, members=body.members, by=user.sub)
    await uow.commit()
    return GroupMembersRead(group=group, members=members)
