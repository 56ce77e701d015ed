# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import random

from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from .common import HieCase

STEPS = 250


@tagged("post_install", "-at_install")
class TestNeverBilledTwice(HieCase):
    """A seeded random walk over book, invoice, post, partial credit, full credit, reset to
    draft, cancel, delete draft, re-invoice and link-existing; after every step no booking line
    is billed by two standing invoices, and billed revenue equals the standing hours lines."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.project_detail = cls.env["project.project"].create({
            "name": "T&M detail", "partner_id": cls.customer.id,
            "invoicing_type": "time_material", "invoice_detail_level": "line",
        })
        cls.agreement(project_id=cls.project_tm.id, kind="hours", hourly_rate=87.5)

    # -- actions ------------------------------------------------------
    def _moves(self, **domain):
        return self.env["account.move"].search(
            [("partner_id", "child_of", self.customer.id)]
            + [(key, "=", value) for key, value in domain.items()], order="id")

    def book(self, rnd):
        vals = {}
        if rnd.random() < 0.15:
            vals = {"revenue_override": True, "revenue_manual": round(rnd.uniform(10, 500), 2)}
        self.book_hours(
            rnd.choice([self.project_tm, self.project_detail]),
            hours=rnd.choice([0.25, 0.5, 1, 1.5, 2.75, 3.33, 8]),
            employee=rnd.choice([self.employee, self.employee_rated]),
            product=rnd.choice([self.activity, self.activity_other]),
            date=f"2026-01-{rnd.randint(1, 28):02d}", **vals,
        )

    def invoice(self, rnd):
        projects = self.project_tm | self.project_detail
        projects._hie_create_invoices(
            f"2026-01-{rnd.randint(1, 28):02d}", grouping=rnd.choice(["project", "debtor"]),
            invoice_date="2026-01-31")

    def post(self, rnd):
        drafts = self._moves(state="draft")
        if drafts:
            rnd.choice(drafts).action_post()

    def _credit(self, rnd, partial):
        invoices = self._moves(state="posted", move_type="out_invoice")
        if not invoices:
            return
        invoice = rnd.choice(invoices)
        wizard = self.env["account.move.reversal"].with_context(
            active_model="account.move", active_ids=invoice.ids,
        ).create({"journal_id": invoice.journal_id.id, "date": "2026-01-31"})
        refund = self.env["account.move"].browse(wizard.refund_moves()["res_id"])
        if partial:
            refund.invoice_line_ids[1:].unlink()
            refund.invoice_line_ids.write({"quantity": 1, "price_unit": 1.0})
        refund.action_post()

    def partial_credit(self, rnd):
        self._credit(rnd, partial=True)

    def full_credit(self, rnd):
        self._credit(rnd, partial=False)

    def reset_to_draft(self, rnd):
        moves = self._moves(state="posted") | self._moves(state="cancel")
        if moves:
            rnd.choice(moves).button_draft()

    def cancel(self, rnd):
        moves = self._moves(state="draft") | self._moves(state="posted")
        if moves:
            rnd.choice(moves).button_cancel()

    def delete_draft(self, rnd):
        drafts = self._moves(state="draft")
        if drafts:
            rnd.choice(drafts).unlink()

    def link_existing(self, rnd):
        invoice = self.env["account.move"].create({
            "move_type": "out_invoice", "partner_id": self.customer.id,
            "invoice_date": "2026-01-31",
            "invoice_line_ids": [(0, 0, {"name": "by hand", "quantity": 1, "price_unit": 100})],
        })
        if rnd.random() < 0.5:
            invoice.action_post()
        wizard = self.env["hie.invoice.link.wizard"].create({"move_id": invoice.id})
        if not wizard.available_line_ids:
            return
        wizard.line_ids = rnd.sample(wizard.available_line_ids.ids,
                                     rnd.randint(1, len(wizard.available_line_ids)))
        wizard.action_link()

    # -- invariant ----------------------------------------------------
    def check(self, label):
        Line = self.env["account.analytic.line"]
        self.env.invalidate_all()
        lines = Line.search([("booking_project_id", "in",
                              (self.project_tm | self.project_detail).ids)])
        invoices = self._moves(move_type="out_invoice")
        standing = invoices.filtered(
            lambda m: m.state in ("draft", "posted") and not m.hie_hours_released)
        for line in lines.filtered("invoice_id"):
            self.assertIn(line.invoice_id, standing, label)
            self.assertEqual(line.billing_status, "invoiced", label)
            if line.invoice_line_id:
                self.assertEqual(line.invoice_line_id.move_id, line.invoice_id, label)
        for line in lines - lines.filtered("invoice_id"):
            self.assertEqual(line.billing_status, "to_invoice", label)
        hour_lines = standing.invoice_line_ids.filtered("hie_bills_hours")
        for aml in hour_lines:
            self.assertTrue(aml.hie_booking_line_ids, label)
            self.assertAlmostEqual(aml.price_subtotal,
                                   sum(aml.hie_booking_line_ids.mapped("revenue_amount")),
                                   places=2, msg=label)
        for move in invoices - standing:
            self.assertFalse(move.hie_booking_line_ids, label)
        billed = sum(lines.filtered("invoice_line_id").mapped("revenue_amount"))
        self.assertAlmostEqual(billed, sum(hour_lines.mapped("price_subtotal")), places=2,
                               msg=label)

    def _walk(self, seed, releases):
        self.company.hie_credit_releases_hours = releases
        rnd = random.Random(seed)
        actions = [
            (self.book, 4), (self.invoice, 2), (self.post, 2), (self.partial_credit, 1),
            (self.full_credit, 1), (self.reset_to_draft, 1), (self.cancel, 1),
            (self.delete_draft, 1), (self.link_existing, 1),
        ]
        population = [action for action, weight in actions for _i in range(weight)]
        done = {}
        for step in range(STEPS):
            action = rnd.choice(population)
            try:
                with self.env.cr.savepoint():
                    action(rnd)
                    done[action.__name__] = done.get(action.__name__, 0) + 1
            except (UserError, ValidationError):
                done["refused"] = done.get("refused", 0) + 1
            self.check(f"seed {seed} step {step} {action.__name__}")
        # the walk really exercised the flows
        for name in ("invoice", "post", "full_credit", "partial_credit", "cancel",
                     "delete_draft", "link_existing"):
            self.assertGreater(done.get(name, 0), 0, name)
        self.assertTrue(self.env["account.analytic.line"].search_count(
            [("billing_status", "=", "invoiced")]))

    def test_walk_credit_releases(self):
        self._walk(seed=20260101, releases=True)

    def test_walk_credit_writes_off(self):
        self._walk(seed=424242, releases=False)
