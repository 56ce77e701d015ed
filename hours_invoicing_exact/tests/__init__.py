from . import test_booking_gate
from . import test_rate_agreements
from . import test_direct_billing
from . import test_install_hook
from . import test_security
from . import test_ui
