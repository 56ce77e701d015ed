"""Outbox adapters for Twinfield (see :class:`..outbox.BatchAdapter`).

Twinfield has no idempotency key (accounting-apis.md B3, C3), so:

* several transactions go in one ``<transactions>`` call (3 credits for the call, B4):
  :meth:`post_batch` returns each transaction's own outcome (a batch can partly succeed);
* a transaction refused with "duplicate invoice number" is *looked up* at once (B6: a
  signal, never the guarantee): found -> recorded as sent with the found number, not
  found -> refused with Twinfield's text;
* :meth:`lookup` finds transactions by invoice number with browse code 100 (office,
  transaction type, invoice-number range: one read per ``lookup_chunk`` references).

The remote id of a transaction is ``"{office}/{code}/{number}"``, its number Twinfield's.
"""

import logging
from collections.abc import Sequence
from decimal import Decimal

from lxml import etree

from ..outbox import Outcome
from .client import TwinfieldClient
from .errors import OutcomeUnknown, TwinfieldError, TwinfieldRejected
from .xml import (
    browse_by_invoice_numbers,
    is_duplicate_refusal,
    journal_transaction,
    parse_browse,
    parse_transactions,
    sales_transaction,
    transactions,
)

_logger = logging.getLogger(__name__)


def remote_id(office: str, code: str, number: str) -> str:
    """The remote id stored on the record: ``office/code/number``."""
    return f"{office}/{code}/{number}"


class _TransactionAdapter:
    """Shared batching, result mapping and look-up of the sales and journal adapters."""

    default_code = ""

    def __init__(
        self,
        client: TwinfieldClient,
        *,
        code: str | None = None,
        batch_size: int = 50,
        lookup_chunk: int = 100,
        raise_warnings: bool = False,
        is_closed=None,
    ):
        self.client = client
        #: ``is_closed("YYYY/PP") -> bool`` from the cached periods (``TwinfieldReference
        #: .periods``): a transaction for a closed period is refused without a call (C4)
        self.is_closed = is_closed
        self.code = code or self.default_code
        self.post_batch_size = batch_size
        self.lookup_chunk = lookup_chunk
        self.raise_warnings = raise_warnings
        #: warnings Twinfield gave per reference (the Odoo side shows them on the record)
        self.warnings: dict[str, list[str]] = {}

    @property
    def office(self) -> str:
        """The client's office."""
        return self.client.office

    def reference(self, payload: dict) -> str:
        """The look-up reference (invoice number) of ``payload``."""
        raise NotImplementedError

    def build(self, payload: dict) -> etree._Element:
        """The ``<transaction>`` of ``payload``."""
        raise NotImplementedError

    def post(self, payload: dict) -> tuple[str, str | None]:
        """Write one transaction; see :class:`..outbox.Adapter`."""
        (outcome,) = self.post_batch([payload])
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def post_batch(self, payloads: Sequence[dict]) -> list[Outcome]:
        """Write ``payloads`` in one ``<transactions>`` call; one outcome per payload."""
        outcomes: list[Outcome | None] = [None] * len(payloads)
        built = []
        for index, payload in enumerate(payloads):
            try:
                element = self.build(payload)
                period = element.findtext("header/period")
                if self.is_closed is not None and self.is_closed(period):
                    raise TwinfieldError(f"Period {period} is closed in Twinfield.")
                built.append((index, element))
            except TwinfieldError as exc:  # refused locally: never sent
                outcomes[index] = TwinfieldRejected(exc.message)
        if built:
            answer = self.client.process_xml(transactions(element for _i, element in built))
            try:
                results = parse_transactions(answer, len(built))
            except TwinfieldError as exc:
                raise OutcomeUnknown(exc.message) from None
            duplicates = []
            for (index, _element), result in zip(built, results, strict=True):
                reference = self.reference(payloads[index])
                if result["warnings"]:
                    self.warnings[reference] = result["warnings"]
                if result["ok"] and result["number"]:
                    outcomes[index] = (
                        remote_id(self.office, result["code"] or self.code, result["number"]),
                        result["number"],
                    )
                elif result["ok"]:
                    outcomes[index] = OutcomeUnknown(
                        f"Twinfield accepted {reference} without a transaction number."
                    )
                elif is_duplicate_refusal(result["errors"]):
                    duplicates.append((index, reference, result))
                else:
                    text = " // ".join(result["errors"] + result["warnings"])
                    outcomes[index] = TwinfieldRejected(text or "Twinfield refused it.")
            if duplicates:
                found = self.lookup([reference for _i, reference, _r in duplicates])
                for index, reference, result in duplicates:
                    outcomes[index] = found.get(reference) or TwinfieldRejected(
                        " // ".join(result["errors"])
                    )
        return outcomes

    def lookup(self, references: Sequence[str]) -> dict[str, tuple[str, str | None]]:
        """Find transactions of the adapter's type by invoice number (browse code 100)."""
        found: dict[str, tuple[str, str | None]] = {}
        ordered = sorted(set(references))
        for start in range(0, len(ordered), self.lookup_chunk):
            chunk = ordered[start:start + self.lookup_chunk]
            wanted = set(chunk)
            answer = self.client.process_xml(
                browse_by_invoice_numbers(self.office, self.code, chunk)
            )
            for row in parse_browse(answer):
                number = row.get("fin.trs.head.number")
                reference = row.get("fin.trs.line.invnumber")
                if reference in wanted and number and reference not in found:
                    found[reference] = (remote_id(self.office, self.code, number), number)
        return found


    def read_lines(self, references: Sequence[str]) -> list[dict]:
        """Lines of the transactions with these invoice numbers as Twinfield stored them, for
        reconciliation: ``[{"reference", "number", "type", "gl_account", "relation",
        "vat_code", "amount"}]`` with ``amount`` signed (debit positive, ``…valuesigned``,
        the reliable amount column per B6). Generated VAT lines included."""
        rows = []
        ordered = sorted(set(references))
        fields = ("fin.trs.line.type", "fin.trs.line.dim1", "fin.trs.line.dim2",
                  "fin.trs.line.vatcode")
        for start in range(0, len(ordered), self.lookup_chunk):
            chunk = ordered[start:start + self.lookup_chunk]
            wanted = set(chunk)
            answer = self.client.process_xml(
                browse_by_invoice_numbers(self.office, self.code, chunk, fields)
            )
            numbers = {}
            browse = parse_browse(answer)
            for row in browse:  # a transaction is the reference's when any line says so
                if row.get("fin.trs.line.invnumber") in wanted:
                    numbers.setdefault(row["fin.trs.head.number"],
                                       row["fin.trs.line.invnumber"])
            for row in browse:
                number = row.get("fin.trs.head.number")
                if number in numbers:
                    rows.append({
                        "reference": numbers[number],
                        "number": number,
                        "type": row.get("fin.trs.line.type"),
                        "gl_account": row.get("fin.trs.line.dim1"),
                        "relation": row.get("fin.trs.line.dim2") or "",
                        "vat_code": row.get("fin.trs.line.vatcode") or "",
                        "amount": Decimal(row.get("fin.trs.line.valuesigned") or 0),
                    })
        return rows


class TwinfieldSalesAdapter(_TransactionAdapter):
    """Posts invoices and credit notes as sales transactions (``VRK`` by default).

    Payload: see :func:`~.xml.sales_transaction`. ``vat_style`` ``"vatvalue"`` (default)
    or ``"vat_lines"`` (see :mod:`.xml`).
    """

    default_code = "VRK"

    def __init__(self, client: TwinfieldClient, *, vat_style: str = "vatvalue", **kwargs):
        super().__init__(client, **kwargs)
        self.vat_style = vat_style

    def reference(self, payload: dict) -> str:
        """The invoice number."""
        return payload["number"]

    def build(self, payload: dict) -> etree._Element:
        """The sales ``<transaction>``."""
        return sales_transaction(
            payload, office=self.office, code=self.code, vat_style=self.vat_style,
            raise_warnings=self.raise_warnings,
        )


class TwinfieldJournalAdapter(_TransactionAdapter):
    """Posts period memorial entries as journal transactions (``MEMO`` by default).

    Payload: see :func:`~.xml.journal_transaction` (built from a :class:`..journal.Entry`
    by :func:`journal_payload`). The entry reference travels as the invoice number of its
    lines, which is what :meth:`lookup` searches.
    """

    default_code = "MEMO"

    def reference(self, payload: dict) -> str:
        """The entry reference."""
        return payload["reference"]

    def build(self, payload: dict) -> etree._Element:
        """The journal ``<transaction>``."""
        return journal_transaction(
            payload, office=self.office, code=self.code, raise_warnings=self.raise_warnings
        )


def journal_payload(entry, gl_codes: dict, relation_codes: dict | None = None,
                    invoice_numbers: dict | None = None, code: str = "MEMO") -> dict:
    """Turn a :class:`..journal.Entry` (built with ``vat_rounding="odoo"``) into the payload
    of :class:`TwinfieldJournalAdapter`.

    :param gl_codes: ``{Odoo GL code: Twinfield dim1 code}`` (text, leading zeros kept).
    :param relation_codes: ``{relation key: Twinfield customer code}``.
    :param invoice_numbers: ``{relation key: invoice number}`` for receivable lines that
        stand for one invoice (matching); others carry the entry reference.
    :raises TwinfieldError: a GL account or relation without a mapping.
    """
    header = entry.header
    relation_codes = relation_codes or {}
    invoice_numbers = invoice_numbers or {}
    lines = []
    for line in entry.lines:
        if line.gl_account not in gl_codes:
            raise TwinfieldError(f"No Twinfield GL account mapped for {line.gl_account}.")
        values = {
            "gl_account": gl_codes[line.gl_account],
            "amount": str(line.amount),
            "description": " ".join(
                part for part in (entry.reference, line.description) if part
            ),
        }
        if line.vat_code:
            values["vat_code"] = line.vat_code
            values["vat_amount"] = str(line.vat_amount if line.vat_amount is not None else 0)
        if line.relation:
            if line.relation not in relation_codes:
                raise TwinfieldError(f"No Twinfield customer mapped for {line.relation}.")
            values["relation"] = relation_codes[line.relation]
            if line.relation in invoice_numbers:
                values["invoice_number"] = invoice_numbers[line.relation]
        lines.append(values)
    return {
        "reference": entry.reference,
        "date": header.date.isoformat(),
        "period": f"{header.year:04d}/{header.fin_period:02d}",
        "currency": header.currency,
        "code": code,
        "lines": lines,
    }
