/** @odoo-module **/
import { registry } from "@web/core/registry";

// The reminder run computed its draft lines: the preview tells who would get what, before
// anything is sent.
registry.category("web_tour.tours").add("hie_payment_reminder_preview", {
    steps: () => [
        {
            content: "Open the preview tab of the run",
            trigger: ".o_notebook .nav-link:contains('Preview')",
            run: "click",
        },
        {
            content: "The customer, its level and the overdue invoice are listed",
            trigger: ".o_field_widget[name=hie_preview] table tr:contains('Tour Klant BV'):contains('Friendly reminder'):contains('INV/')",
        },
        {
            content: "Nothing sent yet: the e-mail channel is announced",
            trigger: ".o_field_widget[name=hie_preview] table tr:contains('Tour Klant BV'):contains('Email')",
        },
    ],
});

// The overview of overdue invoices by customer and reminder level: list, then graph.
registry.category("web_tour.tours").add("hie_overdue_overview", {
    steps: () => [
        {
            content: "The overdue invoice is listed under its customer",
            trigger: ".o_list_view .o_group_name:contains('Tour Klant BV')",
        },
        {
            content: "Switch to the graph",
            trigger: ".o_switch_view.o_graph",
            run: "click",
        },
        {
            content: "The graph is drawn",
            trigger: ".o_graph_renderer canvas",
        },
    ],
});
