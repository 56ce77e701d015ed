"""Outbox adapters for Exact Online (see :class:`..outbox.Adapter`)."""

import datetime
from collections.abc import Sequence

from .client import ExactClient, chunks

#: Exact sales entry types.
SALES_ENTRY_INVOICE = 20
SALES_ENTRY_CREDIT_NOTE = 21


def _iso_date(value) -> str:
    """Return ``value`` (date, datetime or ISO string) as Exact's ISO-8601 date-time text."""
    if isinstance(value, datetime.datetime):
        value = value.date()
    if isinstance(value, datetime.date):
        value = value.isoformat()
    return f"{str(value)[:10]}T00:00:00"


class ExactSalesEntryAdapter:
    """Posts invoices as Exact sales entries (``salesentry/SalesEntries``).

    The payload is a plain dict describing an invoice::

        {
            "number": "INV/2024/0001",      # becomes YourRef: the look-up reference
            "date": "2024-01-31",
            "customer": "<crm Account guid>",
            "journal": "70",                 # journal *code*
            "credit_note": False,            # True -> Type 21
            "description": "...", "due_date": "...", "currency": "EUR",   # optional
            "lines": [
                {"gl_account": "<guid>", "vat_code": "2", "amount": 100.0,
                 "vat_amount": 21.0,             # optional: Odoo's VAT -> VATAmountFC
                 "description": "...", "quantity": 1.0},
            ],
        }

    Line amounts are given excluding VAT, as printed on the document (positive on a
    credit note too); :meth:`_amount_sign` turns them into Exact's sign.
    """

    def __init__(self, client: ExactClient, *, lookup_chunk: int = 20):
        self.client = client
        self.lookup_chunk = lookup_chunk

    def post(self, payload: dict) -> tuple[str, str | None]:
        """Create the sales entry; return (EntryID, EntryNumber)."""
        entry = self.client.create_sales_entry(self.build_entry(payload))
        return entry["EntryID"], _text(entry.get("EntryNumber"))

    def lookup(self, references: Sequence[str]) -> dict[str, tuple[str, str | None]]:
        """Find sales entries by ``YourRef``, ``lookup_chunk`` references per call."""
        found = {}
        for chunk in chunks(references, self.lookup_chunk):
            for row in self.client.find_sales_entries(chunk):
                found.setdefault(row["YourRef"], (row["EntryID"], _text(row.get("EntryNumber"))))
        return found

    def build_entry(self, invoice: dict) -> dict:
        """Return the SalesEntries POST body of ``invoice``."""
        entry = {
            "Journal": invoice["journal"],
            "Customer": invoice["customer"],
            "EntryDate": _iso_date(invoice["date"]),
            "YourRef": invoice["number"],
            "Type": SALES_ENTRY_CREDIT_NOTE if invoice.get("credit_note") else SALES_ENTRY_INVOICE,
            "Description": invoice.get("description") or invoice["number"],
            "SalesEntryLines": [self._prepare_line(invoice, line) for line in invoice["lines"]],
        }
        if invoice.get("due_date"):
            entry["DueDate"] = _iso_date(invoice["due_date"])
        if invoice.get("currency"):
            entry["Currency"] = invoice["currency"]
        return entry

    def _prepare_line(self, invoice: dict, line: dict) -> dict:
        """Return one ``SalesEntryLines`` item."""
        values = {
            "GLAccount": line["gl_account"],
            "AmountFC": round(self._amount_sign(invoice) * float(line["amount"]), 2),
            "Description": line.get("description")
            or invoice.get("description")
            or invoice["number"],
        }
        if line.get("vat_code"):
            values["VATCode"] = line["vat_code"]
            if line.get("vat_amount") is not None:
                # Odoo's VAT of the line: Exact would compute it on the line's amount
                values["VATAmountFC"] = round(
                    self._amount_sign(invoice) * float(line["vat_amount"]), 2
                )
        if line.get("quantity") is not None:
            values["Quantity"] = line["quantity"]
        return values

    def _amount_sign(self, invoice: dict) -> int:
        """Sign of line amounts in Exact: negative on a credit note (Type 21).

        The sign convention for credit notes is not confirmed by Exact's documentation
        (project reference A4); this is the one place to change it.
        """
        return -1 if invoice.get("credit_note") else 1


def _text(value) -> str | None:
    """Return ``value`` as text, keeping ``None``."""
    return None if value is None else str(value)
