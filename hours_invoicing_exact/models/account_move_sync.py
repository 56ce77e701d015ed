# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import _, fields, models
from odoo.exceptions import UserError

OUTBOX_MODEL = "account.move"


class AccountMove(models.Model):
    """Customer invoices and credit notes posted in a synced journal go to the outbox."""

    _inherit = "account.move"

    exact_outbox_id = fields.Many2one(
        "accounting.outbox", string="Exact Online Outbox", compute="_compute_exact_outbox"
    )
    exact_sync_state = fields.Selection(
        selection=lambda self: self.env["accounting.outbox"]._fields["state"].selection,
        string="Exact Online",
        compute="_compute_exact_outbox",
    )

    def _compute_exact_outbox(self):
        records = self.env["accounting.outbox"].sudo().search(
            [("res_model", "=", OUTBOX_MODEL), ("res_id", "in", self.ids)], order="id"
        )
        by_move = {record.res_id: record for record in records}
        for move in self:
            record = by_move.get(move.id)
            move.exact_outbox_id = record.id if record else False
            move.exact_sync_state = record.state if record else False

    def button_draft(self):
        """Entries in Exact cannot be edited: an invoice Exact has (or may have) cannot go back
        to draft — it is corrected with a credit note. One not sent yet leaves the outbox and
        is queued again, with its new amounts, when it is posted again."""
        records = self.env["accounting.outbox"].sudo().search(
            [("res_model", "=", OUTBOX_MODEL), ("res_id", "in", self.ids)]
        )
        in_exact = records.filtered(lambda record: record.state in ("sent", "sending"))
        if in_exact:
            record = in_exact[0]
            raise UserError(_(
                "Invoice %(invoice)s is already in Exact Online (entry %(entry)s) and entries "
                "in Exact cannot be changed. Correct it with a credit note instead.",
                invoice=record.reference,
                entry=record.remote_number or _("being sent"),
            ))
        records.unlink()
        self.invalidate_recordset(["exact_outbox_id", "exact_sync_state"])
        return super().button_draft()

    def _post(self, soft=True):
        posted = super()._post(soft=soft)
        posted._exact_enqueue()
        return posted

    def _exact_enqueue(self):
        """Create the outbox records of the moves that must be sent (once per move)."""
        Connection = self.env["accounting.connection"].sudo()
        Outbox = self.env["accounting.outbox"].sudo()
        candidates = self.filtered(lambda move: move.move_type in ("out_invoice", "out_refund"))
        if not candidates:
            return
        connections = Connection.search(
            [("company_id", "in", candidates.company_id.ids), ("target", "=", "exact")]
        )
        existing = set(Outbox.search(
            [("res_model", "=", OUTBOX_MODEL), ("res_id", "in", candidates.ids)]
        ).mapped("res_id"))
        values = []
        for move in candidates:
            connection = connections.filtered(lambda c, m=move: c.company_id == m.company_id)
            if (
                not connection
                or move.id in existing
                or move.journal_id not in connection.sync_journal_ids
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
                "state": "reconnect_needed" if connection.state == "reconnect_needed"
                else "to_send",
            })
        Outbox.create(values)
        candidates.invalidate_recordset(["exact_outbox_id", "exact_sync_state"])

    def _exact_prepare_sales_payload(self):
        """Return the outbox payload: amounts per revenue account and tax, as printed."""
        self.ensure_one()
        groups, several_taxes = {}, []
        for line in self.invoice_line_ids.filtered(lambda aml: aml.display_type == "product"):
            if len(line.tax_ids) > 1:  # refused when sent: a sales entry line has one VAT code
                several_taxes.append(line.name or line.account_id.display_name)
            tax = line.tax_ids[:1]
            key = (line.account_id.id, tax.id)
            group = groups.setdefault(key, {
                "account_id": line.account_id.id, "tax_id": tax.id or False, "amount": 0.0,
                "description": line.account_id.name,
            })
            group["amount"] += line.price_subtotal
        for group in groups.values():
            group["amount"] = self.currency_id.round(group["amount"])
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

    def action_open_exact_outbox(self):
        self.ensure_one()
        if not self.exact_outbox_id:
            return False
        return {
            "type": "ir.actions.act_window",
            "name": _("Exact Online Outbox"),
            "res_model": "accounting.outbox",
            "res_id": self.exact_outbox_id.id,
            "view_mode": "form",
        }
