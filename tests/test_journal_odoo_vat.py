"""Property and worked-example tests of ``vat_rounding="odoo"`` in ``services/journal.py``.

Exact recomputes VAT on each (summed) entry line while Odoo rounded it per invoice, so a month
of invoices summed per account differs by cents; in this mode every line carries Odoo's VAT
(``AmountVATFC``) and the entry must carry Odoo's VAT per code to the cent.
"""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hours_invoicing_exact.services import journal as j
from hours_invoicing_exact.services.journal import LineKey as K

D = Decimal
PCT = {"0": D(0), "1": D(9), "2": D(21)}
VAT_ACCOUNT = {"0": "1500", "1": "1510", "2": "1520"}
MARCH = j.Period.containing("month", dt.date(2024, 3, 1))
HEADER = j.EntryHeader("ACME", "90", MARCH)
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def q(amount):
    return amount.quantize(D("0.01"), rounding="ROUND_HALF_UP")


invoice_lines = st.lists(
    st.tuples(
        st.sampled_from(["8000", "8010", "7000"]),
        st.sampled_from(sorted(PCT)),
        st.integers(1, 10**6).map(lambda c: D(c) / 100),
    ),
    min_size=1,
    max_size=4,
)
invoices = st.lists(
    st.tuples(st.sampled_from(["P1", "P2", "P3"]), st.booleans(), invoice_lines),
    min_size=1,
    max_size=30,
)


def rows_of(invoice_specs):
    """Rows as the addon's GROUP BY gives them, VAT rounded per invoice and code like Odoo."""
    rows, vat_by_code = [], {}
    for partner, refund, lines in invoice_specs:
        sign = 1 if refund else -1  # revenue is credit (negative) on an invoice
        total, per_code = D(0), {}
        for account, code, amount in lines:
            rows.append(
                {
                    "gl_account": account,
                    "balance": sign * amount,
                    "vat_code": code,
                    "tax_role": "base",
                }
            )
            per_code[code] = per_code.get(code, D(0)) + amount
            total += amount
        for code, base in per_code.items():
            vat = q(base * PCT[code] / 100)
            if vat:
                rows.append(
                    {
                        "gl_account": VAT_ACCOUNT[code],
                        "balance": sign * vat,
                        "vat_code": code,
                        "tax_role": "tax",
                    }
                )
                vat_by_code[code] = vat_by_code.get(code, D(0)) + sign * vat
            total += vat
        rows.append(
            {
                "gl_account": "1300",
                "balance": -sign * total,
                "account_type": "receivable",
                "partner": partner,
            }
        )
    return rows, vat_by_code


def build(rows, n_invoices, **kwargs):
    tolerance = {code: D("0.005") * (n_invoices + 1) for code in PCT}
    return j.build_entry(
        rows,
        HEADER,
        vat_percentages=PCT,
        vat_rounding="odoo",
        rounding_account="8999",
        vat_tolerance=tolerance,
        **kwargs,
    )


def sums(rows):
    out = {}
    for row in rows:
        if row.get("tax_role") == "tax":
            continue
        relation = row.get("partner") if row.get("account_type") == "receivable" else ""
        code = row.get("vat_code") if row.get("tax_role") == "base" else ""
        key = K(row["gl_account"], code or "", relation or "")
        out[key] = out.get(key, D(0)) + row["balance"]
    return {k: v for k, v in out.items() if v}


@PROPERTY
@given(invoices)
def test_entry_balances_and_carries_odoo_vat_per_code_to_the_cent(specs):
    rows, odoo_vat = rows_of(specs)
    entry = build(rows, len(specs))
    assert entry.balance == 0
    assert sum(line.amount + (line.vat_amount or 0) for line in entry.lines) == 0
    carried = {}
    for line in entry.lines:
        if line.vat_code:
            carried[line.vat_code] = carried.get(line.vat_code, D(0)) + line.vat_amount
        else:
            assert line.vat_amount is None
    assert {c: v for c, v in carried.items() if v} == {c: v for c, v in odoo_vat.items() if v}
    # without rounding line (cent inputs), totals per key are the input's
    assert entry.totals() == sums(rows)
    payload = j.to_exact_payload(
        entry, {line.gl_account: "g" for line in entry.lines}, {"P1": "a", "P2": "b", "P3": "c"}
    )
    assert (
        round(
            sum(
                x["AmountFC"] + x.get("AmountVATFC", 0) for x in payload["GeneralJournalEntryLines"]
            ),
            2,
        )
        == 0
    )


@PROPERTY
@given(invoices, st.randoms(use_true_random=False))
def test_rebuilding_is_deterministic_and_order_independent(specs, rnd):
    rows, _vat = rows_of(specs)
    first = build(rows, len(specs))
    shuffled = list(rows)
    rnd.shuffle(shuffled)
    assert build(shuffled, len(specs)) == first


@PROPERTY
@given(invoices, invoices)
def test_correction_brings_what_was_sent_to_odoo(sent_specs, late_specs):
    sent_rows, _ = rows_of(sent_specs)
    late_rows, _ = rows_of(late_specs)
    sent = build(sent_rows, len(sent_specs))
    current = build(sent_rows + late_rows, len(sent_specs) + len(late_specs))
    correction = j.diff_entries_with_vat(sent, current, j.EntryHeader("ACME", "90", MARCH, 2))
    assert correction.balance == 0
    total = dict(sent.totals_with_vat())
    for line in correction.lines:
        amount, vat = total.get(line.key, (D(0), D(0)))
        total[line.key] = (amount + line.amount, vat + (line.vat_amount or 0))
    assert {k: v for k, v in total.items() if v != (0, 0)} == current.totals_with_vat()


def test_worked_example_month_of_rounding_invoices():
    # three invoices of 0.07 at 21 %: 0.0147 rounds to 0.01 each, Odoo's VAT is 0.03;
    # the summed line 0.21 * 21 % = 0.0441 would make Exact compute 0.04.
    specs = [("P1", False, [("8000", "2", D("0.07"))])] * 3
    rows, _ = rows_of(specs)
    with pytest.raises(j.VatMismatch):  # the default mode refuses this month
        j.build_entry(rows, HEADER, vat_percentages=PCT, rounding_account="8999")
    entry = build(rows, 3)
    revenue = next(line for line in entry.lines if line.gl_account == "8000")
    assert revenue.amount == D("-0.21")
    assert revenue.vat_amount == D("-0.03")  # Odoo's VAT, not Exact's -0.04
    receivable = next(line for line in entry.lines if line.gl_account == "1300")
    assert receivable.amount == D("0.24") and receivable.vat_amount is None
    assert [f.exact_vat for f in entry.vat] == [D("-0.03")]
    payload = j.to_exact_payload(entry, {"8000": "g1", "1300": "g2"}, {"P1": "a1"})
    lines = {x["GLAccount"]: x for x in payload["GeneralJournalEntryLines"]}
    assert lines["g1"]["AmountVATFC"] == -0.03 and lines["g1"]["AmountFC"] == -0.21
    assert "AmountVATFC" not in lines["g2"]


def test_worked_example_rest_goes_to_the_largest_line():
    # 8000: -100.03 -> 21.0063 -> -21.01; 8010: -0.07 -> -0.01; computed -21.02, Odoo -21.03:
    # the rest -0.01 goes to 8000 (largest), giving -21.02 and -0.01.
    rows = [
        {"gl_account": "8000", "balance": D("-100.03"), "vat_code": "2", "tax_role": "base"},
        {"gl_account": "8010", "balance": D("-0.07"), "vat_code": "2", "tax_role": "base"},
        {"gl_account": "1520", "balance": D("-21.03"), "vat_code": "2", "tax_role": "tax"},
        {
            "gl_account": "1300",
            "balance": D("121.13"),
            "account_type": "receivable",
            "partner": "P1",
        },
    ]
    entry = build(rows, 2)
    vat = {line.gl_account: line.vat_amount for line in entry.lines}
    assert vat == {"8000": D("-21.02"), "8010": D("-0.01"), "1300": None}
    assert entry.balance == 0


def test_worked_example_wrong_percentage_is_not_rounding():
    rows = [
        {"gl_account": "8000", "balance": D("-100"), "vat_code": "2", "tax_role": "base"},
        {"gl_account": "1520", "balance": D("-9"), "vat_code": "2", "tax_role": "tax"},
        {"gl_account": "1300", "balance": D("109"), "account_type": "receivable", "partner": "P1"},
    ]
    with pytest.raises(j.VatMismatch) as info:
        build(rows, 1)
    assert info.value.figures[0].exact_vat == D("-21.00")
    assert info.value.figures[0].odoo_vat == D("-9.00")


def test_vat_row_without_code_is_refused():
    rows = [
        {"gl_account": "8000", "balance": D("-100"), "vat_code": "2", "tax_role": "base"},
        {"gl_account": "1520", "balance": D("-21"), "tax_role": "tax"},
        {"gl_account": "1300", "balance": D("121"), "account_type": "receivable", "partner": "P1"},
    ]
    with pytest.raises(j.JournalError, match="without a VAT code"):
        build(rows, 1)
