from . import (
    test_booking_gate,
    test_direct_billing,
    test_exact_concurrency,
    test_exact_connect,
    test_exact_sync,
    test_install_hook,
    test_rate_agreements,
    test_security,
    test_ui,
)
