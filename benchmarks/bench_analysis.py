"""Benchmark: the booking analysis, post-calculation and project figures on many lines.

A database is copied from the test template and gets hours_invoicing_exact; 100 projects
(80 time & material, 20 fixed price, 20 principals) and 20 employees are made with the ORM,
then N booking lines (default 1,000,000; a tenth of them other costs, a third of the rest
invoiced) are inserted with one SQL statement - creating them with the ORM is measured in
bench_timesheet_create.py, not here. Then, median of --runs runs, each after a cache reset:

- pivot: ``read_group`` of the analysis by project × billing status, all measures;
- dashboard: ``read_group`` by month × billing status (billed vs unbilled hours);
- employee: ``read_group`` by employee;
- post-calculation: ``search_read`` of every fixed-price project's row;
- panel: ``_get_profitability_items`` of one project;
- buttons: the billed/unbilled smart-button figures of all 100 projects.

Prints wall and CPU seconds and SQL query counts. Usage:
python benchmarks/bench_analysis.py [--lines 1000000] [--runs 3] [--keep-db]
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

DB = "hie_bench_analysis"
MEASURES = ["hours", "billed_hours", "unbilled_hours", "cost_amount", "revenue_amount",
            "billed_revenue", "unbilled_revenue"]


def prepare_database():
    run_tests.database_from_template(DB)


def populate(env, lines):
    customers = env["res.partner"].create(
        [{"name": f"Bench customer {i}", "is_company": True} for i in range(20)]
    )
    employees = env["hr.employee"].create(
        [{"name": f"Bench employee {i}", "hourly_cost": 40 + i} for i in range(20)]
    )
    product = env["product.product"].create(
        {"name": "Bench activity", "type": "service", "list_price": 80.0}
    )
    projects = env["project.project"].create([{
        "name": f"Bench project {i}",
        "partner_id": customers[i % 20].id,
        "invoicing_type": "fixed_price" if i % 5 == 0 else "time_material",
        "project_status": "order",
        "contract_sum": 100000.0 if i % 5 == 0 else 0.0,
        "cost_budget": 80000.0 if i % 5 == 0 else 0.0,
    } for i in range(100)])
    env.flush_all()
    invoice = env["account.move"].create({
        "move_type": "out_invoice", "partner_id": customers[0].id,
        "invoice_line_ids": [(0, 0, {"name": "bench", "quantity": 1, "price_unit": 1})],
    })
    env.flush_all()
    cr = env.cr
    cr.execute(
        """
        WITH p AS (
            SELECT row_number() OVER (ORDER BY id) - 1 AS n, id, account_id, partner_id,
                   invoicing_type, company_id
              FROM project_project WHERE id = ANY(%(projects)s)
        ), e AS (
            SELECT row_number() OVER (ORDER BY id) - 1 AS n, id, hourly_cost
              FROM hr_employee WHERE id = ANY(%(employees)s)
        ), g AS (
            SELECT i, i %% 100 AS pn, i %% 20 AS en, (i %% 10 = 0) AS is_cost,
                   (i %% 3 = 0) AS billed, 1 + (i %% 8) / 4.0 AS qty
              FROM generate_series(1, %(lines)s) AS i
        ), inserted AS (
            INSERT INTO account_analytic_line (
                name, date, amount, unit_amount, company_id, currency_id, account_id,
                project_id, employee_id, product_id, booking_project_id, booking_kind,
                cost_amount, revenue_amount, revenue_unit_rate, is_direct,
                category, create_uid, write_uid, create_date, write_date)
            SELECT 'bench ' || g.i,
                   DATE '2025-01-01' + (g.i %% 540),
                   -(CASE WHEN g.is_cost THEN 25 * g.qty ELSE e.hourly_cost * g.qty END),
                   g.qty, COALESCE(p.company_id, %(company)s), %(currency)s, p.account_id,
                   CASE WHEN g.is_cost THEN NULL ELSE p.id END,
                   CASE WHEN g.is_cost THEN NULL ELSE e.id END,
                   %(product)s, p.id,
                   CASE WHEN g.is_cost THEN 'cost' ELSE 'hours' END,
                   CASE WHEN g.is_cost THEN 25 * g.qty ELSE e.hourly_cost * g.qty END,
                   80 * g.qty, 80, TRUE,
                   'other', 1, 1, now(), now()
              FROM g JOIN p ON p.n = g.pn JOIN e ON e.n = g.en
         RETURNING id, name, booking_project_id
        )
        -- a third of the lines of time & material projects are billed
        INSERT INTO hie_billing_link (booking_line_id, move_id, move_line_id)
        SELECT inserted.id, %(invoice)s, %(invoice_line)s
          FROM inserted JOIN p ON p.id = inserted.booking_project_id
         WHERE p.invoicing_type = 'time_material'
           AND split_part(inserted.name, ' ', 2)::int %% 3 = 0
        """,
        {"projects": projects.ids, "employees": employees.ids, "lines": lines,
         "currency": env.company.currency_id.id, "company": env.company.id,
         "product": product.id,
         "invoice": invoice.id, "invoice_line": invoice.invoice_line_ids.id},
    )
    cr.execute("ANALYZE account_analytic_line")
    cr.execute("ANALYZE hie_billing_link")
    return projects


def timed(env, func):
    env.invalidate_all()
    env.registry.clear_cache()
    before = env.cr.sql_log_count
    wall, cpu = time.perf_counter(), time.process_time()
    func()
    return (time.perf_counter() - wall, time.process_time() - cpu,
            env.cr.sql_log_count - before)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    odoo.tools.config.parse_config([
        "--addons-path", run_tests.addons_path(),
        "--db_host", "/var/run/postgresql", "--log-level", "warn",
    ])
    prepare_database()
    registry = Registry(DB)
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        start = time.perf_counter()
        projects = populate(env, args.lines)
        cr.commit()
        print(f"inserted {args.lines:,} booking lines in {time.perf_counter() - start:.1f} s")
        analysis = env["project.booking.analysis"]
        post_calc = env["project.post.calculation"]
        one = projects[1]
        cases = {
            "pivot project x status": lambda: analysis.read_group(
                [], MEASURES, ["project_id", "billing_status"], lazy=False),
            "dashboard month x status": lambda: analysis.read_group(
                [("booking_kind", "=", "hours"), ("is_direct", "=", True)], ["hours"],
                ["date:month", "billing_status"], lazy=False),
            "pivot by employee": lambda: analysis.read_group(
                [], MEASURES, ["employee_id"], lazy=False),
            "post-calculation (20 rows)": lambda: post_calc.search_read(
                [], ["contract_sum", "invoiced_amount", "actual_cost", "forecast_result",
                     "budget_used_pct"]),
            "profitability panel (1 project)": lambda: one._get_profitability_items(),
            "smart buttons (100 projects)": lambda: projects.mapped("hie_unbilled_revenue"),
        }
        results = {name: [] for name in cases}
        for _run in range(args.runs):
            for name, func in cases.items():
                results[name].append(timed(env, func))
        rows = analysis.read_group(
            [("project_id", "in", projects.ids)], ["hours"], ["project_id"], lazy=False)
        assert len(rows) == 100, len(rows)
        print(f"{args.lines:,} booking lines, 100 projects; median of {args.runs} runs:")
        for name, runs in results.items():
            wall = statistics.median(r[0] for r in runs)
            cpu = statistics.median(r[1] for r in runs)
            queries = statistics.median(r[2] for r in runs)
            print(f"  {name:34s} wall {wall:6.2f} s  cpu {cpu:5.2f} s  queries {queries:4.0f}")
    if not args.keep_db:
        Registry.delete(DB)
        odoo.sql_db.close_db(DB)
        run_tests.psql("-c", f'DROP DATABASE IF EXISTS "{DB}"')


if __name__ == "__main__":
    main()
