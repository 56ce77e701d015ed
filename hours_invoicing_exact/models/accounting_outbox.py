# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..services.exact.adapters import ExactSalesEntryAdapter
from ..services.exact.journal_adapter import ExactGeneralJournalAdapter
from ..services.outbox import RecordRejected
from ..sync.db_stores import own_env


class MappedAdapter:
    """Adapter whose payloads are translated (Odoo ids -> Exact codes and GUIDs) just
    before the write; a missing mapping or an invalid number rejects the record with the
    message of the UserError, before any call."""

    def __init__(self, inner, prepare):
        self.inner = inner
        self.prepare = prepare

    def post(self, payload):
        try:
            prepared = self.prepare(payload)
        except UserError as exc:
            raise RecordRejected(str(exc.args[0] if exc.args else exc)) from exc
        return self.inner.post(prepared)

    def lookup(self, references):
        return self.inner.lookup(references)


class AccountingOutbox(models.Model):
    """What must be sent to the accounting package, exactly once."""

    _name = "accounting.outbox"
    _description = "Accounting Sync Outbox"
    _order = "id desc"
    _rec_name = "reference"

    company_id = fields.Many2one(related="connection_id.company_id", store=True, index=True)
    connection_id = fields.Many2one(
        "accounting.connection", required=True, ondelete="restrict", index=True
    )
    res_model = fields.Char(string="Document Model", required=True, index=True)
    res_id = fields.Many2oneReference(string="Document ID", model_field="res_model", index=True)
    reference = fields.Char(
        required=True, help="Looked up in the accounting package (YourRef) before any resend."
    )
    kind = fields.Selection(
        [("sales_entry", "Sales entry"), ("general_journal_entry", "General journal entry")],
        required=True,
    )
    payload = fields.Json()
    state = fields.Selection(
        [
            ("to_send", "To send"),
            ("sending", "Sending"),
            ("sent", "Sent"),
            ("error", "Error"),
            ("reconnect_needed", "Reconnect needed"),
            ("cancelled", "Cancelled"),
        ],
        default="to_send",
        required=True,
        index=True,
    )
    remote_id = fields.Char(string="Entry ID", readonly=True)
    remote_number = fields.Char(string="Entry Number", readonly=True)
    attempts = fields.Integer(readonly=True)
    last_error = fields.Text(readonly=True)
    last_attempt_at = fields.Datetime(readonly=True)
    sent_at = fields.Datetime(readonly=True)
    document_name = fields.Char(compute="_compute_document_name")

    _sql_constraints = [
        (
            "reference_uniq",
            "unique(connection_id, reference)",
            "The reference is already in the outbox of this connection.",
        ),
    ]

    def _compute_document_name(self):
        for record in self:
            document = record.res_model and self.env[record.res_model].browse(record.res_id)
            record.document_name = document.exists().display_name if document else ""

    # -- engine hooks ------------------------------------------------------------------

    def _get_adapter(self, client=None, run_cache=None):
        """Return the outbox Adapter of the records' kind (one kind per call);
        ``run_cache``: what this run learnt from Exact (see ``_prepare_sales_entry``)."""
        kind = self[:1].kind
        connection = self[:1].connection_id
        if kind == "sales_entry":
            client = client or connection._get_exact_client()
            return MappedAdapter(
                ExactSalesEntryAdapter(client),
                lambda payload: connection._prepare_sales_entry(payload, client, run_cache),
            )
        if kind == "general_journal_entry":
            # the period entry checked Exact's journal status before queueing the entry
            return ExactGeneralJournalAdapter(
                client or connection._get_exact_client(), check_period=False
            )
        raise UserError(_("No adapter for outbox records of kind %s.", kind))

    # -- actions -------------------------------------------------------------------------

    def action_open_document(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": self.res_model,
            "res_id": self.res_id,
            "view_mode": "form",
        }

    def action_send_now(self):
        """Send these records now (those due); the same locks as the scheduled run."""
        self.env["accounting.connection"]._check_manager()
        for connection in self.connection_id:
            records = self.filtered(lambda record, c=connection: record.connection_id == c)
            report = connection.sudo()._process_outbox(record_ids=records.ids)
            if report.stopped:
                raise UserError(report.stopped)
        return True

    def action_retry(self):
        """Put records in error back to send (attempts reset), then send them."""
        self.env["accounting.connection"]._check_manager()
        failed = self.filtered(lambda record: record.state == "error")
        if not failed:
            raise UserError(_("Only records in error can be retried."))
        # In a transaction of its own: the sending cursors must see the new state.
        for connection in failed.connection_id:
            records = failed.filtered(lambda r, c=connection: r.connection_id == c)
            with own_env(connection._get_cursor_factory()) as env:
                env[self._name].browse(records.ids).write({"state": "to_send", "attempts": 0})
        self.invalidate_recordset()
        return failed.action_send_now()

    @api.model
    def _cron_process(self, batch=100):
        """Scheduled run: every connected connection, ``batch`` records at most each."""
        done, stopped = 0, False
        Outbox = self.sudo()
        connections = self.env["accounting.connection"].sudo().search(
            [("state", "=", "connected"), ("division", "!=", 0)]
        )
        for connection in connections:
            report = connection._process_outbox(limit=batch)
            done += report.posted + report.recovered + report.rejected
            stopped = stopped or bool(report.stopped)
        remaining = Outbox.search_count(
            [("connection_id", "in", connections.ids), ("state", "in", ("to_send", "sending")),
             ("connection_id.state", "=", "connected")]
        )
        # A stopped run (daily budget, Exact unavailable) waits for the next interval.
        self.env["ir.cron"]._notify_progress(done=done, remaining=0 if stopped else remaining)
        return done
