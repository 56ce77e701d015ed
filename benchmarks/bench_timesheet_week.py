"""Benchmark: the week grid and the approval of many weeks.

1. Saving a week in the grid: one ``write`` of the week with R new rows of 5 days each
   (R = 10: 50 booking lines, and R = 20 to show that the queries do not grow per line),
   then a second save that changes every cell.
2. Approving W weeks at once (``action_approve`` of W submitted weeks as their reviewer,
   5 lines each), against a plain ``write`` of the approval state of the same lines. The
   target: the approval takes at most 2x the plain write, and its queries do not grow with
   the lines (compare W and W/2).

A database is copied from the test template with the addon installed (or reused with
--db); every measurement is rolled back.

Usage: python benchmarks/bench_timesheet_week.py [--weeks 1000] [--runs 3] [--db NAME]
Needs Odoo 18 ($ODOO_SRC) and PostgreSQL, like the test suite.
"""

import argparse
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import run_tests  # noqa: E402

sys.path.insert(0, str(run_tests.ODOO_SRC))
import odoo  # noqa: E402
from odoo import Command  # noqa: E402
from odoo.modules.registry import Registry  # noqa: E402

MONDAY = date(2026, 10, 5)


def setup(env, employees=1):
    env.company.write({"hie_invoice_approved_only": True,
                       "hie_timesheet_reviewer": "employee_manager"})
    customer = env["res.partner"].create({"name": "Bench customer", "is_company": True})
    activity = env["product.product"].create(
        {"name": "Bench activity", "type": "service", "list_price": 80.0})
    boss_user = env["res.users"].create({
        "name": "Bench boss", "login": "bench_boss",
        "groups_id": [Command.set([env.ref("base.group_user").id,
                                   env.ref("hr_timesheet.group_hr_timesheet_user").id])],
    })
    boss = env["hr.employee"].create({"name": "Bench boss", "user_id": boss_user.id})
    staff = env["hr.employee"].create([
        {"name": f"Bench employee {i}", "hourly_cost": 40.0, "parent_id": boss.id}
        for i in range(employees)
    ])
    projects = env["project.project"].create([{
        "name": f"Bench project {i}", "partner_id": customer.id,
        "invoicing_type": "time_material", "project_status": "order",
        "default_service_product_id": activity.id,
    } for i in range(20)])
    env.flush_all()
    return boss_user, staff, projects


def timed(cr, func):
    cr.flush()
    queries = cr.sql_log_count
    wall, cpu = time.perf_counter(), time.process_time()
    func()
    cr.flush()
    return (time.perf_counter() - wall, time.process_time() - cpu,
            cr.sql_log_count - queries)


def measure_grid(dbname, rows):
    registry = Registry(dbname)
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        _boss, staff, projects = setup(env)
        week = env["hie.timesheet.week"].create(
            {"employee_id": staff.id, "date_start": MONDAY})
        env.invalidate_all()
        first = timed(cr, lambda: week.write({"row_ids": [Command.create(dict(
            {"project_id": projects[i].id},
            **{f"day_{day}": 8.0 - (i % 4) for day in range(1, 6)},
        )) for i in range(rows)]}))
        env.invalidate_all()
        lines = env["account.analytic.line"].search([("employee_id", "=", staff.id)])
        assert len(lines) == rows * 5, len(lines)
        second = timed(cr, lambda: week.write({"row_ids": [Command.update(row.id, {
            f"day_{day}": 4.5 for day in range(1, 6)}) for row in week.row_ids]}))
        env.invalidate_all()
        assert set(lines.mapped("unit_amount")) == {4.5}
        cr.rollback()
    return first, second


def measure_approval(dbname, weeks, lines_per_week=5):
    registry = Registry(dbname)
    results = {}
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        boss_user, staff, projects = setup(env, employees=weeks)
        Week = env["hie.timesheet.week"].with_context(tracking_disable=True)
        week_records = Week.create([{"employee_id": employee.id, "date_start": MONDAY}
                                    for employee in staff])
        lines = env["account.analytic.line"].create([{
            "name": "work", "project_id": projects[i % len(projects)].id,
            "employee_id": employee.id, "date": MONDAY + timedelta(days=day),
            "unit_amount": 8.0,
        } for i, employee in enumerate(staff) for day in range(lines_per_week)])
        # submitted (set directly: submitting is not measured)
        lines.with_context(hie_approval_write=True).write({"hie_approval_state": "submitted"})
        week_records.write({"state": "submitted"})
        env.flush_all()
        for label, func in (
            ("plain write", lambda: lines.with_context(hie_approval_write=True).write(
                {"hie_approval_state": "approved"})),
            ("approve", lambda: week_records.with_user(boss_user).action_approve()),
        ):
            cr.execute("SAVEPOINT bench")
            env.invalidate_all()
            results[label] = timed(cr, func)
            if label == "approve":
                assert set(week_records.mapped("state")) == {"approved"}
            cr.execute("ROLLBACK TO SAVEPOINT bench")
            env.invalidate_all()
        cr.rollback()
    return results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--weeks", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--db", help="an existing database with the addon (else a copy of "
                        "the test template is made)")
    args = parser.parse_args()
    odoo.tools.config.parse_config([
        "--addons-path", run_tests.addons_path(),
        "--db_host", "/var/run/postgresql", "--log-level", "warn",
    ])
    db = args.db
    if not db:
        db = "hie_bench_timesheet_week"
        run_tests.database_from_template(db)

    print("Week grid, one save of R rows x 5 days (new lines), then a save changing all:")
    for rows in (10, 20):
        runs = [measure_grid(db, rows) for _run in range(args.runs)]
        for index, label in ((0, "new"), (1, "changed")):
            wall = statistics.median(run[index][0] for run in runs)
            queries = statistics.median(run[index][2] for run in runs)
            print(f"  {rows:3d} rows ({rows * 5:3d} lines) {label:8s} wall {wall:6.3f} s"
                  f"  queries {queries:5.0f}")

    print(f"Approving {args.weeks} submitted weeks (5 lines each) at once, median of "
          f"{args.runs} runs:")
    runs = [measure_approval(db, args.weeks) for _run in range(args.runs)]
    med = {}
    for label in ("plain write", "approve"):
        wall = statistics.median(run[label][0] for run in runs)
        cpu = statistics.median(run[label][1] for run in runs)
        queries = statistics.median(run[label][2] for run in runs)
        med[label] = wall
        print(f"  {label:12s} wall {wall:6.3f} s  cpu {cpu:6.3f} s  queries {queries:5.0f}")
    half = measure_approval(db, args.weeks // 2)
    print(f"  queries for {args.weeks // 2} weeks: plain write {half['plain write'][2]}, "
          f"approve {half['approve'][2]}")
    print(f"  approve / plain write: {med['approve'] / med['plain write']:.2f}x (target <= 2x)")


if __name__ == "__main__":
    main()
