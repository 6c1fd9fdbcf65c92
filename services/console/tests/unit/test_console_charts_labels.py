"""Pure parts of the new pages: the server-drawn SVG charts, event labels, days and form numbers."""

from __future__ import annotations

import re

import pytest

from backoffice_console import charts, i18n


def _widths(svg: str, attribute: str) -> dict[str, float]:
    return {m[0]: float(m[1]) for m in re.findall(rf'{attribute}="([^"]+)"[^>]*?width="([0-9.]+)"', svg)} or {
        m[1]: float(m[0]) for m in re.findall(rf'width="([0-9.]+)"[^>]*?{attribute}="([^"]+)"', svg)
    }


def test_a_budget_bar_is_spent_committed_and_reserved_in_proportion() -> None:
    svg = str(charts.utilisation({"budget": "1000", "spent": "100", "committed": "200", "reserved": "300"}, "CC"))
    assert _widths(svg, "data-kind") == {"spent": 22.0, "committed": 44.0, "reserved": 66.0}
    assert 'role="img"' in svg
    assert "over" not in svg.split(">")[0]  # within budget: no red marker
    over = str(charts.utilisation({"budget": "100", "spent": "0", "committed": "150", "reserved": "50"}, "CC"))
    assert 'class="chart utilisation over"' in over
    assert 'stroke="#b3261e"' in over  # the 100 % line, at half the bar (200 used of 100)
    assert 'x1="110.0"' in over


def test_bars_scale_to_the_largest_value_and_escape_labels() -> None:
    svg = str(charts.bars([charts.Bar("<b>slow</b>", 50, "50 s"), charts.Bar("fast", 100, "100 s")], "Chart & co"))
    assert "<b>" not in svg
    assert "&lt;b&gt;slow&lt;/b&gt;" in svg
    assert 'aria-label="Chart &amp; co"' in svg
    widths = [float(w) for w in re.findall(r'<rect [^>]*width="([0-9.]+)"', svg)]
    assert widths == [180.0, 360.0]  # 640 - 170 - 110 = 360 for the largest
    assert str(charts.bars([], "empty")) == ""


def test_a_trend_line_has_one_point_per_period() -> None:
    svg = str(charts.line([charts.Bar("2026-11-28", 10, "10 s"), charts.Bar("2026-11-29", 20, "20 s")], "trend"))
    assert svg.count("<circle") == 2
    assert "<polyline" in svg
    assert "<polyline" not in str(charts.line([charts.Bar("2026-11-29", 5, "5 s")], "one"))


@pytest.mark.parametrize(
    ("seconds", "en", "de"),
    [(42, "42 s", "42 s"), (600, "10 min", "10 min"), (5400, "1.5 h", "1,5 h"), (3 * 86400, "3.0 d", "3,0 d")],
)
def test_durations_read_like_a_person_would_say_them(seconds: float, en: str, de: str) -> None:
    assert charts.duration(seconds, "en") == en
    assert charts.duration(seconds, "de") == de


def test_timeline_events_have_labels_in_both_languages() -> None:
    assert i18n.event_label("en", "purchase_request.changes_requested") == "Changes requested"
    assert i18n.event_label("de", "purchase_request.changes_requested") == "Änderungen angefordert"
    assert i18n.event_label("de", "approval.task_decided") == "Freigabeentscheidung"
    assert i18n.event_label("en", "something.brand_new_thing") == "Brand new thing"  # unknown: never the raw type


@pytest.mark.parametrize(
    ("label", "note", "shown"),
    [
        ("Entwurf angelegt", "Entwurf angelegt", ""),  # only repeats the label: not shown
        ("Draft created", "draft created.", ""),
        ("Vendor signed the contract", "The vendor signed the contract", ""),  # the article does not count
        (
            "Freigegeben",
            "Freigegeben; die Bestellung geht an den Lieferanten",
            "die Bestellung geht an den Lieferanten",
        ),
        ("Rejected", "Rejected — comment: too dear", "comment: too dear"),
        ("Storniert", "Storniert: doppelt", "doppelt"),
        ("Closed", "Closedown of the site", "Closedown of the site"),  # a longer word is not the label
        ("Freigabeaufgabe zugewiesen", "Wartet auf die Freigabe von Max", "Wartet auf die Freigabe von Max"),
        ("Contract signed", None, ""),
    ],
)
def test_a_timeline_note_shows_only_what_its_label_does_not_say(label: str, note: str | None, shown: str) -> None:
    assert i18n.note_beyond(label, note) == shown


def test_needed_by_is_a_day_without_a_time() -> None:
    assert i18n.day("en", "2026-12-29") == "29 Dec 2026"
    assert i18n.day("de", "2026-12-29T00:00:00+00:00") == "29.12.2026"
    assert i18n.day("de", None) == ""


@pytest.mark.parametrize(
    ("locale", "value", "places", "shown"),
    [("de", "1200.00", 2, "1200,00"), ("en", "3.000", 0, "3"), ("de", "149.9", 2, "149,90"), ("en", "2.500", 0, "2.5")],
)
def test_numbers_in_form_fields_have_no_grouping(locale: str, value: str, places: int, shown: str) -> None:
    assert i18n.plain(locale, value, places) == shown
    assert i18n.decimal_input(locale, shown).rstrip("0").rstrip(".") == value.rstrip("0").rstrip(".")
