/** @odoo-module **/
import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("hie_period_entry_preview", {
    steps: () => [
        {
            content: "The preview shows the lines of the period",
            trigger: ".o_period_preview_lines tbody tr:contains('Revenue HIE')",
        },
        {
            content: "The preview shows its summary with a zero balance",
            trigger: ".o_period_preview_summary:contains('balance 0.00')",
        },
        {
            content: "Send the entry",
            trigger: "button.o_period_preview_send",
            run: "click",
        },
        {
            content: "The memorial entry is sent and has its Exact entry number",
            trigger: ".o_form_view .o_statusbar_status button.o_arrow_button_current:contains('Sent')",
        },
        {
            content: "The Exact entry number is shown",
            trigger: ".o_field_widget[name=exact_entry_number]:contains('1')",
        },
    ],
});
