"""Period memorial entries (memoriaalboekingen) for Exact Online, without Odoo.

The Odoo side reads the posted journal items of one period with a single ``GROUP BY`` and hands
the rows to :func:`build_entry`, which returns one balanced :class:`Entry`: a header and one line
per (GL account, VAT code, relation). :func:`to_exact_payload` turns it into the JSON body of a
``generaljournalentry/GeneralJournalEntries`` POST. Everything here is plain data and ``Decimal``.

Input rows (:class:`JournalRow`, or a mapping with the same keys)
    ``gl_account``      Exact GL account code (already mapped from the Odoo account).
    ``balance``         debit - credit in company currency, summed by the query (Decimal).
    ``account_type``    ``"receivable"`` / ``"payable"`` / anything else (``"other"``).
    ``vat_code``        Exact VAT code of the row's tax, or ``None``.
    ``tax_role``        ``"base"`` (taxable revenue/cost line, Odoo ``tax_ids``),
                        ``"tax"`` (VAT line, Odoo ``tax_line_id``) or ``None``.
    ``partner``         relation key; kept only on receivable/payable rows.
    ``tax_amount``      optional: Odoo's VAT belonging to a *base* row (signed like a VAT line).
    ``amount_currency``, ``currency``: optional, informational only (see below).

VAT modes (exactly one per entry, so VAT can never be booked twice)
    ``"vat_journal"`` (default) - for a general journal with VAT enabled. Base rows carry their
    VAT code and Exact generates the VAT lines; Odoo's own VAT rows (``tax_role == "tax"``) are
    left out. Before anything is sent the VAT Exact will generate is computed and compared, per
    VAT code and in total, with Odoo's VAT to the cent; any difference raises
    :class:`VatMismatch`. Odoo's VAT per code is the sum of the VAT rows carrying that code plus
    the ``tax_amount`` of the base rows with that code; a code may use one source, not both.
    Percentages are "excluding" percentages (Exact VAT type E/B).
    ``"no_vat"`` - for a general journal without VAT: every row, VAT accounts included, becomes a
    plain GL line with ``VATCode ""`` (Exact rejects any VAT code on such a journal).

VAT Exact generates ("rounding per line", the default ``vat_rounding="line"``)
    Exact computes the VAT of each entry line it receives, so the expected VAT of a code is
    ``sum(round_half_up(line.amount * pct / 100, 0.01))`` over the *aggregated* lines with that
    code. ``vat_rounding="code"`` instead rounds once per code:
    ``round_half_up(sum(line.amount) * pct / 100, 0.01)``.

VAT taken from Odoo (``vat_rounding="odoo"``, what the addon uses)
    Odoo rounds VAT per invoice (or per invoice line), Exact per entry line it receives, so a
    month of hundreds of invoices summed into one line per (account, code) differs from Odoo by
    a few cents in most months: the two modes above would then refuse the entry with
    :class:`VatMismatch` every month. In this mode every line carries its VAT explicitly
    (``EntryLine.vat_amount``, sent to Exact as ``AmountVATFC``), so Exact books Odoo's VAT to
    the cent and its VAT return equals Odoo's. Odoo's VAT of a code (its VAT rows, or the
    ``tax_amount`` of its base rows) is spread over the lines of the code: each line gets
    ``round_half_up(amount * pct / 100, 0.01)`` and the rest - the accumulated per-invoice
    rounding - goes to the line of the code with the largest absolute amount (first in key
    order on a tie). The rest may not exceed ``vat_tolerance[code]`` (default
    ``0.005 * (lines of the code + 1)``; the addon passes half a cent per rounding Odoo made -
    per VAT line, or per base line when the company rounds per line - and per entry line): a
    larger difference is not rounding but a wrong percentage or VAT code mapping, and raises
    :class:`VatMismatch`. VAT rows without a VAT code, or a code whose lines cancel out while
    its VAT does not, cannot be carried and raise as well.

Rounding rule (the entry always balances to the cent)
    1. Row balances are summed per line key in full ``Decimal`` precision; each line is then
       rounded once to cents, ``ROUND_HALF_UP`` (half away from zero, like Odoo's float_round).
    2. Lines that round to zero are dropped.
    3. The residual ``-(sum(lines) + VAT Exact generates)`` is booked on one extra line on the
       designated ``rounding_account`` (no VAT code, no relation; merged with that account's own
       line if it already has one). It is never spread over, or hidden in, another line.
    4. A residual without ``rounding_account`` raises :class:`UnbalancedEntry`, and so does a
       residual larger than what rounding can explain (``0.005 * (lines + 1)``, or
       ``max_residual``): the rows themselves do not balance and must not be "fixed" here.

Foreign currency: the entry is always in company currency (``balance``); ``amount_currency``
and ``currency`` never change the amounts or the line keys.

Corrections: posted GeneralJournalEntries cannot be changed, so a period that changed after it
was sent gets a correction entry with only the differences per line key (:func:`diff_entries`),
with the next sequence number in its reference. :func:`reconcile` compares totals.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

__all__ = [
    "CENT",
    "VAT_JOURNAL",
    "NO_VAT",
    "JournalRow",
    "LineKey",
    "EntryLine",
    "EntryHeader",
    "Entry",
    "Period",
    "VatFigure",
    "ReconcileLine",
    "JournalError",
    "VatMismatch",
    "UnbalancedEntry",
    "MappingMissing",
    "quantize",
    "build_entry",
    "expected_vat",
    "diff_entries",
    "diff_entries_with_vat",
    "VAT_FROM_ODOO",
    "reverse_entry",
    "reconcile",
    "to_exact_payload",
    "list_periods",
    "period_is_closed_for_sending",
    "month_is_closed_for_sending",
]

CENT = Decimal("0.01")
ZERO = Decimal(0)
VAT_JOURNAL = "vat_journal"
NO_VAT = "no_vat"
VAT_MODES = (VAT_JOURNAL, NO_VAT)
VAT_ROUNDINGS = ("line", "code")
VAT_FROM_ODOO = "odoo"
TAX_ROLES = ("base", "tax", None)
RELATION_TYPES = ("receivable", "payable")
ROUNDING_DESCRIPTION = "rounding difference"
TOTAL_CODE = "*"  # VatFigure code for the check over all VAT of the entry


class JournalError(Exception):
    """Base class of the errors raised while building an entry."""


class UnbalancedEntry(JournalError):
    """The entry cannot be balanced by the rounding rule."""


class MappingMissing(JournalError):
    """A GL account or relation has no Exact GUID in the mapping."""


class VatMismatch(JournalError):
    """The VAT Exact would generate differs from Odoo's VAT.

    ``figures`` holds one :class:`VatFigure` per VAT code that differs (code ``"*"`` is the
    check over all VAT rows of the entry).
    """

    def __init__(self, figures):
        self.figures = tuple(figures)
        details = "; ".join(
            f"VAT code {f.code!r} ({f.percentage}%): base {f.base}, Exact {f.exact_vat}, "
            f"Odoo {f.odoo_vat}, difference {f.difference}"
            for f in self.figures
        )
        super().__init__(f"VAT generated by Exact differs from Odoo's VAT: {details}")


def quantize(amount):
    """Round ``amount`` to cents, half away from zero."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _to_decimal(value, name):
    """Return ``value`` as Decimal; floats go through ``str`` (their shortest repr)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if isinstance(value, int | str):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(str(value))
    raise TypeError(f"{name} must be a number, got {value!r}")


@dataclass(frozen=True, slots=True)
class JournalRow:
    """One row of the Odoo ``GROUP BY`` over a period's posted journal items."""

    gl_account: str
    balance: Decimal
    account_type: str = "other"
    vat_code: str | None = None
    tax_role: str | None = None
    partner: str | None = None
    tax_amount: Decimal | None = None
    amount_currency: Decimal | None = None
    currency: str | None = None

    def __post_init__(self):
        if not self.gl_account:
            raise ValueError("gl_account is required")
        if self.tax_role not in TAX_ROLES:
            raise ValueError(f"tax_role must be 'base', 'tax' or None, got {self.tax_role!r}")
        object.__setattr__(self, "balance", _to_decimal(self.balance, "balance"))
        if self.tax_amount is not None:
            object.__setattr__(self, "tax_amount", _to_decimal(self.tax_amount, "tax_amount"))
            if self.tax_role != "base" and self.tax_amount:
                raise ValueError("tax_amount belongs on base rows only")

    @classmethod
    def coerce(cls, row):
        """Return ``row`` as a JournalRow (accepts a JournalRow or a mapping)."""
        if isinstance(row, cls):
            return row
        if isinstance(row, Mapping):
            return cls(**row)
        raise TypeError(f"cannot use {row!r} as a journal row")

    @property
    def relation(self):
        """Relation key of the row's line: the partner on receivable/payable rows, else ``""``."""
        if self.account_type in RELATION_TYPES and self.partner:
            return str(self.partner)
        return ""


class LineKey(NamedTuple):
    """What an entry line is aggregated on; ``""`` means no VAT code / no relation."""

    gl_account: str
    vat_code: str = ""
    relation: str = ""


@dataclass(frozen=True, slots=True)
class EntryLine:
    """One line of an entry; ``amount`` in cents, positive = debit, negative = credit."""

    gl_account: str
    vat_code: str
    relation: str
    amount: Decimal
    description: str = ""
    vat_amount: Decimal | None = None

    @property
    def key(self):
        """The line's :class:`LineKey`."""
        return LineKey(self.gl_account, self.vat_code, self.relation)


@dataclass(frozen=True, slots=True)
class Period:
    """A day or a calendar month, both ends included."""

    kind: str
    start: dt.date
    end: dt.date

    def __post_init__(self):
        if self.kind not in ("day", "month"):
            raise ValueError(f"period kind must be 'day' or 'month', got {self.kind!r}")
        if self.end < self.start:
            raise ValueError("period ends before it starts")

    @classmethod
    def containing(cls, kind, day):
        """Return the day or month period that contains ``day``."""
        if kind == "day":
            return cls("day", day, day)
        if kind == "month":
            last = calendar.monthrange(day.year, day.month)[1]
            return cls("month", day.replace(day=1), day.replace(day=last))
        raise ValueError(f"period kind must be 'day' or 'month', got {kind!r}")

    @property
    def label(self):
        """``YYYY-MM`` for a month, ``YYYY-MM-DD`` for a day."""
        if self.kind == "month":
            return f"{self.start:%Y-%m}"
        return self.start.isoformat()


@dataclass(frozen=True, slots=True)
class EntryHeader:
    """Header of a memorial entry; ``sequence`` is 1 for the first entry of a period.

    ``financial_year``/``financial_period`` default to the calendar year and month of the
    period's last day; pass Exact's own values when its financial periods are not months.
    """

    company: str
    journal: str
    period: Period
    sequence: int = 1
    description: str = ""
    currency: str = "EUR"
    vat_mode: str = VAT_JOURNAL
    financial_year: int | None = None
    financial_period: int | None = None

    def __post_init__(self):
        if self.vat_mode not in VAT_MODES:
            raise ValueError(f"vat_mode must be one of {VAT_MODES}, got {self.vat_mode!r}")
        if self.sequence < 1:
            raise ValueError("sequence starts at 1")

    @property
    def reference(self):
        """Deterministic reference, e.g. ``ACME-MEM-2024-03-1``."""
        return f"{self.company}-{self.journal}-{self.period.label}-{self.sequence}"

    @property
    def year(self):
        """Exact ``FinancialYear``."""
        return self.financial_year or self.period.end.year

    @property
    def fin_period(self):
        """Exact ``FinancialPeriod``."""
        return self.financial_period or self.period.end.month

    @property
    def date(self):
        """Entry date: the last day of the period."""
        return self.period.end


@dataclass(frozen=True, slots=True)
class VatFigure:
    """VAT of one code: Exact's (computed) against Odoo's."""

    code: str
    percentage: Decimal | None
    base: Decimal
    exact_vat: Decimal
    odoo_vat: Decimal

    @property
    def difference(self):
        """Exact's VAT minus Odoo's VAT."""
        return self.exact_vat - self.odoo_vat


@dataclass(frozen=True, slots=True)
class Entry:
    """A memorial entry: header, sorted lines and the VAT Exact will generate per code."""

    header: EntryHeader
    lines: tuple[EntryLine, ...]
    vat: tuple[VatFigure, ...] = ()
    reversal: bool = False

    @property
    def reference(self):
        """The header's reference."""
        return self.header.reference

    @property
    def vat_total(self):
        """Total VAT Exact will generate for this entry (zero in ``no_vat`` mode)."""
        return sum((f.exact_vat for f in self.vat), ZERO)

    @property
    def balance(self):
        """Sum of the lines plus the generated VAT; zero for every entry built here."""
        return sum((line.amount for line in self.lines), ZERO) + self.vat_total

    def totals(self):
        """Return ``{LineKey: amount}`` of the lines."""
        return {line.key: line.amount for line in self.lines}

    def totals_with_vat(self):
        """Return ``{LineKey: (amount, VAT carried by the line or 0)}``."""
        return {line.key: (line.amount, line.vat_amount or ZERO) for line in self.lines}


@dataclass(frozen=True, slots=True)
class ReconcileLine:
    """Odoo's total, the total sent and their difference for one line key."""

    key: LineKey
    odoo: Decimal
    sent: Decimal

    @property
    def difference(self):
        """Odoo's total minus the total sent (what a correction must still carry)."""
        return self.odoo - self.sent


# ---------------------------------------------------------------------------------------------
# Building an entry
# ---------------------------------------------------------------------------------------------


def _aggregate(rows, vat_mode):
    """Sum the rows per line key in full precision.

    Return ``(sums, odoo_vat_rows, odoo_vat_amounts, dropped_tax)``: the line sums, Odoo's VAT
    per code from VAT rows and from base rows' ``tax_amount``, and the total of the VAT rows
    left out (``vat_journal`` mode only).
    """
    sums = {}
    vat_rows = {}
    vat_amounts = {}
    dropped_tax = ZERO
    for raw in rows:
        row = JournalRow.coerce(raw)
        if vat_mode == VAT_JOURNAL:
            if row.tax_role == "tax":
                dropped_tax += row.balance
                code = row.vat_code or ""
                vat_rows[code] = vat_rows.get(code, ZERO) + row.balance
                continue
            code = (row.vat_code or "") if row.tax_role == "base" else ""
            if row.tax_amount is not None and code:
                vat_amounts[code] = vat_amounts.get(code, ZERO) + row.tax_amount
        else:
            code = ""
        key = LineKey(row.gl_account, code, row.relation)
        sums[key] = sums.get(key, ZERO) + row.balance
    return sums, vat_rows, vat_amounts, dropped_tax


def _percentage(vat_percentages, code):
    try:
        return _to_decimal(vat_percentages[code], f"percentage of VAT code {code!r}")
    except KeyError:
        raise JournalError(f"no percentage for VAT code {code!r}") from None


def expected_vat(amounts_by_key, vat_percentages, vat_rounding="line"):
    """Return ``{code: (base, vat)}``: the VAT Exact generates on lines of cent amounts.

    ``amounts_by_key`` maps :class:`LineKey` to the (quantized) line amount; keys without a VAT
    code are skipped. See the module docstring for ``vat_rounding``.
    """
    if vat_rounding not in VAT_ROUNDINGS:
        raise ValueError(f"vat_rounding must be one of {VAT_ROUNDINGS}, got {vat_rounding!r}")
    result = {}
    for key, amount in amounts_by_key.items():
        if not key.vat_code:
            continue
        pct = _percentage(vat_percentages, key.vat_code)
        base, vat = result.get(key.vat_code, (ZERO, ZERO))
        if vat_rounding == "line":
            vat += quantize(amount * pct / 100)
        result[key.vat_code] = (base + amount, vat)
    if vat_rounding == "code":
        result = {
            code: (base, quantize(base * _percentage(vat_percentages, code) / 100))
            for code, (base, _vat) in result.items()
        }
    return result


def _vat_figures(lines_by_key, vat_rows, vat_amounts, dropped_tax, vat_percentages, vat_rounding):
    """Compare Exact's VAT with Odoo's per code and in total; raise VatMismatch if they differ."""
    exact = expected_vat(lines_by_key, vat_percentages, vat_rounding)
    for code in set(vat_rows) & set(vat_amounts):
        if vat_rows[code] and vat_amounts[code]:
            raise JournalError(
                f"Odoo's VAT of code {code!r} is given twice (VAT rows and tax_amount); "
                "the query must provide one of them"
            )
    # VAT rows without a code count in the total check only (a query that gives Odoo's VAT per
    # code through ``tax_amount`` need not attribute its VAT rows to codes).
    vat_rows = {code: amount for code, amount in vat_rows.items() if code}
    figures = []
    for code in sorted(set(exact) | set(vat_rows) | set(vat_amounts)):
        base, exact_vat = exact.get(code, (ZERO, ZERO))
        odoo_vat = quantize(vat_rows.get(code, ZERO) + vat_amounts.get(code, ZERO))
        pct = _percentage(vat_percentages, code)
        figures.append(VatFigure(code, pct, base, exact_vat, odoo_vat))
    wrong = [f for f in figures if f.difference]
    exact_total = sum((f.exact_vat for f in figures), ZERO)
    odoo_total = quantize(dropped_tax)
    if exact_total != odoo_total and not wrong:
        base_total = sum((f.base for f in figures), ZERO)
        wrong.append(VatFigure(TOTAL_CODE, None, base_total, exact_total, odoo_total))
    if wrong:
        raise VatMismatch(wrong)
    return tuple(figures)


def _odoo_vat_lines(lines_by_key, vat_rows, vat_amounts, vat_percentages, vat_tolerance):
    """Spread Odoo's VAT per code over the lines of the code (``vat_rounding="odoo"``).

    Return ``(line_vat, figures)``: ``{LineKey: VAT}`` and one :class:`VatFigure` per code.
    """
    if vat_rows.get(""):
        raise JournalError(
            f"VAT lines of {vat_rows['']} without a VAT code cannot be carried by the entry"
        )
    for code in set(vat_rows) & set(vat_amounts):
        if vat_rows[code] and vat_amounts[code]:
            raise JournalError(
                f"Odoo's VAT of code {code!r} is given twice (VAT rows and tax_amount); "
                "the query must provide one of them"
            )
    by_code = {}
    for key in sorted(lines_by_key):
        if key.vat_code:
            by_code.setdefault(key.vat_code, []).append(key)
    line_vat, figures, wrong = {}, [], []
    codes = sorted(set(by_code) | {c for c in set(vat_rows) | set(vat_amounts) if c})
    for code in codes:
        keys = by_code.get(code, [])
        pct = _percentage(vat_percentages, code)
        odoo_vat = quantize(vat_rows.get(code, ZERO) + vat_amounts.get(code, ZERO))
        base = sum((lines_by_key[key] for key in keys), ZERO)
        computed = {key: quantize(lines_by_key[key] * pct / 100) for key in keys}
        rest = odoo_vat - sum(computed.values(), ZERO)
        tolerance = (vat_tolerance or {}).get(code)
        if tolerance is None:
            tolerance = Decimal("0.005") * (len(keys) + 1)
        if abs(rest) > _to_decimal(tolerance, "vat_tolerance") or (rest and not keys):
            wrong.append(VatFigure(code, pct, base, sum(computed.values(), ZERO), odoo_vat))
            continue
        if rest:
            largest = max(keys, key=lambda k: (abs(lines_by_key[k]), [-ord(c) for c in str(k)]))
            computed[largest] += rest
        line_vat.update(computed)
        figures.append(VatFigure(code, pct, base, odoo_vat, odoo_vat))
    if wrong:
        raise VatMismatch(wrong)
    return line_vat, tuple(figures)


def _balanced_lines(lines_by_key, vat_total, rounding_account, max_residual, line_vat=None):
    """Add the rounding residual (rule 3/4 of the module docstring); return sorted lines."""
    residual = -(sum(lines_by_key.values(), ZERO) + vat_total)
    descriptions = {}
    if residual:
        limit = max_residual
        if limit is None:
            limit = Decimal("0.005") * (len(lines_by_key) + 1)
        if abs(residual) > limit:
            raise UnbalancedEntry(
                f"the rows do not balance: residual {residual} exceeds what rounding "
                f"explains ({limit})"
            )
        if not rounding_account:
            raise UnbalancedEntry(
                f"rounding residual {residual} and no rounding-difference account configured"
            )
        key = LineKey(rounding_account)
        lines_by_key[key] = lines_by_key.get(key, ZERO) + residual
        descriptions[key] = ROUNDING_DESCRIPTION
    line_vat = line_vat or {}
    return tuple(
        EntryLine(*key, amount, descriptions.get(key, ""), line_vat.get(key))
        for key, amount in sorted(lines_by_key.items())
        if amount
    )


def build_entry(
    rows,
    header,
    *,
    vat_percentages=None,
    vat_rounding="line",
    rounding_account=None,
    max_residual=None,
    vat_tolerance=None,
):
    """Build the balanced memorial entry of a period from the ``GROUP BY`` rows.

    :param rows: iterable of :class:`JournalRow` or mappings with its fields; any order.
    :param header: :class:`EntryHeader`; its ``vat_mode`` selects the VAT mode.
    :param vat_percentages: ``{Exact VAT code: Decimal percentage}``, needed in ``vat_journal``.
    :param vat_rounding: ``"line"`` (default), ``"code"`` or ``"odoo"`` (VAT carried per line
        from Odoo's figures), see the module docstring.
    :param vat_tolerance: ``{code: largest accepted rest}`` for ``vat_rounding="odoo"``.
    :param rounding_account: GL account code that takes the rounding residual.
    :param max_residual: largest residual accepted (default ``0.005 * (lines + 1)``).
    :raises VatMismatch: Exact's VAT would differ from Odoo's.
    :raises UnbalancedEntry: the residual cannot be booked by the rounding rule.
    """
    sums, vat_rows, vat_amounts, dropped_tax = _aggregate(rows, header.vat_mode)
    lines_by_key = {key: quantize(amount) for key, amount in sums.items()}
    lines_by_key = {key: amount for key, amount in lines_by_key.items() if amount}
    vat = ()
    line_vat = None
    if header.vat_mode == VAT_JOURNAL and vat_rounding == VAT_FROM_ODOO:
        line_vat, vat = _odoo_vat_lines(
            lines_by_key, vat_rows, vat_amounts, vat_percentages or {}, vat_tolerance
        )
    elif header.vat_mode == VAT_JOURNAL:
        vat = _vat_figures(
            lines_by_key, vat_rows, vat_amounts, dropped_tax, vat_percentages or {}, vat_rounding
        )
    vat_total = sum((f.exact_vat for f in vat), ZERO)
    lines = _balanced_lines(lines_by_key, vat_total, rounding_account, max_residual, line_vat)
    return Entry(header, lines, vat)


# ---------------------------------------------------------------------------------------------
# Corrections and reconciliation
# ---------------------------------------------------------------------------------------------


def _totals(value):
    """Return a ``{LineKey: Decimal}`` from an Entry or a mapping (keys may be plain tuples)."""
    if isinstance(value, Entry):
        return value.totals()
    return {LineKey(*key): _to_decimal(amount, "total") for key, amount in value.items()}


def diff_entries(
    sent_totals,
    current_totals,
    header,
    *,
    vat_percentages=None,
    vat_rounding="line",
):
    """Build the correction entry carrying ``current - sent`` per line key.

    Both arguments are :class:`Entry` objects or ``{LineKey: amount}`` totals of *balanced*
    entries (as returned by :meth:`Entry.totals`), so the differences balance as well, except
    for VAT rounding: in ``vat_journal`` mode Exact generates VAT on the differences, and that
    must equal the change of the VAT of the two entries; otherwise :class:`VatMismatch` is
    raised and the period must be corrected by :func:`reverse_entry` of the sent entry plus the
    complete current entry. ``header`` carries the correction's own (next) ``sequence``.
    Keys without a difference are left out; an entry without lines needs no sending.
    """
    sent = _totals(sent_totals)
    current = _totals(current_totals)
    diff = {}
    for key in sorted(set(sent) | set(current)):
        amount = current.get(key, ZERO) - sent.get(key, ZERO)
        if amount:
            diff[key] = amount
    vat = ()
    if header.vat_mode == VAT_JOURNAL:
        percentages = vat_percentages or {}
        vat_diff = expected_vat(diff, percentages, vat_rounding)
        vat_sent = expected_vat(sent, percentages, vat_rounding)
        vat_current = expected_vat(current, percentages, vat_rounding)
        figures = []
        for code in sorted(set(vat_diff) | set(vat_sent) | set(vat_current)):
            base, exact_vat = vat_diff.get(code, (ZERO, ZERO))
            odoo_vat = vat_current.get(code, (ZERO, ZERO))[1] - vat_sent.get(code, (ZERO, ZERO))[1]
            figures.append(
                VatFigure(code, _percentage(percentages, code), base, exact_vat, odoo_vat)
            )
        wrong = [f for f in figures if f.difference]
        if wrong:
            raise VatMismatch(wrong)
        vat = tuple(f for f in figures if f.base or f.exact_vat)
    elif any(key.vat_code for key in diff):
        raise JournalError("no_vat correction with VAT codes in the totals")
    vat_total = sum((f.exact_vat for f in vat), ZERO)
    if sum(diff.values(), ZERO) + vat_total:
        raise UnbalancedEntry("the totals given are not those of balanced entries")
    lines = tuple(EntryLine(*key, amount) for key, amount in diff.items())
    return Entry(header, lines, vat)


def diff_entries_with_vat(sent, current, header):
    """Correction entry for entries built with ``vat_rounding="odoo"``.

    ``sent`` and ``current`` are :class:`Entry` objects or ``{LineKey: (amount, VAT)}``
    (:meth:`Entry.totals_with_vat`) of balanced entries; the correction carries ``current -
    sent`` per line key for both the amount and the VAT the line carries, so it balances and
    moves Exact's VAT by exactly the change of Odoo's VAT. Keys without a difference are left
    out; an entry without lines needs no sending.
    """

    def _pairs(value):
        if isinstance(value, Entry):
            return value.totals_with_vat()
        return {
            LineKey(*key): (_to_decimal(amount, "total"), _to_decimal(vat or 0, "VAT"))
            for key, (amount, vat) in value.items()
        }

    sent, current = _pairs(sent), _pairs(current)
    lines, figures = [], {}
    for key in sorted(set(sent) | set(current)):
        amount0, vat0 = sent.get(key, (ZERO, ZERO))
        amount1, vat1 = current.get(key, (ZERO, ZERO))
        amount, vat = amount1 - amount0, vat1 - vat0
        if not amount and not vat:
            continue
        if vat and not key.vat_code:
            raise JournalError(f"VAT on line {tuple(key)} without a VAT code")
        lines.append(EntryLine(*key, amount, "", vat if key.vat_code else None))
        if key.vat_code:
            base_total, vat_total = figures.get(key.vat_code, (ZERO, ZERO))
            figures[key.vat_code] = (base_total + amount, vat_total + vat)
    vat = tuple(
        VatFigure(code, None, base, vat_amount, vat_amount)
        for code, (base, vat_amount) in sorted(figures.items())
    )
    entry = Entry(header, tuple(lines), vat)
    if entry.balance:
        raise UnbalancedEntry("the totals given are not those of balanced entries")
    return entry


def reverse_entry(entry, header):
    """Return an entry that cancels ``entry`` (all amounts negated), under ``header``."""
    lines = tuple(
        EntryLine(
            line.gl_account,
            line.vat_code,
            line.relation,
            -line.amount,
            line.description,
            None if line.vat_amount is None else -line.vat_amount,
        )
        for line in entry.lines
    )
    vat = tuple(
        VatFigure(f.code, f.percentage, -f.base, -f.exact_vat, -f.odoo_vat) for f in entry.vat
    )
    return Entry(header, lines, vat)


def reconcile(odoo_totals, sent_totals):
    """Compare Odoo's totals with the totals sent, per line key (sorted).

    Both arguments are :class:`Entry` objects or ``{LineKey: amount}`` mappings; for what was
    sent in several entries (original plus corrections), sum their totals first.
    """
    odoo = _totals(odoo_totals)
    sent = _totals(sent_totals)
    return [
        ReconcileLine(key, odoo.get(key, ZERO), sent.get(key, ZERO))
        for key in sorted(set(odoo) | set(sent))
    ]


# ---------------------------------------------------------------------------------------------
# Exact Online payload
# ---------------------------------------------------------------------------------------------


def _guid(mapping, code, what):
    try:
        return mapping[code]
    except KeyError:
        raise MappingMissing(f"no Exact GUID mapped for {what} {code!r}") from None


def to_exact_payload(entry, gl_account_guids, relation_guids=None):
    """Return the JSON body of an Exact ``GeneralJournalEntries`` POST for ``entry``.

    :param gl_account_guids: ``{GL account code: Exact GLAccount GUID}``.
    :param relation_guids: ``{relation key: Exact crm Account GUID}`` for lines with a relation.
    Amounts are JSON numbers with two decimals (from the cent ``Decimal``). Every line carries
    the entry reference in its ``Description``, so the entry can be found again after a timeout.
    """
    header = entry.header
    date = f"{header.date.isoformat()}T00:00:00Z"
    base_description = " ".join(part for part in (header.reference, header.description) if part)
    lines = []
    for line in entry.lines:
        description = base_description
        if line.description:
            description = f"{base_description} {line.description}"
        payload_line = {
            "GLAccount": _guid(gl_account_guids, line.gl_account, "GL account"),
            "AmountFC": float(quantize(line.amount)),
            "VATCode": line.vat_code if header.vat_mode == VAT_JOURNAL else "",
            "Description": description,
            "Date": date,
        }
        if line.vat_amount is not None and header.vat_mode == VAT_JOURNAL and line.vat_code:
            payload_line["AmountVATFC"] = float(quantize(line.vat_amount))
        if line.relation:
            payload_line["Account"] = _guid(
                relation_guids if relation_guids is not None else {}, line.relation, "relation"
            )
        lines.append(payload_line)
    return {
        "JournalCode": header.journal,
        "FinancialYear": header.year,
        "FinancialPeriod": header.fin_period,
        "Currency": header.currency,
        "Reversal": entry.reversal,
        "GeneralJournalEntryLines": lines,
    }


# ---------------------------------------------------------------------------------------------
# Periods
# ---------------------------------------------------------------------------------------------


def list_periods(mode, date_from, date_to):
    """Return the day or month periods touching ``[date_from, date_to]``, oldest first.

    Months are whole calendar months, also when ``date_from``/``date_to`` fall inside them.
    """
    if date_to < date_from:
        return []
    periods = []
    period = Period.containing(mode, date_from)
    while period.start <= date_to:
        periods.append(period)
        period = Period.containing(mode, period.end + dt.timedelta(days=1))
    return periods


def period_is_closed_for_sending(period, today, grace_days=0):
    """True when ``period`` ended more than ``grace_days`` days before ``today``.

    A period ending on the 31st with 5 grace days may be sent from the 6th of the next month.
    """
    if grace_days < 0:
        raise ValueError("grace_days cannot be negative")
    return today > period.end + dt.timedelta(days=grace_days)


def month_is_closed_for_sending(month, today, grace_days=0):
    """True when the calendar month containing the date ``month`` may be sent on ``today``."""
    return period_is_closed_for_sending(Period.containing("month", month), today, grace_days)
