/** @odoo-module **/
import { registry } from "@web/core/registry";

// Set up a monthly contract of a project, as a user does: name, project (customer and
// invoice debtor follow it), a line with a product and a price; save.
registry.category("web_tour.tours").add("hie_recurring_setup_tour", {
    steps: () => [
        {
            content: "Name the contract",
            trigger: ".o_field_widget[name=name] input",
            run: "edit Tour Maintenance",
        },
        {
            content: "Choose the project",
            trigger: ".o_field_widget[name=hie_project_id] input",
            run: "edit Tour Recurring Project",
        },
        {
            content: "Pick the project",
            trigger: ".o-autocomplete--dropdown-item a:contains('Tour Recurring Project')",
            run: "click",
        },
        {
            content: "The customer follows the project",
            trigger: ".o_field_widget[name=partner_id] input:value('Tour Recurring Customer')",
        },
        {
            content: "Add a line",
            trigger: "div[name=contract_line_fixed_ids] .o_field_x2many_list_row_add a",
            run: "click",
        },
        {
            content: "Choose the product",
            trigger: "div[name=contract_line_fixed_ids] .o_selected_row .o_field_widget[name=product_id] input",
            run: "edit Tour Maintenance Product",
        },
        {
            content: "Pick the product",
            trigger: ".o-autocomplete--dropdown-item a:contains('Tour Maintenance Product')",
            run: "click",
        },
        {
            content: "Set the monthly price",
            trigger: "div[name=contract_line_fixed_ids] .o_selected_row .o_field_widget[name=price_unit] input",
            run: "edit 150",
        },
        {
            content: "Save the contract",
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            content: "Saved",
            trigger: ".o_form_saved",
        },
    ],
});

// Run the scheduled action by hand, as an administrator would.
registry.category("web_tour.tours").add("hie_recurring_run_cron_tour", {
    steps: () => [
        {
            content: "Run the scheduled action",
            trigger: "button[name=method_direct_trigger]",
            run: "click",
        },
        {
            content: "Back on the scheduled action",
            trigger: ".o_form_saved .o_field_widget[name=nextcall]",
        },
    ],
});

// The contract shows its invoice; open it.
registry.category("web_tour.tours").add("hie_recurring_see_invoice_tour", {
    steps: () => [
        {
            content: "The contract has one invoice",
            trigger: "button[name=action_show_invoices]:contains('1')",
            run: "click",
        },
        {
            content: "Open the invoice of the project's debtor",
            trigger: ".o_data_row:contains('Tour Recurring Customer') td.o_data_cell",
            run: "click",
        },
        {
            content: "The invoice has the contract's line",
            trigger: ".o_form_view .o_field_widget[name=invoice_line_ids] td:contains('Tour Maintenance Product')",
        },
    ],
});
