"""Benchmark, Odoo side: the daily payment-status read and the reminder run over N open
invoices synced to the local fake Exact Online server.

A database is copied from the test template and gets hours_invoicing_exact (with
account_credit_control); a registry is loaded in this process. N posted customer invoices
(due 40 days ago, spread over P customers) get an outbox record in state ``sent`` and a sales
entry in the server (as after a drain: the drain itself is measured by
``bench_exact_outbox_odoo.py``); 5 % are paid in full in Exact, 5 % in part.

1. ``accounting.connection._read_payment_status()``: one paged read of
   ``read/financial/ReceivablesList`` (60 rows a page), then the statuses in one SELECT and
   one UPDATE per 1,000 invoices;
2. ``credit.control.run.generate_credit_lines()`` (account_credit_control with our open-test
   filter): the draft reminder lines (the preview);
3. the preview (``_hie_preview_rows``).

Prints per step: wall seconds, SQL queries (``cr.sql_log_count``), queries per invoice, and
the Exact calls of the read. Run twice with different N to see what grows per invoice.

Usage: python benchmarks/bench_dunning_odoo.py [--invoices 2000] [--partners 200]
Needs Odoo 18 ($ODOO_SRC) and PostgreSQL, like the test suite.
"""

import argparse
import datetime
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

DB = "hie_bench_dunning"


def measure(cr, label, function, invoices, rows):
    start_queries, start = cr.sql_log_count, time.perf_counter()
    result = function()
    cr.commit()
    wall, queries = time.perf_counter() - start, cr.sql_log_count - start_queries
    rows.append(f"  {label:44s} wall {wall:7.2f} s  queries {queries:6d}  "
                f"= {queries / invoices:.3f} per invoice")
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=2000)
    parser.add_argument("--partners", type=int, default=200)
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    odoo.tools.config.parse_config([
        "--addons-path", run_tests.addons_path(),
        "--db_host", "/var/run/postgresql", "--log-level", "warn",
    ])
    from odoo.addons.hours_invoicing_exact.services.exact.clock import VirtualClock
    from odoo.addons.hours_invoicing_exact.services.exact.oauth import TokenState

    from hie_testing.exact_server import CUSTOMER_ID, DEFAULT_DIVISION, ExactServer, exact_date

    run_tests.database_from_template(DB)
    registry = Registry(DB)
    Connection = registry["accounting.connection"]
    n = args.invoices
    rows = []
    with ExactServer(clock=VirtualClock(start=time.time())) as server, \
            patch.object(Connection, "_get_clock", lambda self: server.clock), \
            registry.cursor() as cr:
        cr.sql_log_count = 0
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {"tracking_disable": True})
        company = env.company
        journal = env["account.journal"].search(
            [("type", "=", "sale"), ("company_id", "=", company.id)], limit=1)
        income = env["account.account"].search(
            [("account_type", "=", "income"), ("company_ids", "in", company.ids)], limit=1)
        partners = env["res.partner"].create([
            {"name": f"Bench klant {i}", "is_company": True,
             "email": f"klant{i}@example.com"} for i in range(args.partners)])
        due = datetime.date.today() - datetime.timedelta(days=40)
        moves = env["account.move"].create([{
            "move_type": "out_invoice", "partner_id": partners[i % len(partners)].id,
            "invoice_date": due, "invoice_date_due": due, "journal_id": journal.id,
            "invoice_line_ids": [(0, 0, {"name": "Onderhoud", "quantity": 1,
                                         "price_unit": 100.0 + i % 50,
                                         "account_id": income.id, "tax_ids": []})],
        } for i in range(n)])
        for start in range(0, n, 500):
            moves[start:start + 500].action_post()
        tokens = TokenState.from_token_response(server.issue_tokens(), server.clock.now())
        connection = env["accounting.connection"].create({
            "company_id": company.id, "base_url": server.base_url,
            "client_id": server.client_id, "client_secret": server.client_secret,
            "division": DEFAULT_DIVISION, "state": "connected",
            "exact_access_token": tokens.access_token,
            "exact_refresh_token": tokens.refresh_token,
            "exact_token_expires_at": tokens.expires_at,
            "exact_token_issued_at": tokens.issued_at,
        })
        env["accounting.outbox"].search([("res_id", "in", moves.ids)]).unlink()
        env["accounting.outbox"].create([{
            "connection_id": connection.id, "res_model": "account.move", "res_id": move.id,
            "reference": move.name, "kind": "sales_entry", "state": "sent",
            "remote_id": f"e{move.id}", "remote_number": str(70000 + index),
        } for index, move in enumerate(moves)])
        for index, move in enumerate(moves):
            paid = 0.0
            if index % 20 == 0:
                paid = move.amount_total
            elif index % 20 == 1:
                paid = 25.0
            server.sales_entries.append({
                "Division": DEFAULT_DIVISION, "EntryID": f"e{move.id}",
                "EntryNumber": 70000 + index, "Journal": "70", "Customer": CUSTOMER_ID.lower(),
                "Type": 20, "EntryDate": exact_date(due), "YourRef": move.name,
                "Description": move.name, "Currency": "EUR", "AmountFC": move.amount_total,
                "VATAmountFC": 0.0, "Status": 20, "_paid": paid})
        policy = env["credit.control.policy"]._hie_create_standard_policy(company)
        cr.commit()

        server.calls.clear()
        start_virtual = server.clock.now()
        ok = measure(cr, "payment status read (cron)",
                     connection._read_payment_status, n, rows)
        exact_calls = sum(server.calls.values())
        virtual = server.clock.now() - start_virtual
        statuses = {
            group["hie_payment_status"]: group["__count"]
            for group in env["account.move"].read_group(
                [("id", "in", moves.ids)], ["hie_payment_status"], ["hie_payment_status"],
                lazy=False)}
        run = env["credit.control.run"].create({
            "date": datetime.date.today(), "company_id": company.id,
            "policy_ids": [(6, 0, policy.ids)]})
        cr.commit()
        measure(cr, "reminder run (draft lines = preview)", run.generate_credit_lines, n, rows)
        lines = run.line_ids.filtered(lambda line: line.invoice_id in moves)
        preview = measure(cr, "preview rows", run._hie_preview_rows, n, rows)

    print(f"{n} open customer invoices synced to Exact, {args.partners} customers, "
          f"5 % paid in full and 5 % in part in Exact")
    print(f"  read ok: {ok}; Exact calls {exact_calls} "
          f"({exact_calls / n:.4f} per invoice, pages of 60); virtual {virtual:.0f} s")
    print(f"  statuses: {statuses}")
    print("\n".join(rows))
    print(f"  reminder lines: {len(lines)} (paid in Exact excluded: "
          f"{n - len(lines)}); preview rows (one per customer): {len(preview)}")
    Registry.delete(DB)
    if not args.keep_db:
        odoo.sql_db.close_all()
        run_tests.psql("-c", f'DROP DATABASE IF EXISTS "{DB}"')
    return 0


if __name__ == "__main__":
    sys.exit(main())
