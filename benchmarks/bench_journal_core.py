"""Time and peak memory of building one monthly memorial entry from ~50,000 GROUP BY rows.

Pure-Python aggregation only (no Odoo, no database): the rows are made up here the way the
period query would return them. Run from the repository root::

    python benchmarks/bench_journal_core.py [rows]
"""

import datetime as dt
import pathlib
import random
import sys
import time
import tracemalloc
import types
from decimal import Decimal

ROOT = pathlib.Path(__file__).resolve().parent.parent
if "hours_invoicing_exact" not in sys.modules:  # the addon's __init__ needs Odoo; skip it
    package = types.ModuleType("hours_invoicing_exact")
    package.__path__ = [str(ROOT / "hours_invoicing_exact")]
    sys.modules["hours_invoicing_exact"] = package
sys.path.insert(0, str(ROOT))

from hours_invoicing_exact.services import journal  # noqa: E402

PCT = {"0": Decimal(0), "1": Decimal(9), "2": Decimal(21)}
VAT_ACCOUNT = {"0": "1500", "1": "1510", "2": "1520"}


def make_rows(count, seed=2024):
    """Return ~``count`` balanced rows: invoices/credit notes of 1,000 customers."""
    rng = random.Random(seed)
    rows = []
    while len(rows) < count:
        code = rng.choice("012")
        base = -Decimal(rng.randint(-20_000, 500_000)) / 100  # some credit notes
        vat = (base * PCT[code] / 100).quantize(Decimal("0.01"))
        partner = f"P{rng.randint(1, 1000)}"
        currency = rng.choice([None, None, "USD"])
        rows.append(
            journal.JournalRow(
                f"80{rng.randint(0, 19):02d}",
                base,
                vat_code=code,
                tax_role="base",
                currency=currency,
            )
        )
        rows.append(journal.JournalRow(VAT_ACCOUNT[code], vat, vat_code=code, tax_role="tax"))
        rows.append(
            journal.JournalRow("1300", -base - vat, account_type="receivable", partner=partner)
        )
    return rows


def measure(label, func):
    """Run ``func`` twice: wall time untraced, then tracemalloc peak; return its result."""
    start = time.perf_counter()
    result = func()
    elapsed = time.perf_counter() - start
    tracemalloc.start()
    func()
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{label:<40} {elapsed * 1000:9.1f} ms   peak {peak / 2**20:7.2f} MiB")
    return result


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    rows = make_rows(count)
    header = journal.EntryHeader(
        "ACME", "90", journal.Period.containing("month", dt.date(2024, 3, 1))
    )
    no_vat = journal.EntryHeader("ACME", "91", header.period, vat_mode=journal.NO_VAT)
    print(f"Python {sys.version.split()[0]}; times untraced, peak = tracemalloc")
    # Odoo's per-invoice VAT and Exact's VAT on aggregated lines differ by cents on random data,
    # so vat_journal runs on the same rows with the VAT rows replaced by Exact's figures.
    entry = measure(
        f"build_entry no_vat ({len(rows)} rows)",
        lambda: journal.build_entry(rows, no_vat, rounding_account="8999"),
    )
    consistent = [row for row in rows if row.tax_role != "tax"]
    vat_rows = _consistent_vat_rows(consistent)
    vat_entry = measure(
        f"build_entry vat_journal ({len(vat_rows)} rows)",
        lambda: journal.build_entry(vat_rows, header, vat_percentages=PCT, rounding_account="8999"),
    )
    measure(
        "to_exact_payload",
        lambda: journal.to_exact_payload(vat_entry, _Guids(), _Guids()),
    )
    measure(
        "diff_entries + reconcile",
        lambda: (
            journal.diff_entries(entry, entry, no_vat),
            journal.reconcile(entry, entry),
        ),
    )
    print(
        f"no_vat: {len(entry.lines)} lines; vat_journal: {len(vat_entry.lines)} lines, "
        f"VAT {vat_entry.vat_total}, balance {vat_entry.balance}"
    )


def _consistent_vat_rows(rows):
    """Replace Odoo's VAT rows by the VAT Exact will generate, so the VAT check passes."""
    sums = {}
    for row in rows:
        if row.tax_role == "base":
            key = journal.LineKey(row.gl_account, row.vat_code)
            sums[key] = sums.get(key, Decimal(0)) + row.balance
    vat = journal.expected_vat({k: journal.quantize(v) for k, v in sums.items()}, PCT)
    result = list(rows)
    for code, (_base, amount) in sorted(vat.items()):
        result.append(journal.JournalRow(VAT_ACCOUNT[code], amount, vat_code=code, tax_role="tax"))
    total = sum((row.balance for row in result), Decimal(0))
    result.append(journal.JournalRow("1300", -total, account_type="receivable", partner="P1"))
    return result


class _Guids(dict):
    def __missing__(self, code):
        return f"guid-{code}"


if __name__ == "__main__":
    main()
