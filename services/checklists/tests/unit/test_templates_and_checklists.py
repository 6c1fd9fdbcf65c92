"""Templates, conditions, dependencies, evidence and due dates, without I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from backoffice_checklists.domain.checklists import Checklist, instantiate
from backoffice_checklists.domain.employees import Employee
from backoffice_checklists.domain.errors import ChecklistClosed, InvalidEvidence, InvalidTemplate, ItemNotReady
from backoffice_checklists.domain.standard import standard_templates
from backoffice_checklists.domain.templates import Due, Template, TemplateItem
from backoffice_checklists.domain.timing import end_of, timers_of

NOW = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)
TEMPLATES = {t.key: t for t in standard_templates()}


def employee(**kw: object) -> Employee:
    base: dict[str, object] = {
        "id": "e-1",
        "name": "Erika Muster",
        "language": "de",
        "start_date": date(2027, 2, 1),
        "department": "ENG",
        "location": "office",
        "employment_type": "permanent",
        "manager_id": "mona",
    }
    return Employee(**{**base, **kw})  # type: ignore[arg-type]


def item(key: str, **kw: object) -> TemplateItem:
    base: dict[str, object] = {"title": key, "responsible": "hr", "due": Due("start_date", 0)}
    return TemplateItem(key=key, **{**base, **kw})  # type: ignore[arg-type]


def started(template_key: str = "onboarding-de", **kw: object) -> Checklist:
    return Checklist.start(id="c-1", template=TEMPLATES[template_key], employee=employee(**kw), now=NOW)


def test_ships_onboarding_and_offboarding_in_german_and_english_with_the_same_items() -> None:
    assert set(TEMPLATES) == {"onboarding-de", "onboarding-en", "offboarding-de", "offboarding-en"}
    for kind in ("onboarding", "offboarding"):
        de, en = TEMPLATES[f"{kind}-de"], TEMPLATES[f"{kind}-en"]
        assert [i.key for i in de.items] == [i.key for i in en.items]
        assert [i.title for i in de.items] != [i.title for i in en.items]


def test_the_exit_interview_is_recorded_as_held_by_a_person() -> None:
    interview = TEMPLATES["offboarding-en"].item("exit_interview")
    assert interview.evidence == "interview_held"
    checklist = started("offboarding-en", last_day=date(2027, 3, 31))
    with pytest.raises(InvalidEvidence, match="held_by"):
        checklist.complete_item("exit_interview", evidence={"held_on": "2027-03-28"}, by="hanna", now=NOW)
    with pytest.raises(InvalidEvidence, match="held_on"):
        checklist.complete_item("exit_interview", evidence={"held_by": "hanna", "held_on": "soon"}, by="hanna", now=NOW)
    assert checklist.complete_item(
        "exit_interview", evidence={"held_by": "hanna", "held_on": "2027-03-28"}, by="hanna", now=NOW
    )
    assert checklist.item("exit_interview").evidence == {"held_by": "hanna", "held_on": "2027-03-28"}


def test_refuses_unknown_and_cyclic_dependencies_and_misplaced_anchors() -> None:
    with pytest.raises(InvalidTemplate, match="unknown items: ghost"):
        Template("t", "onboarding", "en", 1, "T", (item("a", depends_on=("ghost",)),))
    with pytest.raises(InvalidTemplate, match="cycle: a -> b -> a"):
        Template("t", "onboarding", "en", 1, "T", (item("a", depends_on=("b",)), item("b", depends_on=("a",))))
    with pytest.raises(InvalidTemplate, match="relative to the start_date"):
        Template("t", "onboarding", "en", 1, "T", (item("a", due=Due("last_day", 0)),))
    with pytest.raises(InvalidTemplate, match="relative to the last_day"):
        Template("t", "offboarding", "en", 1, "T", (item("a", due=Due("start_date", 0)),))
    with pytest.raises(InvalidTemplate, match="by the last day"):
        Template("t", "offboarding", "en", 1, "T", (item("a", due=Due("last_day", 1), access_revocation=True),))
    with pytest.raises(InvalidTemplate, match="unique: a"):
        Template("t", "onboarding", "en", 1, "T", (item("a"), item("a")))
    with pytest.raises(InvalidTemplate, match="unknown fields: colour"):
        Template("t", "onboarding", "en", 1, "T", (item("a", conditions={"colour": frozenset({"red"})}),))


def test_conditions_leave_out_items_and_the_dependencies_on_them() -> None:
    template = Template(
        "t",
        "onboarding",
        "en",
        1,
        "T",
        (
            item("desk", conditions={"location": frozenset({"office"})}),
            item("intro", depends_on=("desk",)),
            item("lab", conditions={"department": frozenset({"R&D"}), "employment_type": frozenset({"permanent"})}),
        ),
    )
    remote = instantiate(template, employee(location="remote"))
    assert [i.key for i in remote] == ["intro"]
    assert remote[0].depends_on == ()
    office = instantiate(template, employee(department="R&D"))
    assert [i.key for i in office] == ["desk", "intro", "lab"]
    assert [i.key for i in instantiate(template, employee(department="R&D", employment_type="contractor"))] == [
        "desk",
        "intro",
    ]


def test_due_dates_are_relative_to_the_start_date_or_the_last_day() -> None:
    onboarding = started()
    assert onboarding.item("contract_filed").due_on == date(2027, 1, 18)
    assert onboarding.item("probation_goals").due_on == date(2027, 2, 15)
    offboarding = started("offboarding-en", last_day=date(2027, 3, 31))
    assert offboarding.item("handover").due_on == date(2027, 3, 21)
    assert offboarding.item("final_payroll").due_on == date(2027, 4, 30)


def test_manager_and_employee_items_go_to_people_and_a_missing_manager_falls_to_hr() -> None:
    checklist = started()
    assert (checklist.item("welcome").assignee_group, checklist.item("welcome").assignee_user) == (None, "mona")
    assert checklist.item("security_training").assignee_user == "e-1"
    assert checklist.item("laptop").assignee_group == "it"
    assert started(manager_id=None).item("welcome").assignee_group == "hr"


def test_items_become_ready_when_their_dependencies_are_done() -> None:
    checklist = started()
    events = checklist.take_events()
    assert events[0].type == "checklist.started"
    ready = [e.data["item"]["key"] for e in events if e.type == "checklist.item_ready"]
    assert ready == ["contract_filed", "workplace", "welcome"]
    with pytest.raises(ItemNotReady, match="waits for contract_filed"):
        checklist.complete_item("personnel_data", evidence={}, by="hanna", now=NOW)
    checklist.complete_item("contract_filed", evidence={"document_reference": "DMS-42"}, by="hanna", now=NOW)
    events = checklist.take_events()
    assert [e.type for e in events] == ["checklist.item_done", "checklist.item_ready"]
    assert events[1].data["item"]["key"] == "personnel_data"
    assert events[1].data["language"] == "de"
    assert events[1].data["employee"]["name"] == "Erika Muster"
    assert events[1].data["item"]["assignee_group"] == "hr"
    assert events[1].data["item"]["due_on"] == "2027-01-25"


def test_evidence_must_match_the_item_and_a_sign_off_needs_a_second_person() -> None:
    checklist = started()
    checklist.complete_item("contract_filed", evidence={"document_reference": "DMS-42"}, by="hanna", now=NOW)
    checklist.complete_item("personnel_data", evidence={}, by="hanna", now=NOW)
    with pytest.raises(InvalidEvidence, match="serial_number"):
        checklist.complete_item("laptop", evidence={}, by="ivan", now=NOW)
    with pytest.raises(InvalidEvidence, match="takes no colour"):
        checklist.complete_item("laptop", evidence={"serial_number": "SN1", "colour": "grey"}, by="ivan", now=NOW)
    checklist.complete_item("welcome", evidence={}, by="mona", now=NOW)
    with pytest.raises(InvalidEvidence, match="second person"):
        checklist.complete_item("probation_goals", evidence={"signed_off_by": "mona"}, by="mona", now=NOW)
    assert checklist.complete_item("probation_goals", evidence={"signed_off_by": "hanna"}, by="mona", now=NOW)


def test_completing_every_item_completes_the_checklist_and_a_repeat_changes_nothing() -> None:
    checklist = started(location="remote")
    evidence = {
        "contract_filed": {"document_reference": "DMS-1"},
        "laptop": {"serial_number": "SN-1"},
        "probation_goals": {"signed_off_by": "hanna"},
    }
    order = ["contract_filed", "personnel_data", "accounts", "laptop", "welcome", "security_training"]
    for key in [*order, "probation_goals"]:
        assert checklist.complete_item(key, evidence=evidence.get(key, {}), by="mona", now=NOW)
    assert checklist.status == "completed"
    assert checklist.progress == (7, 7)
    assert checklist.take_events()[-1].type == "checklist.completed"
    with pytest.raises(ChecklistClosed):
        checklist.complete_item("laptop", evidence={"serial_number": "SN-1"}, by="ivan", now=NOW)


def test_a_moved_last_day_moves_the_undone_items_due_relative_to_it() -> None:
    checklist = started("offboarding-en", last_day=date(2027, 3, 31))
    checklist.complete_item("handover", evidence={}, by="mona", now=NOW)
    checklist.mark_overdue("equipment_returned", now=NOW)
    moved = checklist.move_last_day(date(2027, 4, 15))
    assert "handover" not in [i.key for i in moved]
    assert checklist.item("handover").due_on == date(2027, 3, 21)
    assert checklist.item("equipment_returned").due_on == date(2027, 4, 15)
    assert checklist.item("equipment_returned").overdue_at is None
    assert checklist.item("final_payroll").due_on == date(2027, 5, 15)
    assert checklist.employee.last_day == date(2027, 4, 15)


def test_an_access_item_open_after_the_last_day_escalates_to_security_and_shows_red() -> None:
    checklist = started("offboarding-en", last_day=date(2027, 3, 31))
    checklist.take_events()
    assert checklist.mark_overdue("accounts_disabled", now=NOW)
    assert not checklist.mark_overdue("accounts_disabled", now=NOW)
    assert not checklist.item("accounts_disabled").red_flag
    assert checklist.escalate_access("accounts_disabled", now=NOW)
    assert not checklist.escalate_access("accounts_disabled", now=NOW)
    assert not checklist.escalate_access("handover", now=NOW)
    accounts = checklist.item("accounts_disabled")
    assert accounts.red_flag
    assert accounts.escalated_to == "security"
    assert accounts.assigned_to(user="sam", groups=frozenset({"security"}))
    events = checklist.take_events()
    assert [(e.type, e.data["red_flag"], e.data["escalated_to"]) for e in events] == [
        ("checklist.item_overdue", False, None),
        ("checklist.item_overdue", True, "security"),
    ]
    checklist.complete_item("accounts_disabled", evidence={"signed_off_by": "sam"}, by="ivan", now=NOW)
    assert not accounts.red_flag


def test_access_items_are_flagged_only_in_offboarding() -> None:
    offboarding = started("offboarding-de", last_day=date(2027, 3, 31), location="remote")
    assert {i.key for i in offboarding.items if i.access_revocation} == {"accounts_disabled", "vpn_tokens_revoked"}
    assert not any(i.access_revocation for i in started().items)


def test_a_cancelled_checklist_refuses_changes() -> None:
    checklist = started()
    assert checklist.cancel(reason="offer withdrawn", now=NOW)
    assert not checklist.cancel(reason="again", now=NOW)
    assert checklist.take_events()[-1].data["reason"] == "offer withdrawn"
    with pytest.raises(ChecklistClosed):
        checklist.complete_item("contract_filed", evidence={"document_reference": "x"}, by="hanna", now=NOW)


def test_timers_fire_after_the_due_day_in_the_company_zone_and_access_items_escalate_once() -> None:
    checklist = started("offboarding-en", last_day=date(2027, 3, 31))
    checklist.complete_item("handover", evidence={}, by="mona", now=NOW)
    timers = timers_of(checklist, checklist.items, "Europe/Berlin")
    kinds = {(kind, ref.split("/")[1]) for kind, ref, _ in timers}
    assert ("due", "handover") not in kinds
    assert ("due", "exit_interview") in kinds
    assert ("access", "accounts_disabled") in kinds
    assert ("due", "accounts_disabled") not in kinds
    fire_at = {ref.split("/")[1]: at for kind, ref, at in timers if kind == "due"}
    # Due on 28 March, the day summer time begins: overdue from midnight CEST, 22:00 UTC.
    assert fire_at["exit_interview"] == datetime(2027, 3, 28, 22, 0, tzinfo=UTC)
    assert end_of(date(2027, 1, 10), "Europe/Berlin") == datetime(2027, 1, 10, 23, 0, tzinfo=UTC)
