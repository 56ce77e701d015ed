# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tests import tagged

from .invoice_common import DutchInvoiceCase


@tagged("post_install", "-at_install")
class TestInvoiceLanguage(DutchInvoiceCase):
    """Invoice line labels are in the invoice debtor's language, not the invoicing user's."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.activate_dutch()
        cls.activity.with_context(lang="nl_NL").name = "Advies"

    def _invoice(self, debtor_lang, user_lang):
        self.project_tm.invoice_partner_id.lang = debtor_lang
        self.book_hours(self.project_tm, 2, product=self.activity, date="2026-01-05")
        self.book_hours(self.project_tm, 3, date="2026-01-06")
        # a manual revenue that quantity × rate does not give: "(3.0 Hours)" in the label
        self.book_hours(self.project_tm, 3, date="2026-01-07", revenue_override=True,
                        revenue_manual=100.0)
        self.project_tm.invoice_detail_level = "line"
        move = self.project_tm.with_context(lang=user_lang)._hie_create_invoices("2026-01-31")
        return move, move.invoice_line_ids.sorted("sequence").mapped("name")

    def assertLabels(self, names, starts, contains, absent):
        for start in starts:
            self.assertTrue(any(name.startswith(start) for name in names), (start, names))
        for text in contains:
            self.assertTrue(any(text in name for name in names), (text, names))
        for text in absent:
            self.assertFalse(any(text in name for name in names), (text, names))

    def test_dutch_debtor_english_user(self):
        move, names = self._invoice("nl_NL", "en_US")
        self.assertLabels(names, ["Advies - ", "Uren - "], ["(3.0 Uren)"],
                          ["Consultancy", "Hours"])
        self.assertIn("(opdrachtgever: Bouw B.V.)", move.ref)

    def test_english_debtor_dutch_user(self):
        self.env.user.lang = "nl_NL"
        move, names = self._invoice("en_US", "nl_NL")
        self.assertLabels(names, ["Consultancy - ", "Hours - "], ["(3.0 Hours)"],
                          ["Advies", "Uren"])
        self.assertIn("(principal: Bouw B.V.)", move.ref)
