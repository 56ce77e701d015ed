/** @odoo-module **/
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("hie_invoicing_book_tour", {
    steps: () => [
        {
            trigger: ".o_form_view .o_field_widget[name=project_id] input",
            run: "edit Tour Project",
        },
        {
            trigger: ".o-autocomplete--dropdown-menu .dropdown-item:contains(Tour Project)",
            run: "click",
        },
        {
            // the project proposes its default activity
            trigger: ".o_form_view .o_field_widget[name=product_id] input:value(Tour Activity)",
        },
        {
            trigger: ".o_form_view .o_field_widget[name=employee_id] input",
            run: "edit Tour Employee",
        },
        {
            trigger: ".o-autocomplete--dropdown-menu .dropdown-item:contains(Tour Employee)",
            run: "click",
        },
        {
            trigger: ".o_form_view .o_field_widget[name=name] input",
            run: "edit Tour work",
        },
        {
            trigger: ".o_form_view .o_field_widget[name=unit_amount] input",
            run: "edit 3",
        },
        {
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            trigger: ".o_form_saved .o_field_widget[name=billing_status]:contains(To invoice)",
        },
    ],
});

registry.category("web_tour.tours").add("hie_invoicing_invoice_tour", {
    steps: () => [
        {
            trigger: ".o_form_view button[name=action_hie_invoice_wizard]",
            run: "click",
        },
        {
            trigger: ".modal .o_field_widget[name=line_count]:contains(1)",
        },
        {
            trigger: ".modal button[name=action_create_invoices]",
            run: "click",
        },
        {
            trigger: ".o_form_view .o_field_widget[name=hie_project_ids]:contains(Tour Project)",
        },
        {
            trigger: ".o_form_view button[name=action_hie_view_booking_lines]",
            run: "click",
        },
        {
            trigger: ".o_list_view .o_data_row td:contains(Tour work)",
        },
    ],
});
