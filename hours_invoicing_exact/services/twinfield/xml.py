"""Twinfield ProcessXml vocabulary: requests built from plain dicts, answers parsed to dicts.

Conventions (accounting-apis.md B3, B6): codes are text (``0110`` keeps its leading zero),
dates ``YYYYMMDD``, periods ``YYYY/PP``, amounts always positive with two decimals and a
``debitcredit`` side, a transaction has 2 to 1,000 lines. The answer to any request is the
request echoed with ``result="1"``/``"0"`` on the root and each transaction, and ``msgtype``
(``error``/``warning``) plus ``msg`` on the offending elements (several messages joined by
``//``, in the user's language); a created transaction gets its ``number`` in the header.

VAT carried from Odoo (so Twinfield's VAT equals Odoo's to the cent). Twinfield computes the
VAT of a detail line from its ``vatcode`` unless told. Two ways to tell it are supported
(``vat_style``):

* ``"vatvalue"`` (default): each detail line carries Odoo's VAT of that line in
  ``<vatvalue>`` (php-twinfield ``SalesTransactionLine::setVatValue``, "only for detail
  lines", B3 [LIB]); Twinfield books that amount on the VAT line it generates;
* ``"vat_lines"``: detail lines carry only ``vatcode``; one explicit ``<line type="vat">``
  per VAT code carries Odoo's VAT of the code (B3: "vat line optional"), and Twinfield then
  generates none for that code.

The local server implements both; the default is ``vatvalue`` because it keeps Odoo's VAT
per line, which is what the VAT return (base and VAT per line) needs.
"""

import datetime
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal

from lxml import etree

from .errors import TwinfieldError

CENT = Decimal("0.01")
MIN_LINES = 2
MAX_LINES = 1000
VAT_STYLES = ("vatvalue", "vat_lines")
#: Browse code of transaction lines (B6: "Look-up by invoice number").
BROWSE_TRANSACTIONS = "100"
#: Markers of Twinfield's "duplicate invoice number" refusal (B6, [3RD]): a hint to look up.
DUPLICATE_MARKERS = ("komt reeds voor", "already exists", "bestaat al")


# -- small helpers -----------------------------------------------------------------------


def money(value) -> Decimal:
    """Return ``value`` as a cent ``Decimal`` (half away from zero)."""
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def amount_text(value) -> str:
    """Return the absolute amount as Twinfield writes it: ``121.00``."""
    return f"{abs(money(value)):.2f}"


def to_date(value) -> datetime.date:
    """Return ``value`` (date, datetime, ISO text or ``YYYYMMDD``) as a date."""
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    text = str(value)
    if len(text) == 8 and text.isdigit():
        return datetime.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    return datetime.date.fromisoformat(text[:10])


def ymd(value) -> str:
    """Return ``value`` as ``YYYYMMDD``."""
    return to_date(value).strftime("%Y%m%d")


def period_of(value) -> str:
    """Return the calendar-month period ``YYYY/PP`` of a date (pass ``period`` explicitly
    when the office's financial periods are not calendar months)."""
    day = to_date(value)
    return f"{day.year:04d}/{day.month:02d}"


def code_text(value) -> str:
    """Return a dimension code as text; numbers are refused (``110`` would lose ``0110``)."""
    if isinstance(value, int | float):
        raise TwinfieldError(f"Twinfield code {value!r} must be given as text (leading zeros).")
    return str(value)


def _sub(parent, tag: str, text=None, **attributes):
    element = etree.SubElement(parent, tag, {k: v for k, v in attributes.items() if v is not None})
    if text is not None:
        element.text = str(text)
    return element


def side(amount, positive: str) -> str:
    """``debitcredit`` of a signed amount: ``positive`` for >= 0, the other side below."""
    other = "credit" if positive == "debit" else "debit"
    return positive if money(amount) >= 0 else other


# -- reference data ------------------------------------------------------------------------


def list_offices() -> etree._Element:
    """``<list><type>offices</type></list>`` (B2, official sample)."""
    root = etree.Element("list")
    _sub(root, "type", "offices")
    return root


def list_request(kind: str, office: str, **filters) -> etree._Element:
    """``<list><type>{kind}</type><office/>...</list>`` for dimensions (``dimtype``), VAT
    codes (``vat``) and periods (``periods``, with ``year``). A query: 1 credit."""
    root = etree.Element("list")
    _sub(root, "type", kind)
    _sub(root, "office", office)
    for name, value in filters.items():
        if value is not None:
            _sub(root, name, value)
    return root


def parse_offices(answer) -> list[dict]:
    """``[{"code", "name", "shortname"}]`` of an offices list."""
    return [
        {"code": (node.text or "").strip(), "name": node.get("name", ""),
         "shortname": node.get("shortname", "")}
        for node in answer.iter("office")
    ]


def parse_dimensions(answer) -> list[dict]:
    """``[{"code", "name", "type", "vatnumber", "cocnumber"}]`` of a dimensions list; codes
    stay text (B6)."""
    return [
        {"code": node.findtext("code", ""), "name": node.findtext("name", ""),
         "type": node.findtext("type", ""), "vatnumber": node.findtext("vatnumber", ""),
         "cocnumber": node.findtext("cocnumber", "")}
        for node in answer.iter("dimension")
    ]


def parse_vat_codes(answer) -> list[dict]:
    """``[{"code", "name", "type", "percentage"}]`` (percentage a ``Decimal``)."""
    return [
        {"code": node.get("code", ""), "name": node.get("name", ""),
         "type": node.get("type", ""), "percentage": Decimal(node.get("percentage") or 0)}
        for node in answer.iter("vatcode")
    ]


def parse_periods(answer) -> list[dict]:
    """``[{"period": "YYYY/PP", "open": bool}]``."""
    rows = []
    for periods in answer.iter("periods"):
        year = int(periods.get("year"))
        for node in periods.iter("period"):
            rows.append({
                "period": f"{year:04d}/{int(node.get('number')):02d}",
                "open": node.get("status") == "open",
            })
    return rows


def customer_dimension(office: str, customer: dict) -> etree._Element:
    """``<dimension>`` creating a customer (DEB): ``{"code", "name", "vat_number",
    "coc_number", "country", "city", "postcode", "street", "email"}``.

    A write (3 credits); the caller runs python-stdnum checks on VAT and KvK numbers first.
    """
    root = etree.Element("dimension")
    _sub(root, "office", office)
    _sub(root, "type", "DEB")
    _sub(root, "code", code_text(customer["code"]))
    _sub(root, "name", customer["name"])
    addresses = _sub(root, "addresses")
    address = _sub(addresses, "address", default="true", type="invoice")
    for key, tag in (("name", "name"), ("country", "country"), ("city", "city"),
                     ("postcode", "postcode"), ("street", "field2"), ("email", "email"),
                     ("vat_number", "vatnumber"), ("coc_number", "cocnumber")):
        if customer.get(key):
            _sub(address, tag, customer[key])
    return root


# -- transactions --------------------------------------------------------------------------


def sales_transaction(
    invoice: dict, *, office: str, code: str = "VRK", vat_style: str = "vatvalue",
    raise_warnings: bool = False,
) -> etree._Element:
    """One ``<transaction destiny="final">`` of a sales invoice or credit note.

    ``invoice``::

        {"number": "INV/2024/0001",   # <invoicenumber>: the look-up reference
         "date": "2024-01-31", "due_date": "2024-02-29",  # optional due date
         "period": "2024/01",          # optional, default: the date's calendar month
         "currency": "EUR", "customer": "1000",           # DEB code (text)
         "receivable_account": "1300",                     # optional total-line dim1
         "credit_note": False, "description": "...",
         "code": "VRK",                # optional, else the adapter's code
         "lines": [{"gl_account": "8000", "vat_code": "VH", "amount": "100.00",
                    "vat_amount": "21.00", "description": "...", "cost_centre": None}]}

    Line amounts are excluding VAT, as printed (positive on a credit note too; a negative
    line is a discount). The total line is the customer's side (debit on an invoice,
    credit on a credit note) of the total including Odoo's VAT; detail lines take the
    other side; every value is positive with its ``debitcredit``.
    """
    if vat_style not in VAT_STYLES:
        raise ValueError(f"vat_style must be one of {VAT_STYLES}")
    lines = invoice.get("lines") or []
    if not lines:
        raise TwinfieldError(f"Invoice {invoice['number']} has no lines to send.")
    customer_side = "credit" if invoice.get("credit_note") else "debit"
    revenue_side = "debit" if customer_side == "credit" else "credit"
    net = sum((money(line["amount"]) for line in lines), Decimal(0))
    vat_by_code: dict[str, Decimal] = defaultdict(Decimal)
    for line in lines:
        if line.get("vat_code"):
            vat_by_code[line["vat_code"]] += money(line.get("vat_amount") or 0)
    # a vatvalue lies on its line's side: a code with a line whose VAT lies against its
    # base (e.g. a discount line left with a rounding cent of VAT) goes as a VAT line
    explicit = set(vat_by_code) if vat_style == "vat_lines" else {
        line["vat_code"] for line in lines
        if line.get("vat_code") and money(line.get("vat_amount") or 0)
        and side(line["vat_amount"], "debit") != side(line["amount"], "debit")
    }
    total = net + sum(vat_by_code.values(), Decimal(0))
    if len(lines) + 1 + len(explicit) > MAX_LINES:
        raise TwinfieldError(
            f"Invoice {invoice['number']} has more than {MAX_LINES} lines, "
            "the most Twinfield accepts in one transaction."
        )

    transaction = etree.Element(
        "transaction", destiny="final", raisewarning="true" if raise_warnings else "false"
    )
    header = _sub(transaction, "header")
    _sub(header, "office", office)
    _sub(header, "code", invoice.get("code") or code)
    _sub(header, "date", ymd(invoice["date"]))
    _sub(header, "period", invoice.get("period") or period_of(invoice["date"]))
    _sub(header, "currency", invoice.get("currency") or "EUR")
    _sub(header, "invoicenumber", invoice["number"])
    if invoice.get("due_date"):
        _sub(header, "duedate", ymd(invoice["due_date"]))
    if invoice.get("payment_reference"):
        _sub(header, "paymentreference", invoice["payment_reference"])
    body = _sub(transaction, "lines")
    line_id = 1
    total_line = _sub(body, "line", type="total", id=str(line_id))
    if invoice.get("receivable_account"):  # else Twinfield takes the customer's (B3)
        _sub(total_line, "dim1", code_text(invoice["receivable_account"]))
    _sub(total_line, "dim2", code_text(invoice["customer"]))
    _sub(total_line, "debitcredit", side(total, customer_side))
    _sub(total_line, "value", amount_text(total))
    _sub(total_line, "description", invoice.get("description") or invoice["number"])
    for line in lines:
        line_id += 1
        detail = _sub(body, "line", type="detail", id=str(line_id))
        _sub(detail, "dim1", code_text(line["gl_account"]))
        if line.get("cost_centre"):
            _sub(detail, line.get("cost_centre_dim") or "dim2", code_text(line["cost_centre"]))
        _sub(detail, "debitcredit", side(line["amount"], revenue_side))
        _sub(detail, "value", amount_text(line["amount"]))
        _sub(detail, "description", line.get("description") or invoice.get("description")
             or invoice["number"])
        if line.get("vat_code"):
            _sub(detail, "vatcode", line["vat_code"])
            if line["vat_code"] not in explicit and line.get("vat_amount") is not None:
                _sub(detail, "vatvalue", amount_text(line["vat_amount"]))
    for vat_code, vat in sorted(vat_by_code.items()):
        if vat_code in explicit:
            line_id += 1
            vat_line = _sub(body, "line", type="vat", id=str(line_id))
            _sub(vat_line, "vatcode", vat_code)
            _sub(vat_line, "debitcredit", side(vat, revenue_side))
            _sub(vat_line, "value", amount_text(vat))
    return transaction


def journal_transaction(
    entry: dict, *, office: str, code: str = "MEMO", raise_warnings: bool = False
) -> etree._Element:
    """One ``<transaction destiny="final">`` of a memorial entry (B3, journal (MEMO) lines).

    ``entry``::

        {"reference": "ACME-MEMO-2024-03-1",   # on every line without its own
                                                # invoice number: the look-up reference
         "date": "2024-03-31", "period": "2024/03", "currency": "EUR",
         "code": "MEMO",                         # optional, else the adapter's code
         "lines": [{"gl_account": "8000", "amount": "-1000.00",   # signed: + debit
                    "vat_code": "VH", "vat_amount": "-210.00",    # Odoo's VAT, same sign
                    "relation": "1000",                           # dim2 on control accounts
                    "cost_centre": "100", "cost_centre_dim": "dim2",  # optional (B6)
                    "invoice_number": "INV/2024/0001",            # matching (optional)
                    "description": "..."}]}

    Lines with a VAT code carry Odoo's VAT in ``vatvalue``, so Twinfield books Odoo's VAT.
    A ``vatvalue`` is positive and lies on its line's side (B3: amounts positive with the
    line's ``debitcredit``), so a line whose VAT lies on the other side - a correction
    whose base grew while its VAT shrank by a rounding cent, or a VAT-only difference -
    cannot carry it: the lines of such a VAT code carry only the code, and the code's VAT
    goes as one explicit ``<line type="vat">`` (B3: "vat line optional"; the ``vat_lines``
    style of :func:`sales_transaction`).
    The entry must balance to the cent (lines plus VAT), else :class:`TwinfieldError`.
    """
    lines = entry.get("lines") or []
    explicit_vat: dict[str, Decimal] = {}
    for line in lines:
        vat = money(line.get("vat_amount") or 0)
        if line.get("vat_code") and vat and side(vat, "debit") != side(line["amount"], "debit"):
            explicit_vat[line["vat_code"]] = Decimal(0)
    for line in lines:
        if line.get("vat_code") in explicit_vat:
            explicit_vat[line["vat_code"]] += money(line.get("vat_amount") or 0)
    if not MIN_LINES <= len(lines) + len(explicit_vat) <= MAX_LINES:
        raise TwinfieldError(
            f"Memorial entry {entry['reference']} has {len(lines)} lines; Twinfield takes "
            f"{MIN_LINES} to {MAX_LINES} lines in one transaction."
        )
    balance = sum(
        (money(line["amount"]) + money(line.get("vat_amount") or 0) for line in lines),
        Decimal(0),
    )
    if balance:
        raise TwinfieldError(
            f"Memorial entry {entry['reference']} does not balance ({balance})."
        )
    transaction = etree.Element(
        "transaction", destiny="final", raisewarning="true" if raise_warnings else "false"
    )
    header = _sub(transaction, "header")
    _sub(header, "office", office)
    _sub(header, "code", entry.get("code") or code)
    _sub(header, "date", ymd(entry["date"]))
    _sub(header, "period", entry.get("period") or period_of(entry["date"]))
    _sub(header, "currency", entry.get("currency") or "EUR")
    body = _sub(transaction, "lines")
    for line_id, line in enumerate(lines, start=1):
        detail = _sub(body, "line", type="detail", id=str(line_id))
        _sub(detail, "dim1", code_text(line["gl_account"]))
        if line.get("relation"):
            _sub(detail, "dim2", code_text(line["relation"]))
        if line.get("cost_centre"):  # B6: dim2 or dim3, the office's setting
            level = line.get("cost_centre_dim") or "dim2"
            if level == "dim2" and line.get("relation"):
                raise TwinfieldError(
                    f"Memorial entry {entry['reference']}: a line of customer "
                    f"{line['relation']} cannot carry cost centre {line['cost_centre']} on "
                    "dimension 2."
                )
            _sub(detail, level, code_text(line["cost_centre"]))
        _sub(detail, "debitcredit", side(line["amount"], "debit"))
        _sub(detail, "value", amount_text(line["amount"]))
        _sub(detail, "description", line.get("description") or entry["reference"])
        _sub(detail, "invoicenumber", line.get("invoice_number") or entry["reference"])
        if line.get("vat_code"):
            _sub(detail, "vatcode", line["vat_code"])
            if line.get("vat_amount") is not None and line["vat_code"] not in explicit_vat:
                _sub(detail, "vatvalue", amount_text(line["vat_amount"]))
    for line_id, (vat_code, vat) in enumerate(sorted(explicit_vat.items()),
                                              start=len(lines) + 1):
        vat_line = _sub(body, "line", type="vat", id=str(line_id))
        _sub(vat_line, "vatcode", vat_code)
        _sub(vat_line, "debitcredit", side(vat, "debit"))
        _sub(vat_line, "value", amount_text(vat))
        _sub(vat_line, "description", entry["reference"])
        _sub(vat_line, "invoicenumber", entry["reference"])  # found by the look-up too
    return transaction


def transactions(items: Iterable[etree._Element]) -> etree._Element:
    """Wrap transactions in one ``<transactions>`` request (one call, 3 credits)."""
    root = etree.Element("transactions")
    for item in items:
        root.append(item)
    return root


# -- answers ---------------------------------------------------------------------------------


def messages(element, msgtype: str) -> list[str]:
    """Texts of the ``msgtype`` messages on ``element`` and below, split on ``//``."""
    texts = []
    for node in element.iter():
        if node.get("msgtype") == msgtype and node.get("msg"):
            texts.extend(part.strip() for part in node.get("msg").split("//") if part.strip())
    return texts


def parse_transaction(element) -> dict:
    """``{"ok", "number", "invoicenumber", "code", "errors", "warnings"}`` of one echoed
    transaction. ``ok`` is ``result == "1"``; a warning alone may make it ``"0"`` when
    ``raisewarning`` was true (B6)."""
    header = element.find("header")
    return {
        "ok": element.get("result") == "1",
        "number": header.findtext("number") if header is not None else None,
        "invoicenumber": header.findtext("invoicenumber") if header is not None else None,
        "code": header.findtext("code") if header is not None else None,
        "errors": messages(element, "error"),
        "warnings": messages(element, "warning"),
    }


def parse_transactions(answer, expected: int) -> list[dict]:
    """Per-transaction results of a ``<transactions>`` answer, in request order.

    :raises TwinfieldError: the answer does not echo ``expected`` transactions (the caller
        treats that as an unknown outcome).
    """
    if answer.tag == "transaction":
        items = [answer]
    else:
        items = answer.findall("transaction")
    if len(items) != expected:
        raise TwinfieldError(
            f"Twinfield echoed {len(items)} transactions for {expected} sent"
            + (f": {' // '.join(messages(answer, 'error'))}" if messages(answer, "error") else "")
        )
    return [parse_transaction(item) for item in items]


def is_duplicate_refusal(errors: Sequence[str]) -> bool:
    """Whether Twinfield refused a transaction for its invoice number (a hint to look up)."""
    return any(marker in error.lower() for error in errors for marker in DUPLICATE_MARKERS)


def browse_by_invoice_numbers(office: str, code: str, numbers: Sequence[str],
                              line_fields: Sequence[str] = ()) -> etree._Element:
    """Browse code 100 (transaction lines) on office, transaction type and the invoice-number
    range ``min(numbers)..max(numbers)`` (B6): one read (1 credit) for a whole batch; the
    rows are filtered to ``numbers`` by the caller. ``line_fields`` adds columns (e.g.
    ``fin.trs.line.dim1``, ``fin.trs.line.vatcode``) for reconciliation."""
    root = etree.Element("columns", code=BROWSE_TRANSACTIONS)
    ordered = sorted(numbers)

    def column(field, operator=None, low=None, high=None):
        node = _sub(root, "column")
        _sub(node, "field", field)
        _sub(node, "visible", "true")
        if operator:
            _sub(node, "operator", operator)
            _sub(node, "from", low)
            if high is not None:
                _sub(node, "to", high)

    column("fin.trs.head.office", "equal", office)
    column("fin.trs.head.code", "equal", code)
    column("fin.trs.head.number")
    column("fin.trs.head.status")
    column("fin.trs.line.invnumber", "between", ordered[0], ordered[-1])
    column("fin.trs.line.valuesigned")
    for field in line_fields:
        column(field)
    return root


def parse_browse(answer) -> list[dict]:
    """Rows of a browse answer as ``{field: text}``."""
    if answer.get("result") == "0":
        raise TwinfieldError(" // ".join(messages(answer, "error")) or "Twinfield browse failed")
    return [
        {td.get("field"): (td.text or "") for td in row.findall("td")}
        for row in answer.findall("tr")
    ]
