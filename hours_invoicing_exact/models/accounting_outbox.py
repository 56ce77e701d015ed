# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import json
import logging

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..services.exact.adapters import ExactSalesEntryAdapter
from ..services.exact.journal_adapter import ExactGeneralJournalAdapter
from ..services.outbox import OutboxEngine, ReconnectNeeded, RecordRejected, RunReport, SyncError
from ..services.twinfield.adapters import TwinfieldJournalAdapter, TwinfieldSalesAdapter
from ..sync.db_stores import DUE_STATES, DbOutboxRepository, open_cursor, own_env

_logger = logging.getLogger(__name__)


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


class MappedBatchAdapter(MappedAdapter):
    """:class:`MappedAdapter` of an adapter that writes several records in one call
    (``post_batch``): a record whose translation fails is refused alone, the others go."""

    def __init__(self, inner, prepare):
        super().__init__(inner, prepare)
        self.post_batch_size = inner.post_batch_size

    def post_batch(self, payloads):
        outcomes, prepared = [None] * len(payloads), []
        for index, payload in enumerate(payloads):
            try:
                prepared.append((index, self.prepare(payload)))
            except UserError as exc:
                outcomes[index] = RecordRejected(str(exc.args[0] if exc.args else exc))
            except RecordRejected as exc:  # e.g. the customer refused by the target
                outcomes[index] = exc
        if prepared:
            answers = self.inner.post_batch([payload for _index, payload in prepared])
            for (index, _payload), outcome in zip(prepared, answers, strict=True):
                outcomes[index] = outcome
        return outcomes


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
    warning = fields.Text(
        readonly=True, copy=False,
        help="Warnings the accounting package gave with its answer (Twinfield: messages of "
        "type warning in an accepted transaction). The record was stored all the same.",
    )
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

    # -- per-kind hooks -----------------------------------------------------------------

    def _get_adapter(self, client=None, run_cache=None):
        """Return the outbox Adapter of the records' target and kind (one of each per call):
        ``_get_adapter_<target>_<kind>``; ``run_cache``: what this run learnt from the
        target (see ``accounting.connection._prepare_sales_entry``)."""
        record = self[:1]
        method = getattr(self, f"_get_adapter_{record.connection_id.target}_{record.kind}", None)
        if method is None:
            raise UserError(_("No adapter for outbox records of kind %s.", record.kind))
        return method(client or record.connection_id._get_client(), run_cache)

    def _get_adapter_exact_sales_entry(self, client, run_cache):
        connection = self[:1].connection_id
        return MappedAdapter(
            ExactSalesEntryAdapter(client),
            lambda payload: connection._prepare_sales_entry(payload, client, run_cache),
        )

    def _get_adapter_exact_general_journal_entry(self, client, run_cache):
        # the period entry checked Exact's journal status before queueing the entry
        return ExactGeneralJournalAdapter(client, check_period=False)

    def _get_adapter_twinfield_sales_entry(self, client, run_cache):
        connection = self[:1].connection_id
        return MappedBatchAdapter(
            TwinfieldSalesAdapter(
                client, batch_size=self._get_batch_size(),
                is_closed=connection._twinfield_is_closed(client, run_cache),
            ),
            lambda payload: connection._twinfield_prepare_sales(payload, client, run_cache),
        )

    def _get_adapter_twinfield_general_journal_entry(self, client, run_cache):
        # the period entry checked Twinfield's period before queueing the entry
        connection = self[:1].connection_id
        return TwinfieldJournalAdapter(
            client, batch_size=self._get_batch_size(),
            code=connection._get_period_journal_code(connection.company_id))

    def _prepare_run_exact_sales_entry(self, connection, payloads, client, run_cache):
        """Before the sales entries of a run: look the relations of their partners up in
        batches (one call for several partners). Return the number of calls."""
        partner_ids = {payload.get("partner_id") for payload in payloads}
        try:
            return connection._prefetch_relations(
                self.env["res.partner"].browse([pid for pid in partner_ids if pid]),
                client, run_cache,
            )
        except RecordRejected as exc:
            # each record looks its relation up when it is posted
            _logger.info("Exact Online: batched relation look-up refused: %s", exc.message)
            return 0

    # -- lost connection --------------------------------------------------------------------

    @api.model
    def _get_initial_state(self, connection):
        """State of a new record: it waits for a new consent when the connection lost its
        authorization."""
        return "reconnect_needed" if connection.state == "reconnect_needed" else "to_send"

    @api.model
    def _park_for_reconnect(self, connection):
        """The connection lost its authorization: its records to send wait for a new consent
        (``accounting.connection._finish_authorization`` puts them back to send)."""
        self.search([("connection_id", "=", connection.id), ("state", "=", "to_send")]).write(
            {"state": "reconnect_needed"})

    # -- processing ------------------------------------------------------------------------

    @api.model
    def _get_batch_size(self):
        return 20

    @api.model
    def _read_due(self, connection, cursor_factory, record_ids=None, limit=None):
        """Return ``(connection state, {kind: [payload, ...]})`` of the due records, oldest
        first, read in a cursor of ``cursor_factory``: a snapshot of what is committed now
        (the caller's transaction may be older than, e.g., the reset of a retry)."""
        cr = open_cursor(cursor_factory)
        try:
            cr.execute("SELECT state FROM accounting_connection WHERE id = %s", (connection.id,))
            row = cr.fetchone()
            where, params = "connection_id = %s AND state IN %s", [connection.id, DUE_STATES]
            if record_ids is not None:
                where += " AND id IN %s"
                params.append(tuple(record_ids) or (0,))
            cr.execute(
                f"SELECT kind, payload FROM accounting_outbox WHERE {where} ORDER BY id",
                params,
            )
            due = {}
            for kind, payload in cr.fetchall():
                payloads = due.setdefault(kind, [])
                if limit is None or len(payloads) < limit:
                    payloads.append(json.loads(payload) if isinstance(payload, str)
                                    else payload or {})
        finally:
            cr.close()
        return (row[0] if row else False), due

    @api.model
    def _process(self, connection, limit=None, record_ids=None, cursor_factory=None):
        """Send the due records of ``connection`` through the exactly-once engine, kind by
        kind; return the :class:`RunReport`.

        The engine claims, marks and commits the records in cursors of its own (``cursor
        factory``, by default the registry's): the caller's transaction is never
        committed, whether the cron or a button runs this. What was committed before the
        call (e.g. the reset of a retry) is what gets sent.
        """
        connection.ensure_one()
        self.env.flush_all()
        total = RunReport()
        factory = cursor_factory or connection._get_cursor_factory()
        state, due = self._read_due(connection, factory, record_ids, limit)
        client = None
        run_cache = {"relations": {}, "relations_not_found": set(), "closed_periods": {},
                     "cursor_factory": factory}
        for kind, payloads in due.items():
            if state != "connected":
                break
            client = client or connection._get_client(cursor_factory=factory)
            records = self.sudo().new({"connection_id": connection.id, "kind": kind})
            prepare = getattr(records, f"_prepare_run_{connection.target}_{kind}", None)
            try:
                if prepare:
                    total.lookups += prepare(connection, payloads, client, run_cache)
            except SyncError as exc:
                total.stopped = exc.message
                if isinstance(exc, ReconnectNeeded):
                    total.reconnect_needed = True
                    connection._set_reconnect_needed_own_transaction(exc.message)
                break
            repository = DbOutboxRepository(factory, connection.id, kind, record_ids=record_ids)
            adapter = records._get_adapter(client, run_cache=run_cache)
            engine = OutboxEngine(repository, adapter, batch_size=self._get_batch_size())
            try:
                report = engine.run(limit=limit)
            finally:
                self._store_warnings(connection, getattr(
                    getattr(adapter, "inner", adapter), "warnings", None), factory)
            for field in ("posted", "recovered", "rejected", "unknown", "lookups"):
                setattr(total, field, getattr(total, field) + getattr(report, field))
            if report.stopped:
                total.stopped, total.resume_at = report.stopped, report.resume_at
                total.reconnect_needed = report.reconnect_needed
                break
        connection.invalidate_recordset()
        self.invalidate_model()
        return total

    @api.model
    def _store_warnings(self, connection, warnings, cursor_factory):
        """Keep the warnings the target gave (``{reference: [text]}``) on the records and
        tell them in the chatter of their documents; committed at once, as the records'
        states are."""
        if not warnings:
            return
        try:
            with own_env(cursor_factory) as env:
                env = env(context=dict(env.context, lang=self.env.lang))  # the user's words
                records = env[self._name].search([
                    ("connection_id", "=", connection.id),
                    ("reference", "in", list(warnings))])
                for record in records:
                    text = "\n".join(warnings[record.reference])
                    if record.warning == text:
                        continue
                    record.warning = text
                    document = record.res_model in env and env[record.res_model].browse(
                        record.res_id).exists()
                    if document and hasattr(document, "message_post"):
                        document.message_post(body=record._get_warning_message(text))
        except Exception:  # informational: never let it hide the run's own outcome
            _logger.exception("Warnings of %s could not be stored: %s", connection.target,
                              warnings)
        self.invalidate_model(["warning"])

    def _get_warning_message(self, text):
        """Chatter text of a warning of the record's target."""
        self.ensure_one()
        return _("%(package)s gave a warning on %(reference)s: %(warning)s",
                 package=self.connection_id._get_package_name(), reference=self.reference,
                 warning=text)

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
            report = self.sudo()._process(connection, record_ids=records.ids)
            if report.stopped:
                raise UserError(report.stopped)
        return True

    def action_retry(self):
        """Put records in error back to send (attempts reset), then send them at once.

        The reset is committed in a transaction of its own, so that the engine's cursors
        see it; the sending reads what is due in a fresh snapshot (not this transaction's,
        which predates the reset)."""
        self.env["accounting.connection"]._check_manager()
        failed = self.filtered(lambda record: record.state == "error")
        if not failed:
            raise UserError(_("Only records in error can be retried."))
        self.env.flush_all()  # nothing of this transaction may overwrite the reset later
        for connection in failed.connection_id:
            records = failed.filtered(lambda r, c=connection: r.connection_id == c)
            with own_env(connection._get_cursor_factory()) as env:
                env[self._name].browse(records.ids).write(
                    {"state": "to_send", "attempts": 0, "last_error": False})
        self.invalidate_recordset()
        stopped = []
        for connection in failed.connection_id:
            records = failed.filtered(lambda r, c=connection: r.connection_id == c)
            report = self.sudo()._process(connection, record_ids=records.ids)
            if report.stopped:
                stopped.append(report.stopped)
        if not stopped:
            return True
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "warning",
                "sticky": True,
                "title": _("Queued for %s", failed.connection_id[:1]._get_package_name()),
                "message": _("The records are queued again but could not be sent now "
                             "(%(reasons)s). The scheduled run sends them as soon as "
                             "%(package)s accepts calls again.", reasons="; ".join(stopped),
                             package=failed.connection_id[:1]._get_package_name()),
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    @api.model
    def _cron_process(self, batch=100):
        """Scheduled run: every connected connection, ``batch`` records at most each."""
        done, stopped = 0, False
        Outbox = self.sudo()
        connections = self.env["accounting.connection"].sudo().search(
            [("state", "=", "connected")]
        ).filtered(lambda connection: connection._is_ready_to_sync())
        for connection in connections:
            report = Outbox._process(connection, limit=batch)
            done += report.posted + report.recovered + report.rejected
            stopped = stopped or bool(report.stopped)
        remaining = Outbox.search_count(
            [("connection_id", "in", connections.ids), ("state", "in", ("to_send", "sending")),
             ("connection_id.state", "=", "connected")]
        )
        # A stopped run (daily budget, Exact unavailable) waits for the next interval.
        self.env["ir.cron"]._notify_progress(done=done, remaining=0 if stopped else remaining)
        return done
