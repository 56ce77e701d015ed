# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import datetime as dt
from unittest.mock import patch

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, new_test_user, tagged
from odoo.tools.safe_eval import datetime as safe_datetime
from odoo.tools.safe_eval import dateutil, safe_eval

from .invoice_common import DutchInvoiceCase

D = dt.date


class RecurringCase(DutchInvoiceCase):
    """A maintenance product (21 % BTW on services) and contracts on the Dutch company."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.maintenance = cls.env["product.product"].create({
            "name": "Maintenance", "type": "service", "list_price": 250.0,
            "taxes_id": [Command.set(cls.tax_21_services.ids)],
        })
        cls.licence = cls.env["product.product"].create({
            "name": "Licence", "type": "service", "list_price": 40.0,
            "taxes_id": [Command.set(cls.tax_9.ids)],
        })
        cls.Contract = cls.env["contract.contract"]

    def make_contract(self, lines=None, **vals):
        lines = lines or [(self.maintenance, 250.0, 1.0)]
        return self.Contract.create(dict({
            "name": "Onderhoud",
            "partner_id": self.customer.id,
            "invoice_partner_id": self.customer.id,
            "date_start": "2026-01-01",
            "recurring_rule_type": "monthly",
            "recurring_invoicing_type": "pre-paid",
            "contract_line_ids": [Command.create({
                "product_id": product.id, "name": product.name, "quantity": qty,
                "price_unit": price,
            }) for product, price, qty in lines],
        }, **vals))

    def run_cron(self, day):
        with freeze_time(day):
            self.Contract.cron_recurring_create_invoice()

    def invoices(self, contract):
        return contract._get_related_invoices().sorted("id")

    def periods(self, contract):
        return [(p.date_start, p.date_end) for p in contract.hie_period_ids.sorted("date_start")
                if p.contract_line_id == contract.contract_line_ids[:1]]


@tagged("post_install", "-at_install")
class TestRecurringContract(RecurringCase):

    def test_monthly_in_advance_once_per_period_under_a_double_run(self):
        contract = self.make_contract(
            lines=[(self.maintenance, 250.0, 1.0), (self.licence, 40.0, 3.0)],
            hie_project_id=self.project_tm.id)
        self.run_cron("2026-01-01")
        self.run_cron("2026-01-01")  # the cron runs twice the same day
        self.run_cron("2026-01-02")
        moves = self.invoices(contract)
        self.assertEqual(len(moves), 1)
        self.assertEqual(len(moves.invoice_line_ids), 2)
        self.assertEqual(moves.amount_untaxed, 370.0)
        # the project's invoice debtor, the Dutch BTW of each product
        self.assertEqual(moves.partner_id, self.project_tm.invoice_partner_id)
        self.assertEqual(moves.partner_id, self.customer_invoice)
        self.assertEqual(moves.hie_project_ids, self.project_tm)
        by_product = {line.product_id: line for line in moves.invoice_line_ids}
        self.assertEqual(by_product[self.maintenance].tax_ids, self.tax_21_services)
        self.assertEqual(by_product[self.licence].tax_ids, self.tax_9)
        self.assertAlmostEqual(moves.amount_tax, 250 * 0.21 + 120 * 0.09, places=2)
        self.assertEqual(by_product[self.maintenance].analytic_distribution,
                         {str(self.project_tm.account_id.id): 100.0})
        self.assertEqual(moves.state, "draft")
        self.assertEqual(self.periods(contract), [(D(2026, 1, 1), D(2026, 1, 31))])
        self.assertEqual(len(contract.hie_period_ids), 2)
        self.assertEqual(contract.hie_period_ids.move_id, moves)
        # next month: February, 28 days
        self.run_cron("2026-02-01")
        self.run_cron("2026-02-01")
        self.assertEqual(len(self.invoices(contract)), 2)
        self.assertEqual(self.periods(contract)[-1], (D(2026, 2, 1), D(2026, 2, 28)))

    def test_missed_days_catch_up(self):
        contract = self.make_contract()
        self.run_cron("2026-03-10")  # no run since the start: January, February, March
        self.assertEqual(self.periods(contract), [
            (D(2026, 1, 1), D(2026, 1, 31)), (D(2026, 2, 1), D(2026, 2, 28)),
            (D(2026, 3, 1), D(2026, 3, 31))])
        self.assertEqual(len(self.invoices(contract)), 3)
        self.run_cron("2026-03-11")
        self.assertEqual(len(self.invoices(contract)), 3)

    def test_in_arrears_start_mid_month_and_end_date(self):
        contract = self.make_contract(
            date_start="2026-01-15", recurring_rule_type="quarterly",
            recurring_invoicing_type="post-paid")
        contract.contract_line_ids.date_end = "2026-05-31"
        self.run_cron("2026-04-14")
        self.assertFalse(self.invoices(contract))  # the first quarter is not over yet
        self.run_cron("2026-04-15")
        self.assertEqual(self.periods(contract), [(D(2026, 1, 15), D(2026, 4, 14))])
        self.assertEqual(self.invoices(contract).invoice_date, D(2026, 4, 15))
        self.run_cron("2026-06-01")
        self.assertEqual(self.periods(contract)[-1], (D(2026, 4, 15), D(2026, 5, 31)))
        self.run_cron("2026-12-31")
        self.assertEqual(len(self.invoices(contract)), 2)  # ended on 31 May
        # and the daily run no longer even looks at it
        self.assertTrue(contract.contract_line_ids.hie_finished)
        self.assertNotIn(contract, self.Contract.search(
            self.Contract._get_contracts_to_invoice_domain(D(2026, 12, 31))))

    def test_start_on_the_31st_does_not_drift(self):
        contract = self.make_contract(date_start="2026-01-31")
        self.run_cron("2026-04-30")
        self.assertEqual(self.periods(contract), [
            (D(2026, 1, 31), D(2026, 2, 27)), (D(2026, 2, 28), D(2026, 3, 30)),
            (D(2026, 3, 31), D(2026, 4, 29)), (D(2026, 4, 30), D(2026, 5, 30))])

    def test_yearly_indexation(self):
        contract = self.make_contract(
            date_start="2025-01-01", recurring_rule_type="yearly", hie_indexation_pct=3.0,
            lines=[(self.maintenance, 1000.0, 1.0)])
        self.assertEqual(contract.contract_line_ids.hie_next_amount, 1000.0)
        self.run_cron("2027-01-01")
        moves = self.invoices(contract)
        self.assertEqual(moves.mapped("amount_untaxed"), [1000.0, 1030.0, 1060.9])
        self.assertEqual(contract.hie_period_ids.sorted("date_start").mapped("price_unit"),
                         [1000.0, 1030.0, 1060.9])
        # the line keeps its base price; the next invoice (2028) is indexed once more
        self.assertEqual(contract.contract_line_ids.price_unit, 1000.0)
        self.assertEqual(contract.contract_line_ids.hie_next_amount, 1092.73)

    def test_database_refuses_a_second_invoice_for_a_period(self):
        """A transaction that still sees the period as open (a concurrent run, a stale
        worker) cannot invoice it again: the unique period row refuses it."""
        contract = self.make_contract()
        self.run_cron("2026-01-05")
        self.assertEqual(len(self.invoices(contract)), 1)
        # as the contract looked before the first run
        self.env.cr.execute("UPDATE contract_line SET last_date_invoiced = NULL, "
                            "recurring_next_date = '2026-01-01' WHERE contract_id = %s",
                            [contract.id])
        self.env.cr.execute("UPDATE contract_contract SET recurring_next_date = '2026-01-01' "
                            "WHERE id = %s", [contract.id])
        self.env.invalidate_all()
        with freeze_time("2026-01-05"), self.assertRaises(UserError) as cm:
            contract.recurring_create_invoice()
        self.assertIn("already been invoiced", str(cm.exception))
        self.run_cron("2026-01-06")
        self.assertEqual(len(self.invoices(contract)), 1)
        self.assertIn("already been invoiced", contract.message_ids[:1].body)

    def test_a_failing_contract_does_not_stop_the_run(self):
        good = self.make_contract()
        bad = self.make_contract(name="Broken")
        Contract = type(self.Contract)
        prepare = Contract._prepare_invoice

        failure = "no journal for you"

        def prepare_or_fail(contract, *args, **kwargs):
            if contract == bad:
                raise UserError(failure)
            return prepare(contract, *args, **kwargs)

        with patch.object(Contract, "_prepare_invoice", prepare_or_fail):
            self.run_cron("2026-01-01")
        self.assertEqual(len(self.invoices(good)), 1)
        self.assertFalse(self.invoices(bad))
        self.assertFalse(bad.hie_period_ids)  # rolled back with the invoice
        self.assertIn("no journal for you", bad.message_ids[:1].body)
        self.run_cron("2026-01-02")  # the next day it goes
        self.assertEqual(len(self.invoices(bad)), 1)
        self.assertEqual(len(self.invoices(good)), 1)

    def test_eu_debtor_reverse_charge(self):
        debtor = self.env["res.partner"].create({
            "name": "Bau GmbH", "is_company": True, "country_id": self.env.ref("base.de").id,
            "property_account_position_id": self.fp_eu.id,
        })
        self.project_tm.invoice_partner_id = debtor
        contract = self.make_contract(hie_project_id=self.project_tm.id)
        self.run_cron("2026-01-01")
        move = self.invoices(contract)
        self.assertEqual(move.partner_id, debtor)
        self.assertEqual(move.fiscal_position_id, self.fp_eu)
        self.assertEqual(move.invoice_line_ids.tax_ids, self.tax_eu_services)
        self.assertEqual(move.amount_tax, 0.0)

    def test_form_takes_the_project_debtor_and_its_fiscal_position(self):
        """A Dutch principal whose invoices go to a German debtor: the contract form takes
        the debtor and the debtor's fiscal position (not the principal's)."""
        debtor = self.env["res.partner"].create({
            "name": "Bau GmbH", "is_company": True, "country_id": self.env.ref("base.de").id,
            "property_account_position_id": self.fp_eu.id,
        })
        self.project_tm.invoice_partner_id = debtor
        with Form(self.Contract) as form:
            form.name = "Onderhoud"
            form.hie_project_id = self.project_tm
            self.assertEqual(form.partner_id, self.customer)
            self.assertEqual(form.invoice_partner_id, debtor)
            self.assertEqual(form.fiscal_position_id, self.fp_eu)
            form.date_start = D(2026, 1, 1)
            with form.contract_line_fixed_ids.new() as line:
                line.product_id = self.maintenance
                line.price_unit = 250.0
        contract = form.record
        self.run_cron("2026-01-01")
        move = self.invoices(contract)
        self.assertEqual(move.partner_id, debtor)
        self.assertEqual(move.invoice_line_ids.tax_ids, self.tax_eu_services)

    def test_auto_post_and_email(self):
        self.customer_invoice.email = "factuur@bouw.example"
        contract = self.make_contract(hie_project_id=self.project_tm.id, hie_auto_post=True,
                                      hie_auto_send=True)
        self.run_cron("2026-01-01")
        move = self.invoices(contract)
        self.assertEqual(move.state, "posted")
        self.assertTrue(move.sending_data)  # sent by Odoo's sending cron after the commit
        self.env["account.move"]._cron_account_move_send()
        self.assertFalse(move.sending_data)
        self.assertTrue(move.is_move_sent)
        mails = self.env["mail.message"].search(
            [("model", "=", "account.move"), ("res_id", "=", move.id),
             ("message_type", "=", "comment")])
        self.assertIn(self.customer_invoice, mails.partner_ids)
        self.assertTrue(mails.attachment_ids.filtered(lambda a: a.mimetype == "application/pdf"))
        with self.assertRaises(ValidationError):
            contract.hie_auto_post = False

    def test_manual_button_uses_the_same_guard(self):
        contract = self.make_contract()
        with freeze_time("2026-01-01"):
            contract.recurring_create_invoice()
        self.run_cron("2026-01-01")
        self.assertEqual(len(self.invoices(contract)), 1)
        self.assertEqual(len(contract.hie_period_ids), 1)

    def test_profitability_and_post_calculation(self):
        contract = self.make_contract(hie_project_id=self.project_fixed.id)
        self.run_cron("2026-02-01")
        moves = self.invoices(contract)
        self.assertEqual(len(moves), 2)
        moves[0].action_post()
        items = self.project_fixed._get_profitability_items(False)
        section = [d for d in items["revenues"]["data"] if d["id"] == "hie_recurring"]
        self.assertEqual(len(section), 1)
        self.assertAlmostEqual(section[0]["invoiced"], 250.0)
        self.assertAlmostEqual(section[0]["to_invoice"], 250.0)
        self.env.flush_all()
        row = self.env["project.post.calculation"].search(
            [("project_id", "=", self.project_fixed.id)])
        self.assertAlmostEqual(row.recurring_invoiced_amount, 250.0)
        self.assertAlmostEqual(row.result_to_date, 250.0 - row.actual_cost)

    def test_project_lists_its_contracts(self):
        self.make_contract(hie_project_id=self.project_tm.id)
        self.make_contract()
        self.assertEqual(self.project_tm.hie_contract_count, 1)
        action = self.project_tm.action_hie_view_contracts()
        self.assertEqual(len(self.Contract.search(action["domain"])), 1)
        with Form(self.Contract.with_context(**action["context"])) as form:
            self.assertEqual(form.partner_id, self.customer)
            self.assertEqual(form.invoice_partner_id, self.customer_invoice)
            form.name = "Second"
        self.project_tm.invalidate_recordset(["hie_contract_count"])
        self.assertEqual(self.project_tm.hie_contract_count, 2)

    def test_overview_due_next_month(self):
        due = self.make_contract(date_start="2026-02-01")
        later = self.make_contract(date_start="2026-04-01")
        action = self.env.ref("hours_invoicing_exact.action_contract_line_due_next_month")
        with freeze_time("2026-01-20"):
            domain = safe_eval(action.domain, {
                "context_today": lambda: D(2026, 1, 20),
                "relativedelta": dateutil.relativedelta.relativedelta,
                "datetime": safe_datetime,
            })
            lines = self.env["contract.line"].search(domain)
        self.assertIn(due.contract_line_ids, lines)
        self.assertNotIn(later.contract_line_ids, lines)
        groups = self.env["contract.line"].read_group(
            domain + [("id", "in", (due | later).contract_line_ids.ids)],
            ["hie_next_amount:sum"], ["partner_id"])
        self.assertEqual(groups[0]["hie_next_amount"], 250.0)


@tagged("post_install", "-at_install")
class TestRecurringLanguage(RecurringCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.activate_dutch()
        cls.maintenance.with_context(lang="nl_NL").name = "Onderhoud"

    def test_dutch_debtor_gets_dutch_texts(self):
        self.customer_invoice.lang = "nl_NL"
        contract = self.make_contract(
            hie_project_id=self.project_tm.id,
            lines=[(self.maintenance, 250.0, 1.0), (self.licence, 40.0, 1.0)])
        first, second = contract.contract_line_ids.sorted("id")
        first.name = "Maintenance"
        second.name = "Service #INVOICEMONTHNAME# (#START# - #END#)"
        self.run_cron("2026-01-01")
        move = self.invoices(contract)
        names = move.invoice_line_ids.sorted("sequence").mapped("name")
        self.assertIn("Onderhoud", names)
        self.assertIn("Service januari (01-01-2026 - 31-01-2026)", names)

    def test_english_debtor_keeps_english(self):
        self.customer_invoice.lang = "en_US"
        contract = self.make_contract(hie_project_id=self.project_tm.id)
        contract.contract_line_ids.name = "Maintenance"
        self.run_cron("2026-01-01")
        self.assertEqual(self.invoices(contract).invoice_line_ids.name, "Maintenance")


@tagged("post_install", "-at_install")
class TestRecurringPeriodAccess(RecurringCase):
    """The invoiced periods are written by the run only: no user changes or adds one; an
    accounting manager may delete one; an invoiced line cannot be deleted from under them."""

    def test_access(self):
        contract = self.make_contract()
        self.run_cron("2026-01-01")
        period = contract.hie_period_ids
        self.assertEqual(len(period), 1)
        billing = new_test_user(self.env, login="hie_billing",
                                groups="base.group_user,account.group_account_invoice")
        manager = new_test_user(self.env, login="hie_acc_manager",
                                groups="base.group_user,account.group_account_manager")
        plain = new_test_user(self.env, login="hie_plain", groups="base.group_user")
        self.assertEqual(period.with_user(billing).date_start, D(2026, 1, 1))
        with self.assertRaises(AccessError):
            period.with_user(plain).read(["date_start"])
        for user in (billing, manager):
            with self.assertRaises(AccessError):
                period.with_user(user).write({"date_start": "2026-02-01"})
            with self.assertRaises(AccessError):
                self.env["hie.contract.period"].with_user(user).create({
                    "contract_id": contract.id,
                    "contract_line_id": contract.contract_line_ids.id,
                    "date_start": "2026-03-01"})
        with self.assertRaises(AccessError):
            period.with_user(billing).unlink()
        with self.assertRaises(UserError) as cm:
            contract.contract_line_ids.unlink()  # invoiced: its periods hold it
        self.assertIn("end date instead", str(cm.exception))
        with self.assertRaises(UserError) as cm:
            contract.unlink()
        self.assertIn("archive it instead", str(cm.exception))
        period.with_user(manager).unlink()
        self.assertFalse(contract.hie_period_ids)
