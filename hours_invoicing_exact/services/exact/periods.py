"""Exact Online's financial periods and the open-period rule, in one place.

Exact's financial periods need not be calendar months (13 periods of four weeks, a year
from July, ...): the period of a date is read from ``financial/FinancialPeriods``. Whether a
journal is closed in a period is read from ``read/financial/JournalStatusByFinancialPeriod``
(``Status`` 1 = closed; project reference A4), for a journal and a whole financial year in
one call. An entry for a closed period is either refused or, when the caller's policy says
so, moved to the first open period after it.

:class:`ExactPeriods` keeps what one run learnt (pass the same ``cache`` dict to share it),
so a run costs one call per financial-year table and one per journal and year.
"""

import datetime
from typing import Any

from ..outbox import RecordRejected
from .client import ExactClient, odata_literal

STATUS_CLOSED = 1
JOURNAL_STATUS_PATH = "read/financial/JournalStatusByFinancialPeriod"
JOURNAL_STATUS_SELECT = "JournalCode,FinancialYear,FinancialPeriod,Status"
#: Periods looked at after a closed one before giving up (two years of months).
MAX_PERIODS_AHEAD = 25

ERROR = "error"
NEXT_OPEN = "next_open"


class NoFinancialPeriod(RecordRejected):
    """Exact has no financial period for ``day``."""

    def __init__(self, day: datetime.date):
        super().__init__(f"Exact Online has no financial period for {day.isoformat()}.")
        self.day = day


class ClosedPeriod(RecordRejected):
    """Exact's ``journal`` is closed in financial period ``period`` of ``year``."""

    def __init__(self, journal: str, year: int, period: int):
        super().__init__(
            f"Exact Online journal {journal} is closed for period {period}/{year}."
        )
        self.journal, self.year, self.period = journal, year, period


class NoOpenPeriod(RecordRejected):
    """No open period of ``journal`` was found after ``day``."""

    def __init__(self, journal: str, day: datetime.date):
        super().__init__(
            f"No open Exact Online period of journal {journal} found after {day.isoformat()}."
        )
        self.journal, self.day = journal, day


class ExactPeriods:
    """Financial periods and closed journals of one division, as far as a run needs them."""

    def __init__(self, client: ExactClient, cache: dict | None = None):
        self.client = client
        self.cache: dict[Any, Any] = {} if cache is None else cache

    def table(self, year: int) -> list[dict]:
        """The periods ``{"year", "period", "start", "end"}`` around ``year`` (one call)."""
        key = ("financial_periods", year)
        if key not in self.cache:
            self.cache[key] = self.client.financial_periods(year - 1, year + 2)
        return self.cache[key]

    def period_of(self, day: datetime.date) -> dict:
        """The financial period containing ``day``; :class:`NoFinancialPeriod` if none."""
        period = next((p for p in self.table(day.year) if p["start"] <= day <= p["end"]), None)
        if period is None:
            raise NoFinancialPeriod(day)
        return period

    def closed_periods(self, journal: str, year: int) -> set[int]:
        """The closed period numbers of ``journal`` in financial year ``year`` (one call)."""
        key = ("closed", journal, int(year))
        if key not in self.cache:
            rows = self.client.get_rows(JOURNAL_STATUS_PATH, {
                "$filter": f"JournalCode eq {odata_literal(journal)} and "
                           f"FinancialYear eq {int(year)}",
                "$select": JOURNAL_STATUS_SELECT,
            })
            self.cache[key] = {
                int(row["FinancialPeriod"]) for row in rows if row.get("Status") == STATUS_CLOSED
            }
        return self.cache[key]

    def is_closed(self, journal: str, year: int, period: int) -> bool:
        """Whether ``journal`` is closed in ``period`` of ``year``."""
        return int(period) in self.closed_periods(journal, year)

    def open_period(self, journal: str, day: datetime.date, policy: str = ERROR):
        """Return ``(period, moved)``: the open financial period an entry of ``journal``
        dated ``day`` goes in, and whether it was moved past closed periods.

        :param policy: ``"error"`` refuses a closed period (:class:`ClosedPeriod`);
            ``"next_open"`` takes the first open period after it.
        """
        period = self.period_of(day)
        if not self.is_closed(journal, period["year"], period["period"]):
            return period, False
        if policy != NEXT_OPEN:
            raise ClosedPeriod(journal, period["year"], period["period"])
        candidate = period
        for _step in range(MAX_PERIODS_AHEAD):
            table = self.table(candidate["end"].year)
            later = [p for p in table if p["start"] > candidate["end"]]
            if not later:
                table = self.table(candidate["end"].year + 1)
                later = [p for p in table if p["start"] > candidate["end"]]
                if not later:
                    break
            candidate = later[0]
            if not self.is_closed(journal, candidate["year"], candidate["period"]):
                return candidate, True
        raise NoOpenPeriod(journal, day)
