# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from collections import defaultdict

from psycopg2 import errors as pg_errors

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.osv import expression
from odoo.tools import SQL, create_index, mute_logger

# The booking line fields read from this table: never written on a booking line
LINK_FIELDS = ("invoice_id", "invoice_line_id")
# What a booking line is billed as: computed until it is billed, then kept
BILLED_AS = ("revenue_amount", "revenue_unit_rate", "revenue_source", "revenue_agreement_id",
             "is_direct")


def int_array(values):
    """An ``int[]`` parameter of many values as one array literal (``'{1,2,NULL}'``, to be
    cast ``%s::int[]``): PostgreSQL reads it at once, where the ``ARRAY[1, 2, NULL]`` that
    psycopg2 makes of a list is parsed as an expression of as many elements (measured: half
    the time of linking 20,000 booking lines)."""
    return "{%s}" % ",".join("NULL" if value is None else str(int(value)) for value in values)


class HieBillingLink(models.Model):
    """Which invoice (and invoice line) bills a booking line: one narrow row per billed line,
    and the one owner of billing: link, release, the lock of billed lines, the billing status
    rule, its search domains and the unbilled query. The booking line, the invoice, the
    invoice line, the project and the wizards call the methods below.

    The link lives here and not in columns of ``account_analytic_line``: billing a month of
    hours inserts small rows into a table with three indexes, instead of rewriting every
    billed timesheet row and every index of Odoo's widest table (measured: 1.5 s per 20,000
    hours, growing with the table). The unique booking line makes "never billed twice" a rule
    of the database, whatever the application does, also between concurrent transactions.

    The columns are plain integers, without foreign keys: PostgreSQL checks a foreign key row
    by row, and the three would cost more than the insert itself. The references are kept
    by the ORM instead: billed booking lines cannot be deleted, and deleting an invoice or an
    invoice line (the only way they go) releases its booking lines first
    (``account.move.unlink``, ``account.move.line.unlink``).

    Written only by :meth:`_link` and :meth:`_release` (and :meth:`_release_moves`,
    :meth:`_transfer_to_copies` built on them), which only the invoicing paths call:
    invoicing, Link Hours, and the release by cancelling, fully crediting or deleting an
    invoice. The booking line's ``invoice_id`` / ``invoice_line_id`` cannot be written
    (:meth:`_check_link_write`), and users cannot write this table.
    """

    _name = "hie.billing.link"
    _description = "Billing Link of a Booking Line"
    _log_access = False

    booking_line_id = fields.Integer(string="Booking Line", required=True, readonly=True)
    move_id = fields.Integer(string="Invoice", required=True, readonly=True)
    move_line_id = fields.Integer(string="Invoice Line", readonly=True)

    _sql_constraints = [
        ("booking_line_unique", "UNIQUE(booking_line_id)",
         "A booking line is billed on one invoice at most."),
    ]

    def init(self):
        # look-ups by invoice, and by invoice line within its invoice
        create_index(self.env.cr, "hie_billing_link_move_index", self._table,
                     ["move_id", "move_line_id"])

    # ------------------------------------------------------------------
    # Reading the links
    # ------------------------------------------------------------------
    @api.model
    def _read_by_booking_lines(self, line_ids):
        """{booking line id: (invoice id, invoice line id or None)} of the linked ones."""
        if not line_ids:
            return {}
        self.flush_model()
        self.env.cr.execute(
            "SELECT booking_line_id, move_id, move_line_id FROM hie_billing_link"
            " WHERE booking_line_id = ANY(%s::int[])",
            (int_array(line_ids),),
        )
        return {row[0]: row[1:] for row in self.env.cr.fetchall()}

    @api.model
    def _read_by_moves(self, move_ids):
        """[(booking line id, invoice line id or None, invoice id)] of these invoices, by
        booking line."""
        move_ids = [move_id for move_id in move_ids if move_id]
        if not move_ids:
            return []
        self.flush_model()
        self.env.cr.execute(
            "SELECT booking_line_id, move_line_id, move_id FROM hie_billing_link"
            " WHERE move_id = ANY(%s) ORDER BY booking_line_id",
            (move_ids,),
        )
        return self.env.cr.fetchall()

    @api.model
    def _read_by_move_lines(self, move_ids, move_line_ids):
        """[(invoice line id, booking line id)] of these invoice lines (of these invoices:
        the index is on (invoice, invoice line))."""
        if not move_line_ids:
            return []
        self.flush_model()
        self.env.cr.execute(
            "SELECT move_line_id, booking_line_id FROM hie_billing_link"
            " WHERE move_id = ANY(%s) AND move_line_id = ANY(%s) ORDER BY booking_line_id",
            (list(move_ids), list(move_line_ids)),
        )
        return self.env.cr.fetchall()

    @api.model
    def _read_move_figures(self, move_ids):
        """{invoice id: (number of booking lines, their revenue)}."""
        move_ids = [move_id for move_id in move_ids if move_id]
        if not move_ids:
            return {}
        self.flush_model()
        self.env["account.analytic.line"].flush_model(["revenue_amount"])
        self.env.cr.execute(
            """
            SELECT k.move_id, COUNT(*), COALESCE(SUM(l.revenue_amount), 0)
              FROM hie_billing_link k
              JOIN account_analytic_line l ON l.id = k.booking_line_id
             WHERE k.move_id = ANY(%s)
             GROUP BY k.move_id
            """,
            (move_ids,),
        )
        return {move_id: (count, value) for move_id, count, value in self.env.cr.fetchall()}

    # ------------------------------------------------------------------
    # Link and release: the only writers, set-based (one query for any number of lines)
    # ------------------------------------------------------------------
    @api.model
    def _link(self, links):
        """Link unbilled booking lines to invoices.

        :param links: iterable of ``(booking line id, invoice line id or False, invoice id)``

        One INSERT into this narrow table for the whole batch; the booking lines themselves
        are not written. The database refuses a line that is already linked (also by a
        concurrent transaction, committed or not): it becomes a clear error and nothing of
        the batch is linked. The caller checks the rights of its user.
        """
        links = [link for link in links if link[2]]
        if not links:
            return
        self._check_link_companies(links)
        self.flush_model()
        # lines are billed at the revenue they have now: billed lines are not recomputed
        self.env["account.analytic.line"].flush_model(BILLED_AS)
        try:
            with mute_logger("odoo.sql_db"), self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    """
                    INSERT INTO hie_billing_link (booking_line_id, move_line_id, move_id)
                    SELECT * FROM unnest(%s::int[], %s::int[], %s::int[])
                    """,
                    (
                        int_array(link[0] for link in links),
                        int_array(link[1] or None for link in links),
                        int_array(link[2] for link in links),
                    ),
                )
        except (pg_errors.UniqueViolation, pg_errors.SerializationFailure,
                pg_errors.LockNotAvailable) as exc:
            raise UserError(_(
                "Some of these hours are already billed, or being invoiced by someone else at "
                "this moment. Nothing was invoiced; try again in a moment: hours that are "
                "billed by then are left out."
            )) from exc
        self._links_changed(links)

    @api.model
    def _check_link_companies(self, links):
        """A booking line is billed only on an invoice of its own company: refuse links
        (``(booking line id, invoice line id, invoice id)``) that cross companies, whatever
        path makes them (one query per company of the invoices: the booking lines are compared
        with that company, not each with its invoice)."""
        moves = self.env["account.move"].sudo().browse({link[2] for link in links})
        company_of = {move.id: move.company_id.id for move in moves}
        by_company = defaultdict(list)  # company id -> [(booking line id, invoice id)]
        for line_id, _move_line_id, move_id in links:
            by_company[company_of[move_id]].append((line_id, move_id))
        self.env["account.analytic.line"].flush_model(["company_id"])
        for company_id, company_links in by_company.items():
            self.env.cr.execute(
                """
                SELECT l.id
                  FROM unnest(%s::int[]) AS k(line_id)
                  JOIN account_analytic_line l ON l.id = k.line_id
                 WHERE l.company_id != %s
                 LIMIT 1
                """,
                (int_array(link[0] for link in company_links), company_id),
            )
            row = self.env.cr.fetchone()
            if not row:
                continue
            line = self.env["account.analytic.line"].sudo().browse(row[0])
            move = moves.browse(next(move_id for line_id, move_id in company_links
                                     if line_id == row[0]))
            raise UserError(_(
                "The booking line “%(line)s” of %(date)s belongs to %(line_company)s and cannot "
                "be billed on invoice %(invoice)s of %(invoice_company)s: hours are invoiced "
                "in their own company.",
                line=line.name or "", date=line.date, line_company=line.company_id.name,
                invoice=move.display_name, invoice_company=move.company_id.name,
            ))

    @api.model
    def _release(self, line_ids):
        """Make these billed booking lines billable again."""
        line_ids = list(line_ids)
        if not line_ids:
            return
        self.flush_model()
        self.env.cr.execute(
            "DELETE FROM hie_billing_link WHERE booking_line_id = ANY(%s::int[])",
            (int_array(line_ids),),
        )
        self._links_changed([(line_id, False, False) for line_id in line_ids])

    @api.model
    def _release_moves(self, moves, mark=True):
        """Release the booking lines of these invoices (cancelled, fully credited); with
        ``mark``, the invoices that billed booking lines — however their lines were made:
        invoicing or Link Hours — are marked released and can never be reset to draft."""
        moves = moves._origin
        links = self._read_by_moves(moves.ids)
        self._release(link[0] for link in links)
        if mark:
            billed = moves.browse({link[2] for link in links})
            billed |= moves.filtered(lambda m: m.invoice_line_ids.filtered("hie_bills_hours"))
            self._mark_released(billed)

    @api.model
    def _release_credited(self, credit_notes):
        """Posting credit notes: an invoice that its posted credit notes fully credit
        releases its hours when the company says credited hours become billable again;
        otherwise they stay billed (written off). Partial credit notes never release hours.
        Invoice and credit notes are then marked released."""
        invoices = credit_notes.filtered(
            lambda move: move.move_type == "out_refund" and move.state == "posted"
        ).reversed_entry_id
        for move in invoices.filtered(lambda m: m.state == "posted" and not m.hie_hours_released):
            if self._is_fully_credited(move) and move.company_id.hie_credit_releases_hours:
                self._release_moves(move)
                self._mark_released(
                    move.reversal_move_ids.filtered(lambda m: m.state == "posted"))

    @api.model
    def _mark_released(self, moves):
        """Mark invoices (and credit notes) whose hours were released: only here."""
        moves.sudo().with_context(hie_mark_released=True).write({"hie_hours_released": True})

    @api.model
    def _check_released_write(self, moves, vals):
        """``hie_hours_released`` is set by a release only, and never cleared: clearing it
        would let the invoice be reset to draft and bill its hours a second time."""
        if "hie_hours_released" in vals and not self.env.context.get("hie_mark_released") \
                and any(move.hie_hours_released != bool(vals["hie_hours_released"])
                        for move in moves):
            raise UserError(_(
                "Whether the hours of an invoice were released is set by cancelling, crediting "
                "or correcting it, and cannot be changed by hand."
            ))

    @api.model
    def _check_can_reopen(self, moves):
        """An invoice whose hours were released (cancelled, credited, corrected) is never
        reset to draft: its hours may have been invoiced since."""
        released = moves.filtered("hie_hours_released")
        if released:
            raise UserError(_(
                "Invoice %s cannot be reset to draft: its hours were made billable again when it "
                "was cancelled or credited, and may have been invoiced since. Invoice the hours "
                "anew instead.",
                released[0].display_name,
            ))

    @api.model
    def _transfer_to_copies(self, links, copies_by_move):
        """Move the links of invoices (``links``: rows of :meth:`_read_by_moves` read before)
        to their corrected copies (Odoo's "Reverse and create invoice"): each invoice line's
        booking lines go to the copy's line at the same place, or to the copy alone when the
        lines no longer match. The credited originals and their posted credit notes are marked
        released: resetting one of them to draft would charge the hours a second time."""
        links = [link for link in links if link[2] in copies_by_move]
        if not links:
            return
        originals = self.env["account.move"].browse({link[2] for link in links})
        self._release(link[0] for link in links)
        self._mark_released(
            originals | originals.reversal_move_ids.filtered(lambda m: m.state == "posted"))

        def product_lines(move):
            return move.invoice_line_ids.filtered(
                lambda aml: aml.display_type == "product"
            ).sorted(lambda aml: (aml.sequence, aml.id))

        line_map = {}
        for original in originals:
            old, new = product_lines(original), product_lines(copies_by_move[original.id])
            if len(old) != len(new):
                continue
            line_map.update(zip(old.ids, new.ids, strict=True))
            new.browse(
                new_line.id for old_line, new_line in zip(old, new, strict=True)
                if old_line.hie_bills_hours
            ).sudo().write({"hie_bills_hours": True})
        self._link(
            (line_id, line_map.get(move_line_id, False), copies_by_move[move_id].id)
            for line_id, move_line_id, move_id in links
            if move_id in copies_by_move
        )

    @api.model
    def _links_changed(self, links):
        """Tell the caches what this table says now (no booking line was written)."""
        lines = self.env["account.analytic.line"].browse([link[0] for link in links])
        self._set_cache(lines, links)
        lines.invalidate_recordset(["billing_status"])
        self.invalidate_model()
        self.env["account.move.line"].invalidate_model(["hie_booking_line_ids"])
        self.env["account.move"].invalidate_model([
            "hie_booking_line_ids", "hie_booking_line_count", "hie_hours_value",
            "hie_hours_difference",
        ])
        self.env["project.project"].invalidate_model(
            ["hie_billed_revenue", "hie_unbilled_revenue"]
        )

    @api.model
    def _set_cache(self, lines, links=None):
        """Put the links of booking lines in the cache (``links`` as for :meth:`_link`, in
        the order of ``lines``; none: unlinked, e.g. new lines, without a query)."""
        Line = self.env["account.analytic.line"]
        links = links if links is not None else [(0, False, False)] * len(lines)
        cache = self.env.cache
        cache.update(lines, Line._fields["invoice_line_id"], [link[1] or None for link in links])
        cache.update(lines, Line._fields["invoice_id"], [link[2] or None for link in links])

    # ------------------------------------------------------------------
    # Which invoices can bill hours
    # ------------------------------------------------------------------
    @api.model
    def _is_fully_credited(self, move):
        """Whether the posted credit notes of ``move`` credit all of it."""
        credit_notes = move.reversal_move_ids.filtered(lambda m: m.state == "posted")
        return bool(credit_notes) and move.currency_id.compare_amounts(
            sum(credit_notes.mapped("amount_total")), move.amount_total) >= 0

    @api.model
    def _check_can_link_to(self, move):
        """Hours can be linked only to a customer invoice that stands: not cancelled, not
        released, not fully credited."""
        if move.move_type != "out_invoice":
            raise UserError(_("Hours can be linked only to a customer invoice, not to %s.",
                              move.display_name))
        if move.state == "cancel" or move.hie_hours_released or self._is_fully_credited(move):
            raise UserError(_(
                "Hours cannot be linked to invoice %s: it is cancelled or fully credited, so "
                "nobody pays for them. Link them to an invoice that stands, or invoice them "
                "anew.",
                move.display_name,
            ))

    # ------------------------------------------------------------------
    # The lock of billed lines: one list of fields, one guard for write and unlink
    # ------------------------------------------------------------------
    @api.model
    def _get_protected_fields(self):
        """Fields of a billed booking line that cannot change while it is on an invoice.

        Not protected: the description (``name``) and the cost side (``amount``,
        ``cost_amount``, ``cost_unit_price``): recomputing the cost of invoiced hours, e.g.
        after a retroactive change of an employee's hourly cost, does not change the invoice.
        The link itself (``invoice_id``, ``invoice_line_id``, ``billing_status``) is never
        written on a line, see
        :meth:`_check_link_write`.
        """
        return [
            "date", "project_id", "task_id", "employee_id", "product_id", "unit_amount",
            "product_uom_id", "revenue_unit_rate", "revenue_amount", "is_direct",
            "revenue_override", "revenue_manual", "account_id", "move_line_id",
            "booking_project_id", "booking_kind", "company_id",
        ]

    @api.model
    def _changed_protected_fields(self, line, vals):
        """Names of the protected fields that ``vals`` really changes on ``line``."""
        changed = []
        for fname in set(self._get_protected_fields()) & set(vals):
            field = line._fields[fname]
            new = field.convert_to_record(field.convert_to_cache(vals[fname], line), line)
            if field.type == "float":
                if field.convert_to_cache(line[fname], line) != field.convert_to_cache(new, line):
                    changed.append(fname)
            elif new != line[fname]:
                changed.append(fname)
        return changed

    @api.model
    def _check_lock(self, lines, vals=None):
        """Refuse changing protected fields (``vals``) or deleting (``vals`` is None) billed
        booking lines, naming the invoice. Every write of a protected field and every unlink
        passes here."""
        self._wait_for_billing(lines)
        for line in lines.sudo().filtered("invoice_id"):
            if vals is None:
                raise UserError(_(
                    "You cannot delete the booking line “%(line)s” of %(date)s: it is billed on "
                    "invoice %(invoice)s. Remove it from the draft invoice, or cancel or credit "
                    "the invoice first.",
                    line=line.name or "", date=line.date, invoice=line.invoice_id.display_name,
                ))
            changed = self._changed_protected_fields(line, vals)
            if changed:
                raise UserError(_(
                    "You cannot change %(fields)s of the booking line “%(line)s” of %(date)s: it "
                    "is billed on invoice %(invoice)s. Only the description can still be "
                    "corrected. Remove the line from the draft invoice, or cancel or credit the "
                    "invoice first.",
                    fields=", ".join(
                        sorted(line._fields[fname].get_description(self.env)["string"]
                               for fname in changed)
                    ),
                    line=line.name or "", date=line.date, invoice=line.invoice_id.display_name,
                ))

    @api.model
    def _check_link_write(self, lines, vals):
        """The link of a booking line changes only by invoicing, Link Hours or a release,
        never by writing ``invoice_id`` / ``invoice_line_id`` (form, list, RPC, import), also
        not as superuser. Writing the value a line has already (an exported file imported
        again) is no change: return ``vals`` without those fields, or refuse."""
        written = [fname for fname in (*LINK_FIELDS, "billing_status") if fname in vals]
        if not written:
            return vals
        for line in lines:
            for fname in written:
                value = vals[fname]
                if fname == "billing_status":
                    changed = (value or False) != line.billing_status
                else:
                    new_id = value.id if isinstance(value, models.BaseModel) else int(value or 0)
                    changed = new_id != line[fname].id
                if changed:
                    raise UserError(_(
                        "The invoice of the booking line “%(line)s” of %(date)s cannot be "
                        "changed by hand. Booking lines are billed by invoicing them or by Link "
                        "Hours on the invoice, and billable again when their invoice is "
                        "cancelled, credited or deleted as a draft.",
                        line=line.name or "", date=line.date,
                    ))
        return {key: value for key, value in vals.items() if key not in written}

    @api.model
    def _import_fields_and_data(self, fields, data):
        """``load`` of booking lines: the columns of the link (``invoice_id``,
        ``invoice_line_id``, ``billing_status``, with their ``/id`` forms) are no data to
        import. A column in which every row holds what its line shows now (an exported file
        imported again) is dropped: Odoo could not even find an invoice by the name it
        exports. A column that changes a line is kept, and the import is then refused by
        :meth:`_check_link_write` (or :meth:`_check_link_create`). Return the fields and rows
        to import."""
        names = (*LINK_FIELDS, "billing_status")
        columns = [index for index, path in enumerate(fields)
                   if path.split("/")[0] in names]
        if not columns:
            return fields, data
        Line = self.env["account.analytic.line"]
        paths = [fields[index].split("/") for index in columns]
        status_labels = dict(Line._fields["billing_status"]._description_selection(self.env))
        unchanged = set(columns)  # the columns no row changes
        for row in data:
            record = Line.browse()
            if ".id" in fields and row[fields.index(".id")]:
                record = Line.browse(int(row[fields.index(".id")])).exists()
            elif "id" in fields and row[fields.index("id")]:
                xmlid = row[fields.index("id")]
                record = self.env.ref(xmlid if "." in xmlid else f"__import__.{xmlid}",
                                      raise_if_not_found=False) or Line.browse()
                if record._name != Line._name:
                    record = Line.browse()
            if not record:  # a new line: created unbilled
                unchanged -= {index for index in columns if row[index]}
                continue
            record = record.sudo()
            [current] = record._export_rows(paths)
            for index, path, value in zip(columns, paths, current, strict=True):
                same = {str(value) if value not in (False, None) else ""}
                if path == ["billing_status"]:
                    same |= {status_labels.get(record.billing_status, ""),
                             record.billing_status or ""}
                if str(row[index] or "") not in same:
                    unchanged.discard(index)
        keep = [index for index in range(len(fields)) if index not in unchanged]
        return [fields[index] for index in keep], [[row[index] for index in keep]
                                                     for row in data]

    @api.model
    def _check_link_create(self, vals_list):
        """New booking lines are created unbilled (an import of an exported billed line as a
        new line included): refuse a link in their values, drop empty ones."""
        for vals in vals_list:
            if any(vals.get(fname) for fname in LINK_FIELDS):
                raise UserError(_(
                    "A new booking line cannot be created as billed on an invoice. Create it "
                    "without invoice, then invoice it or use Link Hours on the invoice."
                ))
            for fname in (*LINK_FIELDS, "billing_status"):  # the status follows the link
                vals.pop(fname, None)
        return vals_list

    @api.model
    def _wait_for_billing(self, lines):
        """Serialize a change of these lines with the billing of their projects.

        Billing takes and marks the rows of the billed projects (see
        :meth:`project.project._hie_lock_for_billing`), not the booking lines. Taking a share
        lock on the same rows here waits for a billing in progress, and fails as a concurrent
        update (which Odoo retries, and the retry then sees the lines billed) when a billing
        committed after this transaction's snapshot, which still shows the lines unbilled.
        """
        projects = lines.sudo().booking_project_id
        if projects:
            self.env.cr.execute(
                "SELECT id FROM project_project WHERE id = ANY(%s) ORDER BY id FOR SHARE",
                (projects.ids,),
            )

    # ------------------------------------------------------------------
    # The billing status rule, in Python, in domains and in SQL
    # ------------------------------------------------------------------
    @api.model
    def _billing_status(self, booked, linked, invoicing_type, is_direct):
        """The rule: no project, no status; linked lines are invoiced; direct lines of time
        & material projects are to invoice; the others are not billable."""
        if not booked:
            return False
        if linked:
            return "invoiced"
        if invoicing_type == "time_material" and is_direct:
            return "to_invoice"
        return "not_billable"

    @api.model
    def _billable_domain(self):
        """Booking lines that are billed or to invoice: direct lines of time & material
        projects (the rule of :meth:`_billing_status` as a domain)."""
        return [("booking_project_id.invoicing_type", "=", "time_material"),
                ("is_direct", "=", True)]

    @api.model
    def _billing_status_domains(self):
        """The same rule as domains on booking lines, per status."""
        billable = self._billable_domain()
        return {
            False: [("booking_project_id", "=", False)],
            "invoiced": [("booking_project_id", "!=", False)] + self._linked_domain(),
            "to_invoice": billable + self._unlinked_domain(),
            "not_billable": expression.AND([
                [("booking_project_id", "!=", False)],
                expression.OR([[("booking_project_id.invoicing_type", "!=", "time_material")],
                               [("is_direct", "!=", True)]]),
                self._unlinked_domain(),
            ]),
        }

    @api.model
    def _billing_status_sql(self, booked, link, invoicing_type, is_direct):
        """The same rule in SQL, over the given SQL expressions: the booking line's project,
        an id of its (left-joined) link, its project's invoicing type and its direct flag."""
        return SQL(
            """CASE WHEN %(booked)s IS NULL THEN NULL
                    WHEN %(link)s IS NOT NULL THEN 'invoiced'
                    WHEN %(direct)s AND %(type)s = 'time_material' THEN 'to_invoice'
                    ELSE 'not_billable' END""",
            booked=booked, link=link, direct=is_direct, type=invoicing_type,
        )

    @api.model
    def _search_billing_status(self, operator, value):
        domains = self._billing_status_domains()
        if operator in ("=", "!="):
            value = [value]
            operator = "in" if operator == "=" else "not in"
        if operator not in ("in", "not in"):
            raise UserError(_("Billing status cannot be searched with “%s”.", operator))
        wanted = {status or False for status in value}
        if operator == "not in":
            wanted = set(domains) - wanted
        return expression.OR([domains[status] for status in domains if status in wanted]) \
            if wanted else [("id", "in", [])]

    # ------------------------------------------------------------------
    # Search domains of booking lines over the links
    # ------------------------------------------------------------------
    @api.model
    def _linked_domain(self, condition=None):
        """Booking lines with a link (that meets ``condition`` on link alias ``k``)."""
        return [("id", "in", SQL(
            "(SELECT k.booking_line_id FROM hie_billing_link k WHERE %s)",
            condition or SQL("TRUE"),
        ))]

    @api.model
    def _unlinked_domain(self, condition=None):
        """Booking lines without a link (that meets ``condition`` on link alias ``k``);
        an anti-join, which stays linear on any number of billed lines (``NOT IN`` would not
        once the billed ids no longer fit in memory)."""
        return [("id", "in", SQL(
            "(SELECT l.id FROM account_analytic_line l WHERE NOT EXISTS ("
            "SELECT 1 FROM hie_billing_link k WHERE k.booking_line_id = l.id AND %s))",
            condition or SQL("TRUE"),
        ))]

    @api.model
    def _search_link(self, column, comodel, operator, value):
        """Domain on booking lines for ``(invoice_id|invoice_line_id, operator, value)``."""
        has = SQL("%s IS NOT NULL", SQL.identifier("k", column))
        if operator in ("any", "not any"):
            value = list(self.env[comodel]._search(value))
            operator = "in" if operator == "any" else "not in"
        elif operator not in ("=", "!=", "in", "not in"):
            negative = operator in expression.NEGATIVE_TERM_OPERATORS
            if negative:
                operator = expression.TERM_OPERATORS_NEGATION[operator]
            value = list(self.env[comodel]._search([("display_name", operator, value)]))
            operator = "not in" if negative else "in"
        if isinstance(value, models.BaseModel):
            value = value.ids or [False]
        elif operator in ("=", "!="):
            value = [value]
        if operator in ("=", "!="):
            operator = "in" if operator == "=" else "not in"
        ids = [int(v) for v in value if v]
        with_false = len(ids) < len(value)
        match = SQL("%s AND %s = ANY(%s)", has, SQL.identifier("k", column), ids)
        if operator == "in":
            domain = self._linked_domain(match) if ids else [("id", "in", [])]
            if with_false:
                domain = expression.OR([domain, self._unlinked_domain(has)])
            return domain
        if with_false:
            return self._linked_domain(
                SQL("%s AND NOT %s = ANY(%s)", has, SQL.identifier("k", column), ids)
                if ids else has
            )
        return self._unlinked_domain(match) if ids else []

    @api.model
    def _group_by_billing_status(self, lines_model, query):
        """SQL of the billing status of the booking lines of ``query`` (read_group)."""
        alias = query.table
        link = query.make_alias(alias, "hie_billing_link")
        query.add_join("LEFT JOIN", link, "hie_billing_link", SQL(
            "%s = %s", SQL.identifier(link, "booking_line_id"), SQL.identifier(alias, "id"),
        ))
        project = query.make_alias(alias, "hie_status_project")
        query.add_join("LEFT JOIN", project, "project_project", SQL(
            "%s = %s", SQL.identifier(project, "id"),
            SQL.identifier(alias, "booking_project_id"),
        ))
        return self._billing_status_sql(
            lines_model._field_to_sql(alias, "booking_project_id", query),
            SQL.identifier(link, "id"),
            SQL.identifier(project, "invoicing_type"),
            lines_model._field_to_sql(alias, "is_direct", query),
        )

    # ------------------------------------------------------------------
    # The unbilled query
    # ------------------------------------------------------------------
    @api.model
    def _read_unbilled_groups(self, domain):
        """The unbilled booking lines of ``domain`` summed per project, activity, employee,
        rate, unit and kind, in one query: rows of (project, product, employee, rate, uom,
        kind, quantity, revenue, line ids). Read with this model's environment (``sudo()``
        for the invoicing service).

        The "not billed" condition is a ``NOT EXISTS`` on the link table correlated with the
        lines of the query (an anti-join), which a domain cannot express for a non-stored
        field. It is applied to the lines of the domain read first (a materialized CTE): how
        many lines the anti-join leaves is often badly estimated (e.g. when the link table
        holds rows that were rolled back), and a join planned after it on that estimate (the
        projects of the domain, once per line) took ten times as long as the query.
        """
        Line = self.env["account.analytic.line"]
        self.flush_model()
        query = Line._search(domain)
        alias = query.table
        keys = ["booking_project_id", "product_id", "employee_id", "revenue_unit_rate",
                "product_uom_id", "booking_kind"]
        columns = {fname: Line._field_to_sql(alias, fname, query)
                   for fname in ("id", *keys, "unit_amount", "revenue_amount")}
        lines = query.select(*(SQL("%s AS %s", column, SQL.identifier(fname))
                               for fname, column in columns.items()))
        grouped = SQL(", ").join(SQL.identifier("l", fname) for fname in keys)
        rows = self.env.execute_query(SQL(
            """
            WITH l AS MATERIALIZED (%(lines)s)
            SELECT %(grouped)s, SUM(l.unit_amount), SUM(l.revenue_amount),
                   ARRAY_AGG(l.id ORDER BY l.id)
              FROM l
             WHERE NOT EXISTS (SELECT 1 FROM hie_billing_link k WHERE k.booking_line_id = l.id)
             GROUP BY %(grouped)s
            """,
            lines=lines, grouped=grouped,
        ))
        # the records of all rows are read together (one query per model, not per row)
        Project, Product, Employee, Uom = (
            self.env[model].browse({row[index] for row in rows if row[index]})
            for model, index in (("project.project", 0), ("product.product", 1),
                                 ("hr.employee", 2), ("uom.uom", 4))
        )
        return [
            (Project.browse(project_id).with_prefetch(Project._prefetch_ids),
             Product.browse(product_id).with_prefetch(Product._prefetch_ids),
             Employee.browse(employee_id).with_prefetch(Employee._prefetch_ids),
             rate or 0.0, Uom.browse(uom_id).with_prefetch(Uom._prefetch_ids), kind,
             qty or 0.0, revenue or 0.0, ids)
            for project_id, product_id, employee_id, rate, uom_id, kind, qty, revenue, ids
            in rows
        ]
