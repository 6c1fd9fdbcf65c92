"""A group step that needs two approvers is completed by two people, never by one through a delegation."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from backoffice_approvals.domain.chain import Chain, Task
from backoffice_approvals.domain.delegation import resolve_delegate
from backoffice_approvals.domain.errors import DecisionForbidden
from backoffice_approvals.domain.people import Absence, Approver, Directory, Person
from backoffice_approvals.domain.plan import PlannedStep

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)


def person(pid: str) -> Person:
    return Person(pid, pid.title(), f"{pid}@example.com")


def step(index: int, stage: int, approvers: list[str], mode: str = "any", required: int = 1) -> PlannedStep:
    return PlannedStep(index, f"s{index}", stage, mode, required, [person(a) for a in approvers], 60, None)


def new_chain(steps: list[PlannedStep]) -> tuple[Chain, Any, Any]:
    counter = itertools.count()
    chain = Chain("c1", "r1", 1, person("alice"), {"request_id": "r1"}, steps, policy_version=1)

    def new_id() -> str:
        return f"t{next(counter)}"

    def assign(approver: Person, excluded: object) -> tuple[Person, Person | None]:
        return approver, None

    chain.start(now=NOW, assign=assign, new_id=new_id)
    return chain, assign, new_id


def decide(chain: Chain, assign: Any, new_id: Any, task: Task, by: Person | None = None) -> Task:
    return chain.decide(
        task_id=task.id,
        decision="approved",
        comment=None,
        by=by or task.assignee,
        on_behalf_of=None,
        now=NOW,
        assign=assign,
        new_id=new_id,
    )


def open_tasks(chain: Chain) -> list[Task]:
    return [t for t in chain.tasks if t.is_open]


@pytest.mark.parametrize(("mode", "required"), [("all", 2), ("quorum", 2)])
def test_a_member_holding_the_other_members_task_may_not_decide_it(mode: str, required: int) -> None:
    chain, assign, new_id = new_chain([step(0, 0, ["ann", "ben"], mode=mode, required=required)])
    ann_task, ben_task = open_tasks(chain)
    moved = chain.reassign(
        task_id=ann_task.id, to=person("ben"), on_behalf_of=person("ann"), now=NOW, new_id=new_id, reason="away"
    )
    assert moved is not None
    decide(chain, assign, new_id, ben_task)
    with pytest.raises(DecisionForbidden, match="ben"):
        decide(chain, assign, new_id, moved)
    assert chain.status == "in_progress"


def test_a_step_counts_each_person_once() -> None:
    chain, assign, new_id = new_chain([step(0, 0, ["ann", "ben"], mode="quorum", required=2)])
    ann_task, ben_task = open_tasks(chain)
    decide(chain, assign, new_id, ann_task, by=person("dina"))
    with pytest.raises(DecisionForbidden):
        decide(chain, assign, new_id, ben_task, by=person("dina"))


def test_the_chain_excludes_the_other_members_of_a_step_from_delegation() -> None:
    chain, _, _ = new_chain([step(0, 0, ["ann", "ben", "cid"], mode="quorum", required=2)])
    ann_task = open_tasks(chain)[0]
    assert {"ben", "cid", "alice"} <= chain.excluded_for(ann_task)


def test_delegation_skips_a_delegate_who_holds_a_task_in_the_step() -> None:
    directory = Directory.of(
        [
            Approver("ann", "Ann", "ann@example.com", manager_id="max"),
            Approver("ben", "Ben", "ben@example.com", manager_id="max"),
            Approver("max", "Max", "max@example.com"),
        ]
    )
    absences = [Absence("ann", NOW - timedelta(hours=1), NOW + timedelta(days=1), "ben")]
    chain, _, _ = new_chain([step(0, 0, ["ann", "ben"], mode="all", required=2)])
    ann_task = open_tasks(chain)[0]
    assignee, on_behalf = resolve_delegate(
        person("ann"), directory=directory, absences=absences, at=NOW, excluded=chain.excluded_for(ann_task)
    )
    assert (assignee.id, on_behalf.id if on_behalf else None) == ("max", "ann")
