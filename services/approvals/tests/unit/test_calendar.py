from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from backoffice_approvals.domain.calendar import BusinessHours
from backoffice_approvals.domain.policy import BusinessHoursSpec

BERLIN_ZONE = ZoneInfo("Europe/Berlin")
BERLIN = BusinessHours.from_dict(BusinessHoursSpec(timezone="Europe/Berlin").model_dump(mode="json"))


def test_a_due_time_within_the_day_just_adds_the_seconds():
    friday_10 = datetime(2026, 11, 27, 9, tzinfo=UTC)  # 10:00 in Berlin
    assert BERLIN.add(friday_10, 3600) == datetime(2026, 11, 27, 10, tzinfo=UTC)


def test_a_due_time_skips_the_night_and_the_weekend():
    friday_16 = datetime(2026, 11, 27, 15, tzinfo=UTC)  # 16:00 in Berlin, one working hour left
    assert BERLIN.add(friday_16, 2 * 3600) == datetime(2026, 11, 30, 9, tzinfo=UTC)  # Monday 10:00 Berlin


def test_a_request_submitted_on_sunday_starts_counting_on_monday_morning():
    sunday = datetime(2026, 11, 29, 12, tzinfo=UTC)
    assert BERLIN.add(sunday, 60) == datetime(2026, 11, 30, 8, 1, tzinfo=UTC)


@given(
    st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2028, 1, 1), timezones=st.just(UTC)),
    st.integers(0, 30 * 86400),
)
def test_business_due_times_are_never_earlier_than_plain_ones_and_fall_in_working_hours(moment, seconds):
    due = BERLIN.add(moment, seconds)
    assert due >= moment
    local = due.astimezone(BERLIN_ZONE)
    if seconds:
        assert local.isoweekday() <= 5
        assert (9, 0) <= (local.hour, local.minute) <= (17, 0)
