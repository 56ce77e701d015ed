from . import (
    test_billing_stateful,
    test_booking_gate,
    test_direct_billing,
    test_install_hook,
    test_invoicing_concurrency,
    test_invoicing_wizard,
    test_link_invoice,
    test_locking,
    test_rate_agreements,
    test_security,
    test_tour_invoicing,
    test_ui,
)
