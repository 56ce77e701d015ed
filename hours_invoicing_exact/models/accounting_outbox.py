# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""PLACEHOLDER for part 1's ``accounting.outbox`` (branch exact-odoo).

The contract only: fields, ``_get_adapter()`` per kind, and ``_send_records()`` running the
exactly-once engine on the given records. The real model commits every state change in the
cron (here commits are skipped in test mode) and has views, Retry/Send now and the cron.
Drop this file when merging branch exact-odoo.
"""

import threading

from odoo import _, fields, models
from odoo.exceptions import UserError

from ..services.outbox import OutboxEngine, OutboxRecord


class _Repository:
    """Repository of the outbox engine over ``accounting.outbox`` records (placeholder)."""

    def __init__(self, records):
        self.records = records
        self.env = records.env
        self.todo = list(records)

    def _commit(self):
        if not getattr(threading.current_thread(), "testing", False):
            self.env.cr.commit()  # pylint: disable=invalid-commit

    def claim(self, limit):
        batch, self.todo = self.todo[:limit], self.todo[limit:]
        claimed = []
        for rec in batch:
            if rec.state not in ("to_send", "sending"):
                continue
            self.env.cr.execute(
                "SELECT id FROM accounting_outbox WHERE id = %s FOR UPDATE SKIP LOCKED", [rec.id]
            )
            if self.env.cr.fetchone():
                claimed.append(
                    OutboxRecord(
                        rec.id, rec.reference, rec.payload,
                        "sending" if rec.state == "sending" else "pending",
                        rec.attempts, rec.remote_id, rec.remote_number, rec.last_error,
                    )
                )
        return claimed

    def release(self, records):
        return None

    def _write(self, record, values):
        self.env["accounting.outbox"].browse(record.id).write(values)
        self._commit()

    def mark_sending(self, record):
        record.attempts += 1
        self._write(record, {"state": "sending", "attempts": record.attempts})
        record.state = "sending"

    def mark_sent(self, record, remote_id, remote_number):
        self._write(record, {"state": "sent", "remote_id": remote_id,
                             "remote_number": remote_number, "last_error": False})

    def mark_pending(self, record, message):
        self._write(record, {"state": "to_send", "last_error": message})

    def note_unknown(self, record, message):
        self._write(record, {"last_error": message})

    def mark_error(self, record, message):
        self._write(record, {"state": "error", "last_error": message})

    def mark_reconnect_needed(self, message):
        self.records.connection_id.write({"state": "reconnect_needed"})
        self.records.write({"state": "reconnect_needed", "last_error": message})
        self._commit()


class AccountingOutbox(models.Model):
    _name = "accounting.outbox"
    _description = "Accounting outbox (placeholder of part 1)"
    _order = "id"

    company_id = fields.Many2one("res.company", required=True)
    connection_id = fields.Many2one("accounting.connection", required=True, ondelete="restrict")
    res_model = fields.Char()
    res_id = fields.Many2oneReference(model_field="res_model")
    reference = fields.Char(required=True)
    kind = fields.Selection([("sales_entry", "Sales entry")], required=True)
    payload = fields.Json()
    state = fields.Selection(
        [
            ("to_send", "To send"), ("sending", "Sending"), ("sent", "Sent"),
            ("error", "Error"), ("reconnect_needed", "Reconnect needed"),
        ],
        default="to_send",
        required=True,
    )
    remote_id = fields.Char()
    remote_number = fields.Char()
    attempts = fields.Integer()
    last_error = fields.Text()

    _sql_constraints = [
        ("reference_unique", "unique(connection_id, reference)", "Reference must be unique."),
    ]

    def _get_adapter(self):
        raise UserError(_("No adapter for outbox records of kind %s.", self[:1].kind))

    def _send_records(self):
        """Send these records exactly once (one engine run per connection and kind)."""
        groups = {}
        for record in self:
            groups.setdefault((record.connection_id, record.kind), self.browse())
            groups[(record.connection_id, record.kind)] |= record
        for records in groups.values():
            engine = OutboxEngine(_Repository(records), records[:1]._get_adapter())
            engine.run()
        return True
