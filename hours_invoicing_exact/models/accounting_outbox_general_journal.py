# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models

from ..services.exact.journal_adapter import ExactGeneralJournalAdapter


class AccountingOutbox(models.Model):
    """Outbox records of kind general journal entry: period memorial entries."""

    _inherit = "accounting.outbox"

    kind = fields.Selection(
        selection_add=[("general_journal_entry", "General journal entry")],
        ondelete={"general_journal_entry": "cascade"},
    )

    def _get_adapter(self, client=None, run_cache=None):
        if self[:1].kind == "general_journal_entry":
            # the period entry checked Exact's journal status before queueing the entry
            return ExactGeneralJournalAdapter(
                client or self[:1].connection_id._get_exact_client(), check_period=False
            )
        return super()._get_adapter(client, run_cache=run_cache)
