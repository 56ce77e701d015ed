/** @odoo-module **/
// Project form with its status bar and agreements tab, then its booking lines.
import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("hie_project_booking_tour", {
    steps: () => [
        {
            content: "The project status is shown as a status bar",
            trigger: ".o_field_widget[name=project_status] .o_arrow_button_current:contains(Order)",
        },
        {
            content: "The invoice debtor is the principal's invoice address",
            trigger: ".o_field_widget[name=invoice_partner_id] input",
        },
        {
            content: "Open the agreements tab",
            trigger: ".o_notebook .nav-link:contains(Agreements)",
            run: "click",
        },
        {
            content: "The project's own agreement is listed",
            trigger: ".o_field_widget[name=rate_agreement_ids] .o_data_row:contains(Project management)",
        },
        {
            content: "Open the booking lines",
            trigger: "button[name=action_view_booking_lines]",
            run: "click",
        },
        {
            content: "Booking lines come grouped by billing status: open the lines to invoice",
            trigger: ".o_list_view .o_group_header:contains(To invoice)",
            run: "click",
        },
        {
            content: "Booking lines with cost, revenue and billing status",
            trigger: ".o_list_view .o_data_row .o_field_cell[name=billing_status]:contains(To invoice)",
        },
        {
            content: "Revenue from the customer's agreement",
            trigger: ".o_list_view .o_data_row:contains(Site survey) .o_field_cell[name=revenue_amount]:contains(360.00)",
        },
    ],
});
