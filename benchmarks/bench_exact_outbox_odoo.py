"""Benchmark, Odoo side: post N customer invoices in Odoo and drain their outbox records
through the real Odoo repository and stores to the local fake Exact Online server.

A database is copied from the test template and gets hours_invoicing_exact; a registry is
loaded in this process. The server enforces Exact's limits (60 calls a minute, 5,000 a day)
on a *virtual* clock that the connection's clients share (``_get_clock`` is pointed at it),
so waiting for a new minute or day costs no wall time.

1. setup: connection, division, reference data fetched once (G/L accounts, VAT codes,
   journals) and auto-matched; a few partners (one already a relation in Exact, the others
   created there by the run) and one product;
2. N invoices in one ``create`` call, ``action_post`` in batches: each gets an outbox record;
3. drain: ``accounting.outbox._process(connection)`` until nothing is due (a daily-budget stop waits
   for the next day on the virtual clock).

Prints the calls made by kind (writes, look-ups, reference data, token), calls per invoice,
refused calls, virtual time to drain, and the wall and CPU time of the Odoo side per invoice
(CPU of the main thread only: the fake server runs in threads of its own).

Usage: python benchmarks/bench_exact_outbox_odoo.py [--invoices 3000] [--partners 5]
Needs Odoo 18 ($ODOO_SRC) and PostgreSQL, like the test suite.
"""

import argparse
import collections
import sys
import time
from pathlib import Path
from unittest.mock import patch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.append(str(ROOT))  # hie_testing: the local Exact server
import run_tests  # noqa: E402

sys.path.insert(0, str(run_tests.ODOO_SRC))
import odoo  # noqa: E402
from odoo.modules.registry import Registry  # noqa: E402

DB = "hie_bench_exact"
REFERENCE_RESOURCES = {
    "current/Me", "hrm/Divisions", "financial/GLAccounts", "vat/VATCodes", "financial/Journals",
}


def prepare_database():
    run_tests.database_from_template(DB)


def classify(server):
    """Return a Counter of the server's calls by kind since its counters were cleared."""
    kinds = collections.Counter()
    for (method, resource), count in server.calls.items():
        if method == "POST":
            kinds["writes"] += count
            kinds[f"  writes {resource}"] += count
        elif resource in REFERENCE_RESOURCES:
            kinds["reference data"] += count
        else:
            kinds["look-ups"] += count
            kinds[f"  look-ups {resource}"] += count
    kinds["token"] = sum(server.token_calls.values())
    kinds["refused (HTTP >= 400)"] = sum(n for s, n in server.statuses.items() if s >= 400)
    return kinds


def valid_nl_vats(count):
    """Return ``count`` valid Dutch VAT numbers (other than the server's seeded one)."""
    from stdnum.nl import vat as nl_vat

    numbers, base = [], 100000000
    while len(numbers) < count:
        base += 1
        number = f"NL{base:09d}B01"
        if nl_vat.is_valid(number) and number != "NL000099998B57":
            numbers.append(number)
    return numbers


def reset_counters(server):
    server.calls.clear()
    server.statuses.clear()
    server.token_calls.clear()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=3000)
    parser.add_argument("--partners", type=int, default=5)
    parser.add_argument("--post-batch", type=int, default=500)
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    odoo.tools.config.parse_config([
        "--addons-path", run_tests.addons_path(),
        "--db_host", "/var/run/postgresql", "--log-level", "warn",
    ])
    from odoo.addons.hours_invoicing_exact.services.exact.clock import VirtualClock
    from odoo.addons.hours_invoicing_exact.services.exact.oauth import TokenState

    from hie_testing.exact_server import (
        DEFAULT_DIVISION,
        ExactServer,
    )

    prepare_database()
    registry = Registry(DB)
    Connection = registry["accounting.connection"]
    with ExactServer(clock=VirtualClock(start=time.time()), minutely_limit=60,
                     daily_limit=5000) as server, \
            patch.object(Connection, "_get_clock", lambda self: server.clock), \
            registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {"tracking_disable": True})
        company = env.company
        journal = env["account.journal"].search(
            [("type", "=", "sale"), ("company_id", "=", company.id)], limit=1)
        revenue = env["account.account"].search(
            [("code", "=", "8000"), ("company_ids", "in", company.ids)], limit=1
        ) or env["account.account"].create(
            {"name": "Omzet diensten", "code": "8000", "account_type": "income"})
        tax = env["account.tax"].create({"name": "BTW 21% bench", "amount": 21.0,
                                         "type_tax_use": "sale", "amount_type": "percent"})
        product = env["product.product"].create({
            "name": "Consultancy", "type": "service", "list_price": 95.0,
            "property_account_income_id": revenue.id, "taxes_id": [(6, 0, tax.ids)]})
        nl = env.ref("base.nl")
        partners = env["res.partner"].create(
            [{"name": "Klant BV", "is_company": True, "vat": "NL000099998B57",
              "country_id": nl.id}]
            + [{"name": f"Bench klant {i}", "is_company": True, "vat": vat, "country_id": nl.id,
                "street": f"Dam {i}", "zip": "1012 JS", "city": "Amsterdam"}
               for i, vat in enumerate(valid_nl_vats(args.partners - 1), 1)])
        tokens = TokenState.from_token_response(server.issue_tokens(), server.clock.now())
        connection = env["accounting.connection"].create({
            "company_id": company.id, "base_url": server.base_url,
            "client_id": server.client_id, "client_secret": server.client_secret,
            "sync_start_date": "2025-01-01", "sync_journal_ids": [(6, 0, journal.ids)],
            "state": "connected",
            "exact_access_token": tokens.access_token,
            "exact_refresh_token": tokens.refresh_token,
            "exact_token_expires_at": tokens.expires_at,
            "exact_token_issued_at": tokens.issued_at,
        })
        cr.commit()
        reset_counters(server)
        connection.action_load_divisions()
        cr.commit()  # the stores wrote the connection row in cursors of their own
        connection.division_choice_id = connection.reference_ids.filtered(
            lambda ref: ref.kind == "division" and ref.code == str(DEFAULT_DIVISION))
        cr.commit()
        connection.action_refresh_reference_data()
        cr.commit()
        setup_calls = classify(server)

        # -- invoices ----------------------------------------------------------------
        vals_list = [{
            "move_type": "out_invoice",
            "partner_id": partners[i % len(partners)].id,
            "invoice_date": f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}",
            "journal_id": journal.id,
            "invoice_line_ids": [(0, 0, {"product_id": product.id, "quantity": 1 + i % 8,
                                         "price_unit": 95.0})],
        } for i in range(args.invoices)]
        wall, cpu = time.perf_counter(), time.thread_time()
        moves = env["account.move"].create(vals_list)
        create_wall = time.perf_counter() - wall
        for start in range(0, len(moves), args.post_batch):
            moves[start:start + args.post_batch].action_post()
        env.flush_all()
        post_wall, post_cpu = time.perf_counter() - wall, time.thread_time() - cpu
        cr.commit()
        outbox = env["accounting.outbox"].search([("connection_id", "=", connection.id)])
        assert len(outbox) == args.invoices, len(outbox)

        # -- drain -------------------------------------------------------------------
        reset_counters(server)
        runs, stops = 0, []
        start_virtual = server.clock.now()
        wall, cpu = time.perf_counter(), time.thread_time()
        while True:
            report = env["accounting.outbox"]._process(connection)
            cr.commit()
            runs += 1
            if report.stopped:
                stops.append(report.stopped)
                if not report.resume_at or runs > 10:
                    break
                server.clock.advance(report.resume_at - server.clock.now() + 1)
                continue
            break
        drain_wall, drain_cpu = time.perf_counter() - wall, time.thread_time() - cpu
        virtual = server.clock.now() - start_virtual
        drain_calls = classify(server)
        env.invalidate_all()
        states = collections.Counter(outbox.mapped("state"))
        entries = server.entries_by_ref()
        exactly_once = (
            states == {"sent": args.invoices}
            and {entries[name] for name in moves.mapped("name")} == {1}
            and len(entries) == args.invoices
        )

    n = args.invoices
    print(f"{n} customer invoices, {len(partners)} partners "
          f"({len(partners) - 1} new in Exact), limits 60/min and 5,000/day (virtual clock)")
    print(f"  Odoo create {n} invoices (one call):     wall {create_wall:7.1f} s")
    print(f"  Odoo create + action_post (+ outbox):    wall {post_wall:7.1f} s  "
          f"cpu {post_cpu:7.1f} s  = {post_wall / n * 1000:.1f} ms wall, "
          f"{post_cpu / n * 1000:.1f} ms cpu per invoice")
    print("  setup calls (divisions, reference data, once): "
          + ", ".join(f"{k} {v}" for k, v in sorted(setup_calls.items()) if v))
    print(f"  drain: {runs} run(s), stops: {stops or 'none'}")
    for kind in ("writes", "  writes salesentry/SalesEntries", "  writes crm/Accounts",
                 "look-ups", "  look-ups crm/Accounts", "  look-ups salesentry/SalesEntries",
                 "reference data", "token", "refused (HTTP >= 400)"):
        print(f"    {kind:36s} {drain_calls.get(kind, 0)}")
    api_calls = sum(server.calls.values())
    total = api_calls + drain_calls["token"]
    print(f"    {'API calls (excl. token)':36s} {api_calls}")
    print(f"    calls per invoice (incl. token)      {total / n:.4f}")
    print(f"    sales-entry writes per invoice       "
          f"{drain_calls['  writes salesentry/SalesEntries'] / n:.4f}")
    print(f"  virtual time to drain:                   {virtual / 60:.1f} min "
          f"({api_calls} calls in windows of 60 calls a minute)")
    print(f"  Odoo side of the drain (incl. local HTTP): wall {drain_wall:7.1f} s  "
          f"cpu (main thread) {drain_cpu:7.1f} s  = {drain_wall / n * 1000:.1f} ms wall, "
          f"{drain_cpu / n * 1000:.1f} ms cpu per invoice")
    print(f"  outbox states: {dict(states)}; exactly once in Exact: {exactly_once}")
    Registry.delete(DB)
    if not args.keep_db:
        odoo.sql_db.close_all()
        run_tests.psql("-c", f'DROP DATABASE IF EXISTS "{DB}"')
    return 0 if exactly_once else 1


if __name__ == "__main__":
    sys.exit(main())
