# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A seeded random walk over every path Odoo offers to bill, un-bill and change booking lines,
with a model of which invoice charges which booking line kept by the test itself.

Set ``HIE_STATEFUL_SEEDS`` (number of seeds per company setting) and ``HIE_STATEFUL_STEPS`` to
walk longer in CI; the defaults keep the class within about two minutes.
"""
import contextlib
import logging
import os
import random
from collections import defaultdict

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged

from .common import HieCase

_logger = logging.getLogger(__name__)
SEEDS = int(os.environ.get("HIE_STATEFUL_SEEDS", "4"))
STEPS = int(os.environ.get("HIE_STATEFUL_STEPS", "90"))
REFUSALS = (UserError, AccessError, ValidationError)
# the fields of a booking line the walk writes and imports, with the lock's protected ones
PROTECTED = ("date", "project_id", "employee_id", "product_id", "unit_amount",
             "revenue_amount", "revenue_unit_rate", "is_direct", "revenue_override",
             "revenue_manual", "account_id", "product_uom_id", "task_id", "move_line_id",
             "booking_project_id", "booking_kind", "company_id")
LINK = ("invoice_id", "invoice_line_id", "billing_status")
models_magic = {"id", "display_name", "create_uid", "create_date", "write_uid", "write_date"}


class _Undo(Exception):
    """Rolls a walk back."""


@tagged("post_install", "-at_install")
class TestNeverBilledTwice(HieCase):
    """Steps: book hours and costs; invoice by the service and by the wizard (as superuser and
    as an invoicing user), partly or all; link hours to a hand-made or any other invoice;
    post, cancel, reset to draft, delete drafts and their lines; Odoo's reversal wizard:
    reverse (full credit, partial credit, credit note left in draft) and "Reverse and create
    invoice"; write, import (``load``), delete and copy every field of booking lines, the
    computed link fields included, as a plain employee, as a manager and as superuser.

    After every step: no booking line is charged on more than one standing invoice (draft or
    posted, not fully credited by posted credit notes) — which invoice charges which line is
    the test's own model, not the link table; a line shown as invoiced is on exactly one
    standing invoice (or, when credit notes write hours off, on its fully credited invoice);
    billed lines keep their protected values; status search, grouping and compute agree.
    A refused step raises only UserError/AccessError/ValidationError and changes nothing."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.project_detail = cls.env["project.project"].create({
            "name": "T&M detail", "partner_id": cls.customer.id,
            "invoicing_type": "time_material", "invoice_detail_level": "line",
            "project_status": "order",
        })
        cls.projects = cls.project_tm | cls.project_detail
        cls.agreement(project_id=cls.project_tm.id, kind="hours", hourly_rate=87.5)
        cls.user_invoicer = new_test_user(
            cls.env, login="hie_invoicer",
            groups="base.group_user,project.group_project_manager,"
            "hr_timesheet.group_hr_timesheet_approver,account.group_account_invoice",
        )
        cls.uom_day = cls.env.ref("uom.product_uom_day")

    # ------------------------------------------------------------------
    # helpers
    # ------------------------------------------------------------------
    def _actor_env(self, rnd, *names):
        name = rnd.choice(names or ("employee", "manager", "invoicer", "sudo"))
        user = {"employee": self.user_employee, "manager": self.user_manager,
                "invoicer": self.user_invoicer}.get(name)
        return self.env(user=user) if user else self.env(su=True)

    def _moves(self, *states, types=("out_invoice",)):
        domain = [("partner_id", "child_of", self.customer.id), ("move_type", "in", types)]
        if states:
            domain.append(("state", "in", states))
        return self.env["account.move"].search(domain, order="id")

    def _lines(self, **where):
        domain = [("booking_project_id", "in", self.projects.ids)]
        domain += [(key, "=", value) for key, value in where.items()]
        return self.env["account.analytic.line"].search(domain, order="id")

    def _pick(self, rnd, records):
        return rnd.choice(records) if records else None

    @staticmethod
    def _fully_credited(move):
        refunds = move.reversal_move_ids.filtered(lambda m: m.state == "posted")
        return bool(refunds) and sum(refunds.mapped("amount_total")) >= move.amount_total - 0.005

    def _state(self):
        """Everything a refused step must leave as it was."""
        self.env.flush_all()
        cr = self.env.cr
        cr.execute("SELECT booking_line_id, move_id, move_line_id FROM hie_billing_link"
                   " ORDER BY booking_line_id")
        links = cr.fetchall()
        cr.execute("SELECT id, state, hie_hours_released, amount_total FROM account_move"
                   " WHERE move_type IN ('out_invoice', 'out_refund') ORDER BY id")
        moves = cr.fetchall()
        cr.execute("""SELECT id, date, project_id, employee_id, product_id, unit_amount,
                             revenue_amount, is_direct, account_id, name, product_uom_id
                        FROM account_analytic_line WHERE booking_project_id = ANY(%s)
                       ORDER BY id""", (self.projects.ids,))
        return links, moves, cr.fetchall()

    # ------------------------------------------------------------------
    # steps: booking
    # ------------------------------------------------------------------
    def book(self, rnd):
        env = self._actor_env(rnd, "employee", "manager", "sudo")
        vals = {
            "name": "work", "project_id": rnd.choice(self.projects).id,
            "unit_amount": rnd.choice([0.25, 0.5, 1, 1.5, 2.75, 3.33, 8]),
            "employee_id": rnd.choice([self.employee, self.employee_rated]).id,
            "product_id": rnd.choice([self.activity, self.activity_other]).id,
            "date": f"2026-01-{rnd.randint(1, 28):02d}",
        }
        if env.user == self.user_employee:
            vals["employee_id"] = self.employee.id
        elif rnd.random() < 0.15:
            vals.update(revenue_override=True, revenue_manual=round(rnd.uniform(10, 500), 2))
        env["account.analytic.line"].create(vals)

    def book_costs(self, rnd):
        self.book_cost(rnd.choice(self.projects), self.material,
                       quantity=rnd.choice([1, 2.5, 10]), unit_cost=rnd.choice([3.0, 7.25]),
                       date=f"2026-01-{rnd.randint(1, 28):02d}")

    # ------------------------------------------------------------------
    # steps: invoicing and linking
    # ------------------------------------------------------------------
    def invoice(self, rnd):
        env = self._actor_env(rnd, "invoicer", "sudo")
        date_to = f"2026-01-{rnd.randint(1, 28):02d}"
        todo = self._lines(billing_status="to_invoice").filtered(
            lambda line: str(line.date) <= date_to)
        only = None
        if todo and rnd.random() < 0.3:
            only = todo.browse(rnd.sample(todo.ids, rnd.randint(1, len(todo))))
            todo = only
        before = self._moves()
        if rnd.random() < 0.5:
            wizard = env["hie.project.invoice.wizard"].create({
                "project_ids": [(6, 0, self.projects.ids)], "date_to": date_to,
                "grouping": rnd.choice(["project", "debtor"]), "invoice_date": "2026-01-31",
                "booking_line_ids": [(6, 0, only.ids)] if only else [],
            })
            wizard.action_create_invoices()
        else:
            self.projects.with_env(env)._hie_create_invoices(
                date_to, grouping=rnd.choice(["project", "debtor"]),
                invoice_date="2026-01-31", line_ids=only.ids if only else None)
        self.env.invalidate_all()
        new = self._moves() - before
        charged = set()
        for move in new:
            self.charges[move.id] = set(move.hie_booking_line_ids.ids)
            charged |= self.charges[move.id]
        # exactly the lines to invoice, each once
        self.assertEqual(charged, set(todo.ids))
        self.assertEqual(sum(len(self.charges[move.id]) for move in new), len(todo))

    def link_existing(self, rnd):
        env = self._actor_env(rnd, "invoicer", "sudo")
        existing = self._moves()
        if existing and rnd.random() < 0.4:
            move = rnd.choice(existing)  # any state: cancelled and credited ones are refused
        else:
            move = env["account.move"].create({
                "move_type": "out_invoice", "partner_id": self.customer.id,
                "invoice_date": "2026-01-31",
                "invoice_line_ids": [(0, 0, {"name": "by hand", "quantity": 1,
                                             "price_unit": 100})],
            })
            if rnd.random() < 0.5:
                move.action_post()
        standing = move.state != "cancel" and not self._fully_credited(move)
        wizard = env["hie.invoice.link.wizard"].create({"move_id": move.id})
        if not wizard.available_line_ids:
            return
        lines = wizard.available_line_ids.browse(rnd.sample(
            wizard.available_line_ids.ids, rnd.randint(1, len(wizard.available_line_ids))))
        wizard.line_ids = lines
        wizard.action_link()
        self.assertTrue(standing, f"hours linked to {move.state} invoice {move.name}")
        self.charges.setdefault(move.id, set()).update(lines.ids)

    # ------------------------------------------------------------------
    # steps: Odoo's buttons on invoices
    # ------------------------------------------------------------------
    def post(self, rnd):
        move = self._pick(rnd, self._moves("draft", types=("out_invoice", "out_refund")))
        if move:
            move.with_env(self._actor_env(rnd, "invoicer", "sudo")).action_post()

    def cancel(self, rnd):
        move = self._pick(rnd, self._moves("draft", "posted",
                                           types=("out_invoice", "out_refund")))
        if move:
            move.with_env(self._actor_env(rnd, "invoicer", "sudo")).button_cancel()

    def reset_to_draft(self, rnd):
        move = self._pick(rnd, self._moves("posted", "cancel",
                                           types=("out_invoice", "out_refund")))
        if move:
            move.with_env(self._actor_env(rnd, "invoicer", "sudo")).button_draft()

    def delete_draft(self, rnd):
        move = self._pick(rnd, self._moves("draft", types=("out_invoice", "out_refund")))
        if move:
            move_id = move.id
            move.with_env(self._actor_env(rnd, "invoicer", "sudo")).unlink()
            self.charges.pop(move_id, None)

    def delete_invoice_line(self, rnd):
        move = self._pick(rnd, self._moves("draft"))
        if not move:
            return
        aml = self._pick(rnd, move.invoice_line_ids.filtered(
            lambda line: line.display_type == "product"))
        if not aml:
            return
        billed = set(aml.hie_booking_line_ids.ids)
        move.with_env(self._actor_env(rnd, "invoicer", "sudo")).write(
            {"invoice_line_ids": [(2, aml.id)]})
        self.charges.get(move.id, set()).difference_update(billed)

    def unmark_released(self, rnd):
        """Clear the release mark of an invoice by RPC, then reset it to draft."""
        move = self._pick(rnd, self._moves().filtered("hie_hours_released"))
        if move:
            move.with_env(self._actor_env(rnd, "invoicer", "sudo")).write(
                {"hie_hours_released": False})
            self.fail(f"release mark of {move.name} cleared")

    def reverse(self, rnd):
        """Odoo's reversal wizard, in each of its modes."""
        posted = self._moves("posted")
        standing = posted.filtered(lambda m: not m.hie_hours_released)
        move = self._pick(rnd, standing if standing and rnd.random() < 0.8 else posted)
        if not move:
            return
        env = self._actor_env(rnd, "invoicer", "sudo")
        wizard = env["account.move.reversal"].with_context(
            active_model="account.move", active_ids=move.ids,
        ).create({"journal_id": move.journal_id.id, "date": "2026-01-31",
                  "reason": "walk"})
        mode = rnd.choice(["full", "partial", "draft", "modify"])
        self.step_name = f"reverse {mode}"
        if mode == "modify":  # "Reverse and create invoice"
            copy = env["account.move"].browse(wizard.modify_moves()["res_id"])
            self.assertEqual(copy.move_type, "out_invoice")
            self.charges[copy.id] = set(self.charges.get(move.id, ()))
            return
        refund = env["account.move"].browse(wizard.refund_moves()["res_id"])
        if mode == "partial":
            refund.invoice_line_ids[1:].unlink()
            refund.invoice_line_ids.write({"quantity": 1, "price_unit": 1.0})
        if mode != "draft":
            refund.action_post()

    # ------------------------------------------------------------------
    # steps: every field of booking lines, as employee, manager and superuser
    # ------------------------------------------------------------------
    def _pick_line(self, rnd):
        billed = self._lines(billing_status="invoiced")
        if billed and rnd.random() < 0.7:
            return rnd.choice(billed)
        return self._pick(rnd, self._lines())

    def _other_value(self, rnd, line, fname):
        """A value for ``fname`` of ``line``: mostly another one, sometimes the same."""
        if rnd.random() < 0.15 and fname not in ("name",):
            field = line._fields[fname]
            return field.convert_to_write(line[fname], line)
        moves = self._moves()
        values = {
            "name": f"renamed {rnd.randint(1, 999)}",
            "date": f"2026-01-{rnd.randint(1, 28):02d}",
            "project_id": rnd.choice(self.projects).id,
            "employee_id": rnd.choice([self.employee, self.employee_rated]).id,
            "product_id": rnd.choice([self.activity, self.activity_other]).id,
            "unit_amount": line.unit_amount + rnd.choice([0.5, 1]),
            "revenue_amount": 1.0,
            "revenue_unit_rate": 1.0,
            "is_direct": not line.is_direct,
            "revenue_override": not line.revenue_override,
            "revenue_manual": 123.45,
            "account_id": rnd.choice(self.projects).account_id.id,
            "product_uom_id": self.uom_day.id,
            "task_id": False,
            "move_line_id": rnd.choice([False, *moves.invoice_line_ids.ids]),
            "booking_project_id": rnd.choice(self.projects).id,
            "booking_kind": rnd.choice(["hours", "cost"]),
            "company_id": rnd.choice(self.env["res.company"].sudo().search([]).ids),
            "amount": -7.0,
            "invoice_id": rnd.choice([False] + moves.ids),
            "invoice_line_id": rnd.choice(
                [False] + moves.invoice_line_ids.filtered(
                    lambda aml: aml.display_type == "product").ids),
            "billing_status": rnd.choice(["to_invoice", "not_billable", "invoiced", False]),
        }
        return values[fname]

    @staticmethod
    def _changes(line, fname, value):
        field = line._fields[fname]
        old = field.convert_to_write(line[fname], line)
        if field.type == "float":
            return round(old or 0.0, 6) != round(float(value or 0.0), 6)
        return (old or False) != (value or False) and str(old) != str(value)

    def write_field(self, rnd):
        line = self._pick_line(rnd)
        if not line:
            return
        fname = rnd.choice(("name", "amount") + PROTECTED + LINK + LINK)
        value = self._other_value(rnd, line, fname)
        must_refuse = (
            (fname in LINK and self._changes(line, fname, value))
            or (line.invoice_id and fname in PROTECTED and self._changes(line, fname, value))
        )
        env = self._actor_env(rnd)
        line.with_env(env).write({fname: value})
        self.assertFalse(must_refuse, f"{env.user.login} wrote {fname}={value!r} on {line}")

    def _any_value(self, rnd, line, field):
        """A random value for any field of a booking line (None: not written)."""
        if field.type in ("char", "text"):
            return f"x{rnd.randint(1, 99)}"
        if field.type in ("float", "monetary", "integer"):
            return (line[field.name] or 0) + rnd.choice([1, 2])
        if field.type == "boolean":
            return not line[field.name]
        if field.type == "date":
            return f"2026-01-{rnd.randint(1, 28):02d}"
        if field.type == "selection":
            return rnd.choice([False, *field.get_values(self.env)])
        if field.type == "many2one":
            ids = self.env[field.comodel_name].sudo().search([], limit=10).ids
            # writing no auto_account_id fails inside Odoo's analytic (ValueError), billed or not
            empty = [] if field.name == "auto_account_id" else [False]
            return rnd.choice([*empty, line[field.name].id, *ids])
        return None

    def write_any_field(self, rnd):
        """Any field Odoo lets a client write (stored, computed, related)."""
        line = self._pick_line(rnd)
        if not line:
            return
        fields = [field for name, field in sorted(line._fields.items())
                  if name not in models_magic and field.type in (
                      "char", "text", "float", "monetary", "integer", "boolean", "date",
                      "selection", "many2one")]
        field = rnd.choice(fields)
        value = self._any_value(rnd, line, field)
        must_refuse = self._changes(line, field.name, value) and (
            field.name in LINK or (line.invoice_id and field.name in PROTECTED))
        env = self._actor_env(rnd)
        line.with_env(env).write({field.name: value})
        self.assertFalse(must_refuse,
                         f"{env.user.login} wrote {field.name}={value!r} on {line}")

    def import_field(self, rnd):
        line = self._pick_line(rnd)
        if not line:
            return
        fname = rnd.choice(LINK + ("unit_amount", "date", "name"))
        exported = line.export_data(["id", fname])["datas"][0]
        value = exported[1]
        must_refuse = False
        if rnd.random() < 0.6:
            if fname in LINK:
                value = rnd.choice(["", "Invoiced", "To invoice"]
                                   + self._moves().mapped("display_name"))
                must_refuse = value != exported[1] and not (
                    fname == "billing_status" and value.lower().replace(" ", "_")
                    == (line.billing_status or ""))
            else:
                value = str(self._other_value(rnd, line, fname))
                must_refuse = bool(line.invoice_id) and fname != "name" and self._changes(
                    line, fname, value)
        env = self._actor_env(rnd)
        result = env["account.analytic.line"].load(["id", fname], [[exported[0], value]])
        if result["ids"]:
            self.assertFalse(must_refuse, f"{env.user.login} imported {fname}={value!r}")
        else:
            self.assertTrue(result["messages"])
            raise UserError(result["messages"][0]["message"])  # refused: nothing may change

    def delete_line(self, rnd):
        line = self._pick_line(rnd)
        if not line:
            return
        billed = bool(line.invoice_id)
        line.with_env(self._actor_env(rnd)).unlink()
        self.assertFalse(billed, f"billed {line} deleted")

    def copy_line(self, rnd):
        line = self._pick_line(rnd)
        if not line:
            return
        copy = line.with_env(self._actor_env(rnd)).copy()
        self.env.invalidate_all()
        self.assertFalse(copy.invoice_id)
        self.assertNotEqual(copy.billing_status, "invoiced")

    # ------------------------------------------------------------------
    # the invariant
    # ------------------------------------------------------------------
    def check(self, label, releases):
        self.env.invalidate_all()
        lines = self._lines()
        invoices = self._moves()
        standing = {move.id for move in invoices
                    if move.state in ("draft", "posted") and not self._fully_credited(move)}
        charged_on = defaultdict(set)
        for move_id, line_ids in self.charges.items():
            if move_id in standing:
                for line_id in line_ids:
                    charged_on[line_id].add(move_id)
        protected = [fname for fname in PROTECTED if fname != "task_id"]
        billed_values = {}
        for line in lines:
            on = charged_on[line.id]
            msg = f"{label}: {line} (charged on {sorted(on)}, shown on {line.invoice_id})"
            self.assertLessEqual(len(on), 1, msg)
            if line.billing_status == "invoiced":
                move = line.invoice_id
                self.assertTrue(move, msg)
                if move.id in standing:
                    self.assertEqual(on, {move.id}, msg)
                else:  # written off by a credit note
                    self.assertFalse(releases, msg)
                    self.assertTrue(move.state == "posted" and self._fully_credited(move)
                                    or move.state == "draft", msg)
                    self.assertFalse(on, msg)
                if line.invoice_line_id:
                    self.assertEqual(line.invoice_line_id.move_id, move, msg)
                billed_values[line.id] = [line[fname] for fname in protected]
                if line.id in self.billed_values:
                    self.assertEqual(billed_values[line.id], self.billed_values[line.id],
                                     f"{msg}: billed line changed")
            else:
                self.assertFalse(line.invoice_id, msg)
                self.assertFalse(on, msg)
                direct = line.is_direct and line.booking_project_id.invoicing_type \
                    == "time_material"
                self.assertEqual(line.billing_status,
                                 "to_invoice" if direct else "not_billable", msg)
        left = set(self.billed_values) - set(lines.ids)
        self.assertFalse(left, f"{label}: billed lines left their project or were deleted")
        self.billed_values = billed_values
        for move in invoices.filtered("hie_hours_released"):
            self.assertFalse(move.hie_booking_line_ids, f"{label}: released {move.name}")
        # searching and grouping say what reading says
        Line = self.env["account.analytic.line"]
        for status in ("invoiced", "to_invoice", "not_billable"):
            self.assertEqual(
                self._lines(billing_status=status),
                lines.filtered(lambda line, status=status: line.billing_status == status),
                f"{label}: search {status}")
        groups = dict(Line._read_group([("id", "in", lines.ids)], ["billing_status"],
                                       ["__count"]))
        for status, count in groups.items():
            self.assertEqual(count, len(lines.filtered(
                lambda line, status=status: line.billing_status == status)), label)

    # ------------------------------------------------------------------
    # the walk
    # ------------------------------------------------------------------
    def _walk(self, seed, releases):
        self.company.hie_credit_releases_hours = releases
        self.charges = {}
        self.billed_values = {}
        rnd = random.Random(seed)
        steps = [
            (self.book, 5), (self.book_costs, 1), (self.invoice, 3), (self.link_existing, 2),
            (self.post, 3), (self.cancel, 1), (self.reset_to_draft, 1), (self.delete_draft, 1),
            (self.delete_invoice_line, 1), (self.reverse, 3), (self.write_field, 4),
            (self.write_any_field, 3), (self.import_field, 2), (self.delete_line, 1),
            (self.copy_line, 1), (self.unmark_released, 1),
        ]
        population = [step for step, weight in steps for _i in range(weight)]
        done = defaultdict(int)
        for number in range(STEPS):
            step = rnd.choice(population)
            label = f"seed {seed} step {number} {step.__name__}"
            self.step_name = step.__name__
            before = self._state()
            charges = {move_id: set(ids) for move_id, ids in self.charges.items()}
            try:
                with self.env.cr.savepoint():
                    step(rnd)
                done[self.step_name] += 1
            except REFUSALS as exc:
                self.charges = charges
                done["refused"] += 1
                done[f"refused {self.step_name}"] += 1
                self.reasons.add(f"{self.step_name}: {str(exc)[:90]}")
                self.env.invalidate_all()
                self.assertEqual(self._state(), before, f"{label}: refused but changed")
            self.check(label, releases)
        return done

    def test_walk(self):
        """Both company settings: a full credit note releases the hours, or writes them
        off."""
        totals = defaultdict(int)
        self.reasons = set()
        for index in range(SEEDS):
            for releases in (True, False):
                with self.subTest(seed=index, releases=releases), \
                        contextlib.suppress(_Undo), self.env.cr.savepoint():
                    for name, count in self._walk(20260101 + index, releases).items():
                        totals[name] += count
                    raise _Undo  # each walk starts from the fixtures
        _logger.info("Billing walk: %s", dict(sorted(totals.items())))
        _logger.debug("Billing walk refusals:\n%s", "\n".join(sorted(self.reasons)))
        # the walks really exercised the flows
        for name in ("invoice", "post", "reverse full", "reverse partial", "reverse modify",
                     "cancel", "reset_to_draft", "delete_draft", "link_existing", "write_field",
                     "import_field", "refused write_field", "refused import_field",
                     "refused reset_to_draft"):
            self.assertGreater(totals[name], 0, name)
