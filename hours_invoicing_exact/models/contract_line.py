# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools.misc import format_date

from ..services import recurring


class ContractLine(models.Model):
    """All our overrides of OCA ``contract.line``:

    - Periods anchored on the start date (no drift after a short month);
    - Yearly indexation of the price, the Dutch sales tax of the product mapped by the
      debtor's fiscal position, the project's analytic account, texts in the debtor's
      language;
    - The amount due next (overview of the contracts due next month).
    """

    _inherit = "contract.line"

    hie_next_amount = fields.Monetary(
        string="Next Invoice Amount",
        compute="_compute_hie_next_amount",
        store=True,
        currency_field="currency_id",
        help="Untaxed amount of the next invoice of this line, after the yearly indexation.",
    )
    hie_project_id = fields.Many2one(
        related="contract_id.hie_project_id", store=True, string="Project",
    )
    hie_finished = fields.Boolean(
        string="Fully Invoiced",
        compute="_compute_hie_finished",
        store=True,
        help="Invoiced up to its end date: the daily run no longer looks at it.",
    )

    @api.depends("date_end", "last_date_invoiced")
    def _compute_hie_finished(self):
        for line in self:
            line.hie_finished = bool(line.date_end and line.last_date_invoiced
                                     and line.last_date_invoiced >= line.date_end)

    # recurrence of a contract without line-level recurrence: the contract's, not the
    # field defaults (today, monthly, ...) a line created outside the form would get
    HEADER_RECURRENCE = ("date_start", "recurring_rule_type", "recurring_invoicing_type",
                         "recurring_interval")

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            contract = self.env["contract.contract"].browse(vals.get("contract_id"))
            if contract and not contract.line_recurrence:
                for fname in self.HEADER_RECURRENCE:
                    if not vals.get(fname) and contract[fname]:
                        vals[fname] = contract[fname]
        return super().create(vals_list)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_invoiced_periods(self):
        invoiced = self.env["hie.contract.period"].sudo().search(
            [("contract_line_id", "in", self.ids)], limit=1).contract_line_id
        if invoiced:
            raise UserError(_(
                "Contract line “%s” has invoiced periods: give it an end date instead of "
                "deleting it.", invoiced.name))

    # ------------------------------------------------------------------
    # Periods anchored on the start date
    # ------------------------------------------------------------------
    def _hie_period_anchor(self, next_period_date_start, rule, interval):
        """The start date the periods of ``next_period_date_start`` are anchored on: the
        start date of the line(s) of ``self`` whose next period starts then (the contract's
        computes ask for the whole batch; lines of one contract share their start date)."""
        if len(self) == 1:
            return self.date_start
        anchors = {
            line.date_start for line in self
            if line.date_start and line.next_period_date_start == next_period_date_start
            and line.recurring_rule_type == rule and line.recurring_interval == interval
        }
        return anchors.pop() if len(anchors) == 1 else False

    @api.model
    def get_next_period_date_end(self, next_period_date_start, recurring_rule_type,
                                 recurring_interval, max_date_end, next_invoice_date=False,
                                 recurring_invoicing_type=False,
                                 recurring_invoicing_offset=False):
        """Periods of month-based rules anchored on the line's start date (see
        services/recurring.py); a date of next invoice the user forced keeps the contract's
        own calculation."""
        res = super().get_next_period_date_end(
            next_period_date_start, recurring_rule_type, recurring_interval, max_date_end,
            next_invoice_date=next_invoice_date,
            recurring_invoicing_type=recurring_invoicing_type,
            recurring_invoicing_offset=recurring_invoicing_offset,
        )
        anchor = self._hie_period_anchor(next_period_date_start, recurring_rule_type,
                                         recurring_interval)
        months = recurring.period_months(recurring_rule_type, recurring_interval or 1) if (
            recurring_interval or 0) >= 1 else None
        if (not res or not anchor or not months or not next_period_date_start
                or next_period_date_start < anchor):
            return res
        if next_invoice_date:
            if recurring_invoicing_type != recurring.PRE_PAID:
                return res  # in arrears the invoice date already is the anchored end + offset
            if recurring.invoice_date(next_period_date_start, None, recurring.PRE_PAID,
                                      recurring_invoicing_offset or 0) != next_invoice_date:
                return res
        return recurring.period_end(anchor, next_period_date_start, months,
                                    max_date_end or None) or False

    # ------------------------------------------------------------------
    # Indexation
    # ------------------------------------------------------------------
    def _hie_indexed_price_unit(self, period_start):
        """The unit price of the period starting ``period_start``, after the contract's
        yearly indexation."""
        self.ensure_one()
        contract = self.contract_id
        return recurring.indexed_price(
            self.price_unit, contract.hie_indexation_pct,
            contract.hie_indexation_date or self.date_start, period_start,
            self.env["decimal.precision"].precision_get("Product Price"),
        )

    @api.depends("price_unit", "quantity", "discount", "display_type", "next_period_date_start",
                 "specific_price", "contract_id.hie_indexation_pct",
                 "contract_id.hie_indexation_date", "date_start", "is_canceled")
    def _compute_hie_next_amount(self):
        for line in self:
            start = line.next_period_date_start
            if line.display_type or line.is_canceled or not start:
                line.hie_next_amount = 0.0
                continue
            price = line._hie_indexed_price_unit(start)
            amount = line.quantity * price * (1 - (line.discount or 0.0) / 100.0)
            line.hie_next_amount = line.currency_id.round(amount) if line.currency_id else amount

    # ------------------------------------------------------------------
    # Invoice lines
    # ------------------------------------------------------------------
    def _prepare_invoice_line(self):
        vals = super()._prepare_invoice_line()
        if not vals or self.display_type:
            return vals
        contract = self.contract_id
        first = self._get_period_to_invoice(self.last_date_invoiced, self.recurring_next_date)[0]
        if first:
            vals["price_unit"] = self._hie_indexed_price_unit(first)
        company = contract.company_id
        taxes = self.env["project.project"]._hie_get_sale_taxes(company, self.product_id)
        vals["tax_ids"] = [Command.set(contract._hie_fiscal_position().map_tax(taxes).ids)]
        project = contract.hie_project_id
        if project.account_id and not vals.get("analytic_distribution"):
            vals["analytic_distribution"] = {str(project.account_id.id): 100.0}
        return vals

    def _hie_debtor_lang(self):
        debtor = self.contract_id._hie_invoice_debtor()
        return debtor.lang or self.env.lang or "en_US"

    def _insert_markers(self, first_date_invoiced, last_date_invoiced):
        """The line's text in the invoice debtor's language: a description taken from the
        product as it was (in the customer's language) is the product's description in the
        debtor's language; the #START#, #END# and #INVOICEMONTHNAME# markers in the debtor's
        date format and language."""
        self.ensure_one()
        lang_code = self._hie_debtor_lang()
        name = self.name or ""
        if self.product_id:
            partner = self.contract_id.partner_id
            own = {
                self.product_id.with_context(lang=code, partner=partner.id)
                .get_product_multiline_description_sale()
                for code in {partner.lang, self.env.lang, self.env.user.lang} if code
            }
            if name in own:
                name = self.product_id.with_context(
                    lang=lang_code, partner=partner.id).get_product_multiline_description_sale()
        lang = self.env["res.lang"]._lang_get(lang_code)
        date_format = lang.date_format if lang else "%m/%d/%Y"
        name = name.replace(
            "#START#", first_date_invoiced.strftime(date_format) if first_date_invoiced else "")
        name = name.replace(
            "#END#", last_date_invoiced.strftime(date_format) if last_date_invoiced else "")
        month_name = ""
        if first_date_invoiced:
            # babel's month name (the contract's own list has no Dutch translation)
            month_name = format_date(self.env, first_date_invoiced, lang_code=lang_code,
                                     date_format="MMMM")
        return name.replace("#INVOICEMONTHNAME#", month_name)
