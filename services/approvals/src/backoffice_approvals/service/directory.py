"""The approver directory: upsert one approver or import many, never leaving it inconsistent."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from backoffice_approvals.domain.errors import InconsistentDirectory, InvalidFields
from backoffice_approvals.domain.people import Approver, Directory, directory_problems
from backoffice_approvals.service.uow import ApprovalsUnitOfWork


async def save_approvers(*, uow: ApprovalsUnitOfWork, approvers: Sequence[Approver]) -> None:
    """Insert or replace the approvers, all or nothing, if the directory stays consistent; commit."""
    current = await uow.directory.load()
    merged = Directory({**current.approvers, **{a.id: a for a in approvers}})
    problems = directory_problems(merged)
    if problems:
        raise InconsistentDirectory(problems)
    await uow.directory.upsert(approvers)
    uow.record_fact(
        type="directory.approvers_saved", subject=None, data={"approvers": [a.as_values() for a in approvers]}
    )
    await uow.commit()


async def import_approvers(*, uow: ApprovalsUnitOfWork, approvers: Sequence[Approver]) -> int:
    """A bulk import lists each approver once; how many were imported."""
    counts = Counter(a.id for a in approvers)
    duplicates = sorted(i for i, n in counts.items() if n > 1)
    if duplicates:
        raise InvalidFields([("approvers", f"ids listed twice: {', '.join(duplicates)}")])
    await save_approvers(uow=uow, approvers=approvers)
    return len(approvers)
