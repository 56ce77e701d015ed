"""Benchmark: 10,000 timesheet lines created in one ``create`` call, with and without the addon.

Two databases are copied from the test template (account + hr_timesheet): one stays as it is,
the other gets hours_invoicing_exact. In each, one ``create`` of N lines on a customer
project — in the addon's database a time & material project with customer and project
agreements — is timed (wall and CPU) and its SQL queries counted. Runs alternate between the
two databases; medians are printed. The target: our rules add at most 25% time, and a number
of queries that does not grow with N (compare N and N/2).

Usage: python benchmarks/bench_timesheet_create.py [--lines 10000] [--runs 3]
Needs Odoo 18 ($ODOO_SRC) and PostgreSQL, like the test suite.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import run_tests  # noqa: E402

sys.path.insert(0, str(run_tests.ODOO_SRC))
import odoo  # noqa: E402
from odoo.modules.registry import Registry  # noqa: E402


def prepare_databases():
    plain, ours = "hie_bench_plain", "hie_bench_addon"
    run_tests.database_from_template(plain, "base")  # the template as it is: hr_timesheet only
    run_tests.database_from_template(ours)
    return plain, ours


def setup(env, with_addon):
    customer = env["res.partner"].create({"name": "Bench customer", "is_company": True})
    activity = env["product.product"].create(
        {"name": "Bench activity", "type": "service", "list_price": 80.0}
    )
    employees = env["hr.employee"].create(
        [{"name": f"Bench employee {i}", "hourly_cost": 40 + i} for i in range(10)]
    )
    vals = {"name": "Bench project", "partner_id": customer.id}
    if with_addon:
        vals.update(invoicing_type="time_material", project_status="order")
    project = env["project.project"].create(vals)
    if with_addon:
        agreements = env["project.rate.agreement"]
        agreements.create({"partner_id": customer.id, "kind": "hours", "hourly_rate": 90.0})
        agreements.create({"partner_id": customer.id, "kind": "hours",
                           "product_id": activity.id, "hourly_rate": 95.0})
        agreements.create({"project_id": project.id, "kind": "hours",
                           "employee_id": employees[0].id, "hourly_rate": 120.0,
                           "discount": 5.0})
    env.flush_all()
    return project, employees, activity


def measure(dbname, with_addon, lines):
    registry = Registry(dbname)
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        project, employees, activity = setup(env, with_addon)
        vals_list = [{
            "name": f"work {i}",
            "project_id": project.id,
            "employee_id": employees[i % len(employees)].id,
            "product_id": activity.id if i % 2 else False,
            "unit_amount": 1 + (i % 8) / 4,
            "date": f"2026-10-{1 + i % 28:02d}",
        } for i in range(lines)]
        env.invalidate_all()
        queries_before = cr.sql_log_count
        wall, cpu = time.perf_counter(), time.process_time()
        created = env["account.analytic.line"].create(vals_list)
        env.flush_all()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        queries = cr.sql_log_count - queries_before
        if with_addon:
            assert set(created.mapped("billing_status")) == {"to_invoice"}
            assert all(created.mapped("revenue_amount"))
        cr.rollback()
    return wall, cpu, queries


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    odoo.tools.config.parse_config([
        "--addons-path", run_tests.addons_path(),
        "--db_host", "/var/run/postgresql", "--log-level", "warn",
    ])
    plain, ours = prepare_databases()
    results = {plain: [], ours: []}
    for _run in range(args.runs):
        for db in (plain, ours):  # alternate, so that machine noise hits both
            results[db].append(measure(db, db == ours, args.lines))
    half = {db: measure(db, db == ours, args.lines // 2)[2] for db in (plain, ours)}
    print(f"{args.lines} timesheet lines in one create(), median of {args.runs} runs:")
    med = {}
    for db, label in ((plain, "hr_timesheet only"), (ours, "with hours_invoicing_exact")):
        wall = statistics.median(r[0] for r in results[db])
        cpu = statistics.median(r[1] for r in results[db])
        queries = statistics.median(r[2] for r in results[db])
        med[db] = (wall, queries)
        print(f"  {label:28s} wall {wall:6.2f} s  cpu {cpu:6.2f} s  queries {queries:7.0f}"
              f"  (queries for {args.lines // 2} lines: {half[db]})")
    overhead = (med[ours][0] / med[plain][0] - 1) * 100
    extra_n = med[ours][1] - med[plain][1]
    extra_half = half[ours] - half[plain]
    print(f"  time added by the addon: {overhead:+.1f}% (target <= +25%)")
    print(f"  queries added by the addon: {extra_n:.0f} for {args.lines} lines, "
          f"{extra_half} for {args.lines // 2} lines (must not grow with the lines)")


if __name__ == "__main__":
    main()
