import contextlib
import itertools
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backoffice_approvals.domain.chain import Chain, ChainApproved, ChainEnded, TaskAssigned, TaskWithdrawn
from backoffice_approvals.domain.errors import ChainError
from backoffice_approvals.domain.people import Person
from backoffice_approvals.domain.plan import PlannedStep

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)
REQUESTER = Person("alice", "Alice", "alice@example.com")


def person(pid: str) -> Person:
    return Person(pid, pid.title(), f"{pid}@example.com")


def step(index, stage, approvers, mode="any", required=1):
    return PlannedStep(index, f"s{index}", stage, mode, required, [person(a) for a in approvers], 60, None)


def new_chain(steps):
    counter = itertools.count()
    chain = Chain("c1", "r1", 1, REQUESTER, {"request_id": "r1"}, steps, policy_version=1)

    def new_id():
        return f"t{next(counter)}"

    def assign(approver, excluded):
        return approver, None

    chain.start(now=NOW, assign=assign, new_id=new_id)
    return chain, assign, new_id


def decide(chain, assign, new_id, task, decision="approved", by=None, comment="because"):
    return chain.decide(
        task_id=task.id,
        decision=decision,
        comment=comment,
        by=by or task.assignee,
        on_behalf_of=None,
        now=NOW,
        assign=assign,
        new_id=new_id,
    )


def open_tasks(chain):
    return [t for t in chain.tasks if t.is_open]


def test_sequential_steps_open_one_after_the_other_and_end_approved():
    chain, assign, new_id = new_chain([step(0, 0, ["mike"]), step(1, 1, ["dave"])])
    assert [t.assignee.id for t in open_tasks(chain)] == ["mike"]
    decide(chain, assign, new_id, open_tasks(chain)[0])
    assert [t.assignee.id for t in open_tasks(chain)] == ["dave"]
    decide(chain, assign, new_id, open_tasks(chain)[0])
    assert chain.status == "approved"
    approved = [e for e in chain.events if isinstance(e, ChainApproved)]
    assert len(approved) == 1
    assert [p.id for p in approved[0].approvers] == ["mike", "dave"]


def test_a_rejection_in_a_parallel_step_ends_the_other_open_tasks():
    chain, assign, new_id = new_chain([step(0, 0, ["mike"]), step(1, 0, ["lena", "lars"], mode="all", required=2)])
    assert len(open_tasks(chain)) == 3
    lena = next(t for t in chain.tasks if t.assignee.id == "lena")
    decide(chain, assign, new_id, lena, decision="rejected", comment="no budget")
    assert chain.status == "rejected"
    assert open_tasks(chain) == []
    assert len([e for e in chain.events if isinstance(e, TaskWithdrawn)]) == 2
    assert [e.task.id for e in chain.events if isinstance(e, ChainEnded)] == [lena.id]


def test_a_second_decision_on_the_same_task_is_a_conflict():
    chain, assign, new_id = new_chain([step(0, 0, ["mike"]), step(1, 1, ["dave"])])
    task = open_tasks(chain)[0]
    decide(chain, assign, new_id, task)
    with pytest.raises(ChainError) as exc:
        decide(chain, assign, new_id, task, decision="rejected")
    assert exc.value.kind == "conflict"


def test_the_requester_cannot_decide_even_when_assigned():
    chain, assign, new_id = new_chain([step(0, 0, ["mike"])])
    with pytest.raises(ChainError) as exc:
        decide(chain, assign, new_id, open_tasks(chain)[0], by=REQUESTER)
    assert exc.value.kind == "forbidden"
    assert chain.status == "in_progress"


def test_one_person_cannot_fill_two_steps():
    chain, assign, new_id = new_chain([step(0, 0, ["mike"]), step(1, 1, ["dave"])])
    with pytest.raises(ChainError):
        decide(chain, assign, new_id, open_tasks(chain)[0], by=person("dave"))


def test_any_mode_completes_on_the_first_approval_and_withdraws_the_rest():
    chain, assign, new_id = new_chain([step(0, 0, ["lena", "lars"])])
    decide(chain, assign, new_id, open_tasks(chain)[0])
    assert chain.status == "approved"
    assert open_tasks(chain) == []


def test_escalation_moves_the_task_and_keeps_the_step_open():
    chain, assign, new_id = new_chain([step(0, 0, ["mike"])])
    old = open_tasks(chain)[0]
    new = chain.escalate(task_id=old.id, to=person("dave"), on_behalf_of=None, now=NOW, new_id=new_id, reason="late")
    assert old.status == "escalated"
    assert new is not None
    assert open_tasks(chain) == [new]
    decide(chain, assign, new_id, new)
    assert chain.status == "approved"


@st.composite
def chains_and_decisions(draw):
    people = ["p1", "p2", "p3", "p4", "p5", "alice"]
    n_steps = draw(st.integers(1, 4))
    steps = []
    stage = 0
    for i in range(n_steps):
        if i and not draw(st.booleans()):
            stage += 1
        members = draw(st.lists(st.sampled_from(people[:-1]), min_size=1, max_size=3, unique=True))
        mode = draw(st.sampled_from(["any", "all", "quorum"]))
        required = {"any": 1, "all": len(members)}.get(mode, draw(st.integers(1, len(members))))
        steps.append(step(i, stage, members, mode=mode, required=required))
    moves = draw(
        st.lists(
            st.tuples(
                st.integers(0, 20),
                st.sampled_from(["approved", "approved", "rejected", "changes_requested"]),
                st.sampled_from([None, *people]),
            ),
            max_size=20,
        )
    )
    return steps, moves


@settings(max_examples=150, deadline=None)
@given(chains_and_decisions())
def test_random_decisions_never_end_both_approved_and_rejected_nor_let_the_requester_approve(case):
    steps, moves = case
    chain, assign, new_id = new_chain(steps)
    for pick, decision, by in moves:
        candidates = open_tasks(chain)
        if not candidates:
            break
        task = candidates[pick % len(candidates)]
        with contextlib.suppress(ChainError):
            decide(chain, assign, new_id, task, decision=decision, by=person(by) if by else None)
    outcomes = [e for e in chain.events if isinstance(e, ChainApproved | ChainEnded)]
    assert len(outcomes) <= 1
    assert all(t.decided_by is None or t.decided_by.id != "alice" for t in chain.tasks)
    if chain.status == "approved":
        assert all(chain.satisfied(s) for s in chain.steps)
        assert not any(t.decision in ("rejected", "changes_requested") for t in chain.tasks)
    if chain.status != "in_progress":
        assert open_tasks(chain) == []
    steps_of: dict[str, set[int]] = {}
    for t in chain.tasks:
        if t.decided_by is not None:
            steps_of.setdefault(t.decided_by.id, set()).add(t.step_index)
    assert all(len(v) == 1 for v in steps_of.values())
    assigned = [e.task.id for e in chain.events if isinstance(e, TaskAssigned)]
    assert len(assigned) == len(set(assigned))


def test_a_task_moved_to_a_delegate_keeps_its_deadline_under_a_new_id():
    chain, assign, new_id = new_chain([step(0, 0, ["mike"])])
    old = open_tasks(chain)[0]
    chain.events.clear()
    new = chain.reassign(
        task_id=old.id, to=person("dina"), on_behalf_of=person("mike"), now=NOW, new_id=new_id, reason="away"
    )
    assert new is not None
    assert (old.status, new.id != old.id, new.due_at) == ("reassigned", True, old.due_at)
    assert [type(e).__name__ for e in chain.events] == ["TaskWithdrawn", "TaskAssigned"]
    assert chain.events[0].task.assignee.id == "mike"
    decide(chain, assign, new_id, new)
    assert [p.id for p in chain.approvers()] == ["dina"]
