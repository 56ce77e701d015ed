"""Tests of the Odoo-free memorial entry builder (``services/journal.py``).

Property tests generate GROUP BY rows of a period (several accounts, VAT codes 0/9/21 %,
relations on receivable/payable, credit notes, foreign currency, rounding-prone amounts) and
check the invariants; worked examples pin the figures, computed by hand in the comments.
"""

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hours_invoicing_exact.services import journal as j
from hours_invoicing_exact.services.journal import JournalRow as Row
from hours_invoicing_exact.services.journal import LineKey as K

D = Decimal
PCT = {"0": D(0), "1": D(9), "2": D(21)}
VAT_ACCOUNT = {"0": "1500", "1": "1510", "2": "1520"}
BASE_ACCOUNTS = ["8000", "8010", "7000"]
PLAIN_ACCOUNTS = ["4000", "4100"]
PARTNERS = ["P1", "P2", "P3"]
ROUNDING = "8999"
MARCH = j.Period.containing("month", dt.date(2024, 3, 1))
HEADER = j.EntryHeader("ACME", "90", MARCH)
NO_VAT_HEADER = j.EntryHeader("ACME", "91", MARCH, vat_mode=j.NO_VAT)

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def q(amount):
    return amount.quantize(D("0.01"), rounding="ROUND_HALF_UP")


def build(rows, header=HEADER, **kwargs):
    kwargs.setdefault("vat_percentages", PCT)
    kwargs.setdefault("rounding_account", ROUNDING)
    return j.build_entry(rows, header, **kwargs)


# ---------------------------------------------------------------------------------------------
# Strategies
# ---------------------------------------------------------------------------------------------

cents = st.integers(-(10**7), 10**7).map(lambda c: D(c) / 100)
mills = st.integers(-(10**6), 10**6).map(lambda m: D(m) / 1000)
awkward = st.sampled_from(
    [D("0.005"), D("-0.005"), D("0.015"), D("1.005"), D("-2.675"), D(1) / 3, -D(1) / 3, D(2) / 3]
)
amounts = st.one_of(cents, mills, awkward)
whole_euros = st.integers(-(10**5), 10**5).map(D)
foreign = st.one_of(st.none(), st.tuples(amounts, st.sampled_from(["USD", "GBP", "CHF"])))


@st.composite
def specs(draw, amount=amounts, min_size=1, max_size=25):
    """Rows without VAT rows and without the closing row: (kind, account, code, partner, ...)."""
    result = []
    for _ in range(draw(st.integers(min_size, max_size))):
        kind = draw(st.sampled_from(["base", "plain", "receivable", "payable"]))
        fc = draw(foreign)
        extra = {"amount_currency": fc[0], "currency": fc[1]} if fc else {}
        value = draw(amount)
        if kind == "base":
            gl, code = draw(st.sampled_from(BASE_ACCOUNTS)), draw(st.sampled_from(sorted(PCT)))
            result.append(Row(gl, value, vat_code=code, tax_role="base", **extra))
        elif kind == "plain":
            result.append(Row(draw(st.sampled_from(PLAIN_ACCOUNTS)), value, **extra))
        else:
            gl = "1300" if kind == "receivable" else "1600"
            partner = draw(st.sampled_from(PARTNERS))
            result.append(Row(gl, value, account_type=kind, partner=partner, **extra))
    return result


def exact_vat_by_code(rows):
    """Independent computation: VAT per code on the aggregated, rounded base lines."""
    lines = {}
    for row in rows:
        if row.tax_role == "base" and row.vat_code:
            key = (row.gl_account, row.vat_code)
            lines[key] = lines.get(key, D(0)) + row.balance
    vat = {}
    for (_gl, code), amount in lines.items():
        vat[code] = vat.get(code, D(0)) + q(q(amount) * PCT[code] / 100)
    return vat


def close(rows, partner="P1"):
    """Add the receivable row that makes the rows balance exactly (a posted period balances)."""
    total = sum((row.balance for row in rows), D(0))
    return [*rows, Row("1300", -total, account_type="receivable", partner=partner)]


def consistent_rows(base_rows):
    """Add Odoo VAT rows equal to what Exact will generate, then the closing row."""
    rows = list(base_rows)
    for code, vat in sorted(exact_vat_by_code(rows).items()):
        rows.append(Row(VAT_ACCOUNT[code], vat, vat_code=code, tax_role="tax"))
    return close(rows)


def expected_totals(rows, vat_mode):
    """Independent aggregation per (GL account, VAT code, relation), rounded once per key."""
    sums = {}
    for row in rows:
        if vat_mode == j.VAT_JOURNAL and row.tax_role == "tax":
            continue
        code = row.vat_code or "" if (vat_mode == j.VAT_JOURNAL and row.tax_role == "base") else ""
        relation = row.partner if row.account_type in ("receivable", "payable") else ""
        key = K(row.gl_account, code, relation or "")
        sums[key] = sums.get(key, D(0)) + row.balance
    return {key: q(amount) for key, amount in sums.items() if q(amount)}


def check_invariants(entry, rows, vat_mode):
    """Balanced to the cent, cents only, sorted unique keys, totals equal to the input's."""
    assert entry.balance == 0
    keys = [line.key for line in entry.lines]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    for line in entry.lines:
        assert line.amount == q(line.amount) and line.amount != 0
    expected = expected_totals(rows, vat_mode)
    totals = entry.totals()
    rounding = totals.pop(K(ROUNDING), D(0))
    assert totals == expected
    # the residual is exactly what makes it balance, and no more than rounding can explain
    assert rounding == -(sum(expected.values(), D(0)) + entry.vat_total)
    assert abs(rounding) <= D("0.005") * (len(expected) + 1)
    if vat_mode == j.NO_VAT:
        assert all(line.vat_code == "" for line in entry.lines) and entry.vat == ()
    else:
        # VAT can't be doubled: Odoo's VAT accounts are absent, Exact generates the VAT
        assert not {line.gl_account for line in entry.lines} & set(VAT_ACCOUNT.values())
        assert {f.code: f.exact_vat for f in entry.vat} == exact_vat_by_code(rows)


# ---------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------


@PROPERTY
@given(specs())
def test_vat_journal_entry_balances_and_keeps_totals(base_rows):
    rows = consistent_rows(base_rows)
    check_invariants(build(rows), rows, j.VAT_JOURNAL)


@PROPERTY
@given(specs())
def test_no_vat_entry_balances_and_includes_vat_accounts(base_rows):
    rows = consistent_rows(base_rows)
    entry = build(rows, NO_VAT_HEADER)
    check_invariants(entry, rows, j.NO_VAT)
    vat_rows = {row.gl_account: q(row.balance) for row in rows if row.tax_role == "tax"}
    for gl, amount in vat_rows.items():
        if amount:
            assert entry.totals()[K(gl)] == amount  # the VAT account is a plain GL line
    payload = j.to_exact_payload(entry, _Guids(), _Guids())
    assert {line["VATCode"] for line in payload["GeneralJournalEntryLines"]} <= {""}


@PROPERTY
@given(specs(), st.data(), st.sampled_from([j.VAT_JOURNAL, j.NO_VAT]))
def test_rebuilding_is_deterministic_and_order_independent(base_rows, data, vat_mode):
    rows = consistent_rows(base_rows)
    header = HEADER if vat_mode == j.VAT_JOURNAL else NO_VAT_HEADER
    shuffled = data.draw(st.permutations(rows))
    as_dicts = [dataclasses.asdict(row) for row in data.draw(st.permutations(rows))]
    first = build(rows, header)
    assert build(shuffled, header) == first
    assert build(as_dicts, header) == first
    assert j.to_exact_payload(build(shuffled, header), _Guids(), _Guids()) == j.to_exact_payload(
        first, _Guids(), _Guids()
    )


@PROPERTY
@given(specs())
def test_foreign_currency_amounts_do_not_change_the_entry(base_rows):
    rows = consistent_rows(base_rows)
    plain = [dataclasses.replace(row, amount_currency=None, currency=None) for row in rows]
    assert build(rows) == build(plain)


@PROPERTY
@given(specs(), st.data(), st.sampled_from([D("0.01"), D("-0.01"), D("0.05")]))
def test_vat_mismatch_is_detected(base_rows, data, delta):
    rows = consistent_rows([*base_rows, Row("8000", D("100"), vat_code="2", tax_role="base")])
    tax_indexes = [i for i, row in enumerate(rows) if row.tax_role == "tax" and row.balance]
    i = data.draw(st.sampled_from(tax_indexes))
    wrong = dataclasses.replace(rows[i], balance=rows[i].balance + delta)
    rows = close(rows[:i] + [wrong] + rows[i + 1 : -1])  # still balanced, VAT off by delta
    with pytest.raises(j.VatMismatch) as info:
        build(rows)
    (figure,) = info.value.figures
    assert figure.code == wrong.vat_code
    assert figure.difference == -delta
    assert figure.odoo_vat == q(wrong.balance)


@PROPERTY
@given(
    st.lists(
        st.tuples(st.sampled_from(sorted(PCT)), cents, st.sampled_from(PARTNERS)),
        min_size=1,
        max_size=30,
    )
)
def test_vat_per_invoice_versus_aggregated_is_checked(invoices):
    """Odoo rounds VAT per invoice, Exact per aggregated line: equal -> entry, else mismatch."""
    rows, odoo_vat = [], {}
    for code, base, partner in invoices:
        vat = q(base * PCT[code] / 100)
        odoo_vat[code] = odoo_vat.get(code, D(0)) + vat
        rows += [
            Row("8000", base, vat_code=code, tax_role="base"),
            Row(VAT_ACCOUNT[code], vat, vat_code=code, tax_role="tax"),
            Row("1300", -base - vat, account_type="receivable", partner=partner),
        ]
    exact = exact_vat_by_code(rows)
    differs = {code for code in odoo_vat if exact.get(code, D(0)) != odoo_vat[code]}
    if differs:
        with pytest.raises(j.VatMismatch) as info:
            build(rows)
        assert {f.code for f in info.value.figures} == differs
        for f in info.value.figures:
            assert (f.exact_vat, f.odoo_vat) == (exact[f.code], odoo_vat[f.code])
    else:
        check_invariants(build(rows), rows, j.VAT_JOURNAL)


@PROPERTY
@given(specs(), specs(min_size=0), st.sampled_from([j.VAT_JOURNAL, j.NO_VAT]))
def test_correction_carries_the_difference(sent_specs, late_specs, vat_mode):
    header = HEADER if vat_mode == j.VAT_JOURNAL else NO_VAT_HEADER
    sent = build(consistent_rows(sent_specs), header)
    current = build(consistent_rows(sent_specs + late_specs), header)
    correction_header = dataclasses.replace(header, sequence=2)
    try:
        correction = j.diff_entries(sent, current, correction_header, vat_percentages=PCT)
    except j.VatMismatch as exc:
        # only possible with VAT codes: Exact's VAT on the difference != change of the VAT
        assert vat_mode == j.VAT_JOURNAL
        sent_totals, current_totals = sent.totals(), current.totals()
        diff = {
            key: current_totals.get(key, D(0)) - sent_totals.get(key, D(0))
            for key in set(current_totals) | set(sent_totals)
        }
        diff_vat = j.expected_vat(diff, PCT)
        sent_vat = {f.code: f.exact_vat for f in sent.vat}
        current_vat = {f.code: f.exact_vat for f in current.vat}
        assert exc.figures
        for f in exc.figures:
            change = current_vat.get(f.code, D(0)) - sent_vat.get(f.code, D(0))
            assert f.odoo_vat == change
            assert f.exact_vat == diff_vat.get(f.code, (D(0), D(0)))[1] != change
        return
    check_correction(sent, current, correction)


def check_correction(sent, current, correction):
    assert correction.reference == "ACME-" + correction.header.journal + "-2024-03-2"
    assert correction.balance == 0
    applied = dict(sent.totals())
    for line in correction.lines:
        assert line.amount != 0
        applied[line.key] = applied.get(line.key, D(0)) + line.amount
    assert {k: v for k, v in applied.items() if v} == current.totals()
    # reconcile: before the correction the differences are the correction's lines ...
    before = {r.key: r.difference for r in j.reconcile(current, sent) if r.difference}
    assert before == correction.totals()
    # ... and after it nothing is left
    assert all(r.difference == 0 for r in j.reconcile(current, applied))


@PROPERTY
@given(specs(amount=whole_euros), specs(amount=whole_euros, min_size=0))
def test_correction_with_round_vat_never_mismatches(sent_specs, late_specs):
    """Whole-euro bases make 0/9/21 % VAT exact, so the correction always goes through."""
    sent = build(consistent_rows(sent_specs))
    current = build(consistent_rows(sent_specs + late_specs))
    header = dataclasses.replace(HEADER, sequence=2)
    correction = j.diff_entries(sent.totals(), current.totals(), header, vat_percentages=PCT)
    check_correction(sent, current, correction)
    assert sum((f.exact_vat for f in correction.vat), D(0)) == current.vat_total - sent.vat_total


@PROPERTY
@given(specs(), st.sampled_from([j.VAT_JOURNAL, j.NO_VAT]))
def test_payload_amounts_match_the_entry(base_rows, vat_mode):
    header = HEADER if vat_mode == j.VAT_JOURNAL else NO_VAT_HEADER
    entry = build(consistent_rows(base_rows), header)
    lines = j.to_exact_payload(entry, _Guids(), _Guids())["GeneralJournalEntryLines"]
    assert len(lines) == len(entry.lines)
    total = sum((D(str(line["AmountFC"])) for line in lines), D(0))
    assert total + entry.vat_total == 0
    for line, entry_line in zip(lines, entry.lines, strict=True):
        assert D(str(line["AmountFC"])) == entry_line.amount
        assert ("Account" in line) == bool(entry_line.relation)


@PROPERTY
@given(st.dates(dt.date(2000, 1, 1), dt.date(2100, 12, 1)), st.integers(0, 400), st.integers(0, 40))
def test_month_is_sent_only_after_it_ended_plus_grace(month, offset, grace):
    first = month.replace(day=1)
    next_month = (first + dt.timedelta(days=32)).replace(day=1)
    today = first + dt.timedelta(days=offset)
    closed = j.month_is_closed_for_sending(month, today, grace)
    assert closed == (today >= next_month + dt.timedelta(days=grace))


@PROPERTY
@given(
    st.dates(dt.date(2000, 1, 1), dt.date(2100, 1, 1)),
    st.integers(0, 800),
    st.sampled_from(["day", "month"]),
)
def test_periods_cover_the_range_without_gaps(start, length, mode):
    end = start + dt.timedelta(days=length)
    periods = j.list_periods(mode, start, end)
    assert periods[0].start <= start <= periods[0].end
    assert periods[-1].start <= end <= periods[-1].end
    for before, after in zip(periods, periods[1:], strict=False):
        assert after.start == before.end + dt.timedelta(days=1)
    if mode == "day":
        assert len(periods) == length + 1


# ---------------------------------------------------------------------------------------------
# Worked examples (figures computed by hand)
# ---------------------------------------------------------------------------------------------

# Invoice 1, P1: revenue 100.00 at 21 % -> VAT 21.00, receivable 121.00
# Invoice 2, P2: revenue  50.00 at  9 % -> VAT  4.50, receivable  54.50
# Credit note, P1: revenue 10.00 at 21 % -> VAT 2.10, receivable -12.10
# GROUP BY (account, VAT code, partner): revenue 21 % -90.00, revenue 9 % -50.00,
# VAT 21 % -18.90, VAT 9 % -4.50, receivable P1 108.90, receivable P2 54.50 (sum 0).
MARCH_ROWS = [
    Row("8000", D("-100.00"), vat_code="2", tax_role="base"),
    Row("8000", D("10.00"), vat_code="2", tax_role="base"),  # credit note, same key
    Row("8000", D("-50.00"), vat_code="1", tax_role="base"),
    Row("1520", D("-18.90"), vat_code="2", tax_role="tax"),
    Row("1510", D("-4.50"), vat_code="1", tax_role="tax"),
    Row("1300", D("108.90"), account_type="receivable", partner="P1"),
    Row(
        "1300",
        D("54.50"),
        account_type="receivable",
        partner="P2",
        amount_currency=D("60.00"),
        currency="USD",
    ),
]


def test_worked_example_vat_journal():
    entry = build(MARCH_ROWS)
    assert entry.reference == "ACME-90-2024-03-1"
    assert [
        (line.gl_account, line.vat_code, line.relation, line.amount) for line in entry.lines
    ] == [
        ("1300", "", "P1", D("108.90")),
        ("1300", "", "P2", D("54.50")),
        ("8000", "1", "", D("-50.00")),
        ("8000", "2", "", D("-90.00")),
    ]
    # Exact generates: 9 % of -50.00 = -4.50 and 21 % of -90.00 = -18.90
    assert [(f.code, f.base, f.exact_vat, f.odoo_vat) for f in entry.vat] == [
        ("1", D("-50.00"), D("-4.50"), D("-4.50")),
        ("2", D("-90.00"), D("-18.90"), D("-18.90")),
    ]
    assert entry.balance == 0  # 108.90 + 54.50 - 50.00 - 90.00 - 4.50 - 18.90


def test_worked_example_no_vat():
    entry = build(MARCH_ROWS, NO_VAT_HEADER)
    assert entry.totals() == {
        K("1300", "", "P1"): D("108.90"),
        K("1300", "", "P2"): D("54.50"),
        K("1510"): D("-4.50"),
        K("1520"): D("-18.90"),
        K("8000"): D("-140.00"),
    }
    assert entry.vat == () and entry.balance == 0


def test_worked_example_payload():
    entry = build(MARCH_ROWS, dataclasses.replace(HEADER, description="Hours March"))
    payload = j.to_exact_payload(entry, _Guids(), {"P1": "guid-P1", "P2": "guid-P2"})
    assert payload == {
        "JournalCode": "90",
        "FinancialYear": 2024,
        "FinancialPeriod": 3,
        "Currency": "EUR",
        "Reversal": False,
        "GeneralJournalEntryLines": [
            {
                "GLAccount": "guid-1300",
                "AmountFC": 108.9,
                "VATCode": "",
                "Description": "ACME-90-2024-03-1 Hours March",
                "Date": "2024-03-31T00:00:00Z",
                "Account": "guid-P1",
            },
            {
                "GLAccount": "guid-1300",
                "AmountFC": 54.5,
                "VATCode": "",
                "Description": "ACME-90-2024-03-1 Hours March",
                "Date": "2024-03-31T00:00:00Z",
                "Account": "guid-P2",
            },
            {
                "GLAccount": "guid-8000",
                "AmountFC": -50.0,
                "VATCode": "1",
                "Description": "ACME-90-2024-03-1 Hours March",
                "Date": "2024-03-31T00:00:00Z",
            },
            {
                "GLAccount": "guid-8000",
                "AmountFC": -90.0,
                "VATCode": "2",
                "Description": "ACME-90-2024-03-1 Hours March",
                "Date": "2024-03-31T00:00:00Z",
            },
        ],
    }
    with pytest.raises(j.MappingMissing, match="relation 'P2'"):
        j.to_exact_payload(entry, _Guids(), {"P1": "guid-P1"})


def test_worked_example_rounding_residual():
    # 0.335 + 0.335 = 0.67 in Decimal; each line rounds half up to 0.34, the other line is
    # -0.67: lines sum to +0.01, so the rounding account takes -0.01.
    rows = [Row("4000", D("0.335")), Row("4100", D("0.335")), Row("1600", D("-0.67"))]
    entry = build(rows, NO_VAT_HEADER)
    assert entry.totals() == {
        K("1600"): D("-0.67"),
        K("4000"): D("0.34"),
        K("4100"): D("0.34"),
        K("8999"): D("-0.01"),
    }
    assert [line.description for line in entry.lines] == ["", "", "", "rounding difference"]
    with pytest.raises(j.UnbalancedEntry, match="no rounding-difference account"):
        build(rows, NO_VAT_HEADER, rounding_account=None)


def test_worked_example_sum_before_rounding():
    # three rows of 1/3 on one account: summed first = 0.999... -> 1.00 (rounding each row
    # first would give 0.99 and a residual); the entry needs no rounding line.
    third = D(1) / 3
    rows = [
        Row("4000", third),
        Row("4000", third, currency="USD"),
        Row("4000", third),
        Row("1600", D("-1.00")),
    ]
    entry = build(rows, NO_VAT_HEADER, rounding_account=None)
    assert entry.totals() == {K("1600"): D("-1.00"), K("4000"): D("1.00")}


def test_worked_example_unbalanced_rows_are_refused():
    rows = [Row("4000", D("10.00")), Row("1600", D("-9.00"))]
    with pytest.raises(j.UnbalancedEntry, match="do not balance"):
        build(rows, NO_VAT_HEADER)


def test_worked_example_vat_mismatch_from_aggregation():
    # Two invoices of 0.07 at 21 %: Odoo VAT 0.0147 -> 0.01 each, 0.02 in total.
    # Exact sees one line of 0.14: 0.0294 -> 0.03. Difference 0.01 -> refused.
    rows = close(
        [
            Row("8000", D("-0.07"), vat_code="2", tax_role="base"),
            Row("8000", D("-0.07"), vat_code="2", tax_role="base", currency="USD"),
            Row("1520", D("-0.02"), vat_code="2", tax_role="tax"),
        ]
    )
    with pytest.raises(j.VatMismatch) as info:
        build(rows)
    (figure,) = info.value.figures
    assert (figure.code, figure.percentage, figure.base) == ("2", D(21), D("-0.14"))
    assert (figure.exact_vat, figure.odoo_vat, figure.difference) == (
        D("-0.03"),
        D("-0.02"),
        D("-0.01"),
    )
    assert "VAT code '2'" in str(info.value) and "difference -0.01" in str(info.value)


def test_worked_example_vat_rounding_per_line_or_per_code():
    # 0.07 on 8000 and 0.07 on 8010, both 21 %: per line 0.01 + 0.01 = 0.02,
    # per code 0.14 * 21 % = 0.0294 -> 0.03.
    lines = {K("8000", "2"): D("0.07"), K("8010", "2"): D("0.07")}
    assert j.expected_vat(lines, PCT, "line") == {"2": (D("0.14"), D("0.02"))}
    assert j.expected_vat(lines, PCT, "code") == {"2": (D("0.14"), D("0.03"))}
    rows = close(
        [
            Row("8000", D("0.07"), vat_code="2", tax_role="base"),
            Row("8010", D("0.07"), vat_code="2", tax_role="base"),
            Row("1520", D("0.03"), vat_code="2", tax_role="tax"),
        ]
    )
    assert build(rows, vat_rounding="code").vat_total == D("0.03")
    with pytest.raises(j.VatMismatch):
        build(rows, vat_rounding="line")


def test_worked_example_vat_via_tax_amount_and_total_check():
    # Odoo's VAT given on the base rows (tax_amount); VAT rows without code -> total check.
    rows = [
        Row("8000", D("-100.00"), vat_code="2", tax_role="base", tax_amount=D("-21.00")),
        Row("1520", D("-21.00"), tax_role="tax"),
        Row("1300", D("121.00"), account_type="receivable", partner="P1"),
    ]
    assert build(rows).vat_total == D("-21.00")
    # the VAT row says 20.00 although tax_amount says 21.00: caught by the total check
    rows[1:] = [
        Row("1520", D("-20.00"), tax_role="tax"),
        Row("1300", D("120.00"), account_type="receivable", partner="P1"),
    ]
    with pytest.raises(j.VatMismatch) as info:
        build(rows)
    assert [(f.code, f.exact_vat, f.odoo_vat) for f in info.value.figures] == [
        ("*", D("-21.00"), D("-20.00"))
    ]
    # both sources for one code would count the VAT twice: refused
    rows[1] = Row("1520", D("-21.00"), vat_code="2", tax_role="tax")
    with pytest.raises(j.JournalError, match="given twice"):
        build(rows)


def test_worked_example_unknown_vat_code_is_refused():
    rows = close([Row("8000", D("-10"), vat_code="9", tax_role="base")])
    with pytest.raises(j.JournalError, match="no percentage for VAT code '9'"):
        build(rows)


def test_worked_example_correction():
    # After sending March, a late invoice for P2: revenue 20.00 at 9 % -> VAT 1.80,
    # receivable 21.80. The correction carries only that.
    sent = build(MARCH_ROWS)
    late = [
        Row("8000", D("-20.00"), vat_code="1", tax_role="base"),
        Row("1510", D("-1.80"), vat_code="1", tax_role="tax"),
        Row("1300", D("21.80"), account_type="receivable", partner="P2"),
    ]
    current = build(MARCH_ROWS + late)
    header = dataclasses.replace(HEADER, sequence=2)
    correction = j.diff_entries(sent, current, header, vat_percentages=PCT)
    assert correction.reference == "ACME-90-2024-03-2"
    assert correction.totals() == {K("1300", "", "P2"): D("21.80"), K("8000", "1"): D("-20.00")}
    assert [(f.code, f.exact_vat) for f in correction.vat] == [("1", D("-1.80"))]
    assert correction.balance == 0
    assert [
        (r.key, r.odoo, r.sent, r.difference) for r in j.reconcile(current, sent) if r.difference
    ] == [
        (K("1300", "", "P2"), D("76.30"), D("54.50"), D("21.80")),
        (K("8000", "1"), D("-70.00"), D("-50.00"), D("-20.00")),
    ]
    # nothing changed -> empty correction
    assert j.diff_entries(sent, sent, header, vat_percentages=PCT).lines == ()


def test_worked_example_correction_vat_rounding_mismatch():
    # Sent base -0.02 at 21 % (VAT -0.0042 -> 0.00), now -0.09 (VAT -0.0189 -> -0.02).
    # Exact would compute VAT on the difference -0.07 as -0.01, not -0.02 -> refused;
    # the fallback is reverse_entry(sent) plus the full current entry.
    sent = {K("8000", "2"): D("-0.02"), K("1300", "", "P1"): D("0.02")}
    current = {K("8000", "2"): D("-0.09"), K("1300", "", "P1"): D("0.11")}
    header = dataclasses.replace(HEADER, sequence=2)
    with pytest.raises(j.VatMismatch) as info:
        j.diff_entries(sent, current, header, vat_percentages=PCT)
    (figure,) = info.value.figures
    assert (figure.exact_vat, figure.odoo_vat) == (D("-0.01"), D("-0.02"))
    reversal = j.reverse_entry(build(MARCH_ROWS), header)
    assert reversal.balance == 0
    assert reversal.totals()[K("1300", "", "P1")] == D("-108.90")


def test_periods_by_hand():
    months = j.list_periods("month", dt.date(2024, 1, 15), dt.date(2024, 3, 2))
    assert [(p.label, p.start, p.end) for p in months] == [
        ("2024-01", dt.date(2024, 1, 1), dt.date(2024, 1, 31)),
        ("2024-02", dt.date(2024, 2, 1), dt.date(2024, 2, 29)),  # leap year
        ("2024-03", dt.date(2024, 3, 1), dt.date(2024, 3, 31)),
    ]
    days = j.list_periods("day", dt.date(2024, 2, 28), dt.date(2024, 3, 1))
    assert [p.label for p in days] == ["2024-02-28", "2024-02-29", "2024-03-01"]
    assert j.list_periods("month", dt.date(2024, 2, 1), dt.date(2024, 1, 1)) == []
    march = dt.date(2024, 3, 10)
    assert not j.month_is_closed_for_sending(march, dt.date(2024, 3, 31), 0)
    assert j.month_is_closed_for_sending(march, dt.date(2024, 4, 1), 0)
    assert not j.month_is_closed_for_sending(march, dt.date(2024, 4, 5), 5)
    assert j.month_is_closed_for_sending(march, dt.date(2024, 4, 6), 5)
    day = j.Period.containing("day", dt.date(2024, 3, 10))
    assert j.EntryHeader("ACME", "90", day).reference == "ACME-90-2024-03-10-1"
    assert not j.period_is_closed_for_sending(day, dt.date(2024, 3, 10))
    assert j.period_is_closed_for_sending(day, dt.date(2024, 3, 11))


def test_rows_are_validated():
    with pytest.raises(ValueError, match="tax_role"):
        Row("8000", D(1), tax_role="vat")
    with pytest.raises(ValueError, match="base rows only"):
        Row("1520", D(1), tax_role="tax", tax_amount=D(1))
    with pytest.raises(TypeError):
        Row("8000", object())
    assert Row("8000", 0.1).balance == D("0.1")
    # a partner on a non-receivable/payable row is not a relation of the line
    assert Row("8000", D(1), partner="P1").relation == ""


class _Guids(dict):
    """GUID mapping that answers ``guid-<code>`` for every code."""

    def __missing__(self, code):
        return f"guid-{code}"


def test_vat_code_only_travels_on_base_rows():
    # A row that is neither base nor VAT keeps no VAT code, even if the query filled one in:
    # Exact would otherwise generate VAT on a receivable.
    rows = [
        Row("8000", D("-100.00"), vat_code="2", tax_role="base"),
        Row("1520", D("-21.00"), vat_code="2", tax_role="tax"),
        Row("1300", D("121.00"), vat_code="2", account_type="receivable", partner="P1"),
    ]
    assert build(rows).totals() == {K("1300", "", "P1"): D("121.00"), K("8000", "2"): D("-100.00")}


def test_rounding_line_merges_with_the_rounding_account_and_vanishes_at_zero():
    # 0.005 -> 0.01 twice, -0.02, and 8999's own +0.01: lines sum to +0.01, the residual -0.01
    # lands on 8999's own line, which becomes zero and is dropped.
    rows = [
        Row("4000", D("0.005")),
        Row("4100", D("0.005")),
        Row("4200", D("-0.02")),
        Row("8999", D("0.01")),
    ]
    assert build(rows, NO_VAT_HEADER).totals() == {
        K("4000"): D("0.01"),
        K("4100"): D("0.01"),
        K("4200"): D("-0.02"),
    }
    # same with 8999's own 1.00 (and 4200 -1.01): 8999 keeps one line of 0.99
    rows[2:] = [Row("4200", D("-1.01")), Row("8999", D("1.00"))]
    assert build(rows, NO_VAT_HEADER).totals() == {
        K("4000"): D("0.01"),
        K("4100"): D("0.01"),
        K("4200"): D("-1.01"),
        K("8999"): D("0.99"),
    }
