# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestProjectTour(HttpCase):
    def test_project_form_agreements_and_booking_lines(self):
        project = self.env.ref("hours_invoicing_exact.project_renovation", raise_if_not_found=False)
        if not project:
            self.skipTest("database without demo data")
        self.start_tour(
            f"/odoo/action-project.open_view_project_all/{project.id}",
            "hie_project_booking_tour",
            login="admin",
        )
