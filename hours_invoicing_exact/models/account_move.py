# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from collections import defaultdict

from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError
from odoo.osv import expression

OUTBOX_MODEL = "account.move"


class AccountMove(models.Model):
    """Invoices of booking lines: principal and projects, the billed booking lines, their
    release (draft deletion, cancellation, full credit), and linked hours."""

    _inherit = "account.move"

    hie_principal_id = fields.Many2one(
        comodel_name="res.partner",
        string="Principal",
        index="btree_not_null",
        help="The customer for whom the invoiced work was done (when the invoice is addressed "
        "to another invoice debtor).",
    )
    hie_project_ids = fields.Many2many(
        comodel_name="project.project",
        relation="account_move_hie_project_rel",
        column1="move_id",
        column2="project_id",
        string="Projects",
    )
    hie_booking_line_ids = fields.Many2many(
        comodel_name="account.analytic.line",
        string="Billed Booking Lines",
        compute="_compute_hie_booking_line_ids",
    )
    hie_booking_line_count = fields.Integer(
        string="Booking Lines", compute="_compute_hie_booking_figures",
    )
    hie_hours_value = fields.Monetary(
        string="Linked Hours Value",
        compute="_compute_hie_booking_figures",
        help="Revenue of the booking lines billed by or linked to this invoice.",
    )
    hie_hours_difference = fields.Monetary(
        string="Difference With Hours",
        compute="_compute_hie_booking_figures",
        help="Untaxed amount of the invoice minus the value of its linked hours.",
    )
    hie_hours_released = fields.Boolean(
        string="Hours Released",
        copy=False,
        readonly=True,
        help="The booking lines of this invoice were made billable again (cancelled or fully "
        "credited); it cannot be reopened.",
    )
    hie_hours_appendix = fields.Boolean(
        compute="_compute_hie_hours_appendix",
        help="Print the hours specification as an appendix.",
    )

    def _compute_hie_booking_line_ids(self):
        by_move = defaultdict(list)
        for line_id, _move_line_id, move_id in self.env["hie.billing.link"]._read_by_moves(
            self._origin.ids
        ):
            by_move[move_id].append(line_id)
        for move in self:
            move.hie_booking_line_ids = [Command.set(by_move.get(move._origin.id, []))]

    @api.depends("amount_untaxed")
    def _compute_hie_booking_figures(self):
        data = self.env["hie.billing.link"]._read_move_figures(self._origin.ids)
        for move in self:
            count, value = data.get(move._origin.id, (0, 0.0))
            move.hie_booking_line_count = count
            move.hie_hours_value = value
            move.hie_hours_difference = move.amount_untaxed - value if count else 0.0

    @api.depends("hie_project_ids.invoice_hours_appendix")
    def _compute_hie_hours_appendix(self):
        for move in self:
            move.hie_hours_appendix = any(move.hie_project_ids.mapped("invoice_hours_appendix"))

    # ------------------------------------------------------------------
    # Release of billed booking lines (the rules: hie.billing.link)
    # ------------------------------------------------------------------
    def write(self, vals):
        self.env["hie.billing.link"]._check_released_write(self, vals)
        return super().write(vals)

    def unlink(self):
        self.env["hie.billing.link"]._release_moves(self, mark=False)
        return super().unlink()

    def button_cancel(self):
        res = super().button_cancel()
        self.env["hie.billing.link"]._release_moves(
            self.filtered(lambda move: move.state == "cancel"))
        return res

    def button_draft(self):
        self.env["hie.billing.link"]._check_can_reopen(self)
        self._exact_leave_outbox()
        return super().button_draft()

    def _post(self, soft=True):
        self._hie_prefetch_analytic_accounts()
        posted = super()._post(soft=soft)
        self.env["hie.billing.link"]._release_credited(posted)
        posted._exact_enqueue()
        return posted

    def _hie_prefetch_analytic_accounts(self):
        """Read the analytic accounts of the lines to post at once: posting creates the
        analytic lines of the invoice lines, and Odoo reads the account of each line apart
        (``account.move.line._prepare_analytic_distribution_line``: one query per line)."""
        accounts = self.line_ids.distribution_analytic_account_ids
        # only a prefetch: what the user may not read is left to Odoo's own reads
        accounts._filtered_access("read").fetch(["plan_id", "root_plan_id"])

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_hie_view_booking_lines(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "hours_invoicing_exact.action_booking_lines"
        )
        action["domain"] = [("invoice_id", "=", self.id)]
        action["context"] = {"create": False}
        return action

    def action_hie_link_hours(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Link Hours"),
            "res_model": "hie.invoice.link.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_move_id": self.id},
        }

    # ------------------------------------------------------------------
    # Accounting sync (Exact Online or Twinfield): sales entries per document
    # ------------------------------------------------------------------
    hie_exact_outbox_id = fields.Many2one(
        "accounting.outbox", string="Accounting Outbox", compute="_compute_exact_outbox"
    )
    hie_exact_sync_state = fields.Selection(
        selection=lambda self: self.env["accounting.outbox"]._fields["state"].selection,
        string="Accounting Sync",
        compute="_compute_exact_outbox",
    )
    hie_sync_package = fields.Char(
        string="Accounting Package", compute="_compute_exact_outbox",
        help="The accounting package the invoice is sent to (Exact Online or Twinfield).",
    )
    hie_sync_warning = fields.Text(
        string="Accounting Warning", compute="_compute_exact_outbox",
        help="What the accounting package warned about when it stored the invoice.",
    )

    # ------------------------------------------------------------------
    # Payment status read back from the accounting package (information only)
    # ------------------------------------------------------------------
    hie_payment_status = fields.Selection(
        [("open", "Open"), ("partial", "Partly paid"), ("paid", "Paid")],
        string="Status in Accounting Package", readonly=True, copy=False, index=True,
        help="Read from Exact Online or Twinfield by a scheduled action; no payment is "
        "booked in Odoo.",
    )
    hie_payment_open_amount = fields.Monetary(
        string="Open in Accounting Package", readonly=True, copy=False,
        currency_field="currency_id",
    )
    hie_payment_read_at = fields.Datetime(
        string="Payment Status Read At", readonly=True, copy=False)
    hie_payment_status_text = fields.Char(
        string="Accounting Package Status", compute="_compute_hie_payment_status_text")
    hie_payment_read_warning = fields.Char(
        string="Payment Status Warning", compute="_compute_hie_payment_status_text")

    @api.depends("hie_payment_status", "hie_payment_read_at")
    def _compute_hie_payment_status_text(self):
        targets = {"exact": _("Exact Online"), "twinfield": _("Twinfield")}
        for move in self:
            connection = move.sudo().hie_exact_outbox_id.connection_id
            package = targets.get(connection.target, "")
            move.hie_payment_status_text = {
                "open": _("Open in %s", package),
                "partial": _("Partly paid in %s", package),
                "paid": _("Paid in %s", package),
            }.get(move.hie_payment_status, False)
            failed = connection.payment_read_failed_at
            if failed and (not move.hie_payment_read_at or failed >= move.hie_payment_read_at):
                move.hie_payment_read_warning = _(
                    "The last read from %(package)s failed (%(error)s); the status shown is "
                    "the last known one.", package=package,
                    error=connection.payment_read_error or "")
            else:
                move.hie_payment_read_warning = False

    hie_reminder_level = fields.Integer(
        string="Reminder Level", compute="_compute_hie_reminder_level", store=True,
        help="Highest payment reminder level sent for this invoice (0: none yet).")
    hie_reminder_level_id = fields.Many2one(
        "credit.control.policy.level", string="Last Reminder",
        compute="_compute_hie_reminder_level", store=True)
    hie_open_amount = fields.Monetary(
        string="Open Amount", compute="_compute_hie_open_amount", store=True,
        currency_field="currency_id",
        help="Open in the accounting package when the status is read from there, else in Odoo.")
    hie_is_overdue_open = fields.Boolean(
        string="Overdue and Open", compute="_compute_hie_is_overdue_open",
        search="_search_hie_is_overdue_open")

    @api.depends("credit_control_line_ids.state", "credit_control_line_ids.level")
    def _compute_hie_reminder_level(self):
        for move in self:
            sent = move.credit_control_line_ids.filtered(
                lambda line: line.state in ("queued", "sent"))
            last = sent.sorted(lambda line: (line.level, line.id))[-1:]
            move.hie_reminder_level = last.level or 0
            move.hie_reminder_level_id = last.policy_level_id

    @api.depends("amount_residual", "hie_payment_status", "hie_payment_open_amount")
    def _compute_hie_open_amount(self):
        # also set by accounting.connection._apply_payment_status in its set-based UPDATE
        for move in self:
            move.hie_open_amount = (move.hie_payment_open_amount if move.hie_payment_status
                                    else abs(move.amount_residual))

    def _hie_open_domain(self):
        """Domain of the invoices still open: in the accounting package when the status was
        read from there, else in Odoo."""
        return [
            "|",
            ("hie_payment_status", "in", ("open", "partial")),
            "&", ("hie_payment_status", "=", False),
            ("payment_state", "in", ("not_paid", "partial")),
        ]

    def _compute_hie_is_overdue_open(self):
        today = fields.Date.context_today(self)
        open_moves = self._hie_is_open_for_reminders()
        for move in self:
            move.hie_is_overdue_open = (
                move in open_moves and move.move_type == "out_invoice"
                and bool(move.invoice_date_due) and move.invoice_date_due < today)

    def _search_hie_is_overdue_open(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(_("Unsupported search on overdue invoices."))
        domain = [
            ("move_type", "=", "out_invoice"), ("state", "=", "posted"),
            ("invoice_date_due", "<", fields.Date.context_today(self)),
            *self._hie_open_domain(),
        ]
        return domain if (operator == "=") == value else [
            "!", *expression.normalize_domain(domain)]

    def _hie_is_open_for_reminders(self):
        """The invoices of ``self`` that are still open: in the accounting package when the
        status was read from it (a synced invoice is paid there, not in Odoo: until its
        status is read, it gets no reminder), else in Odoo."""
        synced = set(self.env["accounting.outbox"].sudo().search([
            ("res_model", "=", OUTBOX_MODEL), ("res_id", "in", self.ids),
            ("state", "=", "sent"),
        ]).mapped("res_id"))
        # in a memorial-entry mode the package holds the period's totals, not the invoice:
        # whether it is paid there cannot be read, so it gets no automatic reminder
        synced |= set(self._hie_in_memorial_sync().ids)
        return self.filtered(
            lambda move: move.hie_payment_status in ("open", "partial")
            if move.hie_payment_status or move.id in synced
            else move.payment_state in ("not_paid", "partial")
        )

    def _hie_in_memorial_sync(self):
        """The invoices of ``self`` that reach the accounting package inside memorial entries
        (company in a per-day / per-month / manual mode, journal in its memorial journals,
        on or after the connection's sync start date)."""
        result = self.browse()
        connections = self.env["accounting.connection"].sudo().search(
            [("company_id", "in", self.company_id.ids)])
        for company in self.company_id.filtered(
                lambda c: c.hie_period_sync_mode not in ("document", False)):
            own = connections.filtered(lambda c, company=company: c.company_id == company)
            if not own:
                continue
            starts = [c.sync_start_date for c in own if c.sync_start_date]
            start = min(starts) if starts else False
            result |= self.filtered(
                lambda m, c=company, s=start: m.company_id == c
                and m.journal_id in c.hie_period_sync_journal_ids
                and (not s or m.date >= s))
        return result

    def _compute_exact_outbox(self):
        records = self.env["accounting.outbox"].sudo().search(
            [("res_model", "=", OUTBOX_MODEL), ("res_id", "in", self.ids)], order="id"
        )
        by_move = {record.res_id: record for record in records}
        for move in self:
            record = by_move.get(move.id)
            move.hie_exact_outbox_id = record.id if record else False
            move.hie_exact_sync_state = record.state if record else False
            move.hie_sync_package = record.connection_id._get_package_name() if record \
                else False
            move.hie_sync_warning = record.warning if record else False

    def _exact_leave_outbox(self):
        """Called by ``button_draft``. Entries in Exact cannot be edited: an invoice Exact has
        (or may have) cannot go back to draft - it is corrected with a credit note. One not
        sent yet leaves the outbox and is queued again, with its new amounts, when it is
        posted again."""
        records = self.env["accounting.outbox"].sudo().search(
            [("res_model", "=", OUTBOX_MODEL), ("res_id", "in", self.ids)]
        )
        in_exact = records.filtered(lambda record: record.state in ("sent", "sending"))
        if in_exact:
            record = in_exact[0]
            raise UserError(_(
                "Invoice %(invoice)s is already in %(package)s (entry %(entry)s) and entries "
                "there cannot be changed. Correct it with a credit note instead.",
                invoice=record.reference, package=record.connection_id._get_package_name(),
                entry=record.remote_number or _("being sent"),
            ))
        queued = set(records.mapped("res_id"))
        in_memorial = self.filtered(lambda move: move.id not in queued)._exact_in_memorial()
        if in_memorial:
            move = in_memorial[0]
            package = self.env["accounting.connection"]._get_target_label(
                self.env["accounting.connection"]._get_company_target(move.company_id))
            raise UserError(_(
                "Invoice %(invoice)s is in %(package)s in the memorial entry of its period, "
                "and the company no longer sends memorial entries, so a change would not reach "
                "%(package)s. Correct it with a credit note instead.",
                invoice=move.display_name, package=package,
            ))
        records.unlink()
        self.invalidate_recordset(["hie_exact_outbox_id", "hie_exact_sync_state"])

    def _exact_in_memorial(self):
        """Return the moves of ``self`` carried by an active (queued or sent) memorial entry
        of a company that no longer sends memorial entries (per document): a memorial entry
        sums a period and is corrected only by a later memorial run."""
        result = self.browse()
        Entry = self.env["accounting.period.entry"].sudo()
        for company in self.company_id.filtered(
            lambda c: c.hie_period_sync_mode in ("document", False)
        ):
            moves = self.filtered(
                lambda m, c=company: m.company_id == c and m.state == "posted"
                and m.journal_id in c.hie_period_sync_journal_ids
            )
            if not moves:
                continue
            entries = Entry.search([
                ("company_id", "=", company.id), ("state", "in", ("to_send", "sent")),
                ("date_from", "<=", max(moves.mapped("date"))),
                ("date_to", ">=", min(moves.mapped("date"))),
            ])
            result |= moves.filtered(lambda m, e=entries: any(
                entry.date_from <= m.date <= entry.date_to for entry in e))
        return result

    def _exact_enqueue(self):
        """Create the outbox records of the moves that must be sent as sales entries (once per
        move). Only companies that sync per document send sales entries; in the other modes
        the invoices reach Exact in the memorial entry of their period (which leaves out the
        invoices that have a sales entry, see ``accounting.period.entry._period_rows``)."""
        Connection = self.env["accounting.connection"].sudo()
        Outbox = self.env["accounting.outbox"].sudo()
        candidates = self.filtered(
            lambda move: move.move_type in ("out_invoice", "out_refund")
            and move.state == "posted"
            and move.company_id.hie_period_sync_mode in ("document", False)
        )
        if not candidates:
            return
        connections = Connection.search([("company_id", "in", candidates.company_id.ids)])
        existing = set(Outbox.search(
            [("res_model", "=", OUTBOX_MODEL), ("res_id", "in", candidates.ids)]
        ).mapped("res_id"))
        values = []
        for move in candidates:
            # the connection (Exact Online or Twinfield) that syncs the move's journal
            connection = connections.filtered(
                lambda c, m=move: c.company_id == m.company_id
                and m.journal_id in c.sync_journal_ids)[:1]
            if (
                not connection
                or move.id in existing
                or (connection.sync_start_date and move.date < connection.sync_start_date)
            ):
                continue
            values.append({
                "connection_id": connection.id,
                "res_model": OUTBOX_MODEL,
                "res_id": move.id,
                "reference": move.name,
                "kind": "sales_entry",
                "payload": move._exact_prepare_sales_payload(),
                "state": Outbox._get_initial_state(connection),
            })
        Outbox.create(values)
        candidates.invalidate_recordset(["hie_exact_outbox_id", "hie_exact_sync_state"])

    def _exact_prepare_sales_payload(self):
        """Return the outbox payload: amounts per revenue account and tax, as printed, each
        with its share of Odoo's VAT (sent as ``VATAmountFC``, so Exact's VAT and total equal
        Odoo's to the cent whatever Odoo's rounding method; Exact would otherwise compute the
        VAT of each summed line itself)."""
        self.ensure_one()
        groups, several_taxes = {}, []
        # Twinfield cost centres: lines split by analytic account (a line of an analytic
        # distribution over several accounts in parts), when the company sends them
        cost_centres = bool(self.company_id.hie_twf_cost_centre_dim)
        net = defaultdict(float)  # (account, tax) -> amount as printed
        for line in self.invoice_line_ids.filtered(lambda aml: aml.display_type == "product"):
            if len(line.tax_ids) > 1:  # refused when sent: a sales entry line has one VAT code
                several_taxes.append(line.name or line.account_id.display_name)
            tax = line.tax_ids[:1]
            net[(line.account_id.id, tax.id)] += line.price_subtotal
            shares = line._hie_cost_centre_shares() if cost_centres else [(False, 1.0)]
            for analytic_id, share in shares:
                key = (line.account_id.id, tax.id, analytic_id)
                group = groups.setdefault(key, {
                    "account_id": line.account_id.id, "tax_id": tax.id or False, "amount": 0.0,
                    "vat_amount": 0.0, "description": line.account_id.name,
                })
                if analytic_id:
                    group["analytic_id"] = analytic_id
                group["amount"] += line.price_subtotal * share
        for group in groups.values():
            group["amount"] = self.currency_id.round(group["amount"])
        # the parts of an (account, tax) add up to its amount as printed, to the cent
        for (account_id, tax_id), amount in net.items():
            members = [group for group in groups.values()
                       if (group["account_id"], group["tax_id"] or None) == (account_id,
                                                                           tax_id or None)]
            rest = self.currency_id.round(self.currency_id.round(amount)
                                          - sum(group["amount"] for group in members))
            if rest and members:
                largest = max(members, key=lambda group: abs(group["amount"]))
                largest["amount"] = self.currency_id.round(largest["amount"] + rest)
        self._exact_spread_vat(list(groups.values()))
        return {
            "number": self.name,
            "date": fields.Date.to_string(self.invoice_date or self.date),
            "due_date": fields.Date.to_string(self.invoice_date_due) if self.invoice_date_due
            else None,
            "currency": self.currency_id.name,
            "credit_note": self.move_type == "out_refund",
            "description": self.ref or self.name,
            "partner_id": self.commercial_partner_id.id,
            "journal_id": self.journal_id.id,
            "lines": list(groups.values()),
            "several_taxes": several_taxes,
        }

    def _exact_get_vat_by_tax(self):
        """Return ``{tax id: VAT as printed}`` of the move, from its tax lines (what Odoo
        booked, rounded per line or globally as the company says)."""
        self.ensure_one()
        sign = -1 if self.move_type == "out_invoice" else 1
        vat = {}
        for line in self.line_ids.filtered("tax_line_id"):
            tax_id = line.tax_line_id.id
            vat[tax_id] = vat.get(tax_id, 0.0) + sign * line.amount_currency
        return vat

    def _exact_spread_vat(self, groups):
        """Give each group (dict with ``tax_id``, ``amount``) its ``vat_amount``: the VAT of
        its tax, spread over the groups of that tax by amount; the cents left by rounding go
        to the largest group, so the VAT per tax equals Odoo's exactly."""
        currency = self.currency_id
        for tax_id, vat in self._exact_get_vat_by_tax().items():
            members = [group for group in groups if group["tax_id"] == tax_id]
            if not members:
                continue
            base = sum(group["amount"] for group in members)
            for group in members:
                group["vat_amount"] = currency.round(vat * group["amount"] / base) if base \
                    else 0.0
            largest = max(members, key=lambda group: abs(group["amount"]))
            rest = currency.round(vat - sum(group["vat_amount"] for group in members))
            largest["vat_amount"] = currency.round(largest["vat_amount"] + rest)

    def action_open_exact_outbox(self):
        self.ensure_one()
        if not self.hie_exact_outbox_id:
            return False
        return {
            "type": "ir.actions.act_window",
            "name": _("Accounting Outbox"),
            "res_model": "accounting.outbox",
            "res_id": self.hie_exact_outbox_id.id,
            "view_mode": "form",
        }
