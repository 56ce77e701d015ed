# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A separate Odoo process that runs the daily recurring-invoice run (OCA ``contract``) and
dies by SIGKILL while the invoice of the second contract is made, after the first contract's
invoice was committed and before the second one's commits.

Started by ``test_recurring_crash.py``: ``python recurring_crash_worker.py ODOO_PATH
ADDONS_PATH DB_NAME DB_HOST DB_PORT DB_USER YYYY-MM-DD``. Not a test module (no ``test_``
prefix): Odoo's test loader does not import it.
"""

import datetime as dt
import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from killed_worker import start_odoo  # noqa: E402 - a script beside its helper


def main(argv):
    odoo, registry_of, (today,) = start_odoo(argv)
    registry = registry_of()
    Contract = registry["contract.contract"]
    post_and_send = Contract._hie_post_and_send
    calls = []

    def post_and_send_then_die(self, moves):
        calls.append(moves.ids)
        if len(calls) == 2:  # the second contract's invoice exists, uncommitted ...
            os.kill(os.getpid(), signal.SIGKILL)  # ... and the worker dies
        return post_and_send(self, moves)

    Contract._hie_post_and_send = post_and_send_then_die
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {"tracking_disable": True})
        env["contract.contract"].cron_recurring_create_invoice(dt.date.fromisoformat(today))
    sys.exit(3)  # not reached when a second contract was due


if __name__ == "__main__":
    main(sys.argv[1:])
