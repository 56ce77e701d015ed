"""Benchmark: the monthly memorial entry of a month with 3,000 invoices (~54,000 journal items).

A database is copied from the test template and gets the addon. 30 invoices of 15 lines (three
revenue accounts, VAT 21 % and 9 %, 30 customers) are posted through the ORM, then cloned with
set-based SQL into 3,000 posted invoices in March 2024 and 1,500 in April 2024 (same columns,
new ids, names and dates). Printed:

* time to build the March entry (aggregation query + mapping + ``services/journal.py``) against
  a plain ``read_group`` of the same items by account, measured in the same run (median of runs);
* SQL queries of the build for March (3,000 invoices) and April (1,500): must not differ;
* Exact calls in per-month mode (really sent to the local fake Exact server: journal status +
  one POST) against per-document mode (one SalesEntries POST per invoice, part 1's best case),
  and the virtual time each needs under 60 calls a minute;
* memory peak of the build (tracemalloc).

Usage: python benchmarks/bench_period_entry.py [--copies 100] [--runs 5]
Needs Odoo 18 and PostgreSQL, like the test suite.
"""

import argparse
import datetime as dt
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.append(str(ROOT))  # hie_testing: the local Exact server
import run_tests  # noqa: E402

sys.path.insert(0, str(run_tests.ODOO_SRC))
import odoo  # noqa: E402
from odoo import Command  # noqa: E402
from odoo.modules.registry import Registry  # noqa: E402

DB = "hie_bench_period"


def prepare_database():
    run_tests.database_from_template(DB)


def columns(cr, table):
    cr.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
        "AND column_name <> 'id'", [table])
    return [row[0] for row in cr.fetchall()]


def setup(env, server, copies):
    from odoo.addons.hours_invoicing_exact.services.exact.oauth import TokenState

    from hie_testing.exact_server import (
        CUSTOMER_ID,
        DEFAULT_DIVISION,
        RECEIVABLE_ACCOUNT_ID,
        REVENUE_ACCOUNT_ID,
    )

    company = env.company
    journal = env["account.journal"].create(
        {"name": "Bench sales", "code": "BNCH", "type": "sale", "company_id": company.id})
    accounts = env["account.account"].create([
        {"name": f"Bench revenue {i}", "code": f"80{i}099", "account_type": "income"}
        for i in range(3)
    ])
    taxes = env["account.tax"].create([
        {"name": f"Bench VAT {pct}", "amount": pct, "type_tax_use": "sale"} for pct in (21, 9)
    ])
    partners = env["res.partner"].create([{"name": f"Bench customer {i}"} for i in range(30)])
    receivable = partners[0].property_account_receivable_id
    moves = env["account.move"].create([{
        "move_type": "out_invoice", "partner_id": partner.id, "journal_id": journal.id,
        "invoice_date": "2024-03-01", "date": "2024-03-01",
        "invoice_line_ids": [Command.create({
            "name": f"line {j}", "quantity": 1 + j % 3, "price_unit": 10.07 + 3.33 * j + i,
            "account_id": accounts[j % 3].id, "tax_ids": [Command.set(taxes[j % 2].ids)],
        }) for j in range(15)],
    } for i, partner in enumerate(partners)])
    moves.action_post()
    cr = env.cr
    env.flush_all()
    move_cols = columns(cr, "account_move")
    line_cols = columns(cr, "account_move_line")
    for month, n_copies in ((3, copies), (4, copies // 2)):
        cr.execute("""
            CREATE TEMP TABLE clone ON COMMIT DROP AS
            SELECT m.id AS src, g AS n, nextval('account_move_id_seq') AS new_id
              FROM account_move m, generate_series(1, %s) g WHERE m.id = ANY(%s)
        """, [n_copies, moves.ids])
        sel = ", ".join(
            {"name": "m.name || '/' || %(month)s || '/' || c.n",
             "date": "make_date(2024, %(month)s, 1 + c.n %% 28)",
             "invoice_date": "make_date(2024, %(month)s, 1 + c.n %% 28)"}.get(col, f"m.{col}")
            for col in move_cols)
        cr.execute(f"INSERT INTO account_move (id, {', '.join(move_cols)}) "  # noqa: S608
                   f"SELECT c.new_id, {sel} FROM clone c JOIN account_move m ON m.id = c.src",
                   {"month": month})
        cr.execute("""
            CREATE TEMP TABLE line_clone ON COMMIT DROP AS
            SELECT l.id AS src, c.new_id AS move, c.n, nextval('account_move_line_id_seq') AS new_id
              FROM clone c JOIN account_move_line l ON l.move_id = c.src
        """)
        sel = ", ".join(
            {"move_id": "lc.move", "date": "make_date(2024, %(month)s, 1 + lc.n %% 28)"}.get(
                col, f"l.{col}") for col in line_cols)
        cr.execute(f"INSERT INTO account_move_line (id, {', '.join(line_cols)}) "  # noqa: S608
                   f"SELECT lc.new_id, {sel} FROM line_clone lc "
                   "JOIN account_move_line l ON l.id = lc.src", {"month": month})
        cr.execute("""
            INSERT INTO account_move_line_account_tax_rel (account_move_line_id, account_tax_id)
            SELECT lc.new_id, r.account_tax_id FROM line_clone lc
              JOIN account_move_line_account_tax_rel r ON r.account_move_line_id = lc.src
        """)
        cr.execute("DROP TABLE clone; DROP TABLE line_clone")
    cr.execute("DELETE FROM account_move_line WHERE move_id = ANY(%s)", [moves.ids])
    cr.execute("DELETE FROM account_move WHERE id = ANY(%s)", [moves.ids])
    cr.execute("ANALYZE account_move_line")
    env.invalidate_all()
    company.write({
        "hie_period_sync_mode": "month", "hie_period_sync_journal_ids": [Command.set(journal.ids)],
        "hie_period_exact_journal_code": "90",
    })
    # part 1's connection, connected to the local server; its stores use cursors of their
    # own, which see committed rows only (the benchmark database is thrown away)
    tokens = TokenState.from_token_response(server.issue_tokens(), time.time())
    connection = env["accounting.connection"].create({
        "company_id": company.id, "base_url": server.base_url, "client_id": server.client_id,
        "client_secret": server.client_secret, "sync_start_date": "2024-03-01",
        "division": DEFAULT_DIVISION, "state": "connected",
        "exact_access_token": tokens.access_token, "exact_refresh_token": tokens.refresh_token,
        "exact_token_expires_at": tokens.expires_at, "exact_token_issued_at": tokens.issued_at,
    })
    cr.commit()
    connection.action_refresh_reference_data()
    refs = {(r.kind, r.remote_id if r.kind == "gl_account" else r.code): r
            for r in connection.reference_ids}
    Mapping = env["accounting.mapping"]
    Mapping.search([("connection_id", "=", connection.id),
                    ("kind", "in", ("account", "tax"))]).unlink()
    Mapping.create(
        [{"connection_id": connection.id, "kind": "account", "account_id": a.id,
          "reference_id": refs["gl_account", REVENUE_ACCOUNT_ID].id} for a in accounts]
        + [{"connection_id": connection.id, "kind": "account", "account_id": receivable.id,
            "reference_id": refs["gl_account", RECEIVABLE_ACCOUNT_ID].id}]
        + [{"connection_id": connection.id, "kind": "tax", "tax_id": t.id,
            "reference_id": refs["vat_code", "2" if t.amount == 21 else "1"].id}
           for t in taxes]
        + [{"connection_id": connection.id, "kind": "partner", "partner_id": p.id,
            "remote_id": CUSTOMER_ID} for p in partners]
    )
    cr.commit()
    return company, journal


def build(env, company, period):
    Entry = env["accounting.period.entry"]
    connection = env["accounting.connection"]._get_for_company(company)
    rows = Entry._period_rows(company, "month", period.start, period.end)
    return Entry._build_period(company, connection, period, rows[period.start])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    odoo.tools.config.parse_config([
        "--addons-path", run_tests.addons_path(),
        "--db_host", "/var/run/postgresql", "--log-level", "warn",
    ])
    prepare_database()
    from odoo.addons.hours_invoicing_exact.services import journal as j

    from hie_testing.exact_server import ExactServer

    march = j.Period.containing("month", dt.date(2024, 3, 1))
    april = j.Period.containing("month", dt.date(2024, 4, 1))
    with ExactServer() as server, Registry(DB).cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        company, journal = setup(env, server, args.copies)
        domain = [("company_id", "=", company.id), ("parent_state", "=", "posted"),
                  ("journal_id", "=", journal.id), ("date", ">=", march.start),
                  ("date", "<=", march.end)]
        items = env["account.move.line"].search_count(domain)
        invoices = len(env["account.move.line"].search(domain).move_id)
        times_build, times_rg = [], []
        for _run in range(args.runs):
            env.invalidate_all()
            start = time.perf_counter()
            env["account.move.line"]._read_group(domain, ["account_id"], ["balance:sum"])
            times_rg.append(time.perf_counter() - start)
            env.invalidate_all()
            start = time.perf_counter()
            result = build(env, company, march)
            times_build.append(time.perf_counter() - start)
        assert result.entry and not result.error and not result.missing, result.error
        queries = {}
        for period in (march, april):
            env.invalidate_all()
            before = cr.sql_log_count
            build(env, company, period)
            queries[period.label] = cr.sql_log_count - before
        env.invalidate_all()
        tracemalloc.start()
        build(env, company, march)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        server.calls.clear()
        created = env["accounting.period.entry"]._run_company(company, dt.date(2024, 5, 1))
        cr.commit()  # the entries go right after the run's transaction commits
        env.invalidate_all()
        month_calls = sum(server.calls.values())
        states = created.mapped("state")
    t_build, t_rg = statistics.median(times_build), statistics.median(times_rg)
    per_document_calls = invoices  # part 1: one SalesEntries POST per invoice, nothing else

    def virtual_minutes(calls):
        return (calls - 1) // 60 if calls else 0

    print(f"March 2024: {invoices} invoices, {items} journal items; April: half of that")
    print(f"  build of the monthly entry   {t_build * 1000:8.1f} ms (median of {args.runs}), "
          f"{len(result.entry.lines)} lines, balance {result.entry.balance}")
    print(f"  plain read_group by account  {t_rg * 1000:8.1f} ms  -> ratio "
          f"{t_build / t_rg:.2f} (target <= 2)")
    print(f"  SQL queries of the build: {queries[march.label]} for March, "
          f"{queries[april.label]} for April (must not grow with the items)")
    print(f"  memory peak of the build: {peak / 1e6:.1f} MB")
    print(f"  Exact calls per-month mode: {month_calls} for March+April entries "
          f"({', '.join(states)}), virtual time {virtual_minutes(month_calls)} min at 60/min")
    print(f"  Exact calls per-document mode: {per_document_calls} for March alone (1 POST "
          f"per invoice), virtual time {virtual_minutes(per_document_calls)} min at 60/min")


if __name__ == "__main__":
    main()
