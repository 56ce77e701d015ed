"""Post 3,000 invoices to the local Twinfield server through the outbox engine, per document
and as one monthly memorial entry, uncertified (25 credits a minute) and certified (500).

The fair-use credits (reads 1, writes 3, per client id and organisation and minute) are
enforced by the server on a *virtual* clock shared with the client, so waiting for a new
minute costs no wall time. Scenarios:

* ``document``: every invoice is one sales transaction, ``--batch`` transactions per
  ``<transactions>`` call;
* ``recovery``: as ``document``, but a crashed run left the first 200 records ``sending``,
  half of which had reached Twinfield; they are looked up (browse code 100) first;
* ``month``: the same 3,000 invoices summed into one MEMO transaction (per GL account and
  VAT code, a receivable line per customer) by ``services/journal.py``.

Prints calls, credits per invoice, virtual time to drain and wall time per invoice.
Run: ``python benchmarks/bench_twinfield_outbox.py``.
"""

import argparse
import datetime as dt
import pathlib
import sys
import tempfile
import time
import types
from decimal import Decimal

ROOT = pathlib.Path(__file__).resolve().parent.parent
CUSTOMERS = 40


def _bootstrap() -> None:
    """Make ``hours_invoicing_exact.services`` importable without Odoo."""
    if "hours_invoicing_exact" not in sys.modules:
        package = types.ModuleType("hours_invoicing_exact")
        package.__path__ = [str(ROOT / "hours_invoicing_exact")]
        sys.modules["hours_invoicing_exact"] = package
    sys.path.insert(0, str(ROOT))


def _invoice(number: int) -> dict:
    net = Decimal(100 + number % 97) + Decimal(number % 100) / 100
    vat = (net * Decimal("0.21")).quantize(Decimal("0.01"))
    return {
        "number": f"INV/2024/{number:05d}",
        "date": f"2024-01-{1 + number % 28:02d}",
        "due_date": "2024-02-29",
        "customer": str(1000 + number % CUSTOMERS),
        "lines": [{"gl_account": "8000", "vat_code": "VH", "amount": str(net),
                   "vat_amount": str(vat)}],
    }


def run(scenario: str, invoices: int, certified: bool, batch: int, workdir: pathlib.Path,
        crashed: int = 0) -> dict:
    """Run one scenario; return its figures."""
    from hie_testing.twinfield_server import OFFICE, TwinfieldServer
    from hours_invoicing_exact.services import journal as j
    from hours_invoicing_exact.services.outbox import OutboxEngine, SqliteRepository
    from hours_invoicing_exact.services.twinfield.adapters import (
        TwinfieldJournalAdapter,
        TwinfieldSalesAdapter,
        journal_payload,
    )
    from hours_invoicing_exact.services.twinfield.client import TwinfieldClient
    from hours_invoicing_exact.services.twinfield.credits import (
        CreditBudget,
        MemoryCreditStore,
        limit_for,
    )
    from hours_invoicing_exact.services.twinfield.oidc import (
        FileTokenStore,
        TokenState,
        TwinfieldOIDC,
        TwinfieldTokenManager,
    )

    limit = limit_for(certified)
    with TwinfieldServer(credits_per_minute=limit) as server:
        for number in range(CUSTOMERS):
            code = str(1000 + number)
            server.dimensions[(OFFICE, "DEB", code)] = {"code": code, "name": code,
                                                       "type": "DEB"}
        clock = server.clock
        tag = f"{scenario}-{int(certified)}"
        store = FileTokenStore(workdir / f"{tag}-tokens.json")
        store.save(TokenState.from_token_response(server.issue_tokens(), clock.now()))
        oidc = TwinfieldOIDC(server.client_id, server.client_secret, "http://localhost/cb",
                             login_host=server.base_url, clock=clock)
        client = TwinfieldClient(server.cluster_url, OFFICE, TwinfieldTokenManager(store, oidc),
                                 CreditBudget(MemoryCreditStore(), limit=limit, clock=clock),
                                 clock=clock)
        repository = SqliteRepository(workdir / f"{tag}.sqlite")
        payloads = [_invoice(number) for number in range(1, invoices + 1)]
        start_wall = time.perf_counter()
        if scenario == "month":
            rows = []
            for payload in payloads:
                line = payload["lines"][0]
                net, vat = Decimal(line["amount"]), Decimal(line["vat_amount"])
                rows += [
                    {"gl_account": "8000", "balance": -net, "vat_code": "VH",
                     "tax_role": "base"},
                    {"gl_account": "1500", "balance": -vat, "vat_code": "VH", "tax_role": "tax"},
                    {"gl_account": "1300", "balance": net + vat, "account_type": "receivable",
                     "partner": payload["customer"]},
                ]
            header = j.EntryHeader("ACME", "MEMO", j.Period.containing("month",
                                                                       dt.date(2024, 1, 1)))
            entry = j.build_entry(rows, header, vat_percentages={"VH": Decimal(21)},
                                  vat_rounding="odoo",
                                  vat_tolerance={"VH": Decimal("0.005") * (invoices + 1)})
            relations = {str(1000 + n): str(1000 + n) for n in range(CUSTOMERS)}
            payload = journal_payload(entry, {"8000": "8000", "1300": "1300"}, relations)
            repository.enqueue(entry.reference, payload)
            adapter = TwinfieldJournalAdapter(client, batch_size=1)
            entry_lines = len(payload["lines"])
        else:
            for payload in payloads:
                repository.enqueue(payload["number"], payload)
            adapter = TwinfieldSalesAdapter(client, batch_size=batch)
            entry_lines = None
        if crashed:
            records = repository.claim(crashed)
            for record in records:
                repository.mark_sending(record)
            reached = records[::2]
            for start in range(0, len(reached), batch):
                adapter.post_batch([record.payload for record in reached[start:start + batch]])
            repository.release(records)
            clock.advance(60)
        server.calls.clear()
        server.statuses.clear()
        credits_before = server.credits_used
        start_virtual = clock.now()
        engine_wall = time.perf_counter()
        report = OutboxEngine(repository, adapter, batch_size=max(50, batch)).run()
        wall = time.perf_counter() - (start_wall if scenario == "month" else engine_wall)
        virtual = clock.now() - start_virtual
        states = {record.state for record in repository.records()}
        repository.close()
        credits = server.credits_used - credits_before
        if scenario == "month":
            exactly_once = len(server.transactions) == 1 and states == {"sent"}
            vat = -server.vat_of(server.transactions[0])
            odoo_vat = sum(Decimal(p["lines"][0]["vat_amount"]) for p in payloads)
        else:
            counts = server.transactions_by_invoice()
            exactly_once = (len(counts) == invoices and set(counts.values()) == {1}
                            and states == {"sent"})
            vat = -sum((server.vat_of(trs) for trs in server.transactions), Decimal(0))
            odoo_vat = sum(Decimal(p["lines"][0]["vat_amount"]) for p in payloads)
    figures = {
        "invoices": invoices,
        "limit (credits/min)": limit,
        "calls": server.calls["read"] + server.calls["write"],
        "write calls": server.calls["write"],
        "read calls (look-ups)": server.calls["read"],
        "credits": credits,
        "credits per invoice": round(credits / invoices, 4),
        "429 answers": server.statuses[429],
        "virtual time to drain": f"{virtual / 60:.1f} min",
        "wall time per invoice": f"{wall / invoices * 1000:.2f} ms",
        "Twinfield VAT = Odoo VAT": vat == odoo_vat,
        "exactly once": exactly_once,
        "report": report,
    }
    if entry_lines is not None:
        figures["memorial entry lines"] = entry_lines
    return figures


def main(argv=None) -> int:
    """Run the scenarios and print their figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--crashed", type=int, default=200)
    args = parser.parse_args(argv)
    _bootstrap()
    with tempfile.TemporaryDirectory() as directory:
        for scenario, certified, crashed in (
            ("document", False, 0), ("document", True, 0), ("recovery", False, args.crashed),
            ("month", False, 0), ("month", True, 0),
        ):
            figures = run(scenario, args.invoices, certified, args.batch,
                          pathlib.Path(directory), crashed)
            print(f"== {scenario}, {'certified' if certified else 'uncertified'} ==")
            for name, value in figures.items():
                print(f"  {name:28} {value}")
            if not figures["exactly once"] or not figures["Twinfield VAT = Odoo VAT"]:
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
