"""Period arithmetic and indexation of recurring invoices (services/recurring.py)."""

import datetime as dt

import pytest

from hours_invoicing_exact.services import recurring as rec

D = dt.date


def test_add_months_clamps_to_shorter_months():
    assert rec.add_months(D(2026, 1, 31), 1) == D(2026, 2, 28)
    assert rec.add_months(D(2028, 1, 31), 1) == D(2028, 2, 29)  # leap year
    assert rec.add_months(D(2026, 1, 31), 3) == D(2026, 4, 30)
    assert rec.add_months(D(2026, 11, 15), 2) == D(2027, 1, 15)
    assert rec.add_months(D(2026, 3, 31), -1) == D(2026, 2, 28)


def test_monthly_from_the_first_follows_calendar_months():
    got = list(rec.periods(D(2026, 1, 1), 1, rec.PRE_PAID, until=D(2026, 4, 1)))
    assert got == [
        (D(2026, 1, 1), D(2026, 1, 31), D(2026, 1, 1)),
        (D(2026, 2, 1), D(2026, 2, 28), D(2026, 2, 1)),
        (D(2026, 3, 1), D(2026, 3, 31), D(2026, 3, 1)),
        (D(2026, 4, 1), D(2026, 4, 30), D(2026, 4, 1)),
    ]


def test_in_arrears_invoices_the_day_after_the_period():
    got = list(rec.periods(D(2026, 1, 1), 1, rec.POST_PAID, until=D(2026, 3, 1)))
    assert got == [
        (D(2026, 1, 1), D(2026, 1, 31), D(2026, 2, 1)),
        (D(2026, 2, 1), D(2026, 2, 28), D(2026, 3, 1)),
    ]


def test_start_on_the_31st_does_not_drift_after_february():
    starts = [p[0] for p in rec.periods(D(2026, 1, 31), 1, rec.PRE_PAID,
                                        until=D(2026, 6, 30))]
    assert starts == [D(2026, 1, 31), D(2026, 2, 28), D(2026, 3, 31), D(2026, 4, 30),
                      D(2026, 5, 31), D(2026, 6, 30)]
    assert rec.period_end(D(2026, 1, 31), D(2026, 2, 28), 1) == D(2026, 3, 30)
    assert rec.period_end(D(2026, 1, 31), D(2026, 1, 31), 1) == D(2026, 2, 27)


def test_start_mid_month():
    got = list(rec.periods(D(2026, 1, 15), 1, rec.POST_PAID, until=D(2026, 3, 15)))
    assert got == [
        (D(2026, 1, 15), D(2026, 2, 14), D(2026, 2, 15)),
        (D(2026, 2, 15), D(2026, 3, 14), D(2026, 3, 15)),
    ]


def test_quarterly_and_yearly():
    quarters = list(rec.periods(D(2026, 1, 1), rec.period_months("quarterly"), rec.PRE_PAID,
                                until=D(2026, 12, 31)))
    assert [(s, e) for s, e, _day in quarters] == [
        (D(2026, 1, 1), D(2026, 3, 31)), (D(2026, 4, 1), D(2026, 6, 30)),
        (D(2026, 7, 1), D(2026, 9, 30)), (D(2026, 10, 1), D(2026, 12, 31)),
    ]
    years = list(rec.periods(D(2024, 2, 29), rec.period_months("yearly"), rec.PRE_PAID,
                             until=D(2026, 12, 31)))
    assert [(s, e) for s, e, _day in years] == [
        (D(2024, 2, 29), D(2025, 2, 27)), (D(2025, 2, 28), D(2026, 2, 27)),
        (D(2026, 2, 28), D(2027, 2, 27)),
    ]
    assert rec.period_months("monthly", 2) == 2
    assert rec.period_months("weekly") is None
    with pytest.raises(ValueError):
        rec.period_months("monthly", 0)


def test_end_date_cuts_the_last_period_and_stops():
    got = list(rec.periods(D(2026, 1, 1), 3, rec.POST_PAID, date_end=D(2026, 5, 15)))
    assert got == [
        (D(2026, 1, 1), D(2026, 3, 31), D(2026, 4, 1)),
        (D(2026, 4, 1), D(2026, 5, 15), D(2026, 5, 16)),
    ]
    assert rec.period_end(D(2026, 1, 1), D(2026, 5, 16), 3, D(2026, 5, 15)) is None


def test_period_end_of_a_start_inside_a_period():
    # a line started later, or a period start after a manual change, ends on the boundary
    assert rec.period_end(D(2026, 1, 1), D(2026, 2, 10), 3) == D(2026, 3, 31)
    with pytest.raises(ValueError):
        rec.period_end(D(2026, 1, 1), D(2025, 12, 31), 1)


def test_invoice_date_offset_and_bad_type():
    assert rec.invoice_date(D(2026, 1, 1), D(2026, 1, 31), rec.PRE_PAID, 5) == D(2026, 1, 6)
    assert rec.invoice_date(D(2026, 1, 1), D(2026, 1, 31), rec.POST_PAID, 1) == D(2026, 2, 1)
    with pytest.raises(ValueError):
        rec.invoice_date(D(2026, 1, 1), D(2026, 1, 31), "later")


def test_full_years_counts_anniversaries():
    assert rec.full_years(D(2026, 3, 15), D(2027, 3, 14)) == 0
    assert rec.full_years(D(2026, 3, 15), D(2027, 3, 15)) == 1
    assert rec.full_years(D(2026, 3, 15), D(2029, 1, 1)) == 2
    assert rec.full_years(D(2026, 3, 15), D(2025, 1, 1)) == 0


def test_indexation_per_full_year_rounded_each_year():
    base = D(2026, 1, 1)
    assert rec.indexed_price(100.0, 3.0, base, D(2026, 12, 1)) == 100.0
    assert rec.indexed_price(100.0, 3.0, base, D(2027, 1, 1)) == 103.0
    # 103.00 * 1.03 = 106.09; 106.09 * 1.03 = 109.2727 -> 109.27
    assert rec.indexed_price(100.0, 3.0, base, D(2029, 6, 1)) == 109.27
    # rounding per year, half up: 99.99 * 1.025 = 102.48975 -> 102.49
    assert rec.indexed_price(99.99, 2.5, base, D(2027, 1, 1)) == 102.49
    assert rec.indexed_price(100.0, 0.0, base, D(2030, 1, 1)) == 100.0
    assert rec.indexed_price(100.0, 3.0, None, D(2030, 1, 1)) == 100.0
    # a negative index lowers the price
    assert rec.indexed_price(100.0, -1.0, base, D(2027, 1, 1)) == 99.0
