"""An indexed directory (the one ``DirectoryRepository.load`` keeps) answers as the scanning one does."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from backoffice_approvals.domain.people import Approver, Directory

IDS = st.sampled_from([f"p{i}" for i in range(12)])
NAMES = st.frozensets(st.sampled_from(["ENG", "OPS", "LEGAL", "HR"]), max_size=2)
GROUPS = st.frozensets(st.sampled_from(["legal", "audit", "it", "board"]), max_size=3)
APPROVERS = st.lists(
    st.builds(
        Approver,
        id=IDS,
        name=st.just("N"),
        email=st.just("n@example.com"),
        head_of=NAMES,
        groups=GROUPS,
        active=st.booleans(),
    ),
    max_size=15,
)


@given(APPROVERS)
def test_heads_members_and_groups_are_those_a_scan_finds(approvers: list[Approver]) -> None:
    scanned, indexed = Directory.of(approvers), Directory.indexed(approvers)
    assert indexed.approvers == scanned.approvers
    for department in ["ENG", "OPS", "LEGAL", "HR", "NONE"]:
        assert indexed.head_of(department) == scanned.head_of(department)
    for group in ["legal", "audit", "it", "board", "none"]:
        assert indexed.members_of(group) == scanned.members_of(group)
    assert indexed.groups == scanned.groups


def test_a_list_of_members_handed_out_does_not_change_the_index() -> None:
    indexed = Directory.indexed([Approver("a", "A", "a@example.com", groups=frozenset({"legal"}))])
    indexed.members_of("legal").clear()
    indexed.groups.clear()
    assert [a.id for a in indexed.members_of("legal")] == ["a"]
    assert indexed.groups == {"legal"}
