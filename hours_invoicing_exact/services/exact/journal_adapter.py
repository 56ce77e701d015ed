"""Outbox adapter posting period memorial entries as Exact general journal entries.

General journal entries have no ``YourRef``; the entry's reference travels as the
``Description`` of every line (see :func:`..journal.to_exact_payload`, used with an empty
header description), so an entry whose POST had an unknown outcome is found again by a
``$filter`` on ``GeneralJournalEntryLines.Description``, several references per call.
"""

from collections.abc import Sequence

from .client import ExactClient, chunks, or_filter
from .periods import ClosedPeriod, ExactPeriods

LINE_PATH = "generaljournalentry/GeneralJournalEntryLines"
LINE_SELECT = "EntryID,EntryNumber,Description,GLAccount,AmountFC,VATCode,AmountVATFC,Account"
__all__ = ["ClosedPeriod", "ExactGeneralJournalAdapter"]


class ExactGeneralJournalAdapter:
    """Posts ``{"reference": ..., "entry": <GeneralJournalEntries body>}`` payloads.

    :param check_period: read ``JournalStatusByFinancialPeriod`` before each POST and refuse
        an entry for a closed period with :class:`ClosedPeriod` (no POST is made).
    """

    def __init__(self, client: ExactClient, *, lookup_chunk: int = 20, check_period=True):
        self.client = client
        self.lookup_chunk = lookup_chunk
        self.check_period = check_period
        self.periods = ExactPeriods(client)

    def is_closed(self, journal: str, year: int, period: int) -> bool:
        """Whether Exact's ``journal`` is closed in ``year``/``period``."""
        return self.periods.is_closed(journal, year, period)

    def post(self, payload: dict) -> tuple[str, str | None]:
        """Create the entry; return (EntryID, EntryNumber)."""
        entry = payload["entry"]
        if self.check_period and self.is_closed(
            entry["JournalCode"], entry["FinancialYear"], entry["FinancialPeriod"]
        ):
            raise ClosedPeriod(
                entry["JournalCode"], entry["FinancialYear"], entry["FinancialPeriod"]
            )
        created = self.client.create_general_journal_entry(entry)
        return created["EntryID"], _text(created.get("EntryNumber"))

    def lookup(self, references: Sequence[str]) -> dict[str, tuple[str, str | None]]:
        """Find entries by the ``Description`` of their lines."""
        found = {}
        for chunk in chunks(references, self.lookup_chunk):
            rows = self.client.get_rows(
                LINE_PATH, {"$filter": or_filter("Description", chunk), "$select": LINE_SELECT}
            )
            for row in rows:
                found.setdefault(row["Description"], (row["EntryID"], _text(row["EntryNumber"])))
        return found

    def read_lines(self, entry_ids: Sequence[str]) -> list[dict]:
        """Return the lines of the given entries as Exact stored them (for reconciliation)."""
        rows = []
        for chunk in chunks(entry_ids, self.lookup_chunk):
            clauses = " or ".join(f"EntryID eq guid'{entry_id}'" for entry_id in chunk)
            params = {"$filter": clauses, "$select": LINE_SELECT}
            rows.extend(self.client.get_rows(LINE_PATH, params))
        return rows


def _text(value) -> str | None:
    return None if value is None else str(value)
