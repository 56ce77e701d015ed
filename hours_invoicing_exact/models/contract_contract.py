# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging
import threading

from psycopg2 import errors as pg_errors

from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.osv import expression
from odoo.tools import mute_logger

_logger = logging.getLogger(__name__)
# a contract that missed this many periods catches up over several days, not in one run
MAX_CATCH_UP_ROUNDS = 24


class ContractContract(models.Model):
    """All our overrides of OCA ``contract.contract`` (recurring invoices):

    - Project, invoice debtor, yearly indexation, automatic posting and e-mailing;
    - Exactly one invoice per contract line and period (:model:`hie.contract.period`);
    - The daily run: one contract at a time, missed periods caught up.
    """

    _inherit = "contract.contract"

    # ------------------------------------------------------------------
    # Fields
    # ------------------------------------------------------------------
    hie_project_id = fields.Many2one(
        comodel_name="project.project",
        string="Project",
        index="btree_not_null",
        tracking=True,
        domain="[('company_id', 'in', (False, company_id))]",
        help="The invoices of this contract go to the project's invoice debtor and count in "
        "the project's profitability and post-calculation.",
    )
    hie_indexation_pct = fields.Float(
        string="Yearly Indexation (%)",
        digits=(16, 2),
        tracking=True,
        help="Prices rise by this percentage on every anniversary of the indexation base "
        "date (rounded to the price's decimals each year). The prices on the lines stay the "
        "base prices.",
    )
    hie_indexation_date = fields.Date(
        string="Indexation Base Date",
        help="The date the prices on the lines are valid from; the first indexation is one "
        "year later. Empty: the start date of the line.",
    )
    hie_auto_post = fields.Boolean(
        string="Post Automatically",
        help="Post the invoices the daily run creates (otherwise they stay draft).",
    )
    hie_auto_send = fields.Boolean(
        string="E-mail Automatically",
        help="E-mail the posted invoices to the invoice debtor (sent in the background by "
        "Odoo's invoice sending, once the run has committed).",
    )
    hie_period_ids = fields.One2many(
        comodel_name="hie.contract.period",
        inverse_name="contract_id",
        string="Invoiced Periods",
        readonly=True,
    )

    @api.constrains("hie_auto_send", "hie_auto_post")
    def _check_hie_auto_send(self):
        for contract in self:
            if contract.hie_auto_send and not contract.hie_auto_post:
                raise ValidationError(_(
                    "Contract “%s” e-mails its invoices automatically: it must post them "
                    "automatically too.", contract.display_name))

    @api.constrains("hie_project_id", "company_id")
    def _check_hie_project_company(self):
        for contract in self:
            project = contract.hie_project_id
            if project.company_id and project.company_id != contract.company_id:
                raise ValidationError(_(
                    "Contract “%(contract)s” belongs to %(company)s, its project "
                    "“%(project)s” to another company.", contract=contract.display_name,
                    company=contract.company_id.name, project=project.display_name))

    @api.ondelete(at_uninstall=False)
    def _unlink_except_invoiced_periods(self):
        invoiced = self.env["hie.contract.period"].sudo().search(
            [("contract_id", "in", self.ids)], limit=1).contract_id
        if invoiced:
            raise UserError(_(
                "Contract “%s” has invoiced periods: archive it instead of deleting it.",
                invoiced.display_name))

    @api.onchange("hie_project_id")
    def _onchange_hie_project_id(self):
        project = self.hie_project_id
        if project.partner_id:
            self.partner_id = project.partner_id
            self._onchange_partner_id()
        if project:
            self.invoice_partner_id = self._hie_invoice_debtor()
            self._hie_set_debtor_fiscal_position()

    @api.onchange("partner_id", "company_id")
    def _onchange_partner_id(self):
        """The invoice debtor of the project, and the fiscal position of the invoice debtor,
        not of the customer (the contract's own onchange takes the customer's)."""
        res = super()._onchange_partner_id()
        if self.hie_project_id:
            self.invoice_partner_id = self._hie_invoice_debtor()
        self._hie_set_debtor_fiscal_position()
        return res

    def _hie_set_debtor_fiscal_position(self):
        debtor = self._hie_invoice_debtor()
        if debtor:
            self.fiscal_position_id = self.env["account.fiscal.position"].with_company(
                self.company_id)._get_fiscal_position(debtor)

    # ------------------------------------------------------------------
    # Invoice debtor, fiscal position
    # ------------------------------------------------------------------
    def _hie_invoice_debtor(self):
        """Who receives the invoices: the project's invoice debtor for a project contract,
        else the contract's invoicing contact, else its customer."""
        self.ensure_one()
        project = self.hie_project_id
        return (project.invoice_partner_id or project.partner_id or self.invoice_partner_id
                or self.partner_id)

    def _hie_fiscal_position(self):
        """The contract's fiscal position, else the invoice debtor's (as Odoo would find it
        for the debtor's country and VAT number)."""
        self.ensure_one()
        return self.fiscal_position_id or self.env["account.fiscal.position"].with_company(
            self.company_id)._get_fiscal_position(self._hie_invoice_debtor())

    def _prepare_invoice(self, date_invoice, journal=None):
        vals = super()._prepare_invoice(date_invoice, journal=journal)
        debtor = self._hie_invoice_debtor()
        vals["partner_id"] = debtor.id
        vals["fiscal_position_id"] = self._hie_fiscal_position().id
        project = self.hie_project_id
        if project:
            vals["hie_project_ids"] = [Command.set(project.ids)]
            vals["hie_principal_id"] = project.partner_id.commercial_partner_id.id
        return vals

    # ------------------------------------------------------------------
    # Exactly one invoice per contract line and period
    # ------------------------------------------------------------------
    def _hie_claim_periods(self, date_ref):
        """Record the periods the next invoice of this contract bills, before the invoice is
        built; the unique index refuses a period billed already (by this transaction's
        predecessors or by a concurrent one, which it waits for). Returns the period rows."""
        self.ensure_one()
        lines = self._get_lines_to_invoice(date_ref or self.recurring_next_date).filtered(
            lambda line: not line.display_type)
        vals_list = []
        for line in lines:
            first, last, day = line._get_period_to_invoice(
                line.last_date_invoiced, line.recurring_next_date)
            if not first:
                continue
            vals_list.append({
                "contract_id": self.id, "contract_line_id": line.id, "date_start": first,
                "date_end": last, "invoice_date": date_ref or day,
                "price_unit": line._hie_indexed_price_unit(first),
            })
        Period = self.env["hie.contract.period"].sudo()
        if not vals_list:
            return Period
        try:
            # the refusal is expected (a second run): no "bad query" error in the log
            with mute_logger("odoo.sql_db"), self.env.cr.savepoint():
                periods = Period.create(vals_list)
                periods.flush_recordset()
        except pg_errors.UniqueViolation:
            raise UserError(_(
                "Contract “%(contract)s”: the period from %(date)s has already been invoiced; "
                "no second invoice is made for it.", contract=self.display_name,
                date=vals_list[0]["date_start"])) from None
        return periods

    def _recurring_create_invoice(self, date_ref=False):
        """One invoice per contract, its periods claimed first (see
        :meth:`_hie_claim_periods`); posted and queued for e-mail when the contract says so.
        Every path goes through here: the daily run, the button, the wizard."""
        moves = self.env["account.move"]
        for contract in self:
            periods = contract._hie_claim_periods(date_ref)
            if not periods:
                continue
            contract_moves = super(ContractContract, contract)._recurring_create_invoice(
                date_ref)
            periods.move_id = contract_moves[:1]
            moves |= contract_moves
            contract._hie_post_and_send(contract_moves)
        return moves

    def _hie_post_and_send(self, moves):
        """Post the invoices when the contract says so, and mark them for Odoo's background
        invoice sending (sent after this transaction commits, never from a rolled-back
        one)."""
        self.ensure_one()
        if not moves or not self.hie_auto_post:
            return
        moves.action_post()
        if self.hie_auto_send:
            moves.sending_data = {
                "author_user_id": self.env.user.id,
                "author_partner_id": self.env.user.partner_id.id,
            }
            self.env.ref("account.ir_cron_account_move_send")._trigger()

    # ------------------------------------------------------------------
    # The daily run
    # ------------------------------------------------------------------
    @api.model
    def _get_contracts_to_invoice_domain(self, date_ref=None):
        """Only contracts with a line left to invoice: an ended contract keeps a date of
        next invoice in the past, and would be looked at again every day."""
        return expression.AND([super()._get_contracts_to_invoice_domain(date_ref), [
            ("contract_line_ids", "any", [
                ("hie_finished", "=", False), ("is_canceled", "=", False),
                ("display_type", "=", False)]),
        ]])

    @api.model
    def _cron_recurring_create(self, date_ref=False, create_type="invoice"):
        """Invoice the contracts due on ``date_ref`` (today), one contract per savepoint
        (committed one by one outside tests): a contract that fails is noted in its chatter
        and the others go on. Contracts that missed periods (a day without a run, a worker
        killed) catch up: rounds of one period per contract until none is due. Unlike the
        contract's own run, the last period of a contract invoiced in arrears is invoiced
        after the end date."""
        if create_type != "invoice":
            return super()._cron_recurring_create(date_ref, create_type)
        date_ref = date_ref or fields.Date.context_today(self)
        skipped = self.browse()
        created = self.env["account.move"]
        for _round in range(MAX_CATCH_UP_ROUNDS):
            contracts = self.search(expression.AND([
                self._get_contracts_to_invoice_domain(date_ref),
                [("generation_type", "=", "invoice"), ("id", "not in", skipped.ids)],
            ]), order="id")
            # no "next date after the end date" filter as the contract's own run has: in
            # arrears the last period is invoiced after the end; an ended contract has no
            # line left to invoice (and is skipped)
            if not contracts:
                break
            for contract in contracts:
                moves = contract.with_company(contract.company_id)._hie_run_contract(date_ref)
                if moves:
                    created |= moves
                else:
                    skipped |= contract
                self._hie_commit()
        _logger.info("Recurring invoices: %s invoices created for %s", len(created), date_ref)
        return True

    def _hie_run_contract(self, date_ref):
        """Invoice one period of this contract in a savepoint; an error rolls it back and is
        noted on the contract (the run goes on). Returns the invoices (maybe none)."""
        self.ensure_one()
        try:
            with self.env.cr.savepoint():
                return self._recurring_create_invoice(date_ref)
        except (UserError, ValidationError) as exc:
            message = exc.args[0] if exc.args else str(exc)
            _logger.warning("Recurring invoice of contract %s not created: %s", self.id, message)
            self.message_post(body=_("No recurring invoice created: %s", message))
            return self.env["account.move"]

    @api.model
    def _hie_commit(self):
        """Commit what the run made so far (not in tests, whose transaction is rolled
        back)."""
        if not getattr(threading.current_thread(), "testing", False):
            self.env.cr.commit()  # pylint: disable=invalid-commit
