"""Periods and yearly indexation of recurring invoices (contracts) — Odoo-free.

Periods are *anchored* on the contract's start date: period ``k`` starts on
``start + k × (months of the rule)``, each boundary computed from the start date itself and
clamped to the end of a shorter month (31 January, 28 February, 31 March, 30 April, ...),
never chained from the previous boundary (which would drift to the 28th for ever after
February). A period ends the day before the next boundary, or on the contract's end date.

In advance (``pre-paid``) a period is invoiced on its first day, in arrears (``post-paid``)
the day after its last day (plus an optional offset in days).

Indexation: a yearly percentage applied on every anniversary of the indexation base date;
the price of a period is the base price indexed once per full year between the base date and
the start of the period, rounded to the price's decimals after each year (as a price list
updated every year would be).
"""

import calendar
import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

# months per period of the contract's recurrence rules with a month-based length
RULE_MONTHS = {"monthly": 1, "quarterly": 3, "semesterly": 6, "yearly": 12}
PRE_PAID = "pre-paid"
POST_PAID = "post-paid"


def add_months(day, months):
    """``day`` plus ``months`` months, clamped to the end of a shorter month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def period_months(rule, interval=1):
    """Months per period of ``rule`` × ``interval``; ``None`` for rules not in months."""
    months = RULE_MONTHS.get(rule)
    if months is None:
        return None
    if interval < 1:
        raise ValueError(f"interval must be at least 1, not {interval}")
    return months * interval


def period_end(anchor, period_start, months, date_end=None):
    """Last day of the period that holds ``period_start``, periods anchored on ``anchor``
    (every ``months`` months); never after ``date_end``. ``None`` when the period starts
    after ``date_end`` (the contract has ended)."""
    if period_start < anchor:
        raise ValueError(f"period start {period_start} before the anchor {anchor}")
    if date_end and period_start > date_end:
        return None
    elapsed = (period_start.year - anchor.year) * 12 + period_start.month - anchor.month
    k = max(elapsed // months, 0)
    # the clamped boundary of step k may lie after period_start (31 Jan -> 28 Feb ...)
    while add_months(anchor, k * months) > period_start:
        k -= 1
    while add_months(anchor, (k + 1) * months) <= period_start:
        k += 1
    end = add_months(anchor, (k + 1) * months) - dt.timedelta(days=1)
    return min(end, date_end) if date_end else end


def invoice_date(period_start, period_last, invoicing_type, offset=0):
    """The day a period is invoiced: its first day in advance, the day after its last in
    arrears (``offset`` days later in both cases, as the contract's offset says)."""
    if invoicing_type == PRE_PAID:
        return period_start + dt.timedelta(days=offset)
    if invoicing_type == POST_PAID:
        return period_last + dt.timedelta(days=offset)
    raise ValueError(f"unknown invoicing type {invoicing_type!r}")


def periods(anchor, months, invoicing_type, date_end=None, until=None, offset=None,
            first_start=None):
    """The periods ``(start, end, invoice date)`` of a contract from ``first_start``
    (default: the anchor), up to the contract's ``date_end`` and (when given) while the
    invoice date is on or before ``until``. ``offset`` defaults to the contract's: 0 in
    advance, 1 day in arrears."""
    if offset is None:
        offset = 0 if invoicing_type == PRE_PAID else 1
    start = first_start or anchor
    while True:
        end = period_end(anchor, start, months, date_end)
        if end is None:
            return
        day = invoice_date(start, end, invoicing_type, offset)
        if until and day > until:
            return
        yield start, end, day
        start = end + dt.timedelta(days=1)


def full_years(base_date, day):
    """Number of anniversaries of ``base_date`` on or before ``day`` (0 before the first)."""
    years = day.year - base_date.year
    if (day.month, day.day) < (base_date.month, base_date.day):
        years -= 1
    return max(years, 0)


def indexed_price(price, percentage, base_date, period_start, digits=2):
    """``price`` indexed by ``percentage`` per full year from ``base_date`` to
    ``period_start``, rounded half-up to ``digits`` decimals after each year. A float.
    No percentage or no base date: the price itself."""
    if not percentage or not base_date:
        return price
    quantum = Decimal(1).scaleb(-digits)
    factor = 1 + Decimal(str(percentage)) / 100
    value = Decimal(str(price))
    for _year in range(full_years(base_date, period_start)):
        value = (value * factor).quantize(quantum, rounding=ROUND_HALF_UP)
    return float(value)
