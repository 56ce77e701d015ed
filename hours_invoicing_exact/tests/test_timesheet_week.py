# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from odoo import Command
from odoo.exceptions import UserError, ValidationError
from odoo.tests import Form, tagged
from odoo.tools.safe_eval import safe_eval

from ..models.hie_timesheet_week_row import BOOKABLE_PROJECT_DOMAIN
from .timesheet_week_common import MONDAY, TimesheetWeekCase


@tagged("post_install", "-at_install")
class TestTimesheetWeekGrid(TimesheetWeekCase):
    def test_grid_writes_booking_lines(self):
        week = self.week_of()
        with Form(week) as form:
            with form.row_ids.new() as row:
                row.project_id = self.project_tm
                # the activity defaults from the project: rate and tax are known
                self.assertEqual(row.product_id, self.activity)
                row.day_1 = 8.0
                row.day_2 = 7.5
                row.day_3 = 8.0
            with form.row_ids.new() as row:
                row.project_id = self.project_internal
                row.day_3 = 0.5
        week.invalidate_recordset()
        lines = self.lines_of(week)
        self.assertEqual(
            [(line.date, line.project_id, line.product_id, line.unit_amount) for line in lines],
            [(MONDAY, self.project_tm, self.activity, 8.0),
             (MONDAY + timedelta(1), self.project_tm, self.activity, 7.5),
             (MONDAY + timedelta(2), self.project_tm, self.activity, 8.0),
             (MONDAY + timedelta(2), self.project_internal, self.env["product.product"], 0.5)],
        )
        self.assertEqual(week.total_hours, 24.0)
        self.assertEqual(week.contract_hours, 40.0)  # the standard 40-hour schedule
        self.assertEqual(week.difference_hours, -16.0)
        self.assertEqual(set(lines.mapped("hie_approval_state")), {"draft"})
        # change, empty and add cells: the lines follow
        row = week.row_ids.filtered(lambda r: r.project_id == self.project_tm)
        self.assertEqual((row.day_1, row.day_2, row.day_3, row.total_hours),
                         (8.0, 7.5, 8.0, 23.5))
        with Form(week) as form:
            with form.row_ids.edit(0) as edit:
                edit.day_1 = 6.0
                edit.day_2 = 0.0
                edit.day_5 = 4.0
        lines = self.lines_of(week).filtered(lambda line: line.project_id == self.project_tm)
        self.assertEqual([(line.date, line.unit_amount) for line in lines],
                         [(MONDAY, 6.0), (MONDAY + timedelta(2), 8.0),
                          (MONDAY + timedelta(4), 4.0)])

    def test_hours_booked_elsewhere_show_in_the_grid(self):
        self.book_hours(self.project_tm, 3.0, date=MONDAY + timedelta(1))
        self.book_hours(self.project_tm, 2.0, date=MONDAY + timedelta(1))
        week = self.week_of()
        self.assertEqual(len(week.row_ids), 1)
        self.assertEqual(week.row_ids.day_2, 5.0)
        # a day with two lines: the last one takes the change
        week.row_ids.day_2 = 4.0
        lines = self.lines_of(week)
        self.assertEqual(lines.mapped("unit_amount"), [3.0, 1.0])
        with self.assertRaises(UserError):
            week.row_ids.day_2 = 1.0  # below the other line: change them in the list

    def test_refused_cell_says_why(self):
        closed = self.env["project.project"].create({
            "name": "Closed", "invoicing_type": "internal", "project_status": "closed",
        })
        week = self.week_of()
        with self.assertRaises(ValidationError) as cm:
            self.fill(week, {closed: [2.0]})
        self.assertIn("its status is Closed", str(cm.exception))
        self.assertFalse(self.lines_of(week))
        row = self.env["hie.timesheet.week.row"].new({"project_id": closed.id})
        self.assertIn("Closed", row.booking_blocked_reason)
        # only bookable projects are offered
        offered = self.env["project.project"].search(
            safe_eval(BOOKABLE_PROJECT_DOMAIN, {"company_id": self.company.id}))
        self.assertNotIn(closed, offered)
        self.assertIn(self.project_tm, offered)

    def test_refused_cell_in_dutch(self):
        self.activate_dutch()
        closed = self.env["project.project"].create({
            "name": "Gesloten", "invoicing_type": "internal", "project_status": "closed",
        })
        self.user_employee.lang = "nl_NL"
        week = self.week_of().with_context(lang="nl_NL")
        with self.assertRaises(ValidationError) as cm:
            self.fill(week, {closed: [2.0]})
        self.assertIn("Gesloten", str(cm.exception))
        self.assertNotIn("You cannot book", str(cm.exception))

    def test_copy_last_week_and_navigate(self):
        last = self.week_of()
        self.fill(last, {self.project_tm: [8.0], self.project_tm2: [0, 4.0]})
        action = last.action_next_week()
        week = self.Week.browse(action["res_id"])
        self.assertEqual(week.date_start, MONDAY + timedelta(7))
        self.assertEqual(self.Week.browse(week.action_previous_week()["res_id"]), last)
        # no longer bookable: not copied
        self.project_tm2.with_context(hie_confirm_close=True).project_status = "closed"
        result = week.with_user(self.user_employee).action_copy_last_week()
        self.assertEqual(week.row_ids.project_id, self.project_tm)
        self.assertEqual(week.row_ids.total_hours, 0.0)  # rows, not hours
        self.assertIn("T&M 2", result["params"]["message"])

    def test_my_week(self):
        action = self.Week.with_user(self.user_employee).action_hie_my_week()
        week = self.Week.browse(action["res_id"])
        self.assertEqual(week.employee_id, self.employee)
        self.assertEqual(week.date_start.weekday(), 0)
        self.assertEqual(
            self.Week.with_user(self.user_employee).action_hie_my_week()["res_id"], week.id)


@tagged("post_install", "-at_install")
class TestTimesheetWeekApproval(TimesheetWeekCase):
    def _submitted(self):
        week = self.fill(self.week_of(), {
            self.project_tm: [8.0, 8.0], self.project_tm2: [0, 0, 4.0],
        })
        week.with_user(self.user_employee).action_submit()
        self.assertEqual(week.state, "submitted")
        self.assertEqual(set(self.lines_of(week).mapped("hie_approval_state")), {"submitted"})
        return week

    def test_project_managers_approve_their_lines(self):
        week = self._submitted()
        # the reviewers got an activity
        self.assertEqual(set(week.activity_ids.user_id.ids), {self.user_pm.id, self.user_pm2.id})
        for user in (self.user_employee, self.user_boss):
            with self.assertRaises(UserError):
                week.with_user(user).action_approve()
        week.with_user(self.user_pm).action_approve()
        lines = self.lines_of(week)
        self.assertEqual(
            {(line.project_id, line.hie_approval_state) for line in lines},
            {(self.project_tm, "approved"), (self.project_tm2, "submitted")},
        )
        self.assertEqual(week.state, "submitted")  # the other project's line waits
        self.assertEqual(week.activity_ids.user_id, self.user_pm2)
        week.with_user(self.user_pm2).action_approve()
        self.assertEqual(week.state, "approved")
        self.assertEqual(set(self.lines_of(week).mapped("hie_approval_state")), {"approved"})
        self.assertFalse(week.activity_ids)

    def test_approve_per_row(self):
        self.project_tm2.user_id = self.user_pm
        week = self._submitted()
        row = week.row_ids.filtered(lambda r: r.project_id == self.project_tm2)
        row.with_user(self.user_pm).action_approve_row()
        self.assertEqual(
            {(line.project_id, line.hie_approval_state) for line in self.lines_of(week)},
            {(self.project_tm, "submitted"), (self.project_tm2, "approved")},
        )

    def test_send_back_one_row(self):
        self.project_tm2.user_id = self.user_pm
        week = self._submitted()
        row = week.row_ids.filtered(lambda r: r.project_id == self.project_tm2)
        action = row.with_user(self.user_pm).action_send_back_row()
        wizard = self.env[action["res_model"]].with_user(self.user_pm).with_context(
            **action["context"]).create({"reason": "Wrong project"})
        self.assertEqual(wizard.row_id, row)
        wizard.action_send_back()
        self.assertEqual(week.state, "sent_back")
        self.assertEqual(
            {(line.project_id, line.hie_approval_state) for line in self.lines_of(week)},
            {(self.project_tm, "submitted"), (self.project_tm2, "draft")},
        )
        # the employee changes the row sent back, not the other one
        rows = week.with_user(self.user_employee).row_ids
        rows.filtered(lambda r: r.project_id == self.project_tm2).day_3 = 2.0
        with self.assertRaises(UserError):
            rows.filtered(lambda r: r.project_id == self.project_tm).day_1 = 1.0

    def test_employee_manager_setting(self):
        self.company.hie_timesheet_reviewer = "employee_manager"
        week = self._submitted()
        with self.assertRaises(UserError):
            week.with_user(self.user_pm).action_approve()
        week.with_user(self.user_boss).action_approve()
        self.assertEqual(week.state, "approved")

    def test_company_without_reviewer_setting_uses_the_project_manager(self):
        # companies made by code that runs before this addon is loaded (Odoo's own project
        # tests create companies at install) have no value: no NOT NULL, the default rule
        self.env["res.company"].create({"name": "Zonder instelling",
                                        "hie_timesheet_reviewer": False})
        self.env.cr.execute("UPDATE res_company SET hie_timesheet_reviewer = NULL "
                            "WHERE id = %s", [self.company.id])
        self.company.invalidate_recordset()
        week = self._submitted()
        self.assertEqual(set(week.activity_ids.user_id.ids), {self.user_pm.id, self.user_pm2.id})
        with self.assertRaises(UserError):
            week.with_user(self.user_boss).action_approve()
        week.with_user(self.user_pm).action_approve()
        week.with_user(self.user_pm2).action_approve()
        self.assertEqual(week.state, "approved")

    def test_nobody_approves_own_hours(self):
        # the project manager's own hours go to his manager
        pm_employee = self.env["hr.employee"].create({
            "name": "Pieter", "user_id": self.user_pm.id, "parent_id": self.boss.id,
        })
        week = self.fill(self.week_of(user=self.user_pm, employee=pm_employee),
                         {self.project_tm: [2.0]})
        week.with_user(self.user_pm).action_submit()
        with self.assertRaises(UserError):
            week.with_user(self.user_pm).action_approve()
        week.with_user(self.user_boss).action_approve()
        self.assertEqual(week.state, "approved")

    def test_send_back_reopens(self):
        week = self._submitted()
        week.with_user(self.user_pm).action_approve()
        wizard = self.env["hie.timesheet.send.back"].with_user(self.user_pm2).create({
            "week_ids": [Command.set(week.ids)], "reason": "Friday was a holiday",
        })
        wizard.action_send_back()
        self.assertEqual(week.state, "sent_back")
        self.assertEqual(week.send_back_reason, "Friday was a holiday")
        lines = self.lines_of(week)
        # only the reviewer's own lines reopen; the approved project stays approved
        self.assertEqual(
            {(line.project_id, line.hie_approval_state) for line in lines},
            {(self.project_tm, "approved"), (self.project_tm2, "draft")},
        )
        self.assertIn("Friday was a holiday", week.message_ids[0].body)
        self.assertEqual(week.activity_ids.user_id, self.user_employee)
        # the employee corrects and submits again
        row = week.row_ids.filtered(lambda r: r.project_id == self.project_tm2)
        row.with_user(self.user_employee).day_3 = 3.0
        week.with_user(self.user_employee).action_submit()
        self.assertEqual(week.state, "submitted")
        with self.assertRaises(UserError):
            self.env["hie.timesheet.send.back"].with_user(self.user_pm2).create({
                "week_ids": [Command.set(week.ids)], "reason": " ",
            }).action_send_back()


@tagged("post_install", "-at_install")
class TestTimesheetWeekLock(TimesheetWeekCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.week = cls.fill(cls.week_of(), {cls.project_tm: [8.0, 8.0]})
        cls.week.with_user(cls.user_employee).action_submit()
        cls.week.with_user(cls.user_pm).action_approve()
        cls.line = cls.env["account.analytic.line"].search([
            ("employee_id", "=", cls.employee.id), ("date", "=", MONDAY)])

    def test_employee_cannot_change_approved_hours(self):
        Line = self.env["account.analytic.line"].with_user(self.user_employee)
        line = Line.browse(self.line.id)
        for vals in ({"unit_amount": 9.0}, {"date": MONDAY + timedelta(14)},
                     {"project_id": self.project_tm2.id}, {"name": "other"}):
            with self.assertRaises(UserError, msg=vals):
                line.write(vals)
        with self.assertRaises(UserError):
            line.unlink()
        with self.assertRaises(UserError):  # the form
            with Form(line, view="hr_timesheet.hr_timesheet_line_form") as form:
                form.unit_amount = 1.0
        with self.assertRaises(UserError):  # the grid
            self.week.with_user(self.user_employee).row_ids.day_1 = 1.0
        with self.assertRaises(UserError):  # a copy lands in the approved week
            line.copy()
        # adding hours to the approved week
        with self.assertRaises(UserError):
            Line.create({"name": "more", "project_id": self.project_tm.id,
                         "unit_amount": 1.0, "date": MONDAY + timedelta(3)})
        # the approval itself
        with self.assertRaises(UserError):
            Line.browse(self.line.id).write({"hie_approval_state": "draft"})
        with self.assertRaises(UserError):
            Line.create({"name": "x", "project_id": self.project_tm.id, "unit_amount": 1.0,
                         "date": MONDAY + timedelta(21), "hie_approval_state": "approved"})
        # an import of changed hours
        result = Line.load(["id", "unit_amount"], [[self.line.export_data(["id"])["datas"][0][0],
                                                    "1"]])
        self.assertTrue(result["messages"])
        self.assertFalse(result["ids"])
        self.line.invalidate_recordset()
        self.assertEqual(self.line.unit_amount, 8.0)
        self.assertEqual(self.line.hie_approval_state, "approved")
        # an unchanged import is no change
        Line.browse(self.line.id).write({"unit_amount": 8.0, "hie_approval_state": "approved"})

    def test_reviewer_corrects_tracked(self):
        line = self.line.with_user(self.user_pm)
        line.write({"unit_amount": 6.5})
        self.assertEqual(self.line.unit_amount, 6.5)
        self.assertEqual(self.line.hie_approval_state, "approved")
        message = self.week.message_ids[0]
        self.assertIn("Pieter", message.body)
        self.assertIn("6.5", message.body)
        # hours the reviewer adds to the approved week are approved and tracked (adding
        # hours for another employee takes Odoo's right to do so)
        self.user_pm.groups_id |= self.env.ref("hr_timesheet.group_hr_timesheet_approver")
        new = self.env["account.analytic.line"].with_user(self.user_pm).create({
            "name": "forgotten", "project_id": self.project_tm.id,
            "employee_id": self.employee.id, "unit_amount": 1.0,
            "date": MONDAY + timedelta(2),
        })
        self.assertEqual(new.hie_approval_state, "approved")
        self.assertIn("added", self.week.message_ids[0].body)
