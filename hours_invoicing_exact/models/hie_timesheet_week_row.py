# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from collections import defaultdict
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import float_compare, float_is_zero

DAYS = tuple(f"day_{number}" for number in range(1, 8))
#: Projects offered in the grid: those the booking rule accepts (see
#: project.project._get_booking_blocked_reason)
BOOKABLE_PROJECT_DOMAIN = (
    "[('project_status', '!=', 'closed'), '|', ('invoicing_type', '=', 'internal'), "
    "('partner_id', '!=', False), '|', ('company_id', '=', False), "
    "('company_id', '=', company_id)]"
)


class HieTimesheetWeekRow(models.Model):
    """A row of the week grid: one project / task / activity, the hours of each day.

    The hours are not stored here: they are the employee's booking lines of that project,
    task and activity on that day, read for all rows at once and written back at once
    (:meth:`_inverse_days`)."""

    _name = "hie.timesheet.week.row"
    _description = "Timesheet Week Row"
    _order = "week_id, sequence, id"

    week_id = fields.Many2one(
        comodel_name="hie.timesheet.week", required=True, index=True, ondelete="cascade",
    )
    sequence = fields.Integer(default=10)
    company_id = fields.Many2one(related="week_id.company_id", store=True)
    project_id = fields.Many2one(
        comodel_name="project.project",
        string="Project",
        required=True,
        domain=BOOKABLE_PROJECT_DOMAIN,
    )
    task_id = fields.Many2one(
        comodel_name="project.task",
        string="Task",
        domain="[('project_id', '=', project_id)]",
    )
    product_id = fields.Many2one(
        comodel_name="product.product",
        string="Activity",
        compute="_compute_product_id",
        store=True,
        readonly=False,
        domain="[('type', '=', 'service'), '|', ('company_id', '=', False), "
        "('company_id', '=', company_id)]",
        help="The service booked: it gives the rate and the sales tax. Defaults from the "
        "project.",
    )
    name = fields.Char(string="Description", help="The description of new booking lines.")
    day_1 = fields.Float(string="Mon", compute="_compute_days", inverse="_inverse_days")
    day_2 = fields.Float(string="Tue", compute="_compute_days", inverse="_inverse_days")
    day_3 = fields.Float(string="Wed", compute="_compute_days", inverse="_inverse_days")
    day_4 = fields.Float(string="Thu", compute="_compute_days", inverse="_inverse_days")
    day_5 = fields.Float(string="Fri", compute="_compute_days", inverse="_inverse_days")
    day_6 = fields.Float(string="Sat", compute="_compute_days", inverse="_inverse_days")
    day_7 = fields.Float(string="Sun", compute="_compute_days", inverse="_inverse_days")
    total_hours = fields.Float(string="Total", compute="_compute_total_hours")
    booking_blocked_reason = fields.Char(
        string="Not Bookable", compute="_compute_booking_blocked_reason",
        help="Why the project does not accept hours now.",
    )
    approval_state = fields.Selection(
        selection=[("draft", "Not submitted"), ("submitted", "Submitted"),
                   ("approved", "Approved")],
        string="Approval",
        compute="_compute_days",
        help="The least advanced approval state of the row's hours.",
    )
    has_hours = fields.Boolean(compute="_compute_days")

    _sql_constraints = [
        ("week_key_unique", "UNIQUE NULLS NOT DISTINCT (week_id, project_id, task_id, product_id)",
         "The week already has a row for this project, task and activity."),
    ]

    def _hie_key(self):
        return (self.project_id.id, self.task_id.id, self.product_id.id)

    @api.depends("project_id")
    def _compute_product_id(self):
        for row in self:
            if row.project_id and not row.product_id:
                row.product_id = row.project_id.sudo().default_service_product_id

    @api.depends("project_id")
    def _compute_booking_blocked_reason(self):
        for row in self:
            row.booking_blocked_reason = (
                row.project_id.sudo()._get_booking_blocked_reason() if row.project_id
                else False)

    @api.depends(*DAYS)
    def _compute_total_hours(self):
        for row in self:
            row.total_hours = sum(row[day] for day in DAYS)

    def _hie_cells(self):
        """``{(row id, date): booking lines}`` of the saved rows, in one query."""
        # the saved rows and weeks: also in the grid's onchanges, on their new copies
        origins = self._origin.filtered("id")
        weeks = origins.week_id.filtered("id")
        cells = defaultdict(lambda: self.env["account.analytic.line"].sudo())
        if not weeks:
            return cells
        rows_by_key = {}
        for row in origins:
            rows_by_key[(row.week_id.id, *row._hie_key())] = row.id
        for week_id, lines in weeks._hie_lines_by_week().items():
            for line in lines:
                row_id = rows_by_key.get(
                    (week_id, line.project_id.id, line.task_id.id, line.product_id.id))
                if row_id:
                    cells[(row_id, line.date)] |= line
        return cells

    @api.depends("week_id.date_start", "project_id", "task_id", "product_id")
    def _compute_days(self):
        cells = self._hie_cells()
        order = {"draft": 0, "submitted": 1, "approved": 2}
        for row in self:
            values = {day: 0.0 for day in DAYS}
            states = set()
            origin = row._origin
            if origin.id and row.week_id.date_start and row._hie_key() == origin._hie_key():
                for index, day in enumerate(DAYS):
                    lines = cells.get((origin.id, row.week_id.date_start
                                       + timedelta(days=index)))
                    if lines:
                        values[day] = sum(lines.mapped("unit_amount"))
                        states.update(lines.mapped("hie_approval_state"))
            # the days being written (inverse pending) keep the values written: computing
            # the other days must not overwrite them
            cache = self.env.cache
            row.update({day: value for day, value in values.items()
                        if not cache.contains(row, self._fields[day])})
            row.has_hours = bool(states)
            row.approval_state = min(states, key=order.get) if states else "draft"

    def _inverse_days(self):
        """Write the grid back to the booking lines, set-based: one create for the new
        cells, one write per distinct value for the changed ones, one unlink for the
        emptied ones. A day with several lines (booked outside the grid) changes its last
        line."""
        Line = self.env["account.analytic.line"]
        cells = self._hie_cells()
        to_create, to_unlink = [], []
        writes = defaultdict(list)
        cache = self.env.cache
        for row in self:
            week = row.week_id
            for index, day in enumerate(DAYS):
                if not cache.contains(row, self._fields[day]):
                    continue  # not written (and not computed while the days are written)
                date = week.date_start + timedelta(days=index)
                target = row[day] or 0.0
                if target < 0:
                    raise UserError(_("Hours cannot be negative (%s).", date))
                lines = cells.get((row.id, date), Line)
                current = sum(lines.mapped("unit_amount"))
                if float_compare(target, current, precision_digits=4) == 0:
                    continue
                if not lines:
                    to_create.append(row._hie_line_vals(date, target))
                elif len(lines) == 1 and float_is_zero(target, precision_digits=4):
                    to_unlink.append(lines.id)
                else:
                    last = lines[-1]
                    value = last.unit_amount + target - current
                    if float_compare(value, 0.0, precision_digits=4) < 0:
                        raise UserError(_(
                            "%(date)s on “%(project)s” has several booking lines; lower them "
                            "in the list of booking lines.",
                            date=date, project=row.project_id.display_name,
                        ))
                    writes[value].append(last.id)
        if to_unlink:
            Line.browse(to_unlink).unlink()
        for value, ids in writes.items():
            Line.browse(ids).write({"unit_amount": value})
        if to_create:
            self._hie_prefetch_plans()
            Line.create(to_create)

    def _hie_prefetch_plans(self):
        """Read the analytic plan columns of the rows' projects in one query: hr_timesheet
        reads them project by project when it creates timesheets."""
        project_plan, other_plans = self.env["account.analytic.plan"]._get_all_plans()
        projects = self.project_id.sudo()
        names = [name for name in (plan._column_name() for plan in project_plan | other_plans)
                 if name in projects._fields]
        if names:
            projects.fetch(names)

    def _hie_line_vals(self, date, hours):
        self.ensure_one()
        return {
            "name": self.name or "/",
            "date": date,
            "employee_id": self.week_id.employee_id.id,
            "project_id": self.project_id.id,
            "task_id": self.task_id.id,
            "product_id": self.product_id.id,
            "unit_amount": hours,
        }

    @api.model_create_multi
    def create(self, vals_list):
        # the hours of all new rows are written at once (the ORM inverses non-stored fields
        # record by record)
        vals_list = [dict(vals) for vals in vals_list]
        days_list = [{day: vals.pop(day) for day in DAYS if day in vals} for vals in vals_list]
        rows = super().create(vals_list)
        days_by_row = {row.id: days for row, days in zip(rows, days_list, strict=True) if days}
        if days_by_row:
            self._hie_write_days(days_by_row)
        return rows

    @api.model
    def _hie_write_days(self, days_by_row):
        """Write the hours of several rows at once: ``{row id: {day field: hours}}``; one
        create, one write per distinct value and one unlink of booking lines for all."""
        rows = self.browse(list(days_by_row))
        rows.check_access("write")
        computed = self.pool.field_computed[self._fields[DAYS[0]]]
        rows.invalidate_recordset([field.name for field in computed] + ["total_hours"])
        with self.env.protecting(computed, rows):
            for day in DAYS:
                field = self._fields[day]
                ids = [row_id for row_id, days in days_by_row.items() if day in days]
                if ids:
                    self.env.cache.update(self.browse(ids), field, [
                        field.convert_to_cache(days_by_row[row_id][day], self.browse(row_id))
                        for row_id in ids
                    ])
            rows._inverse_days()
        rows.invalidate_recordset([field.name for field in computed] + ["total_hours"])

    def write(self, vals):
        keys = {"project_id", "task_id", "product_id"}
        if not keys.isdisjoint(vals):
            for row in self.filtered("has_hours"):
                new = (vals.get("project_id", row.project_id.id),
                       vals.get("task_id", row.task_id.id),
                       vals.get("product_id", row.product_id.id))
                if new != row._hie_key():
                    raise UserError(_(
                        "The row of “%s” has hours: empty its days first, or add a new row.",
                        row.project_id.display_name,
                    ))
        return super().write(vals)

    def unlink(self):
        for row in self.filtered("has_hours"):
            if self.env.context.get("hie_keep_hours"):
                continue
            raise UserError(_(
                "The row of “%s” has hours: empty its days before removing it.",
                row.project_id.display_name,
            ))
        return super().unlink()

    # ------------------------------------------------------------------
    # Approval per project line
    # ------------------------------------------------------------------
    def _hie_row_lines(self):
        lines = self.env["account.analytic.line"].sudo()
        for row_lines in self._hie_cells().values():
            lines |= row_lines
        return lines

    def action_approve_row(self):
        self.ensure_one()
        return self.week_id.action_approve(lines=self._hie_row_lines())

    def action_send_back_row(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "hie.timesheet.send.back",
            "view_mode": "form",
            "target": "new",
            "context": {"default_week_ids": [(6, 0, self.week_id.ids)],
                        "default_row_id": self.id},
        }
