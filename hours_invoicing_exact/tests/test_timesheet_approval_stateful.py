# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A seeded random walk over the paths that change an employee's hours (grid, write, import,
copy, delete), submit, approve (per project manager), send back, correct as reviewer and
invoice, with the promises checked after every step.

``HIE_STATEFUL_SEEDS`` and ``HIE_STATEFUL_STEPS`` walk longer in CI.
"""
import os
import random
from datetime import timedelta

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged

from .timesheet_week_common import MONDAY, TimesheetWeekCase

SEEDS = int(os.environ.get("HIE_STATEFUL_SEEDS", "3"))
STEPS = int(os.environ.get("HIE_STATEFUL_STEPS", "45"))
REFUSALS = (UserError, AccessError, ValidationError)


class _Undo(Exception):
    """Rolls a walk back."""


class _Refused(Exception):
    """An import that reported errors (``load`` does not raise)."""


@tagged("post_install", "-at_install")
class TestApprovalWalk(TimesheetWeekCase):
    """After every step: hours that were submitted or approved are unchanged and not deleted
    when the employee acted (and no hours were added to such a week); an approved week holds
    approved hours only; a refused step changed nothing; hours are invoiced only when
    approved."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.weeks = cls.env["hie.timesheet.week"]
        for index in range(3):
            cls.weeks |= cls.week_of(day=MONDAY + timedelta(weeks=index))
        cls.projects = cls.project_tm | cls.project_tm2

    # ------------------------------------------------------------------
    def _lines(self):
        return self.env["account.analytic.line"].sudo().search([
            ("employee_id", "=", self.employee.id)], order="id")

    def _snapshot(self):
        self.env.invalidate_all()
        lines = {line.id: (line.unit_amount, line.date, line.project_id.id, line.name,
                           line.hie_approval_state) for line in self._lines()}
        weeks = {week.id: week.state for week in self.weeks}
        return lines, weeks

    def _week_of_date(self, day):
        return self.weeks.filtered(lambda week: week.date_start <= day <= week.date_end)

    # ------------------------------------------------------------------
    # Steps: each returns the acting user's role, "employee" or "reviewer"/"system"
    # ------------------------------------------------------------------
    def _step_grid(self, rnd):
        week = rnd.choice(self.weeks).with_user(self.user_employee)
        project = rnd.choice(self.projects)
        row = week.row_ids.filtered(lambda r: r.project_id == project)
        day = f"day_{rnd.randint(1, 5)}"
        hours = rnd.choice([0.0, 1.5, 4.0, 8.0])
        if row:
            week.write({"row_ids": [Command.update(row.id, {day: hours})]})
        else:
            week.write({"row_ids": [Command.create({"project_id": project.id, day: hours})]})
        return "employee"

    def _random_line(self, rnd):
        lines = self._lines()
        return rnd.choice(lines) if lines else None

    def _step_write(self, rnd):
        line = self._random_line(rnd)
        if line:
            line.with_user(self.user_employee).write(rnd.choice([
                {"unit_amount": rnd.choice([0.5, 2.0, 9.0])},
                {"date": line.date + timedelta(days=rnd.choice([-7, 1, 7]))},
                {"project_id": rnd.choice(self.projects).id},
                {"name": "changed"},
            ]))
        return "employee"

    def _step_unlink(self, rnd):
        line = self._random_line(rnd)
        if line:
            line.with_user(self.user_employee).unlink()
        return "employee"

    def _step_copy(self, rnd):
        line = self._random_line(rnd)
        if line:
            line.with_user(self.user_employee).copy()
        return "employee"

    def _step_import(self, rnd):
        line = self._random_line(rnd)
        if line:
            [[xmlid]] = line.export_data(["id"])["datas"]
            result = self.env["account.analytic.line"].with_user(self.user_employee).load(
                ["id", "unit_amount"], [[xmlid, str(rnd.choice([1, 3, 5]))]])
            if result["messages"]:
                raise _Refused()
        return "employee"

    def _step_submit(self, rnd):
        rnd.choice(self.weeks).with_user(self.user_employee).action_submit()
        return "employee"

    def _reviewer(self, rnd):
        return rnd.choice([self.user_pm, self.user_pm2, self.user_boss, self.user_employee])

    def _step_approve(self, rnd):
        user = self._reviewer(rnd)
        rnd.choice(self.weeks).with_user(user).action_approve()
        return "employee" if user == self.user_employee else "reviewer"

    def _step_send_back(self, rnd):
        user = self._reviewer(rnd)
        week = rnd.choice(self.weeks)
        self.env["hie.timesheet.send.back"].with_user(user).create({
            "week_ids": [Command.set(week.ids)], "reason": "walk",
        }).action_send_back()
        return "employee" if user == self.user_employee else "reviewer"

    def _step_correct(self, rnd):
        line = self._random_line(rnd)
        if line:
            line.with_user(rnd.choice([self.user_pm, self.user_pm2])).write(
                {"unit_amount": rnd.choice([1.0, 6.0])})
        return "reviewer"

    def _step_invoice(self, rnd):
        before = set(self._lines().filtered("invoice_id").ids)
        self.projects.sudo()._hie_create_invoices(MONDAY + timedelta(weeks=4))
        self.env.invalidate_all()
        billed = self._lines().filtered(lambda line: line.invoice_id and line.id not in before)
        self.assertEqual(set(billed.mapped("hie_approval_state")) - {"approved"}, set(),
                         "unapproved hours were invoiced")
        return "system"

    # ------------------------------------------------------------------
    def _check(self, before, after, role):
        lines_before, weeks_before = before
        lines_after, _weeks_after = after
        if role == "employee":
            for line_id, values in lines_before.items():
                if values[4] in ("submitted", "approved"):
                    self.assertEqual(lines_after.get(line_id), values,
                                     "the employee changed submitted or approved hours")
            locked = [week for week in self.weeks
                      if weeks_before[week.id] in ("submitted", "approved")]
            for line_id, values in lines_after.items():
                if line_id not in lines_before:
                    week = self._week_of_date(values[1])
                    self.assertNotIn(week, locked,
                                     "the employee added hours to a submitted week")
        for week in self.weeks:
            if week.state == "approved":
                states = {values[4] for values in lines_after.values()
                          if week.date_start <= values[1] <= week.date_end}
                self.assertLessEqual(states, {"approved"}, "an approved week holds "
                                     "unapproved hours")

    def test_walk(self):
        steps = [self._step_grid] * 4 + [
            self._step_write, self._step_unlink, self._step_copy, self._step_import,
            self._step_submit, self._step_approve, self._step_approve, self._step_send_back,
            self._step_correct, self._step_invoice,
        ]
        for seed in range(SEEDS):
            with self.subTest(seed=seed):
                try:
                    with self.env.cr.savepoint():
                        self._walk(random.Random(seed), steps)
                        raise _Undo()
                except _Undo:
                    self.env.invalidate_all()

    def _walk(self, rnd, steps):
        done = refused = 0
        for _step in range(STEPS):
            step = rnd.choice(steps)
            before = self._snapshot()
            try:
                with self.env.cr.savepoint():
                    role = step(rnd)
                    self.env.flush_all()
            except (*REFUSALS, _Refused):
                self.env.invalidate_all()
                self.assertEqual(self._snapshot(), before,
                                 f"{step.__name__} refused but changed something")
                refused += 1
                continue
            done += 1
            self._check(before, self._snapshot(), role)
        self.assertGreater(done, STEPS // 4)
        self.assertGreater(refused, 0)
