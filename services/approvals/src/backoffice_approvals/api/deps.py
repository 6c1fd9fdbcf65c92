"""Dependencies shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query

from backoffice_approvals.domain.people import Person
from backoffice_approvals.service.decisions import Decider
from backoffice_approvals.service.uow import ApprovalsUnitOfWork
from backoffice_approvals.settings import Settings
from backoffice_common.auth import User, require_roles
from backoffice_common.deps import settings_of, uow_of
from backoffice_common.strings import NUL_FREE_NONEMPTY

open_uow = uow_of(ApprovalsUnitOfWork)
UowDep = Annotated[ApprovalsUnitOfWork, Depends(open_uow)]
"""The approvals unit of work opened for the request; the use case commits it."""
SettingsDep = Annotated[Settings, Depends(settings_of(Settings))]
AdminUser = Annotated[User, Depends(require_roles("admin"))]
DeciderUser = Annotated[User, Depends(require_roles("approver", "admin"))]

PathId = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[^\x00/]+$")]
QueryId = Annotated[str | None, Query(min_length=1, max_length=200, pattern=NUL_FREE_NONEMPTY)]


def decider_of(user: User) -> Decider:
    return Decider(Person(user.sub, user.name or user.sub, user.email), is_admin=user.has_any("admin"))
