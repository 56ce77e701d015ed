# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Issue 9, items 1-4: a booking line is billed on exactly one standing invoice, on every path
Odoo offers (RPC write, import, Odoo's reversal wizard, cancel and reset to draft, Link
Hours)."""
from odoo.exceptions import UserError
from odoo.tests import new_test_user, tagged

from .common import HieCase


@tagged("post_install", "-at_install")
class TestBilledOnce(HieCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.agreement(project_id=cls.project_tm.id, kind="hours", hourly_rate=90.0)

    def _invoice_hours(self, *lines, post=True):
        move = self.project_tm._hie_create_invoices(
            "2026-01-31", line_ids=[line.id for line in lines], invoice_date="2026-01-31")
        self.assertEqual(len(move), 1)
        if post:
            move.action_post()
        return move

    def _hand_invoice(self, post=True, amount=500.0):
        move = self.env["account.move"].create({
            "move_type": "out_invoice", "partner_id": self.customer.id,
            "invoice_date": "2026-01-31",
            "invoice_line_ids": [(0, 0, {"name": "Work by hand", "quantity": 1,
                                         "price_unit": amount})],
        })
        if post:
            move.action_post()
        return move

    def _link_hours(self, move, lines):
        wizard = self.env["hie.invoice.link.wizard"].create({
            "move_id": move.id, "line_ids": [(6, 0, lines.ids)],
        })
        return wizard.action_link()

    def _reversal(self, move, **vals):
        return self.env["account.move.reversal"].with_context(
            active_model="account.move", active_ids=move.ids,
        ).create(dict({"journal_id": move.journal_id.id, "date": "2026-01-31"}, **vals))

    def _charges(self, line):
        """Standing invoices that bill ``line``."""
        self.env.invalidate_all()
        def credited(move):
            refunds = move.reversal_move_ids.filtered(lambda m: m.state == "posted")
            return refunds and sum(refunds.mapped("amount_total")) >= move.amount_total - 0.005

        return line.invoice_id.filtered(
            lambda m: m.state in ("draft", "posted") and not credited(m))

    # -- 1. the link is as locked as the hours ------------------------
    def test_link_fields_cannot_be_written(self):
        line = self.book_hours(self.project_tm, 3, product=self.activity, date="2026-01-05")
        move = self._invoice_hours(line)
        other = self._hand_invoice()
        aml = line.invoice_line_id
        for user in (self.user_employee, self.user_manager, None):
            as_user = line.with_user(user) if user else line.sudo()
            for vals in ({"invoice_id": False}, {"invoice_line_id": False},
                         {"invoice_id": False, "invoice_line_id": False},
                         {"invoice_id": other.id}, {"invoice_line_id": other.invoice_line_ids.id},
                         {"billing_status": "to_invoice"}):
                with self.subTest(user=user and user.login, vals=vals), \
                        self.assertRefused(UserError, "cannot be changed by hand"):
                    as_user.write(vals)
        # writing what the line has (a form saved, an exported file) is no change
        line.with_user(self.user_manager).write({
            "invoice_id": move.id, "invoice_line_id": aml.id, "billing_status": "invoiced",
            "name": "corrected",
        })
        self.env.invalidate_all()
        self.assertEqual((line.invoice_id, line.invoice_line_id, line.name),
                         (move, aml, "corrected"))
        self.assertEqual(self.project_tm._hie_create_invoices("2026-01-31"),
                         self.env["account.move"])

    def test_import_of_link_fields(self):
        line = self.book_hours(self.project_tm, 3, product=self.activity, date="2026-01-05")
        move = self._invoice_hours(line)
        # a project manager who also invoices (the import reads the invoices by name)
        accountant = new_test_user(
            self.env, login="hie_invoicer",
            groups="base.group_user,project.group_project_manager,"
            "hr_timesheet.group_hr_timesheet_approver,account.group_account_invoice",
        )
        Line = self.env["account.analytic.line"].with_user(accountant)
        fields = ["id", "name", "invoice_id", "invoice_line_id", "billing_status"]
        exported = line.export_data(fields)["datas"]
        # the exported file imported again: no change, no error
        result = Line.load(fields, exported)
        self.assertFalse(result["messages"], result["messages"])
        self.assertEqual(result["ids"], line.ids)
        # the link column emptied: refused, nothing changed
        for column in ("invoice_id", "invoice_line_id"):
            rows = [list(row) for row in exported]
            rows[0][fields.index(column)] = ""
            result = Line.load(fields, rows)
            self.assertFalse(result["ids"])
            self.assertIn("cannot be changed by hand", result["messages"][0]["message"])
        # imported as a new line with its invoice: refused
        rows = [[""] + list(exported[0][1:])]
        result = Line.load(fields, rows)
        self.assertFalse(result["ids"])
        self.env.invalidate_all()
        self.assertEqual(line.invoice_id, move)
        self.assertEqual(self._charges(line), move)

    # -- 2. Odoo's "Reverse and create invoice" -----------------------
    def _check_reverse_and_create(self, releases):
        self.company.hie_credit_releases_hours = releases
        lines = (self.book_hours(self.project_tm, 2, product=self.activity, date="2026-01-05")
                 | self.book_hours(self.project_tm, 1, product=self.activity_other,
                                   date="2026-01-06"))
        move = self._invoice_hours(*lines)
        action = self._reversal(move).modify_moves()
        copy = self.env["account.move"].browse(action["res_id"])
        self.assertEqual(copy.state, "draft")
        self.assertEqual(copy.amount_untaxed, move.amount_untaxed)
        self.env.invalidate_all()
        # the hours follow the corrected copy, line by line: charged once
        self.assertEqual(lines.invoice_id, copy)
        self.assertEqual(lines.invoice_line_id.move_id, copy)
        self.assertEqual(lines.mapped("billing_status"), ["invoiced", "invoiced"])
        self.assertEqual(self.project_tm._hie_create_invoices("2026-01-31"),
                         self.env["account.move"])
        with self.assertRefused(UserError, "cannot be reset to draft"):
            move.button_draft()
        copy.action_post()
        self.assertEqual(self._charges(lines), copy)

    def test_reverse_and_create_invoice_releasing(self):
        self._check_reverse_and_create(releases=True)

    def test_reverse_and_create_invoice_writing_off(self):
        self._check_reverse_and_create(releases=False)

    def test_reverse_and_create_several_invoices(self):
        """Several invoices corrected at once: each copy takes the hours of its own
        invoice."""
        first = self.book_hours(self.project_tm, 2, product=self.activity, date="2026-01-05")
        second = self.book_hours(self.project_tm, 5, product=self.activity_other,
                                 date="2026-01-06")
        moves = self._invoice_hours(first) | self._invoice_hours(second)
        action = self._reversal(moves).modify_moves()
        copies = self.env["account.move"].search(action["domain"])
        self.assertEqual(len(copies), 2)
        self.env.invalidate_all()
        for line, move in ((first, moves[0]), (second, moves[1])):
            copy = line.invoice_id
            self.assertIn(copy, copies)
            self.assertEqual(copy.amount_untaxed, move.amount_untaxed)
            self.assertEqual(line.invoice_line_id.move_id, copy)
        self.assertNotEqual(first.invoice_id, second.invoice_id)

    # -- 3. a released invoice is never reset to draft -----------------
    def test_hand_made_invoice_released_cannot_be_reset(self):
        line = self.book_hours(self.project_tm, 3, product=self.activity, date="2026-01-05")
        hand = self._hand_invoice()
        self._link_hours(hand, line)
        self.assertEqual(line.invoice_id, hand)
        hand.button_cancel()
        self.assertTrue(hand.hie_hours_released)
        self.assertEqual(line.billing_status, "to_invoice")
        again = self._invoice_hours(line)
        with self.assertRefused(UserError, "cannot be reset to draft"):
            hand.button_draft()
        # nor by clearing the mark first, as an invoicing user over RPC
        invoicer = new_test_user(
            self.env, login="hie_invoicer",
            groups="base.group_user,account.group_account_invoice",
        )
        with self.assertRefused(UserError, "cannot be changed by hand"):
            hand.with_user(invoicer).write({"hie_hours_released": False})
        self.assertEqual(self._charges(line), again)

    def test_hand_made_invoice_credited_cannot_be_reset(self):
        self.company.hie_credit_releases_hours = True
        line = self.book_hours(self.project_tm, 3, product=self.activity, date="2026-01-05")
        hand = self._hand_invoice()
        self._link_hours(hand, line)
        refund = self.env["account.move"].browse(self._reversal(hand).refund_moves()["res_id"])
        refund.action_post()
        self.assertTrue(hand.hie_hours_released)
        self.assertEqual(line.billing_status, "to_invoice")
        self._invoice_hours(line)
        with self.assertRefused(UserError, "cannot be reset to draft"):
            hand.button_draft()
        with self.assertRefused(UserError, "cannot be reset to draft"):
            refund.button_draft()

    # -- 4. Link Hours refuses an invoice that does not stand -----------
    def test_link_refuses_credited_or_cancelled_invoice(self):
        self.company.hie_credit_releases_hours = False
        line = self.book_hours(self.project_tm, 3, product=self.activity, date="2026-01-05")
        credited = self._hand_invoice()
        self.env["account.move"].browse(
            self._reversal(credited).refund_moves()["res_id"]).action_post()
        cancelled = self._hand_invoice(post=False)
        cancelled.button_cancel()
        for move in (credited, cancelled):
            with self.subTest(move=move.state), \
                    self.assertRefused(UserError, "cancelled or fully credited"):
                self._link_hours(move, line)
        self.assertEqual(line.billing_status, "to_invoice")
        # a partly credited invoice still stands
        partly = self._hand_invoice()
        refund = self.env["account.move"].browse(self._reversal(partly).refund_moves()["res_id"])
        refund.invoice_line_ids.price_unit = 100.0
        refund.action_post()
        self._link_hours(partly, line)
        self.assertEqual(self._charges(line), partly)
