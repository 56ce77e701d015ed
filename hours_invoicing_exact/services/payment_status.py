"""Payment status read back from the accounting package (Exact Online, Twinfield).

Information only: the open items of the package are read in ONE paged read per run (never a
call per invoice) and compared with the invoices Odoo sent; nothing is written back and no
payment is booked in Odoo (the books stay one-way).

* Exact Online: ``read/financial/ReceivablesList`` lists the open (unpaid) receivables with
  ``InvoiceNumber``, ``EntryNumber``, ``YourRef``, ``Amount`` and ``DueDate``
  (accounting-apis.md A7, A4 "Entities"); pages linked by ``__next`` (A4 "Paging") and a
  ``$select`` always sent (A4 "``$select``"). An invoice no longer listed is settled
  (A7: inference, unconfirmed).
* Twinfield: the Finder type ``IVT`` lists the open invoices (B2, B6 "Finder IVT lists only
  open items"), paged by ``firstRow``/``maxRows``; a ``Search`` costs 1 credit (B4). The
  Finder's column names are not in the reference (UNCONFIRMED): :func:`parse_finder` reads
  them from the answer's ``Columns`` so their order does not matter.

Imports no ``odoo``.
"""

import dataclasses
import datetime
from collections.abc import Iterable, Mapping
from decimal import Decimal

from lxml import etree

from .exact.client import parse_exact_date

OPEN = "open"
PARTIAL = "partial"
PAID = "paid"
CENT = Decimal("0.01")

#: Fields read from ``read/financial/ReceivablesList`` (A7): always a ``$select`` (A4).
RECEIVABLES_PATH = "read/financial/ReceivablesList"
RECEIVABLES_SELECT = "HID,YourRef,InvoiceNumber,EntryNumber,Amount,DueDate,CurrencyCode"

#: Finder type of open invoices (B2) and the page size asked per ``Search``.
FINDER_OPEN_INVOICES = "IVT"
FINDER_PAGE_SIZE = 100
TWF = "http://www.twinfield.com/"
#: Column names of an IVT row accepted for each meaning (UNCONFIRMED in the reference).
FINDER_COLUMNS = {
    "invoice_number": ("invoicenumber", "invoice number", "factuurnummer"),
    "open_amount": ("openvalue", "openbasevalue", "open amount", "openstaand"),
    "due_date": ("duedate", "due date", "vervaldatum"),
}


@dataclasses.dataclass(frozen=True)
class OpenItem:
    """One open item of the package: ``reference`` is the invoice number Odoo sent
    (Exact ``YourRef``, Twinfield ``invoicenumber``), ``entry_number`` the package's own
    number, ``open_amount`` positive for an invoice (signed as the package books it)."""

    reference: str
    entry_number: str
    open_amount: Decimal
    due_date: datetime.date | None = None


def _decimal(value) -> Decimal:
    try:
        return Decimal(str(value if value not in (None, "") else 0)).quantize(CENT)
    except ArithmeticError:
        raise ValueError(f"unreadable amount {value!r}") from None


# -- Exact Online ----------------------------------------------------------------------------


def exact_open_items(client) -> list[OpenItem]:
    """Read all open receivables of the client's division: one paged read (A7, A4)."""
    rows = client.get_rows(RECEIVABLES_PATH, {"$select": RECEIVABLES_SELECT})
    return parse_receivables(rows)


def parse_receivables(rows: Iterable[Mapping]) -> list[OpenItem]:
    """Rows of ``ReceivablesList`` as :class:`OpenItem` (``YourRef`` carries Odoo's number,
    A5 "Idempotency"; ``InvoiceNumber``/``EntryNumber`` the entry number)."""
    items = []
    for row in rows:
        entry_number = str(row.get("EntryNumber") or row.get("InvoiceNumber") or "")
        due = row.get("DueDate")
        items.append(OpenItem(
            reference=str(row.get("YourRef") or "").strip(),
            entry_number=entry_number,
            open_amount=_decimal(row.get("Amount")),
            due_date=parse_exact_date(due) if due else None,
        ))
    return items


# -- Twinfield ---------------------------------------------------------------------------------


def finder_search_request(pattern: str, first_row: int, max_rows: int,
                          options: Mapping[str, str], type_: str = FINDER_OPEN_INVOICES):
    """The body element of a Finder ``Search`` (B2: ``Search(type, pattern, field, firstRow,
    maxRows, options)``); ``options`` as ``ArrayOfString`` pairs."""
    search = etree.Element(f"{{{TWF}}}Search", nsmap={None: TWF})
    for tag, text in (("type", type_), ("pattern", pattern), ("field", "0"),
                      ("firstRow", str(first_row)), ("maxRows", str(max_rows))):
        etree.SubElement(search, f"{{{TWF}}}{tag}").text = text
    node = etree.SubElement(search, f"{{{TWF}}}options")
    for key, value in options.items():
        pair = etree.SubElement(node, f"{{{TWF}}}ArrayOfString")
        etree.SubElement(pair, f"{{{TWF}}}string").text = key
        etree.SubElement(pair, f"{{{TWF}}}string").text = value
    return search


def parse_finder(response) -> tuple[int, list[dict]]:
    """``(TotalRows, rows as {column: text})`` of a ``SearchResponse`` element. A message of
    type error in ``SearchResult`` raises :class:`ValueError` with its text."""
    ns = {"t": TWF}
    errors = [
        (message.findtext("t:Text", namespaces=ns) or "").strip()
        for message in response.iterfind(".//t:SearchResult/t:MessageOfErrorCodes", ns)
        if (message.findtext("t:Type", namespaces=ns) or "").lower() == "error"
    ]
    if errors:
        raise ValueError(" // ".join(errors))
    data = response.find("t:data", ns)
    if data is None:
        return 0, []
    total = int(data.findtext("t:TotalRows", default="0", namespaces=ns) or 0)
    columns = [(text or "").strip().lower()
               for text in data.xpath("t:Columns/t:string/text()", namespaces=ns)]
    rows = []
    for item in data.iterfind("t:Items/t:ArrayOfString", ns):
        values = [node.text or "" for node in item.iterfind("t:string", ns)]
        rows.append(dict(zip(columns, values, strict=False)))
    return total, rows


def _column(row: Mapping[str, str], meaning: str) -> str:
    for name in FINDER_COLUMNS[meaning]:
        if name in row:
            return row[name]
    raise ValueError(f"Twinfield's open-invoice list has no column for {meaning}: {sorted(row)}")


def parse_open_invoices(rows: Iterable[Mapping[str, str]]) -> list[OpenItem]:
    """IVT rows as :class:`OpenItem` (Twinfield's invoice number is Odoo's, B3
    ``invoicenumber``; dates ``YYYYMMDD``)."""
    items = []
    for row in rows:
        number = _column(row, "invoice_number").strip()
        due = (_column(row, "due_date") or "").strip()
        items.append(OpenItem(
            reference=number,
            entry_number=number,
            open_amount=_decimal(_column(row, "open_amount")),
            due_date=datetime.datetime.strptime(due[:8], "%Y%m%d").date() if due else None,
        ))
    return items


def twinfield_open_items(client, page_size: int = FINDER_PAGE_SIZE) -> list[OpenItem]:
    """Read all open invoices of the client's office: Finder ``IVT`` page by page (B2, B4)."""
    rows, first = [], 1
    while True:
        total, page = client.finder_search(
            FINDER_OPEN_INVOICES, "*", first, page_size, {"office": client.office})
        rows.extend(page)
        first += len(page)
        if not page or first > total:
            return parse_open_invoices(rows)


# -- status ------------------------------------------------------------------------------------


def open_amounts(items: Iterable[OpenItem]) -> dict[str, Decimal]:
    """Open amount per reference (several open items of one invoice are summed: a payment
    term with installments is several items)."""
    result: dict[str, Decimal] = {}
    for item in items:
        if item.reference:
            result[item.reference] = result.get(item.reference, Decimal(0)) + item.open_amount
    return result


def status_of(total, open_amount) -> str:
    """``open``, ``partial`` or ``paid`` of an invoice of ``total`` (incl. VAT) with
    ``open_amount`` still open in the package; signs ignored (credit notes are negative)."""
    total, still = abs(_decimal(total)), abs(_decimal(open_amount))
    if still == 0:
        return PAID
    if still >= total:
        return OPEN
    return PARTIAL


def statuses(invoices: Mapping[str, object], items: Iterable[OpenItem]
             ) -> dict[str, tuple[str, Decimal]]:
    """``{reference: (status, open amount)}`` of the ``invoices`` (``{reference: total}``)
    sent to the package, given all its open items: an invoice not listed is paid (A7)."""
    amounts = open_amounts(items)
    return {
        reference: (status_of(total, amounts.get(reference, 0)),
                    abs(amounts.get(reference, Decimal(0))))
        for reference, total in invoices.items()
    }
