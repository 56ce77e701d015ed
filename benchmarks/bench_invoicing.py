"""Benchmark: invoicing N hours (100 projects, 20 customers, one month), ours versus Odoo's own.

Two databases are copied from the test template: one gets hours_invoicing_exact, the other
Odoo's sale_timesheet. In both, the same hours are booked (committed once per size): 100
projects of 20 customers, 3 employees per project, one service product.

- ours: ``project.project._hie_create_invoices(date_to, grouping="debtor")`` (one invoice
  per invoice debtor, lines as the projects' default detail level says: one per project,
  activity and rate), then post;
- Odoo: 100 sale orders (one per project, a service product invoiced on timesheets), the
  timesheets linked to the order line by the project, ``sale.order._create_invoices()`` (one
  invoice per customer), then post.

Both make the same invoices: 20 invoices of 5 lines (one per project), in the company's
currency (the orders get a pricelist in that currency: the template's default pricelist is
in USD, which made Odoo's invoices foreign-currency ones).

Each run is measured in its own transaction and rolled back. Runs alternate between the two
implementations; medians of wall time, CPU time and SQL queries are printed.
$HIE_BENCH_DB_SUFFIX names the two databases apart (parallel runs from other worktrees).

Usage: python benchmarks/bench_invoicing.py [--sizes 2000,20000,100000] [--runs 3]
       [--single-run-from 100000]
Needs Odoo 18 ($ODOO_SRC) and PostgreSQL, like the test suite.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import run_tests  # noqa: E402

sys.path.insert(0, str(run_tests.ODOO_SRC))
import odoo  # noqa: E402
from odoo.modules.registry import Registry  # noqa: E402

PROJECTS, CUSTOMERS, EMPLOYEES_PER_PROJECT = 100, 20, 3
# $HIE_BENCH_DB_SUFFIX keeps parallel benchmark runs (other worktrees) out of each other's way
_SUFFIX = os.environ.get("HIE_BENCH_DB_SUFFIX", "")
OURS, ODOO = f"hie_bench_inv_ours{_SUFFIX}", f"hie_bench_inv_odoo{_SUFFIX}"


def prepare_databases():
    template = run_tests.ensure_template()
    for db, module in ((OURS, run_tests.ADDON), (ODOO, "sale_timesheet")):
        run_tests.psql("-c", f'DROP DATABASE IF EXISTS "{db}"')
        subprocess.run(["createdb", "-T", template, db], check=True)
        # no demo data for the modules installed here (sale_timesheet pulls in
        # sale_pdf_quote_builder, whose demo data needs PDF files the checkout may lack)
        subprocess.run(["psql", "-q", "-d", db, "-c",
                        "UPDATE ir_module_module SET demo = false"], check=True)
        # without demo data: sale_timesheet pulls in sale_pdf_quote_builder, whose demo
        # data needs PDF files that the source checkout may lack
        res = run_tests.run(run_tests.odoo_cmd(db, "-i", module, "--without-demo", "all",
                                               "--log-level", "warn"))
        if res.returncode:
            raise SystemExit(f"installing {module} failed")


def env_of(cr):
    return odoo.api.Environment(cr, odoo.SUPERUSER_ID, {"tracking_disable": True,
                                                        "mail_notrack": True})


def book(dbname, size, month):
    """Create customers, projects (and for Odoo: orders) and ``size`` hours; commit."""
    ours = dbname == OURS
    with Registry(dbname).cursor() as cr:
        env = env_of(cr)
        uom_hour = env.ref("uom.product_uom_hour")
        product_vals = {"name": f"Bench hours {size}", "type": "service", "list_price": 85.0,
                        "uom_id": uom_hour.id, "uom_po_id": uom_hour.id}
        if not ours:
            product_vals.update(invoice_policy="delivery", service_type="timesheet")
        product = env["product.product"].create(product_vals)
        customers = env["res.partner"].create(
            [{"name": f"Bench customer {size}-{i}", "is_company": True}
             for i in range(CUSTOMERS)])
        employees = env["hr.employee"].create(
            [{"name": f"Bench employee {size}-{i}", "hourly_cost": 40.0 + i} for i in range(10)])
        projects = env["project.project"]
        orders = env["sale.order"] if not ours else None
        pricelist = env["product.pricelist"].create({
            "name": f"Bench {size}", "currency_id": env.company.currency_id.id,
        }) if not ours else None
        for p in range(PROJECTS):
            vals = {"name": f"Bench project {size}-{p}", "partner_id": customers[p % CUSTOMERS].id}
            if ours:
                vals.update(invoicing_type="time_material", project_status="order",
                            default_service_product_id=product.id)
            else:
                vals.update(allow_billable=True, allow_timesheets=True)
            project = env["project.project"].create(vals)
            if not ours:
                order = env["sale.order"].create({
                    "partner_id": customers[p % CUSTOMERS].id,
                    "pricelist_id": pricelist.id,
                    "order_line": [(0, 0, {"product_id": product.id, "product_uom_qty": 1,
                                           "price_unit": 85.0})],
                })
                order.action_confirm()
                project.write({"sale_line_id": order.order_line.id})
                orders |= order
            projects |= project
        vals_list = []
        for i in range(size):
            project = projects[i % PROJECTS]
            vals_list.append({
                "name": f"work {i}", "project_id": project.id,
                "employee_id": employees[(i // PROJECTS) % EMPLOYEES_PER_PROJECT
                                         + (i % PROJECTS) % 7].id,
                "product_id": product.id if ours else False,
                "unit_amount": 1 + (i % 8) / 4,
                "date": f"{month}-{1 + i % 28:02d}",
            })
        Line = env["account.analytic.line"]
        for start in range(0, size, 5000):
            Line.create(vals_list[start:start + 5000])
            env.flush_all()
            env.invalidate_all()
        ids = (projects.ids, orders.ids if orders is not None else [])
    return ids


def measure(dbname, ids, month):
    project_ids, order_ids = ids
    with Registry(dbname).cursor() as cr:
        env = env_of(cr)
        env.invalidate_all()
        q0, wall0, cpu0 = cr.sql_log_count, time.perf_counter(), time.process_time()
        if dbname == OURS:
            moves = env["project.project"].browse(project_ids)._hie_create_invoices(
                f"{month}-28", grouping="debtor", invoice_date=f"{month}-28")
        else:
            moves = env["sale.order"].browse(order_ids)._create_invoices()
            moves.invoice_date = f"{month}-28"
        env.flush_all()
        q1, wall1, cpu1 = cr.sql_log_count, time.perf_counter(), time.process_time()
        moves.action_post()
        env.flush_all()
        q2, wall2, cpu2 = cr.sql_log_count, time.perf_counter(), time.process_time()
        invoices, total = len(moves), sum(moves.mapped("amount_untaxed"))
        lines = len(moves.invoice_line_ids)
        currency = ",".join(sorted(set(moves.mapped("currency_id.name"))))
        cr.rollback()
    return {"create": (wall1 - wall0, cpu1 - cpu0, q1 - q0),
            "post": (wall2 - wall1, cpu2 - cpu1, q2 - q1),
            "invoices": invoices, "lines": lines, "currency": currency, "total": total}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="2000,20000,100000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--single-run-from", type=int, default=100000,
                        help="sizes from this one on are run once per implementation")
    parser.add_argument("--reuse", action="store_true", help="keep existing databases")
    args = parser.parse_args()
    odoo.tools.config.parse_config([
        "--addons-path", run_tests.addons_path(),
        "--db_host", "/var/run/postgresql", "--log-level", "warn",
    ])
    if not args.reuse:
        prepare_databases()
    for n, size in enumerate(int(s) for s in args.sizes.split(",")):
        month = f"2025-{1 + n:02d}"
        t0 = time.perf_counter()
        ids = {db: book(db, size, month) for db in (OURS, ODOO)}
        print(f"\n{size} hours booked in both databases in {time.perf_counter() - t0:.0f} s",
              flush=True)
        runs = 1 if size >= args.single_run_from else args.runs
        results = {OURS: [], ODOO: []}
        for _run in range(runs):
            for db in (OURS, ODOO):  # alternate, so that machine noise hits both
                results[db].append(measure(db, ids[db], month))
        print(f"{size} hours, {PROJECTS} projects, {CUSTOMERS} customers; "
              f"median of {runs} run(s):")
        totals = {}
        for db, label in ((OURS, "ours (hours_invoicing_exact)"), (ODOO, "Odoo sale_timesheet")):
            res = results[db]
            row = {}
            for phase in ("create", "post"):
                row[phase] = tuple(statistics.median(r[phase][k] for r in res) for k in range(3))
            totals[db] = row["create"][0] + row["post"][0]
            print(f"  {label:30s} invoices {res[0]['invoices']:3d} lines {res[0]['lines']:4d}"
                  f"  untaxed {res[0]['total']:14.2f} {res[0]['currency']}"
                  f"\n      create: wall {row['create'][0]:7.2f} s cpu {row['create'][1]:7.2f} s"
                  f" queries {row['create'][2]:7.0f}"
                  f"\n      post:   wall {row['post'][0]:7.2f} s cpu {row['post'][1]:7.2f} s"
                  f" queries {row['post'][2]:7.0f}"
                  f"\n      create + post: {totals[db]:7.2f} s", flush=True)
        cpu = {db: sum(statistics.median(r[phase][1] for r in results[db])
                       for phase in ("create", "post")) for db in (OURS, ODOO)}
        print(f"  speed-up create + post: {totals[ODOO] / totals[OURS]:.2f}x wall, "
              f"{cpu[ODOO] / cpu[OURS]:.2f}x CPU (target >= 5x)", flush=True)


if __name__ == "__main__":
    main()
