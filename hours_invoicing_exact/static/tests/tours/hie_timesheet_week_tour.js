/** @odoo-module **/
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import { registry } from "@web/core/registry";

function addRow(project, hours) {
    const steps = [
        {
            trigger: ".o_field_widget[name=row_ids] .o_field_x2many_list_row_add a",
            run: "click",
        },
        {
            trigger: ".o_selected_row .o_field_widget[name=project_id] input",
            run: `edit ${project}`,
        },
        {
            trigger: `.o-autocomplete--dropdown-menu .dropdown-item:contains(${project})`,
            run: "click",
        },
        {
            // the activity (rate, sales tax) defaults from the project
            trigger: ".o_selected_row .o_field_widget[name=product_id] input:value(Tour Advies)",
        },
    ];
    hours.forEach((value, index) => {
        steps.push({
            trigger: `.o_selected_row .o_field_widget[name=day_${index + 1}] input`,
            run: `edit ${value}`,
        });
    });
    return steps;
}

registry.category("web_tour.tours").add("hie_timesheet_week_employee_tour", {
    steps: () => [
        // a cell on a project that no longer accepts hours is refused, and says why
        {
            trigger: ".o_data_row:contains(Tour Gesloten) .o_data_cell[name=day_2]",
            run: "click",
        },
        {
            trigger: ".o_selected_row .o_field_widget[name=day_2] input",
            run: "edit 2",
        },
        {
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            trigger: ".modal:contains(its status is Closed)",
        },
        {
            trigger: ".modal .modal-footer .btn-primary",
            run: "click",
        },
        {
            trigger: ".o_form_button_cancel",
            run: "click",
        },
        // a week of hours on two projects
        ...addRow("Tour Regie A", [8, 8, 8, 8]),
        {
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            trigger: ".o_form_saved .o_field_widget[name=total_hours]:contains(32:00)",
        },
        ...addRow("Tour Regie B", [0, 0, 0, 0, 8]),
        {
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            trigger: ".o_form_saved .o_field_widget[name=total_hours]:contains(40:00)",
        },
        {
            trigger: ".o_form_view button[name=action_submit]",
            run: "click",
        },
        {
            trigger: ".o_statusbar_status .o_arrow_button_current:contains(Submitted)",
        },
    ],
});

registry.category("web_tour.tours").add("hie_timesheet_week_reviewer_tour", {
    steps: () => [
        {
            trigger: ".o_form_view button[name=action_approve]",
            run: "click",
        },
        {
            trigger: ".o_statusbar_status .o_arrow_button_current:contains(Approved)",
        },
    ],
});

registry.category("web_tour.tours").add("hie_timesheet_week_invoice_tour", {
    steps: () => [
        {
            trigger: ".o_form_view button[name=action_hie_invoice_wizard]",
            run: "click",
        },
        {
            // the approved week is invoiced; the next, submitted week waits
            trigger: ".modal .o_field_widget[name=line_count]:contains(4)",
        },
        {
            trigger: ".modal .o_field_widget[name=awaiting_count]:contains(1)",
        },
        {
            trigger: ".modal button[name=action_create_invoices]",
            run: "click",
        },
        {
            trigger: ".o_form_view .o_field_widget[name=hie_project_ids]:contains(Tour Regie A)",
        },
    ],
});
