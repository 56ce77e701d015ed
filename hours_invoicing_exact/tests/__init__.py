from . import (
    test_booking_gate,
    test_direct_billing,
    test_install_hook,
    test_period_entry,
    test_period_preview,
    test_rate_agreements,
    test_security,
    test_ui,
)
