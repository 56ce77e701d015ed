# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from collections import defaultdict
from datetime import datetime, time, timedelta

import pytz
from markupsafe import Markup

from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import format_date, format_duration

#: The approval states of a booking line in which its employee can no longer change it
LOCKED_LINE_STATES = ("submitted", "approved")
#: Context key of the only writers of a booking line's approval state (the week's actions)
APPROVAL_WRITE = "hie_approval_write"


def week_start(day):
    """The Monday of the week of ``day``."""
    return day - timedelta(days=day.weekday())


class HieTimesheetWeek(models.Model):
    """One employee's week of hours: the grid (rows per project / task / activity, a column
    per day) over the employee's booking lines, and their approval.

    The booking lines stay the one truth: the grid reads them and writes them back in one
    create, one write per distinct value and one unlink (see the rows); the approval state
    lives on each booking line (``hie_approval_state``), so that invoicing filters on it
    and a reviewer can approve per project line.
    """

    _name = "hie.timesheet.week"
    _description = "Timesheet Week"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "date_start desc, employee_id"

    name = fields.Char(compute="_compute_name")
    employee_id = fields.Many2one(
        comodel_name="hr.employee",
        string="Employee",
        required=True,
        index=True,
        ondelete="cascade",
        default=lambda self: self.env.user.employee_id,
    )
    user_id = fields.Many2one(related="employee_id.user_id", store=True, string="User")
    company_id = fields.Many2one(
        comodel_name="res.company",
        compute="_compute_company_id",
        store=True,
        precompute=True,
        readonly=False,
        required=True,
        index=True,
    )
    date_start = fields.Date(
        string="Week Of",
        required=True,
        default=lambda self: week_start(fields.Date.context_today(self)),
        help="The Monday of the week.",
    )
    date_end = fields.Date(string="Until", compute="_compute_date_end", store=True)
    state = fields.Selection(
        selection=[
            ("draft", "Draft"),
            ("submitted", "Submitted"),
            ("approved", "Approved"),
            ("sent_back", "Sent back"),
        ],
        default="draft",
        required=True,
        readonly=True,
        copy=False,
        index=True,
        tracking=True,
    )
    row_ids = fields.One2many(
        comodel_name="hie.timesheet.week.row",
        inverse_name="week_id",
        string="Rows",
        copy=False,
    )
    total_hours = fields.Float(string="Week Total", compute="_compute_totals")
    contract_hours = fields.Float(
        compute="_compute_totals",
        help="The hours of the employee's working schedule in this week.",
    )
    difference_hours = fields.Float(
        string="Difference", compute="_compute_totals",
        help="Booked minus contract hours.",
    )
    awaiting_hours = fields.Float(
        string="Hours To Review", compute="_compute_totals",
        help="Submitted hours not approved yet.",
    )
    send_back_reason = fields.Text(readonly=True, copy=False, tracking=True)
    submitted_date = fields.Datetime(readonly=True, copy=False)
    approved_date = fields.Datetime(readonly=True, copy=False)
    hie_can_review = fields.Boolean(
        string="Can Review",
        compute="_compute_hie_can_review",
        help="You may approve or send back (some of) the hours of this week.",
    )

    _sql_constraints = [
        ("employee_week_unique", "UNIQUE(employee_id, date_start)",
         "An employee has one timesheet per week."),
    ]

    # ------------------------------------------------------------------
    # Computes and constraints
    # ------------------------------------------------------------------
    @api.depends("employee_id", "date_start")
    def _compute_name(self):
        for week in self:
            if week.date_start:
                year, number, _weekday = week.date_start.isocalendar()
                week.name = self.env._(
                    "%(employee)s, week %(number)s of %(year)s",
                    employee=week.employee_id.name or "", number=number, year=year,
                )
            else:
                week.name = week.employee_id.name or ""

    @api.depends("employee_id")
    def _compute_company_id(self):
        for week in self:
            week.company_id = week.employee_id.company_id or week.company_id or self.env.company

    @api.depends("date_start")
    def _compute_date_end(self):
        for week in self:
            week.date_end = week.date_start and week.date_start + timedelta(days=6)

    @api.constrains("date_start")
    def _check_date_start(self):
        for week in self:
            if week.date_start.weekday() != 0:
                raise ValidationError(_("A timesheet week starts on a Monday."))

    @api.depends("row_ids.total_hours", "employee_id", "date_start")
    def _compute_totals(self):
        lines_by_week = self._hie_lines_by_week()
        for week in self:
            lines = lines_by_week.get(week.id, self.env["account.analytic.line"])
            week.total_hours = sum(lines.mapped("unit_amount"))
            week.awaiting_hours = sum(lines.filtered(
                lambda line: line.hie_approval_state == "submitted").mapped("unit_amount"))
            week.contract_hours = week._hie_contract_hours()
            week.difference_hours = week.total_hours - week.contract_hours

    def _hie_contract_hours(self):
        """The hours of the employee's working schedule in this week (holidays not taken
        off: the week total is compared with the contract)."""
        self.ensure_one()
        calendar = self.employee_id.resource_calendar_id or self.company_id.resource_calendar_id
        if not calendar or not self.date_start:
            return 0.0
        start = datetime.combine(self.date_start, time.min)
        end = datetime.combine(self.date_start + timedelta(days=7), time.min)
        tz = pytz.timezone(calendar.tz or "UTC")
        return calendar.get_work_hours_count(tz.localize(start), tz.localize(end),
                                             compute_leaves=False)

    def _compute_hie_can_review(self):
        lines_by_week = self._hie_lines_by_week()
        for week in self:
            lines = lines_by_week.get(week.id, self.env["account.analytic.line"])
            week.hie_can_review = bool(
                lines.filtered(lambda line: line.hie_approval_state in LOCKED_LINE_STATES)
                ._hie_filter_reviewable()
            ) or (not lines and week._hie_may_review_empty())

    def _hie_may_review_empty(self):
        """Who reviews a week without hours: the employee's manager (or a timesheet
        administrator when the employee has none)."""
        self.ensure_one()
        user = self.env.user
        employee = self.sudo().employee_id
        if employee.user_id == user:
            return False
        if employee.parent_id.user_id:
            return employee.parent_id.user_id == user
        return user.has_group("hr_timesheet.group_timesheet_manager")

    # ------------------------------------------------------------------
    # The week's booking lines, and its rows
    # ------------------------------------------------------------------
    def _hie_lines_by_week(self):
        """``{week id: booking lines (hours) of its employee in its week}``, in one query
        for any number of weeks."""
        Line = self.env["account.analytic.line"]
        weeks = self.filtered(lambda week: week.id and week.employee_id and week.date_start)
        if not weeks:
            return {}
        lines = Line.sudo().search_fetch(
            [
                ("employee_id", "in", weeks.employee_id.ids),
                ("date", ">=", min(weeks.mapped("date_start"))),
                ("date", "<=", max(weeks.mapped("date_start")) + timedelta(days=6)),
                ("project_id", "!=", False),
            ],
            ["employee_id", "date", "unit_amount", "hie_approval_state", "project_id",
             "task_id", "product_id"],
            order="date, id",
        )
        week_by_key = {(week.employee_id.id, week.date_start): week.id for week in weeks}
        ids_by_week = defaultdict(list)
        for line in lines:
            week_id = week_by_key.get((line.employee_id.id, week_start(line.date)))
            if week_id:
                ids_by_week[week_id].append(line.id)
        # read as superuser: a project manager reviews hours that are not his own
        return {week_id: Line.sudo().browse(ids) for week_id, ids in ids_by_week.items()}

    def _hie_lines(self):
        lines = self.env["account.analytic.line"].sudo()
        for week_lines in self._hie_lines_by_week().values():
            lines |= week_lines
        return lines

    def _hie_sync_rows(self):
        """Give every project / task / activity with hours in the week a row (hours booked
        outside the grid, e.g. in the list of booking lines)."""
        Row = self.env["hie.timesheet.week.row"].sudo()
        vals_list = []
        for week, lines in self._hie_lines_by_week().items():
            week = self.browse(week)
            keys = {row._hie_key() for row in week.sudo().row_ids}
            for line in lines:
                key = (line.project_id.id, line.task_id.id, line.product_id.id)
                if key not in keys:
                    keys.add(key)
                    vals_list.append({"week_id": week.id, "project_id": key[0],
                                      "task_id": key[1], "product_id": key[2]})
        if vals_list:
            Row.with_context(hie_no_inverse=True).create(vals_list)

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("date_start"):
                vals["date_start"] = week_start(fields.Date.to_date(vals["date_start"]))
        weeks = super().create(vals_list)
        weeks._hie_sync_rows()
        return weeks

    def write(self, vals):
        # the hours of all rows of the grid are written at once, after the rows themselves
        days_by_row = {}
        if vals.get("row_ids"):
            from .hie_timesheet_week_row import DAYS  # noqa: PLC0415

            commands = []
            for command in vals["row_ids"]:
                if command[0] == Command.UPDATE and isinstance(command[2], dict):
                    days = {day: command[2][day] for day in DAYS if day in command[2]}
                    rest = {key: value for key, value in command[2].items()
                            if key not in DAYS}
                    if days:
                        days_by_row[command[1]] = days
                    if rest:
                        commands.append((Command.UPDATE, command[1], rest))
                else:
                    commands.append(command)
            vals = dict(vals, row_ids=commands)
        res = super().write(vals)
        if days_by_row:
            self.env["hie.timesheet.week.row"]._hie_write_days(days_by_row)
        return res

    def web_read(self, specification):
        if "row_ids" in specification:
            self._hie_sync_rows()
        return super().web_read(specification)

    # the rows are completed when the grid is read: not on a read-only cursor
    web_read._readonly = False

    @api.model
    def _hie_get_week(self, employee, day):
        """The week of ``employee`` that holds ``day``, created when missing."""
        start = week_start(day)
        week = self.search([("employee_id", "=", employee.id), ("date_start", "=", start)],
                           limit=1)
        return week or self.create({"employee_id": employee.id, "date_start": start})

    def _hie_form_action(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "current",
        }

    @api.model
    def action_hie_my_week(self):
        """Open the current week of the user's employee (created when missing)."""
        employee = self.env.user.employee_id
        if not employee:
            raise UserError(_("Your user is not linked to an employee: ask your HR officer "
                              "to link it before you book hours."))
        return self._hie_get_week(employee, fields.Date.context_today(self))._hie_form_action()

    def action_previous_week(self):
        self.ensure_one()
        return self._hie_get_week(self.employee_id, self.date_start - timedelta(days=7)) \
            ._hie_form_action()

    def action_next_week(self):
        self.ensure_one()
        return self._hie_get_week(self.employee_id, self.date_start + timedelta(days=7)) \
            ._hie_form_action()

    def action_copy_last_week(self):
        """Add the rows (project, task, activity, description) of the previous week, without
        their hours; rows on projects that no longer accept bookings are left out."""
        self.ensure_one()
        self._check_employee_may_edit()
        previous = self.search([("employee_id", "=", self.employee_id.id),
                                ("date_start", "=", self.date_start - timedelta(days=7))])
        previous._hie_sync_rows()
        keys = {row._hie_key() for row in self.row_ids}
        skipped = []
        commands = []
        for row in previous.row_ids:
            if row._hie_key() in keys:
                continue
            if row.project_id.sudo()._get_booking_blocked_reason():
                skipped.append(row.project_id.display_name)
                continue
            keys.add(row._hie_key())
            commands.append(Command.create({
                "project_id": row.project_id.id, "task_id": row.task_id.id,
                "product_id": row.product_id.id, "name": row.name,
                "sequence": row.sequence,
            }))
        if commands:
            self.write({"row_ids": commands})
        if skipped:
            return {
                "type": "ir.actions.client",
                "tag": "display_notification",
                "params": {
                    "type": "warning",
                    "message": self.env._(
                        "Not copied, these projects no longer accept bookings: %s",
                        ", ".join(skipped)),
                    "next": {"type": "ir.actions.client", "tag": "soft_reload"},
                },
            }
        return True

    # ------------------------------------------------------------------
    # Submit, approve, send back
    # ------------------------------------------------------------------
    def _check_employee_may_edit(self):
        for week in self:
            if week.state in ("submitted", "approved") and not self.env.su \
                    and not week.hie_can_review:
                raise UserError(_(
                    "The week of %(employee)s is %(state)s: it can no longer be changed. Ask "
                    "the reviewer to send it back.",
                    employee=week.employee_id.name,
                    state=dict(week._fields["state"]._description_selection(self.env))[
                        week.state],
                ))

    def _hie_write_line_states(self, lines, state):
        lines.sudo().with_context(**{APPROVAL_WRITE: True}).write(
            {"hie_approval_state": state})

    def action_submit(self):
        """The employee hands in the week: its hours wait for the reviewers."""
        user = self.env.user
        for week in self:
            if week.state not in ("draft", "sent_back"):
                raise UserError(_("Only a draft week or a week sent back can be submitted."))
            if not self.env.su and week.sudo().employee_id.user_id != user \
                    and not user.has_group("hr_timesheet.group_timesheet_manager"):
                raise UserError(_("Only %s can submit this week.", week.employee_id.name))
        self._hie_sync_rows()
        lines = self._hie_lines()
        self._hie_write_line_states(
            lines.filtered(lambda line: line.hie_approval_state == "draft"), "submitted")
        self.sudo().write({"state": "submitted", "send_back_reason": False,
                           "submitted_date": fields.Datetime.now()})
        self._hie_schedule_review()
        return True

    def _hie_reviewers(self, lines):
        """The users who review these booking lines."""
        users = self.env["res.users"]
        for line in lines.sudo():
            users |= line._hie_reviewer()
        return users

    def _hie_schedule_review(self):
        """An activity "to approve" for each reviewer of the submitted weeks."""
        lines_by_week = self._hie_lines_by_week()
        for week in self.sudo():
            lines = lines_by_week.get(week.id, self.env["account.analytic.line"])
            reviewers = week._hie_reviewers(lines)
            if not lines and week.employee_id.parent_id.user_id:
                reviewers = week.employee_id.parent_id.user_id
            for reviewer in reviewers:
                week.with_context(lang=reviewer.lang).activity_schedule(
                    "mail.mail_activity_data_todo",
                    user_id=reviewer.id,
                    summary=week.with_context(lang=reviewer.lang).env._(
                        "Approve the hours of %s", week.name),
                )

    def _hie_review_lines(self, lines=None):
        """The submitted or approved lines of these weeks (or of ``lines``) that the user
        reviews; refused when there are none."""
        candidates = self._hie_lines() if lines is None else lines
        mine = candidates.filtered(
            lambda line: line.hie_approval_state in LOCKED_LINE_STATES
        )._hie_filter_reviewable()
        return mine

    def action_approve(self, lines=None):
        """Approve the submitted hours of these weeks that the user reviews (per project
        line with the project manager as reviewer); a week is approved when all its hours
        are."""
        weeks = self.filtered(lambda week: week.state == "submitted")
        if not weeks:
            raise UserError(_("Only submitted weeks can be approved."))
        lines_by_week = weeks._hie_lines_by_week()
        all_lines = self.env["account.analytic.line"].union(*lines_by_week.values()) \
            if lines_by_week else self.env["account.analytic.line"]
        candidates = all_lines if lines is None else all_lines & lines
        mine = candidates.filtered(
            lambda line: line.hie_approval_state == "submitted")._hie_filter_reviewable()
        empty = weeks.filtered(lambda week: week.id not in lines_by_week)
        empty_mine = empty.filtered(lambda week: week._hie_may_review_empty() or self.env.su)
        if not mine and not empty_mine:
            raise UserError(_(
                "You do not review these hours. Depending on the company's setting, the "
                "project manager of the project or the manager of the employee approves them."
            ))
        self._hie_write_line_states(mine, "approved")
        approved_ids = set(mine.ids)
        done = empty_mine
        for week in weeks - empty:
            if all(line.id in approved_ids or line.hie_approval_state == "approved"
                   for line in lines_by_week[week.id]):
                done |= week
        done.sudo().write({"state": "approved", "approved_date": fields.Datetime.now()})
        self._hie_close_review_activities(weeks, done)
        return True

    def _hie_close_review_activities(self, weeks, done):
        """Drop the "to approve" activities of the user on these weeks, and all of them on
        the weeks that are approved (one unlink)."""
        activities = self.env["mail.activity"].sudo().search([
            ("res_model", "=", self._name), ("res_id", "in", weeks.ids),
            ("activity_type_id", "=", self.env.ref("mail.mail_activity_data_todo").id),
            "|", ("user_id", "=", self.env.user.id), ("res_id", "in", done.ids),
        ])
        activities.unlink()

    def action_send_back_wizard(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "hie.timesheet.send.back",
            "view_mode": "form",
            "target": "new",
            "context": {"default_week_ids": [Command.set(self.ids)]},
        }

    def _hie_send_back(self, reason, lines=None):
        """Reopen the hours the user reviews (all, or ``lines``) for the employee, with the
        reason, in the chatter and as an activity for the employee."""
        if not (reason or "").strip():
            raise UserError(_("Tell the employee why the hours are sent back."))
        weeks = self.filtered(lambda week: week.state in ("submitted", "approved"))
        if not weeks:
            raise UserError(_("Only submitted or approved weeks can be sent back."))
        mine = weeks._hie_review_lines(lines)
        if not mine and not (self.env.su or all(
                week._hie_may_review_empty() for week in weeks)):
            raise UserError(_(
                "You do not review these hours. Depending on the company's setting, the "
                "project manager of the project or the manager of the employee sends them "
                "back."
            ))
        self._hie_write_line_states(mine, "draft")
        weeks.sudo().write({"state": "sent_back", "send_back_reason": reason,
                            "approved_date": False})
        self._hie_close_review_activities(weeks, weeks)
        for week in weeks.sudo():
            week.message_post(
                body=_("Sent back by %(user)s: %(reason)s", user=self.env.user.name,
                       reason=reason),
                author_id=self.env.user.partner_id.id,
            )
            employee_user = week.employee_id.user_id
            if employee_user:
                week.with_context(lang=employee_user.lang).activity_schedule(
                    "mail.mail_activity_data_todo",
                    user_id=employee_user.id,
                    summary=week.with_context(lang=employee_user.lang).env._(
                        "Your hours were sent back"),
                    note=reason,
                )
        return True

    # ------------------------------------------------------------------
    # Corrections after approval: in the chatter
    # ------------------------------------------------------------------
    @api.model
    def _hie_track_corrections(self, changes):
        """Post changes of submitted or approved hours on their weeks.

        :param changes: list of ``(line, text)``, the line read before the change
        """
        by_week = defaultdict(list)
        weeks = self.sudo().search([
            ("employee_id", "in", list({line.employee_id.id for line, _text in changes})),
            ("date_start", "in", list({week_start(line.date) for line, _text in changes})),
        ])
        week_by_key = {(week.employee_id.id, week.date_start): week for week in weeks}
        for line, text in changes:
            week = week_by_key.get((line.employee_id.id, week_start(line.date)))
            if week:
                by_week[week].append(text)
        for week, texts in by_week.items():
            body = Markup("%s<ul>%s</ul>") % (
                _("Hours changed after they were submitted or approved, by %s:",
                  self.env.user.name),
                Markup().join(Markup("<li>%s</li>") % text for text in texts),
            )
            week.message_post(body=body, author_id=self.env.user.partner_id.id)

    @api.model
    def _hie_describe_line(self, line):
        return "%s %s: %s" % (
            format_date(self.env, line.date), line.project_id.display_name or "",
            format_duration(line.unit_amount),
        )

    # ------------------------------------------------------------------
    # Reminders for missing hours
    # ------------------------------------------------------------------
    @api.model
    def _cron_hie_remind_missing_weeks(self):
        """Remind the employees (with a user) whose last week is not submitted: an activity
        on the week and an e-mail, in their language."""
        today = fields.Date.context_today(self)
        last_week = week_start(today) - timedelta(days=7)
        employees = self.env["hr.employee"].sudo().search([
            ("user_id", "!=", False), ("active", "=", True),
        ])
        weeks = self.sudo().search([("employee_id", "in", employees.ids),
                                    ("date_start", "=", last_week)])
        by_employee = {week.employee_id.id: week for week in weeks}
        missing = employees.filtered(
            lambda employee: by_employee.get(employee.id, self).state in (False, "draft",
                                                                         "sent_back"))
        to_create = [{"employee_id": employee.id, "date_start": last_week}
                     for employee in missing if employee.id not in by_employee]
        new_weeks = self.sudo().create(to_create) if to_create else self.browse()
        for week in new_weeks:
            by_employee[week.employee_id.id] = week
        for employee in missing:
            week = by_employee[employee.id].with_context(lang=employee.user_id.lang)
            week._hie_remind(employee.user_id)
        self._hie_remind_reviewers()
        return len(missing)

    @api.model
    def _hie_remind_reviewers(self):
        """Show every reviewer, once a week, what waits for them: one message listing the
        submitted weeks with hours they review still to approve, in their language."""
        submitted = self.sudo().search([("state", "=", "submitted")], order="date_start, id")
        lines_by_week = submitted._hie_lines_by_week()
        waiting = defaultdict(lambda: defaultdict(float))
        for week in submitted:
            lines = lines_by_week.get(week.id, self.env["account.analytic.line"]).filtered(
                lambda line: line.hie_approval_state == "submitted")
            for line in lines:
                for reviewer in line._hie_reviewer():
                    waiting[reviewer][week] += line.unit_amount
            if not lines and week.employee_id.parent_id.user_id:
                waiting[week.employee_id.parent_id.user_id][week] += 0.0
        for reviewer, weeks in waiting.items():
            env_lang = self.with_context(lang=reviewer.lang or "en_US").env
            items = Markup("").join(
                Markup("<li>%s: %s h</li>") % (
                    week.with_env(env_lang).name, format_duration(hours))
                for week, hours in weeks.items())
            self.browse().message_notify(
                partner_ids=reviewer.partner_id.ids,
                subject=env_lang._("%(count)s weeks of hours wait for your approval",
                                   count=len(weeks)),
                body=Markup("<p>%s</p><ul>%s</ul>") % (
                    env_lang._("These submitted weeks have hours you review that are not "
                               "approved yet (Timesheets > Weeks To Approve):"), items),
                email_layout_xmlid="mail.mail_notification_light",
            )
        return len(waiting)

    def _hie_remind(self, user):
        """One reminder: an activity and an e-mail in the user's language."""
        self.ensure_one()
        env_lang = self.with_context(lang=user.lang or "en_US").env
        summary = env_lang._("Submit your hours of %s", self.name)
        if not self.activity_ids.filtered(
                lambda activity: activity.user_id == user and activity.summary == summary):
            self.activity_schedule("mail.mail_activity_data_todo", user_id=user.id,
                                   summary=summary)
        self.message_notify(
            partner_ids=user.partner_id.ids,
            subject=summary,
            body=env_lang._(
                "Your hours of the week of %(start)s to %(end)s are not submitted yet "
                "(%(hours)s h booked). Complete and submit your week, please.",
                start=format_date(env_lang, self.date_start),
                end=format_date(env_lang, self.date_end),
                hours=format_duration(self.total_hours),
            ),
            email_layout_xmlid="mail.mail_notification_light",
        )
