"""Benchmark: the daily recurring-invoice run (OCA contract + ours) over many contracts.

A database is copied from the test template and gets hours_invoicing_exact (and with it OCA
``contract``). Contracts are created and committed once per size: ``total`` monthly contracts
in advance of 20 customers, two lines each (21 % and 9 % BTW); ``due`` of them start on the
day of the run (so one period each is due), the others later in the month (not due).

Each run of ``contract.contract.cron_recurring_create_invoice(day)`` is measured in its own
transaction and rolled back (the per-contract commits of the run are switched off, as in
tests). Printed: invoices made, wall and CPU time, SQL queries, and queries per invoice. The
queries must grow with the contracts due (one invoice each), not with those not due.
$HIE_BENCH_DB_SUFFIX names the database apart (parallel runs from other worktrees).

Usage: python benchmarks/bench_recurring.py [--sizes 2500:200,5000:200,5000:400] [--runs 3]
Needs Odoo 18 ($ODOO_SRC) and PostgreSQL, like the test suite.
"""

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import run_tests  # noqa: E402

sys.path.insert(0, str(run_tests.ODOO_SRC))
import odoo  # noqa: E402
from odoo.modules.registry import Registry  # noqa: E402

CUSTOMERS = 20
_SUFFIX = os.environ.get("HIE_BENCH_DB_SUFFIX", "")
DB = f"hie_bench_recurring{_SUFFIX}"


def prepare_database():
    template = run_tests.ensure_template()
    run_tests.psql("-c", f'DROP DATABASE IF EXISTS "{DB}"')
    subprocess.run(["createdb", "-T", template, DB], check=True)
    subprocess.run(["psql", "-q", "-d", DB, "-c", "UPDATE ir_module_module SET demo = false"],
                   check=True)
    res = run_tests.run(run_tests.odoo_cmd(DB, "-i", run_tests.ADDON, "--without-demo", "all",
                                           "--log-level", "warn"))
    if res.returncode:
        raise SystemExit(f"installing {run_tests.ADDON} failed")


def env_of(cr):
    return odoo.api.Environment(cr, odoo.SUPERUSER_ID, {"tracking_disable": True,
                                                        "mail_notrack": True,
                                                        "mail_create_nolog": True})


def create_contracts(total, due, day, tag):
    """``total`` contracts, ``due`` of them due on ``day``; committed. Returns their ids."""
    with Registry(DB).cursor() as cr:
        env = env_of(cr)
        chart = env["account.chart.template"].with_company(env.company)
        services = env["product.product"].create({
            "name": f"Bench maintenance {tag}", "type": "service",
            "taxes_id": [(6, 0, chart.ref("btw_21_d").ids)]})
        licence = env["product.product"].create({
            "name": f"Bench licence {tag}", "type": "service",
            "taxes_id": [(6, 0, chart.ref("btw_9").ids)]})
        customers = env["res.partner"].create(
            [{"name": f"Bench contract customer {tag}-{i}", "is_company": True}
             for i in range(CUSTOMERS)])
        ids = []
        vals_list = []
        for index in range(total):
            start = day if index < due else day + dt.timedelta(days=1 + index % 27)
            vals_list.append({
                "name": f"Bench contract {tag}-{index}",
                "partner_id": customers[index % CUSTOMERS].id,
                "date_start": start, "recurring_rule_type": "monthly",
                "recurring_invoicing_type": "pre-paid",
                "contract_line_ids": [
                    (0, 0, {"product_id": services.id, "name": "Maintenance", "quantity": 1,
                            "price_unit": 100.0 + index % 50}),
                    (0, 0, {"product_id": licence.id, "name": "Licence", "quantity": 2,
                            "price_unit": 15.0}),
                ],
            })
        for start in range(0, total, 500):
            ids += env["contract.contract"].create(vals_list[start:start + 500]).ids
            env.flush_all()
            env.invalidate_all()
    return ids


def measure(day):
    with Registry(DB).cursor() as cr:
        env = env_of(cr)
        env.invalidate_all()
        moves_before = env["account.move"].search_count([])
        q0, wall0, cpu0 = cr.sql_log_count, time.perf_counter(), time.process_time()
        env["contract.contract"].cron_recurring_create_invoice(day)
        env.flush_all()
        q1, wall1, cpu1 = cr.sql_log_count, time.perf_counter(), time.process_time()
        invoices = env["account.move"].search_count([]) - moves_before
        cr.rollback()
    return wall1 - wall0, cpu1 - cpu0, q1 - q0, invoices


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="2500:200,5000:200,5000:400",
                        help="total:due pairs")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reuse", action="store_true", help="keep the existing database")
    args = parser.parse_args()
    odoo.tools.config.parse_config([
        "--addons-path", run_tests.addons_path(),
        "--db_host", "/var/run/postgresql", "--log-level", "warn",
    ])
    # the run commits per contract outside tests; here every run is rolled back
    threading.current_thread().testing = True
    if not args.reuse:
        prepare_database()
    for n, pair in enumerate(args.sizes.split(",")):
        total, due = (int(x) for x in pair.split(":"))
        # each size a year earlier than the one before: earlier sizes are not due
        day = dt.date(2040 - n, 3, 1)
        t0 = time.perf_counter()
        create_contracts(total, due, day, f"{n}")
        print(f"\n{total} contracts ({due} due) created in {time.perf_counter() - t0:.0f} s",
              flush=True)
        results = [measure(day) for _run in range(args.runs)]
        wall, cpu, queries = (statistics.median(r[k] for r in results) for k in range(3))
        invoices = results[0][3]
        print(f"{total} contracts, {due} due; median of {args.runs} run(s): invoices {invoices}"
              f"\n  wall {wall:7.2f} s  cpu {cpu:7.2f} s  queries {queries:7.0f}"
              f"  queries/invoice {queries / max(invoices, 1):6.1f}"
              f"  ms/invoice {1000 * wall / max(invoices, 1):6.1f}", flush=True)


if __name__ == "__main__":
    main()
