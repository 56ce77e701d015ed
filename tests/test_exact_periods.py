"""The open-period rule of Exact Online (``services/exact/periods.py``): the period of a date
from Exact's own table, closed journals per financial year, and the two policies."""

import datetime as dt

import pytest

from hours_invoicing_exact.services.exact.periods import (
    ClosedPeriod,
    ExactPeriods,
    NoFinancialPeriod,
)

STATUS = ("GET", "read/financial/JournalStatusByFinancialPeriod")
TABLE = ("GET", "financial/FinancialPeriods")


def test_open_period_with_one_call_per_table_and_journal_year(server, client):
    periods = ExactPeriods(client)
    for day in (dt.date(2024, 3, 1), dt.date(2024, 3, 31), dt.date(2024, 7, 4)):
        period, moved = periods.open_period("70", day)
        assert (period["year"], period["period"], moved) == (2024, day.month, False)
    assert server.calls[TABLE] == 1 and server.calls[STATUS] == 1


def test_closed_period_refused_or_moved_to_the_next_open_one(server, client):
    server.close_period("90", 2024, 12)
    server.close_period("90", 2025, 1)
    with pytest.raises(ClosedPeriod, match="closed for period 12/2024"):
        ExactPeriods(client).open_period("90", dt.date(2024, 12, 31))
    period, moved = ExactPeriods(client).open_period("90", dt.date(2024, 12, 31), "next_open")
    assert (period["year"], period["period"], period["start"], moved) == (
        2025, 2, dt.date(2025, 2, 1), True)
    assert not ExactPeriods(client).is_closed("70", 2024, 12)  # per journal


def test_four_weekly_periods_and_a_date_without_period(server, client):
    server.set_financial_periods([
        (2024, number, dt.date(2024, 1, 1) + dt.timedelta(weeks=4 * (number - 1)),
         dt.date(2024, 1, 1) + dt.timedelta(weeks=4 * number, days=-1))
        for number in range(1, 14)
    ])
    periods = ExactPeriods(client)
    assert periods.period_of(dt.date(2024, 2, 1))["period"] == 2
    with pytest.raises(NoFinancialPeriod):
        periods.period_of(dt.date(2025, 6, 1))
