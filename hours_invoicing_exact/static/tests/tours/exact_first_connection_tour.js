/** @odoo-module **/
import { registry } from "@web/core/registry";

// The first connection of a company to Exact Online, as a newcomer makes it: the settings,
// the app's credentials, Save, Connect, the consent (the local Exact server consents at
// once and sends the browser back), the connection form, the division.
registry.category("web_tour.tours").add("hie_exact_first_connection", {
    steps: () => [
        {
            content: "The settings explain the first steps",
            trigger: "div[name=exact_first_steps]:contains('App Center')",
        },
        {
            content: "The redirect URI to register is shown",
            trigger: ".o_field_widget[name=hie_exact_redirect_uri]:contains('/exact_online/callback')",
        },
        {
            content: "Fill in the client ID",
            trigger: ".o_field_widget[name=hie_exact_client_id] input",
            run: "edit test-client-id",
        },
        {
            content: "Fill in the client secret",
            trigger: ".o_field_widget[name=hie_exact_client_secret] input",
            run: "edit test-client-secret",
        },
        {
            content: "Save the settings (the page reloads)",
            trigger: ".o_form_button_save",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "Saved: the client ID is kept",
            trigger: ".o_field_widget[name=hie_exact_client_id] input:value('test-client-id')",
        },
        {
            content: "Connect (to Exact's consent and back)",
            trigger: "button[name=action_exact_connect]:contains('Connect'):not(:contains('Reconnect'))",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "Back in Odoo on the connection: connected, asked for the division",
            trigger: ".o_form_view div[name=choose_division]:contains('Connected')",
        },
        {
            content: "Open the division picker",
            trigger: ".o_field_widget[name=division_choice_id] input",
            run: "click",
        },
        {
            content: "Pick the division",
            trigger: ".o-autocomplete--dropdown-item a:contains('Administratie 1234')",
            run: "click",
        },
        {
            content: "Save the connection",
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            content: "The division is chosen",
            trigger: ".o_form_saved .o_field_widget[name=division_choice_id] input:value('Administratie 1234')",
        },
    ],
});
