/** @odoo-module **/
import { registry } from "@web/core/registry";

// A company's first connection to Twinfield, then a month sent to it: the settings (Twinfield
// as the accounting package, the app's credentials, Save), Connect (the local Twinfield login
// server consents at once and sends the browser back), the office, the reference data, and
// the memorial entry of the month sent from its preview.
registry.category("web_tour.tours").add("hie_twinfield_connect_and_send_month", {
    steps: () => [
        {
            content: "Choose Twinfield as the accounting package",
            trigger: ".o_field_widget[name=hie_accounting_target] select",
            run: "selectByLabel Twinfield",
        },
        {
            content: "The Twinfield section explains the first steps",
            trigger: "div[name=twinfield_first_steps]:contains('Wolters Kluwer')",
        },
        {
            content: "The redirect URI to register is shown",
            trigger: ".o_field_widget[name=hie_twf_redirect_uri]:contains('/twinfield/callback')",
        },
        {
            content: "The login host points at the local Twinfield server",
            trigger: ".o_field_widget[name=hie_twf_login_host] input:value('http://127.0.0.1:')",
        },
        {
            content: "Fill in the client ID",
            trigger: ".o_field_widget[name=hie_twf_client_id] input",
            run: "edit twf-client-id",
        },
        {
            content: "Fill in the client secret",
            trigger: ".o_field_widget[name=hie_twf_client_secret] input",
            run: "edit twf-client-secret",
        },
        {
            content: "Save the settings (the page reloads)",
            trigger: ".o_form_button_save",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "Saved: the client ID is kept",
            trigger: ".o_field_widget[name=hie_twf_client_id] input:value('twf-client-id')",
        },
        {
            content: "Connect (to Twinfield's login and back)",
            trigger: "button[name=action_twf_connect]:contains('Connect'):not(:contains('Reconnect'))",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "Back in Odoo on the connection: connected, asked for the office",
            trigger: ".o_form_view div[name=choose_office]:contains('Connected')",
        },
        {
            content: "Open the office picker",
            trigger: ".o_field_widget[name=twf_office_choice_id] input",
            run: "click",
        },
        {
            content: "Pick the office",
            trigger: ".o-autocomplete--dropdown-item a:contains('NLA000001')",
            run: "click",
        },
        {
            content: "Save the connection",
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            content: "The office is chosen",
            trigger: ".o_form_saved .o_field_widget[name=twf_office] input:value('NLA000001')",
        },
        {
            content: "Read Twinfield's accounts and VAT codes and map them",
            trigger: "button[name=action_refresh_reference_data]",
            run: "click",
        },
        {
            content: "The accounts are mapped",
            trigger: ".o_field_widget[name=mapping_ids] .o_data_row",
        },
        {
            content: "Open the memorial entry preview",
            trigger: ".o_form_view",
            run() {
                window.location.href = "/odoo/action-hours_invoicing_exact.action_period_entry_preview";
            },
            expectUnloadPage: true,
        },
        {
            content: "The preview shows the month balancing",
            trigger: ".o_period_preview_summary:contains('balance 0.00')",
        },
        {
            content: "Send the month",
            trigger: "button.o_period_preview_send",
            run: "click",
        },
        {
            content: "The memorial entry is sent",
            trigger: ".o_form_view .o_statusbar_status button.o_arrow_button_current:contains('Sent')",
        },
        {
            content: "Twinfield's transaction number is shown",
            trigger: ".o_field_widget[name=exact_entry_number] span:not(:empty)",
        },
    ],
});
