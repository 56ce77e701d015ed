from . import (
    test_analysis,
    test_booking_gate,
    test_direct_billing,
    test_i18n,
    test_install_hook,
    test_installments,
    test_post_calculation,
    test_rate_agreements,
    test_security,
    test_tour_project,
    test_ui,
)
