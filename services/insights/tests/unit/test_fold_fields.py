"""A fact is stored as the fields the fold reads: the same views from far fewer bytes."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

from insights_scenario import orders

from backoffice_insights.domain.facts import Fact
from backoffice_insights.domain.fold import FOLD_FIELDS, fold, fold_fields

BANDS = [Decimal(1000), Decimal(10000), Decimal(100000)]
NOISE = "x" * 400


def padded(value: Any) -> Any:
    """The payload with a large unread field added to every object, as the services' events carry."""
    if isinstance(value, dict):
        return {**{k: padded(v) for k, v in value.items()}, "unread_note": NOISE}
    if isinstance(value, list):
        return [padded(item) for item in value]
    return value


class Reading(dict[str, Any]):
    """A payload that notes every key path the fold reads (``lines[]`` for each element of a list)."""

    def __init__(self, data: dict[str, Any], path: tuple[str, ...], seen: set[tuple[str, ...]]) -> None:
        super().__init__({k: wrap(v, (*path, k), seen) for k, v in data.items()})
        self.path, self.seen = path, seen

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        self.seen.add((*self.path, key))
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        self.seen.add((*self.path, key))
        return super().__getitem__(key)


def wrap(value: Any, path: tuple[str, ...], seen: set[tuple[str, ...]]) -> Any:
    if isinstance(value, dict):
        return Reading(value, path, seen)
    if isinstance(value, list):
        return [wrap(item, (*path[:-1], path[-1] + "[]"), seen) for item in value]
    return value


def allowed(shape: Any, path: tuple[str, ...]) -> bool:
    for key in path:
        name = key.removesuffix("[]")
        if not isinstance(shape, dict) or name not in shape:
            return False
        shape = shape[name]
        if key.endswith("[]"):
            if not isinstance(shape, list):
                return False
            shape = shape[0]
        if shape is None:
            return True
    return True


def all_facts() -> list[list[Fact]]:
    return [order.facts() for order in orders()]


def test_every_field_the_fold_reads_is_kept() -> None:
    read: dict[str, set[tuple[str, ...]]] = {}
    for facts in all_facts():
        wrapped = []
        for f in facts:
            seen = read.setdefault(f.type, set())
            wrapped.append(replace(f, data=Reading(padded(f.data), (), seen)))
        fold(wrapped, bands=BANDS)
    assert len(read) >= 15  # the scenario covers most event types
    for event_type, paths in read.items():
        for path in paths:
            assert allowed(FOLD_FIELDS.get(event_type, {}), path), (event_type, path)


def test_the_stored_payload_holds_only_the_folds_fields_and_folds_to_the_same_view() -> None:
    whole_bytes = kept_bytes = 0
    for facts in all_facts():
        whole = [replace(f, data=padded(f.data)) for f in facts]
        stored = [replace(f, data=fold_fields(f.type, f.data)) for f in whole]
        assert fold(stored, bands=BANDS) == fold(whole, bands=BANDS)
        for f in stored:
            assert "unread_note" not in json.dumps(f.data)
        whole_bytes += sum(len(json.dumps(f.data)) for f in whole)
        kept_bytes += sum(len(json.dumps(f.data)) for f in stored)
    assert kept_bytes < whole_bytes / 4


def test_the_projection_keeps_what_it_names_and_tolerates_odd_shapes() -> None:
    data = {
        "request": {"number": "PR-1", "lines": [{"line_no": 1, "unit_price": "2.00", "sku": "A"}, "odd"], "x": 1},
        "extra": {"big": NOISE},
    }
    assert fold_fields("purchase_request.submitted", data) == {
        "request": {"number": "PR-1", "lines": [{"line_no": 1, "unit_price": "2.00"}, "odd"]}
    }
    # Not of the shape's kind: kept whole (the fold ignores it either way).
    assert fold_fields("purchase_request.submitted", {"request": "odd"}) == {"request": "odd"}
    assert fold_fields("vendor.notified", {"vendor_id": "v", "mail": NOISE}) == {}
    assert fold_fields("purchase_request.closed", {"request": {"number": "PR-1"}}) == {}
