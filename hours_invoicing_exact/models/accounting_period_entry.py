# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Period memorial entries: one Exact general journal entry per day or month.

The Odoo side aggregates the posted journal items of a period with one set-based query
(:meth:`AccountingPeriodEntry._period_rows`, whatever the number of items), maps accounts,
taxes and relations through the company's ``accounting.connection``, and hands the rows to
``services/journal.py``, which balances the entry and spreads Odoo's VAT over its lines (sent
as ``AmountVATFC``, so Exact's VAT equals Odoo's to the cent). The entry's reference is stored
with the entry and its outbox record before anything is sent; the outbox engine of part 1
makes the sending exactly-once. A period that changed after it was sent gets a correction
entry with only the differences, under the next sequence number.
"""

import logging
import threading
from collections import defaultdict
from decimal import Decimal

import pytz

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.osv import expression
from odoo.tools import SQL, format_date

from ..services import journal
from ..services.exact.periods import ClosedPeriod, ExactPeriods, NoFinancialPeriod, NoOpenPeriod
from ..services.outbox import ReconnectNeeded, SyncError
from ..services.twinfield.adapters import journal_payload

_logger = logging.getLogger(__name__)

RELATION_TYPES = ("asset_receivable", "liability_payable")
ACTIVE_STATES = ("to_send", "sent")
ZERO = Decimal(0)
#: First key of the advisory lock serialising the period runs of a company.
LOCK_KEY = 470_512


def _dec(value):
    return Decimal(str(value or 0)).quantize(journal.CENT)


class PeriodBuild:
    """What building a period gave: the entry (or an error), mappings used, what is missing."""

    def __init__(self, period):
        self.period = period
        self.entry = None
        self.error = None
        self.missing = []
        self.mappings = []
        self.gl_guids = {}
        self.relation_guids = {}
        #: ``{"account:analytic account": {"cost_centre", "cost_centre_dim"}}`` (Twinfield)
        self.cost_centres = {}
        self.item_count = 0


class AccountingPeriodEntry(models.Model):
    _name = "accounting.period.entry"
    _description = "Memorial entry of a period"
    _inherit = ["mail.thread"]
    _order = "date_from desc, sequence desc, id desc"
    _rec_name = "reference"

    company_id = fields.Many2one("res.company", required=True, index=True, readonly=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    connection_id = fields.Many2one("accounting.connection", readonly=True)
    reference = fields.Char(required=True, readonly=True, copy=False)
    period_kind = fields.Selection(
        [("day", "Day"), ("month", "Month")], required=True, readonly=True
    )
    date_from = fields.Date(string="Period start", required=True, readonly=True)
    date_to = fields.Date(string="Period end", required=True, readonly=True)
    sequence = fields.Integer(required=True, readonly=True, default=1)
    kind = fields.Selection(
        [("regular", "Regular"), ("correction", "Correction")],
        required=True, default="regular", readonly=True,
    )
    journal_code = fields.Char(
        string="Journal in the package", readonly=True,
        help="Exact Online: the memorial journal; Twinfield: the transaction type (MEMO).")
    exact_year = fields.Integer(string="Financial year", readonly=True)
    exact_period = fields.Integer(string="Financial period", readonly=True)
    line_ids = fields.One2many("accounting.period.entry.line", "entry_id", readonly=True)
    line_count = fields.Integer(compute="_compute_totals", store=True)
    total_debit = fields.Monetary(compute="_compute_totals", store=True)
    total_credit = fields.Monetary(compute="_compute_totals", store=True)
    total_vat = fields.Monetary(string="VAT", compute="_compute_totals", store=True)
    balance = fields.Monetary(compute="_compute_totals", store=True)
    item_count = fields.Integer(string="Journal items", readonly=True)
    outbox_id = fields.Many2one("accounting.outbox", readonly=True, copy=False)
    local_error = fields.Text(readonly=True, copy=False)
    superseded = fields.Boolean(readonly=True, copy=False)
    state = fields.Selection(
        [
            ("draft", "Draft"),
            ("to_send", "To send"),
            ("sent", "Sent"),
            ("error", "Error"),
            ("cancelled", "Superseded"),
        ],
        compute="_compute_state", store=True, tracking=True,
    )
    exact_entry_number = fields.Char(
        string="Entry number", related="outbox_id.remote_number", store=True,
        help="Number of the entry in the accounting package (Twinfield: transaction number).")
    sync_warning = fields.Text(
        string="Warning", related="outbox_id.warning",
        help="What the accounting package warned about when it stored the entry.")
    exact_entry_id = fields.Char(related="outbox_id.remote_id")
    error = fields.Text(compute="_compute_state", store=True)

    _sql_constraints = [
        (
            "reference_unique",
            "unique(company_id, reference)",
            "The reference of a memorial entry is unique per company.",
        ),
    ]

    @api.depends("line_ids.amount", "line_ids.vat_amount")
    def _compute_totals(self):
        for entry in self:
            amounts = [line.amount + line.vat_amount for line in entry.line_ids]
            entry.line_count = len(entry.line_ids)
            entry.total_debit = sum(a for a in amounts if a > 0)
            entry.total_credit = -sum(a for a in amounts if a < 0)
            entry.total_vat = sum(entry.line_ids.mapped("vat_amount"))
            entry.balance = entry.currency_id.round(sum(amounts))

    @api.depends("outbox_id.state", "outbox_id.last_error", "local_error", "superseded")
    def _compute_state(self):
        states = {
            "to_send": "to_send", "sending": "to_send", "reconnect_needed": "to_send",
            "sent": "sent", "error": "error",
        }
        for entry in self:
            entry.error = entry.local_error or entry.outbox_id.last_error or False
            if entry.outbox_id.state == "sent":
                entry.state = "sent"
                entry.error = False
            elif entry.superseded:
                entry.state = "cancelled"
            elif entry.local_error:
                entry.state = "error"
            elif entry.outbox_id:
                entry.state = states[entry.outbox_id.state]
            else:
                entry.state = "draft"

    # -- aggregation -------------------------------------------------------------------

    @api.model
    def _period_rows(self, company, kind, date_from, date_to):
        """Return ``{period start: [row dicts]}`` of the posted items in the range.

        One scan of ``account_move_line`` and one hash aggregate, however many items there
        are: per period, account, tax role (base/VAT line), tax and - on receivable/payable
        accounts only - partner; with the number of items and the largest number of taxes on
        one item. The tax of a base line is read from its own column ``hie_base_tax_id``
        (see ``account_move_line.py``), not from the many2many table, and the
        receivable/payable accounts are passed as ids, so the query joins nothing: it costs
        about what a plain ``read_group`` of the same items by account costs.

        Invoices that went (or go) to Exact as a sales entry of their own (sent per
        document, e.g. before the company switched to memorial entries mid-month) are left
        out: each invoice reaches Exact once, whichever modes the company passes through.
        """
        journals = company.hie_period_sync_journal_ids
        if not journals:
            raise UserError(_("Choose the journals to include in memorial entries first."))
        self.env["account.move.line"].flush_model()
        self.env["account.move"].flush_model(["state"])
        self.env["accounting.outbox"].flush_model()
        # items before the sync start date are in Exact already (booked there before the
        # link), also when that date lies within the first period
        sync_start = self.env["accounting.connection"].sudo().search(
            [("company_id", "=", company.id)], limit=1, order="id"
        ).sync_start_date
        if sync_start and sync_start > date_from:
            date_from = sync_start
        relation_accounts = self.env["account.account"].with_context(active_test=False).search(
            [("account_type", "in", RELATION_TYPES)]
        )
        self.env.cr.execute(SQL(
            """
            SELECT date_trunc(%(unit)s, aml.date::timestamp)::date AS period_start,
                   aml.account_id,
                   CASE WHEN aml.tax_line_id IS NOT NULL THEN 'tax'
                        WHEN aml.hie_base_tax_id IS NOT NULL THEN 'base' END AS tax_role,
                   COALESCE(aml.tax_line_id, aml.hie_base_tax_id) AS tax_id,
                   CASE WHEN aml.account_id = ANY(%(relation_accounts)s)
                        THEN aml.partner_id END AS partner_id,
                   CASE WHEN %(cost_centres)s THEN aml.analytic_distribution END AS analytic,
                   SUM(aml.balance) AS balance,
                   COUNT(*) AS items,
                   COALESCE(MAX(aml.hie_base_tax_count), 0) AS max_taxes
              FROM account_move_line aml
             WHERE aml.company_id = %(company)s AND aml.parent_state = 'posted'
               AND aml.journal_id IN %(journals)s AND aml.date BETWEEN %(start)s AND %(end)s
               AND NOT EXISTS (
                   SELECT 1 FROM accounting_outbox o
                    WHERE o.res_model = 'account.move' AND o.res_id = aml.move_id
                      AND o.kind = 'sales_entry' AND o.state != 'cancelled'
                      AND o.company_id = %(company)s)
          GROUP BY 1, aml.account_id, aml.tax_line_id, aml.hie_base_tax_id, 5, 6
          ORDER BY 1, 2, 3, 4, 5
            """,
            unit="month" if kind == "month" else "day",
            relation_accounts=relation_accounts.ids or [0],
            company=company.id, journals=tuple(journals.ids), start=date_from, end=date_to,
            cost_centres=self._uses_cost_centres(company),
        ))
        rows = self.env.cr.dictfetchall()
        if self._uses_cost_centres(company):
            rows = self._split_by_cost_centre(rows)
        result = defaultdict(list)
        for row in rows:
            result[row["period_start"]].append(row)
        return result

    @api.model
    def _uses_cost_centres(self, company):
        """Whether the memorial entries of ``company`` carry cost centres (Twinfield, with
        the cost-centre dimension level set)."""
        Connection = self.env["accounting.connection"]
        return bool(company.hie_twf_cost_centre_dim) and \
            Connection._get_company_target(company) == "twinfield"

    @api.model
    def _split_by_cost_centre(self, rows):
        """Split the query rows by the analytic accounts of their analytic distribution
        (``analytic_id``; ``False`` for the part without one). The parts of a row add up to
        its balance to the cent: each is rounded and the cents left go to the largest."""
        merged = {}
        for row in rows:
            base = (row["period_start"], row["account_id"], row["tax_role"], row["tax_id"],
                    row["partner_id"])
            balance = Decimal(str(row["balance"] or 0))
            shares, rest = [], Decimal(1)
            for key, percentage in (row.get("analytic") or {}).items():
                ids = [int(part) for part in str(key).split(",") if part.strip().isdigit()]
                if ids and percentage:
                    share = Decimal(str(percentage)) / 100
                    shares.append((ids[0], share))
                    rest -= share
            if rest or not shares:
                shares.append((False, rest if shares else Decimal(1)))
            group = merged.setdefault(base, {"row": row, "parts": defaultdict(Decimal),
                                             "balance": Decimal(0), "items": 0,
                                             "max_taxes": 0})
            group["balance"] += balance
            group["items"] += row["items"]
            group["max_taxes"] = max(group["max_taxes"], row["max_taxes"] or 0)
            for analytic_id, share in shares:
                group["parts"][analytic_id] += balance * share
        result = []
        for group in merged.values():
            parts = {key: value.quantize(journal.CENT) for key, value in group["parts"].items()}
            rest = group["balance"].quantize(journal.CENT) - sum(parts.values(), ZERO)
            largest = max(parts, key=lambda key: (abs(parts[key]), str(key)))
            parts[largest] += rest
            items = group["items"]
            kept = {key: amount for key, amount in parts.items() if amount} or {
                largest: parts[largest]}
            for analytic_id, amount in sorted(kept.items(), key=lambda item: str(item[0])):
                result.append(dict(group["row"], analytic=None, analytic_id=analytic_id,
                                   balance=amount, items=items,
                                   max_taxes=group["max_taxes"]))
                items = 0  # the items count once, for the rounding tolerance
        return result

    @api.model
    def _known_mappings(self, connection, accounts, taxes, partners):
        """``{kind: {record id: GUID or code}}`` of the mapped ``accounts``, ``taxes`` and
        (commercial) ``partners`` in one query (else one per record); what is not mapped
        goes through the connection's ``_get_*`` methods, which raise the clear error."""
        found = {"account": {}, "tax": {}, "partner": {}}
        mappings = self.env["accounting.mapping"].sudo().search([
            ("connection_id", "=", connection.id),
            "|", "|",
            ("account_id", "in", accounts.ids),
            ("tax_id", "in", taxes.ids),
            ("partner_id", "in", partners.commercial_partner_id.ids),
        ])
        for mapping in mappings:
            value = {
                "account": mapping.reference_id.remote_id,
                "tax": mapping.reference_id.code,
                "partner": mapping.remote_id,
            }.get(mapping.kind)
            if value:
                found[mapping.kind][mapping[f"{mapping.kind}_id"].id] = value
        return found

    @api.model
    def _build_period(self, company, connection, period, rows, sequence=1, exact_period=None,
                      create_relations=False, run_cache=None):
        """Turn the query rows of ``period`` into a :class:`PeriodBuild` (entry or error).

        Relations not mapped yet are looked up (and created) in Exact only with
        ``create_relations`` (when the entry is sent); a preview validates the partner's
        numbers locally and shows that the relation will be looked up when sending.
        """
        build = PeriodBuild(period)
        build.connection_id = connection.id
        vat_mode = (company.hie_period_vat_mode or "vat_journal")
        accounts = self.env["account.account"].browse({r["account_id"] for r in rows})
        taxes = self.env["account.tax"].browse({r["tax_id"] for r in rows if r["tax_id"]})
        partners = self.env["res.partner"].browse(
            {r["partner_id"] for r in rows if r["partner_id"]}
        )
        codes, percentages = {}, {}
        known = self._known_mappings(connection, accounts, taxes, partners)
        for account in accounts.with_company(company):
            try:
                build.gl_guids[str(account.id)] = known["account"].get(account.id) or \
                    connection._get_period_gl(account)
                build.mappings.append((_("GL account"), account.display_name,
                                       build.gl_guids[str(account.id)]))
            except UserError as exc:
                build.missing.append(str(exc.args[0]))
                build.gl_guids[str(account.id)] = False
        if vat_mode == "vat_journal":
            for tax in taxes:
                try:
                    codes[tax.id] = known["tax"].get(tax.id) or connection._get_vat_code(tax)
                    build.mappings.append((_("VAT code"), tax.display_name, codes[tax.id]))
                except UserError as exc:
                    build.missing.append(str(exc.args[0]))
                    codes[tax.id] = f"?{tax.id}"
                if tax.amount_type != "percent":
                    build.error = _("Tax %s is not a percentage; it cannot be carried by a "
                                    "memorial entry.", tax.display_name)
                pct = Decimal(str(tax.amount))
                if percentages.setdefault(codes[tax.id], pct) != pct:
                    build.error = _("VAT code %(code)s of %(package)s is mapped from taxes "
                                    "with different percentages.", code=codes[tax.id],
                                    package=connection._get_package_name())
        for partner in partners:
            try:
                guid = known["partner"].get(partner.commercial_partner_id.id)
                if not guid and create_relations:
                    guid = connection._get_period_relation(partner, run_cache)
                elif not guid:
                    connection._check_partner_numbers(partner.commercial_partner_id)
                build.relation_guids[str(partner.id)] = guid or False
                build.mappings.append((_("Relation"), partner.display_name, guid or _(
                    "not mapped yet: looked up (or created) in %s when sent",
                    connection._get_package_name())))
            except UserError as exc:
                build.missing.append(str(exc.args[0]))
                build.relation_guids[str(partner.id)] = False
        # Odoo rounds VAT once per VAT line of an invoice (round globally) or once per base
        # line (round per line): each rounding may differ half a cent from the exact VAT of
        # the summed lines; anything beyond is a wrong mapping or percentage
        rounding_role = (
            "base" if company.tax_calculation_rounding_method == "round_per_line" else "tax"
        )
        journal_rows, tolerance = [], defaultdict(lambda: Decimal("0.01"))
        for row in rows:
            build.item_count += row["items"]
            if (row["max_taxes"] or 0) > 1:
                build.error = _("Some journal items of account %s carry several taxes; a "
                                "memorial entry line takes one VAT code.",
                                accounts.browse(row["account_id"]).display_name)
            code = codes.get(row["tax_id"]) if vat_mode == "vat_journal" else None
            if code and row["tax_role"] == rounding_role:
                tolerance[code] += Decimal("0.005") * row["items"]
            if code and row["tax_role"] == "base":  # the rounding of the entry line itself
                tolerance[code] += Decimal("0.005")
            gl_key = str(row["account_id"])
            cost_centre = connection._twinfield_cost_centre(row.get("analytic_id")) \
                if row.get("analytic_id") else {}
            if cost_centre:  # a line of its own per cost centre: "account:analytic account"
                gl_key = f"{row['account_id']}:{row['analytic_id']}"
                build.gl_guids[gl_key] = build.gl_guids.get(str(row["account_id"]))
                build.cost_centres[gl_key] = cost_centre
            journal_rows.append(journal.JournalRow(
                gl_account=gl_key,
                balance=_dec(row["balance"]),
                account_type="receivable" if row["partner_id"] else "other",
                vat_code=code,
                tax_role=row["tax_role"] if code else None,
                partner=str(row["partner_id"]) if row["partner_id"] else None,
            ))
        if build.error:
            return build
        year, fin_period = exact_period or (None, None)
        header = journal.EntryHeader(
            f"C{company.id}", connection._get_period_journal_code(company), period, sequence,
            vat_mode=vat_mode, currency=company.currency_id.name,
            financial_year=year, financial_period=fin_period,
        )
        try:
            build.entry = journal.build_entry(
                journal_rows, header, vat_percentages=percentages,
                vat_rounding=journal.VAT_FROM_ODOO, vat_tolerance=dict(tolerance),
            )
        except journal.JournalError as exc:
            build.error = _("The memorial entry of %(period)s cannot be built: %(error)s",
                            period=period.label, error=exc)
        return build

    # -- what was sent -------------------------------------------------------------------

    @api.model
    def _active_entries(self, company, kind, date_from, date_to):
        """The queued or sent entries of the ``kind`` periods starting in ``[date_from,
        date_to]``; for months also the day entries of those months (sent before a switch
        to per month: they count for their month, see :meth:`_sent_totals`)."""
        domain = [("period_kind", "=", kind), ("date_from", ">=", date_from),
                  ("date_from", "<=", date_to)]
        if kind == "month":
            month_end = journal.Period.containing("month", date_to).end
            domain = expression.OR([domain, [
                ("period_kind", "=", "day"), ("date_from", ">=", date_from),
                ("date_from", "<=", month_end)]])
        return self.search([
            ("company_id", "=", company.id), ("state", "in", ACTIVE_STATES), *domain,
        ])

    @api.model
    def _sent_totals(self, entries, kind=None):
        """``{(period start, LineKey): (amount, VAT)}`` of ``entries``, summed in SQL; with
        ``kind``, per start of the ``kind`` period containing each entry (the day entries
        of a month sent before a switch to per month count for the month)."""
        groups = self.env["accounting.period.entry.line"]._read_group(
            [("entry_id", "in", entries.ids)],
            ["entry_id", "account_id", "analytic_id", "vat_code", "partner_id"],
            ["amount:sum", "vat_amount:sum"],
        )
        totals = defaultdict(dict)
        for entry, account, analytic, vat_code, partner, amount, vat in groups:
            gl_key = f"{account.id}:{analytic.id}" if analytic else str(account.id)
            key = journal.LineKey(gl_key, vat_code or "", str(partner.id or "") if
                                  partner else "")
            start = journal.Period.containing(kind, entry.date_from).start if kind \
                else entry.date_from
            old = totals[start].get(key, (ZERO, ZERO))
            totals[start][key] = (old[0] + _dec(amount), old[1] + _dec(vat))
        return totals

    @api.model
    def _next_sequence(self, company, kind, date_from):
        last = self.search([
            ("company_id", "=", company.id), ("period_kind", "=", kind),
            ("date_from", "=", date_from),
        ], order="sequence desc", limit=1)
        return (last.sequence or 0) + 1

    # -- creating and sending -------------------------------------------------------------

    @api.model
    def _exact_open_period(self, company, connection, period, run_cache=None):
        """Return ``(year, period, date)`` in Exact to post ``period``'s entry in, or raise;
        ``date`` is the start of that Exact period when it is not the one containing the
        entry's own date (a closed period skipped), else ``None``.

        The entry is dated on the last day of ``period``; it goes into the Exact financial
        period containing that day; when it is closed the company's policy either refuses
        (UserError) or picks the first open Exact period after it (the rule and its calls:
        :class:`..services.exact.periods.ExactPeriods`, once per run).
        """
        code = company.hie_period_exact_journal_code or "90"
        run_cache = {} if run_cache is None else run_cache
        periods = ExactPeriods(connection._get_exact_client(), run_cache.setdefault(
            ("exact_periods", connection.id, connection.division), {}))
        try:
            fin, moved = periods.open_period(
                code, period.end, company.hie_period_closed_policy or "error")
        except ReconnectNeeded as exc:
            # never written in this transaction after talking to Exact (part 1's rule)
            connection._set_reconnect_needed_own_transaction(exc.message)
            raise UserError(exc.message) from exc
        except NoFinancialPeriod as exc:
            raise UserError(_(
                "Exact Online has no financial period for %(date)s: create the financial "
                "year in Exact Online first; the entry of %(period)s was not sent.",
                date=format_date(self.env, exc.day), period=period.label,
            )) from exc
        except ClosedPeriod as exc:
            raise UserError(_(
                "Exact Online journal %(journal)s is closed for period %(month)s/%(year)s; "
                "the entry of %(period)s was not sent. Reopen the period in Exact, or let "
                "corrections go to the first open period in the settings.",
                journal=code, month=exc.period, year=exc.year, period=period.label,
            )) from exc
        except NoOpenPeriod as exc:
            raise UserError(_("No open Exact Online period found after %s.", period.label)) \
                from exc
        except SyncError as exc:
            raise UserError(_("Exact Online could not be asked about period %(period)s: "
                              "%(error)s", period=period.label, error=exc.message)) from exc
        return fin["year"], fin["period"], (fin["start"] if moved else None)

    @api.model
    def _create_from_build(self, company, connection, build, sent=None, run_cache=None):
        """Store the entry (regular, or correction against ``sent``) and queue it.

        Return the new entry, or an empty recordset when nothing is to send.
        """
        period = build.period
        sequence = self._next_sequence(company, period.kind, period.start)
        values = {
            "company_id": company.id,
            "connection_id": connection.id,
            "period_kind": period.kind,
            "date_from": period.start,
            "date_to": period.end,
            "sequence": sequence,
            "kind": "correction" if sent else "regular",
            "journal_code": connection._get_period_journal_code(company),
            "item_count": build.item_count,
        }
        header_ref = journal.EntryHeader(
            f"C{company.id}", values["journal_code"], period, sequence
        ).reference
        values["reference"] = header_ref
        if build.error or build.missing:
            values["local_error"] = "\n".join(filter(None, [build.error, *build.missing]))
            entry = self.create(values)
            entry._log_created()
            return entry
        try:
            year, fin_period, moved_to = getattr(self, f"_{connection.target}_open_period")(
                company, connection, period, run_cache)
        except UserError as exc:
            values["local_error"] = str(exc.args[0])
            entry = self.create(values)
            entry._log_created()
            return entry
        header = journal.EntryHeader(
            f"C{company.id}", values["journal_code"], period, sequence,
            vat_mode=(company.hie_period_vat_mode or "vat_journal"),
            currency=company.currency_id.name,
            financial_year=year, financial_period=fin_period,
        )
        if sent:
            result = journal.diff_entries_with_vat(sent, build.entry, header)
        else:
            result = journal.Entry(header, build.entry.lines, build.entry.vat)
        if not result.lines:
            return self.browse()
        values.update(exact_year=year, exact_period=fin_period)
        values["line_ids"] = [
            fields.Command.create({
                "sequence": index,
                "account_id": int(line.gl_account.split(":")[0]),
                "analytic_id": int(line.gl_account.split(":")[1]) if ":" in line.gl_account
                else False,
                "vat_code": line.vat_code or False,
                "partner_id": int(line.relation) if line.relation else False,
                "amount": float(line.amount),
                "vat_amount": float(line.vat_amount or 0),
                "description": line.description,
            })
            for index, line in enumerate(result.lines)
        ]
        payload = getattr(self, f"_prepare_payload_{connection.target}")(
            result, build, header_ref, moved_to)
        entry = self.create(values)
        entry.outbox_id = self.env["accounting.outbox"].sudo().create({
            "company_id": company.id,
            "connection_id": connection.id,
            "res_model": self._name,
            "res_id": entry.id,
            "reference": header_ref,
            "kind": "general_journal_entry",
            "payload": payload,
        })
        entry._log_created()
        return entry

    @api.model
    def _prepare_payload_exact(self, result, build, header_ref, moved_to):
        """Outbox payload of an Exact general journal entry."""
        payload = journal.to_exact_payload(result, build.gl_guids, build.relation_guids)
        if moved_to:  # into a later open period: dated on its first day
            first_day = f"{moved_to.isoformat()}T00:00:00Z"
            for line in payload["GeneralJournalEntryLines"]:
                line["Date"] = first_day
        return {"reference": header_ref, "entry": payload}

    @api.model
    def _prepare_payload_twinfield(self, result, build, header_ref, moved_to):
        """Outbox payload of a Twinfield memorial (``MEMO``) transaction."""
        connection = self.env["accounting.connection"].browse(build.connection_id)
        gl_codes = dict(build.gl_guids)
        for line in result.lines:  # a correction may carry a cost centre left since
            if ":" in line.gl_account and not gl_codes.get(line.gl_account):
                account_id = line.gl_account.split(":")[0]
                gl_codes[line.gl_account] = gl_codes.get(account_id) or \
                    connection._get_period_gl(self.env["account.account"].browse(
                        int(account_id)))
        payload = journal_payload(result, gl_codes, build.relation_guids,
                                  code=result.header.journal)
        # cost centres on the lines of their "account:analytic account" (same order)
        for line, values in zip(result.lines, payload["lines"], strict=True):
            if ":" in line.gl_account:
                values.update(build.cost_centres.get(line.gl_account) or
                              connection._twinfield_cost_centre(
                                  int(line.gl_account.split(":")[1])))
        return payload

    @api.model
    def _twinfield_open_period(self, company, connection, period, run_cache=None):
        """``(year, period, None)`` of Twinfield's period ``YYYY/PP`` of the entry (the
        month of its last day), refused when Twinfield has it closed."""
        run_cache = {} if run_cache is None else run_cache
        year, month = period.end.year, period.end.month
        client = run_cache.get(("twf_client", connection.id)) or connection._get_twinfield_client()
        run_cache[("twf_client", connection.id)] = client
        twinfield_period = f"{year}/{month:02d}"
        if connection._twinfield_is_closed(client, run_cache)(twinfield_period):
            # (no f-string inside _(): the term extraction cannot read it)
            raise UserError(_("Period %(period)s is closed in Twinfield; the entry of "
                              "%(label)s was not sent. Reopen the period in Twinfield, then "
                              "retry.", period=twinfield_period, label=period.label))
        return year, month, None

    def _log_created(self):
        for entry in self:
            entry.message_post(body=_(
                "%(kind)s entry %(ref)s for %(start)s - %(end)s: %(lines)s lines, debit "
                "%(debit)s, credit %(credit)s, VAT %(vat)s, balance %(balance)s.%(error)s",
                kind=dict(entry._fields["kind"].selection)[entry.kind], ref=entry.reference,
                start=entry.date_from, end=entry.date_to, lines=entry.line_count,
                debit=entry.total_debit, credit=entry.total_credit, vat=entry.total_vat,
                balance=entry.balance,
                error=(" " + _("Error: %s", entry.error)) if entry.error else "",
            ))

    def _send(self):
        """Send the queued entries through the outbox (exactly once).

        The engine claims the records in cursors of its own, which see only committed
        entries; the caller's transaction (a button's, the cron's) is never committed here:
        the entries go right after it commits, in a transaction of their own. Under the test
        registry all cursors share the test's transaction, and they go at once.
        """
        if not self.outbox_id.filtered(lambda o: o.state in ("to_send", "sending")):
            return True
        self.env.flush_all()
        if self.env.registry.in_test_mode():
            self._send_now()
            return True
        registry, uid, context, ids = (
            self.env.registry, self.env.uid, dict(self.env.context), self.ids)

        @self.env.cr.postcommit.add
        def send_after_commit():
            try:
                with registry.cursor() as cr:
                    api.Environment(cr, uid, context)[self._name].browse(ids)._send_now()
            except Exception:  # the caller's work is committed: report, lose nothing
                _logger.exception("Sending memorial entries %s to Exact Online failed; they "
                                  "stay queued for the next run.", ids)

        return True

    def _send_now(self):
        """Send the entries' due outbox records now and log the outcome on each entry."""
        outbox = self.outbox_id.filtered(lambda o: o.state in ("to_send", "sending"))
        if outbox:
            self._send_outbox(outbox)
        for entry in self.filtered(lambda e: e.outbox_id):
            package = entry.connection_id._get_package_name() if entry.connection_id \
                else _("the accounting package")
            if entry.state == "sent":
                entry.message_post(body=_("Sent to %(package)s as entry %(number)s.",
                                          package=package, number=entry.exact_entry_number))
            elif entry.state == "error":
                entry.message_post(body=_("%(package)s refused the entry: %(error)s",
                                          package=package, error=entry.error))

    def _send_outbox(self, outbox):
        """Run the exactly-once engine on ``outbox`` (the cron's engine and repository).

        Runs in a transaction of its own (see :meth:`_send`), which it commits before the
        engine starts and after it ends, so that this transaction (REPEATABLE READ) sees
        the outcome in a new snapshot. Under the test registry all cursors share the test's
        transaction and nothing is committed.
        """
        self.env.flush_all()
        committing = not self.env.registry.in_test_mode()
        if committing:
            self.env.cr.commit()  # pylint: disable=invalid-commit
        for connection in outbox.connection_id:
            records = outbox.filtered(lambda o, c=connection: o.connection_id == c)
            report = self.env["accounting.outbox"].sudo()._process(
                connection, record_ids=records.ids)
            if report.stopped:
                for entry in self.filtered(lambda e, r=records: e.outbox_id in r):
                    entry.message_post(body=_("Sending stopped: %s", report.stopped))
        if committing:
            self.env.cr.commit()  # pylint: disable=invalid-commit
        outbox.invalidate_recordset()
        # the outbox rows changed in other transactions: recompute what depends on them
        outbox.modified(["state", "last_error", "remote_id", "remote_number"])

    @api.model
    def _sync_periods(self, company, periods, send=True):
        """Create the regular or correction entries ``periods`` need; send them.

        Takes a transaction-level advisory lock per company, so two runs at the same time
        never create the same entry twice (the second one stops with an error).
        """
        if not periods:
            return self.browse()
        Connection = self.env["accounting.connection"]
        connection = Connection._get_for_company(company, Connection._get_company_target(company))
        self.env.cr.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [LOCK_KEY, company.id])
        if not self.env.cr.fetchone()[0]:
            raise UserError(_("Another memorial entry run of %s is busy; nothing was done.",
                              company.name))
        kind = periods[0].kind
        created = self.browse()
        if kind == "day":
            # days of a month sent as a month entry (before a switch to per day) are
            # corrected at the month's level: a month entry cannot be split into days
            months = {
                entry.date_from for entry in self._active_entries(
                    company, "month", periods[0].start.replace(day=1), periods[-1].start)
                if entry.period_kind == "month"
            }
            covered = [p for p in periods if p.start.replace(day=1) in months]
            if covered:
                created |= self._sync_periods(company, sorted(
                    {journal.Period.containing("month", p.start) for p in covered},
                    key=lambda p: p.start), send=False)
                periods = [p for p in periods if p not in covered]
                if not periods:
                    if send:
                        created._send()
                    return created
        rows_by_period = self._period_rows(company, kind, periods[0].start, periods[-1].end)
        active = self._active_entries(company, kind, periods[0].start, periods[-1].start)
        sent_by_period = self._sent_totals(active, kind)
        # entries that failed are superseded: the period is built again under a new sequence,
        # and what Exact refused of them can no longer be retried (it would book it twice)
        failed = self.search([
            ("company_id", "=", company.id), ("period_kind", "=", kind),
            ("date_from", ">=", periods[0].start), ("date_from", "<=", periods[-1].start),
            ("state", "=", "error"),
        ])
        failed.write({"superseded": True})
        failed.outbox_id.filtered(lambda o: o.state == "error").sudo().write(
            {"state": "cancelled"})
        run_cache = {}
        for period in periods:
            rows = rows_by_period.get(period.start, [])
            sent = sent_by_period.get(period.start)
            if not rows and not sent:
                continue
            build = self._build_period(company, connection, period, rows,
                                       create_relations=True, run_cache=run_cache)
            if not build.error and not build.missing and sent is not None:
                current = build.entry.totals_with_vat()
                if current == {k: v for k, v in sent.items() if v != (ZERO, ZERO)}:
                    continue
            created |= self._create_from_build(company, connection, build, sent, run_cache)
        if send:
            created._send()
        return created

    @api.model
    def _periods_due(self, company, today):
        """Periods of the company's mode that may be sent on ``today``."""
        kind = company.hie_period_sync_mode
        # one sync start date per company: part 1's, on the Exact Online connection
        start = self.env["accounting.connection"].sudo().search(
            [("company_id", "=", company.id)], limit=1, order="id"
        ).sync_start_date
        if kind not in ("day", "month") or not start:
            return []
        grace = company.hie_period_grace_days if kind == "month" else 0
        return [
            p for p in journal.list_periods(kind, start, today)
            if journal.period_is_closed_for_sending(p, today, grace)
        ]

    @api.model
    def _run_company(self, company, today=None):
        """One automatic run of ``company``: all due periods, new and changed."""
        today = today or fields.Date.context_today(self)
        periods = self._periods_due(company, today)
        run = self.env["accounting.period.sync.run"].create({
            "company_id": company.id, "mode": company.hie_period_sync_mode or "document",
            "periods_checked": len(periods),
        })
        try:
            created = self._sync_periods(company, periods)
        except UserError as exc:
            run.write({"state": "error", "message": str(exc.args[0])})
            return self.browse()
        run.write({
            "entry_ids": [fields.Command.set(created.ids)],
            "state": "error" if "error" in created.mapped("state") else "done",
        })
        company.hie_period_last_run_date = today
        return created

    @api.model
    def _cron_run_period_sync(self):
        """Hourly cron: run each company in day/month mode once a day, from its hour on."""
        utc_now = pytz.utc.localize(fields.Datetime.now())
        companies = self.env["res.company"].search([
            ("hie_period_sync_mode", "in", ("day", "month")),
        ])
        for company in companies:
            # the hour is the company's local hour (timezone of its partner, else UTC)
            now = utc_now.astimezone(pytz.timezone(company.partner_id.tz or "UTC"))
            if (company.hie_period_last_run_date == now.date()
                    or now.hour < company.hie_period_sync_hour):
                continue
            self.with_company(company)._run_company(company, now.date())
            if not getattr(threading.current_thread(), "testing", False):
                self.env.cr.commit()  # pylint: disable=invalid-commit

    # -- actions ------------------------------------------------------------------------

    def action_send(self):
        self.check_access("write")
        self.filtered(lambda e: e.state == "to_send")._send()
        return True

    def action_open_reconciliation(self):
        self.ensure_one()
        wizard = self.env["accounting.period.reconcile"].create({
            "company_id": self.company_id.id,
            "period_kind": self.period_kind,
            "date": self.date_from,
        })
        return wizard._action_open()
