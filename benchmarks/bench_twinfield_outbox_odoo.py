"""Benchmark, Odoo side: 3,000 customer invoices of one month to the local Twinfield server,
per document (one sales transaction each, several per call) and the same month as one
memorial (``MEMO``) entry, uncertified (25 credits a minute) and certified (500).

A database is copied from the test template and gets hours_invoicing_exact; a registry is
loaded in this process. The server enforces the fair-use credits (reads 1, writes 3, per
client id and organisation and minute, accounting-apis.md B4/B6) on a *virtual* clock that
the connection's clients share (``_get_clock`` is pointed at it), so waiting for the next
minute costs no wall time.

1. setup: connection, offices, reference data read once and auto-matched; a few partners
   (one known in Twinfield by its VAT number, the others created there by the first run);
2. N invoices in one ``create`` call, ``action_post`` in batches: each gets an outbox record;
3. per document, for each of uncertified / certified: ``accounting.outbox._process`` until
   nothing is due (the records and Twinfield's ledger and customers reset in between);
4. per month, for each of uncertified / certified: the outbox records cancelled (as if the
   company had been in month mode), ``accounting.period.entry._run_company`` builds the
   month from the posted items and sends it.

Prints per scenario the calls by ProcessXml root, credits (per invoice), 429s, virtual time
to drain, the wall and CPU time of the Odoo side per invoice (CPU of the main thread only:
the server runs in threads of its own; the machine is shared, so wall time varies more than
CPU time) and whether Twinfield holds each invoice exactly once, equal to the cent.

Measured 2026-12-02 (3,000 invoices, 5 partners, 2 CPUs shared with other jobs, load ~6):
per document 150 ``<transactions>`` writes of 20 + 2 reads + 4 customer creations = 464
credits (0.155 per invoice, 0.15 for the transactions), uncertified 19.0 virtual minutes,
certified within the first minute; Odoo side 3.9-4.6 ms CPU (22-24 ms wall) per invoice.
The month as one MEMO transaction (7 lines): 1 write + 2 reads + 4 creations = 17 credits,
0.1 s CPU (0.5-0.7 s wall) for the whole month. Each: exactly once, equal to the cent.

Usage: python benchmarks/bench_twinfield_outbox_odoo.py [--invoices 3000] [--partners 5]
Needs Odoo 18 ($ODOO_SRC) and PostgreSQL, like the test suite.
"""

import argparse
import collections
import copy
import sys
import time
from decimal import Decimal
from pathlib import Path
from unittest.mock import patch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.append(str(ROOT))  # hie_testing: the local Twinfield server
import run_tests  # noqa: E402

sys.path.insert(0, str(run_tests.ODOO_SRC))
import odoo  # noqa: E402
from odoo.modules.registry import Registry  # noqa: E402

DB = "hie_bench_twinfield"
CENT = Decimal("0.01")


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


class Counting:
    """Counts the ProcessXml requests the server processed, by root element."""

    def __init__(self, server):
        self.roots = collections.Counter()
        original = server._process  # pylint: disable=protected-access

        def process(request, office):
            self.roots[request.tag] += 1
            return original(request, office)

        server._process = process  # pylint: disable=protected-access


def reset_server(server, seed):
    with server._lock:  # pylint: disable=protected-access
        server.transactions.clear()
        server.calls.clear()
        server.statuses.clear()
        server._window.clear()  # pylint: disable=protected-access
        server.credits_used = 0
        server.dimensions = copy.deepcopy(seed)


def drain(env, connection, server):
    """``_process`` until nothing is due; return (runs, stops)."""
    runs, stops = 0, []
    while True:
        report = env["accounting.outbox"]._process(connection)  # pylint: disable=protected-access
        env.cr.commit()
        runs += 1
        if report.stopped:
            stops.append(report.stopped)
            if not report.resume_at or runs > 50:
                break
            server.clock.advance(max(0.0, report.resume_at - server.clock.now()) + 1)
            continue
        return runs, stops
    return runs, stops


def figures(name, n, counting, server, runs, stops, virtual, wall, cpu, once):
    roots = dict(counting.roots)
    credits = server.credits_used
    transaction_calls = roots.get("transactions", 0) + roots.get("transaction", 0)
    reads = sum(v for k, v in roots.items() if k in ("list", "read", "columns"))
    print(f"  {name}")
    print(f"    calls by root: {roots}  (reads {reads}, transaction writes "
          f"{transaction_calls}, customer writes {roots.get('dimension', 0)}); token "
          f"{server.calls['token']}; HTTP 429 {server.statuses[429]}")
    print(f"    credits {credits} = {credits / n:.4f} per invoice; "
          f"{transaction_calls * 3 / n:.4f} of them for the transactions")
    print(f"    {runs} run(s), stops: {stops or 'none'}; virtual time to drain "
          f"{virtual / 60:.1f} min")
    print(f"    Odoo side (incl. local HTTP): wall {wall:6.1f} s, cpu (main thread) "
          f"{cpu:6.1f} s = {wall / n * 1000:.2f} ms wall, {cpu / n * 1000:.2f} ms cpu "
          f"per invoice")
    print(f"    exactly once, equal to the cent: {once}")


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

    from hie_testing.twinfield_server import (
        DEBTORS,
        OFFICE,
        ORGANISATION,
        TwinfieldServer,
    )

    run_tests.database_from_template(DB)
    registry = Registry(DB)
    Connection = registry["accounting.connection"]
    n = args.invoices
    ok = True
    with TwinfieldServer(clock=VirtualClock(start=time.time()), credits_per_minute=25) \
            as server, \
            patch.object(Connection, "_get_clock", lambda self: server.clock), \
            registry.cursor() as cr:
        counting = Counting(server)
        seed = copy.deepcopy(server.dimensions)
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {"tracking_disable": True})
        company = env.company
        journal = env["account.journal"].create({
            "name": "HIE bench Twinfield", "code": "HIEBT", "type": "sale",
            "company_id": company.id})
        revenue = env["account.account"].search(
            [("code", "=", "8000"), ("company_ids", "in", company.ids)], limit=1
        ) or env["account.account"].create(
            {"name": "Omzet diensten", "code": "8000", "account_type": "income"})
        tax = env["account.chart.template"].with_company(company).ref("btw_21")
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
            "company_id": company.id, "target": "twinfield",
            "twf_login_host": server.base_url, "client_id": server.client_id,
            "client_secret": server.client_secret, "twf_certified": False,
            "twf_access_token": tokens.access_token,
            "twf_refresh_token": tokens.refresh_token,
            "twf_token_expires_at": tokens.expires_at,
            "twf_token_issued_at": tokens.issued_at,
            "twf_cluster_url": server.cluster_url, "twf_organisation": ORGANISATION,
            "state": "connected", "sync_start_date": "2025-01-01",
            "sync_journal_ids": [(6, 0, journal.ids)],
        })
        company.write({
            "hie_period_sync_mode": "document",
            "hie_period_sync_journal_ids": [(6, 0, journal.ids)],
            "hie_period_grace_days": 0, "hie_period_vat_mode": "vat_journal",
        })
        cr.commit()
        connection.action_twinfield_load_offices()
        cr.commit()
        connection.twf_office_choice_id = connection.reference_ids.filtered(
            lambda ref: ref.kind == "office" and ref.code == OFFICE)
        cr.commit()
        connection.action_refresh_reference_data()
        refs = connection.reference_ids
        receivable = partners[0].with_company(company).property_account_receivable_id
        vat_account = tax.invoice_repartition_line_ids.account_id
        for account, code in ((receivable, DEBTORS), (vat_account, "1500")):
            reference = refs.filtered(lambda r, c=code: r.kind == "gl_account" and r.code == c)
            mapping = connection._get_mapping("account", account)  # pylint: disable=W0212
            if mapping:
                mapping.reference_id = reference
            else:
                env["accounting.mapping"].create({
                    "connection_id": connection.id, "kind": "account",
                    "account_id": account.id, "reference_id": reference.id})
        cr.commit()
        setup = dict(counting.roots)

        # -- invoices: one month ---------------------------------------------------------
        vals_list = [{
            "move_type": "out_invoice",
            "partner_id": partners[i % len(partners)].id,
            "invoice_date": f"2025-01-{1 + i % 28:02d}",
            "journal_id": journal.id,
            "invoice_line_ids": [(0, 0, {"product_id": product.id, "quantity": 1 + i % 8,
                                         "price_unit": 95.0 + (i % 100) / 100.0})],
        } for i in range(n)]
        wall, cpu = time.perf_counter(), time.thread_time()
        moves = env["account.move"].create(vals_list)
        for start in range(0, len(moves), args.post_batch):
            moves[start:start + args.post_batch].action_post()
        env.flush_all()
        post_wall, post_cpu = time.perf_counter() - wall, time.thread_time() - cpu
        cr.commit()
        outbox = env["accounting.outbox"].search([("connection_id", "=", connection.id)])
        assert len(outbox) == n, len(outbox)
        totals = {m.name: Decimal(str(m.amount_total_signed)).quantize(CENT) for m in moves}
        month_total = sum(totals.values(), Decimal(0))
        month_vat = sum((Decimal(str(m.amount_tax_signed)).quantize(CENT) for m in moves),
                        Decimal(0))

        print(f"{n} customer invoices of January 2025, {len(partners)} partners "
              f"({len(partners) - 1} created in Twinfield by each per-document run)")
        print(f"  setup (offices, reference data, once): {setup}")
        print(f"  Odoo create + action_post (+ outbox): wall {post_wall:.1f} s, cpu "
              f"{post_cpu:.1f} s = {post_wall / n * 1000:.1f} ms wall, "
              f"{post_cpu / n * 1000:.1f} ms cpu per invoice")

        def reset(certified):
            reset_server(server, seed)
            counting.roots.clear()
            server.credits_per_minute = 500 if certified else 25
            cr.execute("DELETE FROM accounting_mapping WHERE connection_id = %s "
                       "AND kind = 'partner'", (connection.id,))
            cr.execute("DELETE FROM accounting_credit_budget")
            connection.twf_certified = certified
            cr.commit()
            env.invalidate_all()
            server.clock.advance(60 - server.clock.now() % 60)  # a fresh minute

        # -- per document ----------------------------------------------------------------
        for certified in (False, True):
            reset(certified)
            cr.execute("UPDATE accounting_outbox SET state = 'to_send', attempts = 0, "
                       "remote_id = NULL, remote_number = NULL, last_error = NULL "
                       "WHERE connection_id = %s", (connection.id,))
            cr.commit()
            env.invalidate_all()
            start_virtual = server.clock.now()
            wall, cpu = time.perf_counter(), time.thread_time()
            runs, stops = drain(env, connection, server)
            wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
            virtual = server.clock.now() - start_virtual
            env.invalidate_all()
            states = collections.Counter(outbox.mapped("state"))
            by_invoice = server.transactions_by_invoice()
            stored = {trs["invoicenumber"]: next(
                line["signed"] for line in trs["lines"] if line["type"] == "total")
                for trs in server.transactions if trs["code"] == "VRK"}
            once = (states == {"sent": n} and set(by_invoice.values()) == {1}
                    and stored == totals)
            ok = ok and once
            figures(f"per document, {'certified (500' if certified else 'uncertified (25'}"
                    " credits a minute)", n, counting, server, runs, stops, virtual, wall,
                    cpu, once)

        # -- the same month as one memorial entry ----------------------------------------
        cr.execute("UPDATE accounting_outbox SET state = 'cancelled' WHERE connection_id = %s",
                   (connection.id,))
        company.hie_period_sync_mode = "month"
        cr.commit()
        Entry = env["accounting.period.entry"]
        import datetime as dt  # noqa: PLC0415

        for certified in (False, True):
            reset(certified)
            cr.execute("DELETE FROM accounting_outbox WHERE connection_id = %s "
                       "AND kind = 'general_journal_entry'", (connection.id,))
            cr.execute("DELETE FROM accounting_period_entry_line")
            cr.execute("DELETE FROM accounting_period_entry")
            cr.commit()
            env.invalidate_all()
            start_virtual = server.clock.now()
            wall, cpu = time.perf_counter(), time.thread_time()
            entries = Entry._run_company(company, dt.date(2025, 2, 2))  # noqa: SLF001
            cr.commit()  # the entry goes right after the commit, in its own transaction
            wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
            virtual = server.clock.now() - start_virtual
            env.invalidate_all()
            memos = [trs for trs in server.transactions if trs["code"] == "MEMO"]
            debtors = sum((line["signed"] for trs in memos for line in trs["lines"]
                           if line["dim1"] == DEBTORS), Decimal(0))
            vat = -sum((line["signed"] for trs in memos for line in trs["lines"]
                        if line["type"] == "vat"), Decimal(0))
            once = (len(entries) == 1 and entries.state == "sent" and len(memos) == 1
                    and debtors == month_total and vat == month_vat)
            ok = ok and once
            lines = len(memos[0]["lines"]) if memos else 0
            figures(f"one memorial entry for the month ({lines} lines), "
                    f"{'certified' if certified else 'uncertified'}", n, counting, server,
                    1, [], virtual, wall, cpu, once)

    Registry.delete(DB)
    if not args.keep_db:
        odoo.sql_db.close_all()
        run_tests.psql("-c", f'DROP DATABASE IF EXISTS "{DB}"')
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
