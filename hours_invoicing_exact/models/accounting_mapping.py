# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

#: mapping kind -> kind of the reference data it points to
REFERENCE_KIND = {"account": "gl_account", "tax": "vat_code", "journal": "journal",
                  "analytic": "cost_centre"}


class AccountingMapping(models.Model):
    """One Odoo record mapped to its counterpart in the accounting package: accounts to
    G/L accounts, taxes to VAT codes, sales journals to journal codes (through the cached
    reference data), partners to relations (by GUID or code) and analytic accounts to
    Twinfield cost centres (KPL).

    A partner mapping with a ``remote_code`` but no ``remote_id`` is a Twinfield customer
    code *reserved* before the customer is created (see
    ``accounting.connection._twinfield_customer_code``)."""

    _name = "accounting.mapping"
    _description = "Accounting Package Mapping"
    _order = "kind, id"

    connection_id = fields.Many2one(
        "accounting.connection", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="connection_id.company_id", store=True, index=True)
    kind = fields.Selection(
        [("account", "Account"), ("tax", "Tax"), ("journal", "Journal"), ("partner", "Partner"),
         ("analytic", "Analytic Account")],
        required=True,
    )
    account_id = fields.Many2one("account.account", ondelete="cascade", index="btree_not_null")
    tax_id = fields.Many2one("account.tax", ondelete="cascade", index="btree_not_null")
    journal_id = fields.Many2one("account.journal", ondelete="cascade", index="btree_not_null")
    partner_id = fields.Many2one("res.partner", ondelete="cascade", index="btree_not_null")
    analytic_id = fields.Many2one(
        "account.analytic.account", string="Analytic Account", ondelete="cascade",
        index="btree_not_null",
        help="Twinfield: the analytic account (e.g. a project's) whose lines carry this cost "
        "centre.",
    )
    reference_kind = fields.Char(compute="_compute_reference_kind")
    reference_id = fields.Many2one(
        "accounting.reference",
        string="Counterpart",
        domain="[('connection_id', '=', connection_id), ('kind', '=', reference_kind)]",
        ondelete="restrict",
    )
    remote_id = fields.Char(
        string="Remote ID", compute="_compute_remote", store=True, readonly=False
    )
    remote_code = fields.Char(compute="_compute_remote", store=True, readonly=False)

    _sql_constraints = [
        ("account_uniq", "unique(connection_id, account_id)", "The account is mapped already."),
        ("tax_uniq", "unique(connection_id, tax_id)", "The tax is mapped already."),
        ("journal_uniq", "unique(connection_id, journal_id)", "The journal is mapped already."),
        ("partner_uniq", "unique(connection_id, partner_id)", "The partner is mapped already."),
        ("analytic_uniq", "unique(connection_id, analytic_id)",
         "The analytic account is mapped already."),
    ]

    @api.depends("kind")
    def _compute_reference_kind(self):
        for mapping in self:
            mapping.reference_kind = REFERENCE_KIND.get(mapping.kind, "")

    @api.depends("reference_id")
    def _compute_remote(self):
        for mapping in self:
            if mapping.reference_id:
                mapping.remote_id = mapping.reference_id.remote_id
                mapping.remote_code = mapping.reference_id.code

    @api.depends("kind", "account_id", "tax_id", "journal_id", "partner_id", "analytic_id",
                 "remote_code")
    def _compute_display_name(self):
        for mapping in self:
            record = mapping.kind and mapping[f"{mapping.kind}_id"]
            mapping.display_name = f"{record.display_name if record else ''} → " \
                f"{mapping.remote_code or mapping.remote_id or ''}"

    @api.constrains("kind", "account_id", "tax_id", "journal_id", "partner_id", "analytic_id",
                    "reference_id")
    def _check_kind(self):
        for mapping in self:
            if not mapping[f"{mapping.kind}_id"]:
                raise ValidationError(_("A %s mapping needs the Odoo record it maps.",
                                        mapping.kind))
            if mapping.kind in REFERENCE_KIND and mapping.reference_id and (
                mapping.reference_id.kind != REFERENCE_KIND[mapping.kind]
                or mapping.reference_id.connection_id != mapping.connection_id
            ):
                raise ValidationError(
                    _("%s is not a valid counterpart for this mapping.",
                      mapping.reference_id.display_name)
                )
