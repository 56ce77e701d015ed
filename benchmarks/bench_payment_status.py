"""Payment status over 10,000 open invoices: one paged read per run (never a call per
invoice), against the local Exact Online and Twinfield servers on a *virtual* clock (waiting
for Exact's next minute or Twinfield's fair-use credits costs no wall time).

Exact: ``read/financial/ReceivablesList``, 60 rows a page, 60 calls a minute per division
(accounting-apis.md A3, A4). Twinfield: Finder ``IVT``, 100 rows a page, 1 credit a Search,
25 credits a minute for an uncertified app per organisation (B4, B6).

Prints per target: invoices, open items read, calls, calls per invoice, virtual seconds, wall
seconds and the statuses found. Run: ``python benchmarks/bench_payment_status.py``.
"""

import argparse
import datetime
import pathlib
import sys
import tempfile
import time
import types
from decimal import Decimal

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _bootstrap() -> None:
    """Make ``hours_invoicing_exact.services`` importable without Odoo."""
    if "hours_invoicing_exact" not in sys.modules:
        package = types.ModuleType("hours_invoicing_exact")
        package.__path__ = [str(ROOT / "hours_invoicing_exact")]
        sys.modules["hours_invoicing_exact"] = package
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "tests"))


def _summary(name, invoices, items, calls, virtual, wall, result):
    counts = {}
    for status, _amount in result.values():
        counts[status] = counts.get(status, 0) + 1
    return {"target": name, "invoices": invoices, "open items read": len(items),
            "calls": calls, "calls/invoice": round(calls / invoices, 4),
            "virtual s": round(virtual, 1), "wall s": round(wall, 2), "statuses": counts}


def bench_exact(invoices: int, workdir: pathlib.Path) -> dict:
    from exact_support import make_client

    from hie_testing.exact_server import CUSTOMER_ID, DEFAULT_DIVISION, ExactServer, exact_date
    from hours_invoicing_exact.services import payment_status as ps

    with ExactServer() as server:
        totals = {}
        for number in range(1, invoices + 1):
            reference = f"INV/2025/{number:05d}"
            paid = 0.0 if number % 10 else (121.0 if number % 20 else 50.0)
            server.sales_entries.append({
                "Division": DEFAULT_DIVISION, "EntryID": f"e{number}", "EntryNumber": number,
                "Journal": "70", "Customer": CUSTOMER_ID.lower(), "Type": 20,
                "EntryDate": exact_date(datetime.date(2025, 1, 15)),
                "YourRef": reference, "Description": reference, "Currency": "EUR",
                "AmountFC": 121.0, "VATAmountFC": 21.0, "Status": 20, "_paid": paid})
            totals[reference] = Decimal("121.00")
        client = make_client(server.base_url, workdir / "exact-tokens.json", server.clock,
                             store_tokens=server.issue_tokens())
        start_virtual, start_wall = server.clock.now(), time.perf_counter()
        items = ps.exact_open_items(client)
        wall = time.perf_counter() - start_wall
        result = ps.statuses(totals, items)
        calls = server.calls[("GET", ps.RECEIVABLES_PATH)]
        return _summary("Exact Online", invoices, items, calls,
                        server.clock.now() - start_virtual, wall, result)


def bench_twinfield(invoices: int, workdir: pathlib.Path) -> dict:
    from twinfield_support import make_client

    from hie_testing.twinfield_server import CUSTOMER, OFFICE, TwinfieldServer
    from hours_invoicing_exact.services import payment_status as ps

    with TwinfieldServer(credits_per_minute=25) as server:
        totals = {}
        for number in range(1, invoices + 1):
            reference = f"INV/2025/{number:05d}"
            server.transactions.append({
                "office": OFFICE, "code": "VRK", "number": str(number), "destiny": "final",
                "period": "2025/01", "date": "20250115", "duedate": "20250214",
                "invoicenumber": reference,
                "lines": [{"type": "total", "dim2": CUSTOMER, "signed": Decimal("121.00")}]})
            if number % 10 == 0:
                server.payments[(OFFICE, reference)] = Decimal(
                    "121.00" if number % 20 else "50.00")
            totals[reference] = Decimal("121.00")
        client = make_client(server.base_url, server.cluster_url, workdir / "twf-tokens.json",
                             server.clock, store_tokens=server.issue_tokens())
        start_virtual, start_wall = server.clock.now(), time.perf_counter()
        items = ps.twinfield_open_items(client)
        wall = time.perf_counter() - start_wall
        result = ps.statuses(totals, items)
        return _summary("Twinfield", invoices, items, server.calls["finder"],
                        server.clock.now() - start_virtual, wall, result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=10_000)
    args = parser.parse_args()
    _bootstrap()
    import conftest  # noqa: F401 - the bare package stand-in of the tests

    with tempfile.TemporaryDirectory() as tmp:
        for bench in (bench_exact, bench_twinfield):
            print(bench(args.invoices, pathlib.Path(tmp)))


if __name__ == "__main__":
    main()
