# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A separate Odoo process that runs the period sync of a company and dies by SIGKILL right
after Exact Online answered its first POST, before anything commits that answer.

Started by ``test_period_crash.py``: ``python period_crash_worker.py ODOO_PATH ADDONS_PATH
DB_NAME DB_HOST DB_PORT DB_USER COMPANY_ID YYYY-MM-DD``. Not a test module (no ``test_``
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
    odoo, registry_of, (company_id, today) = start_odoo(argv)
    # a script, not a package: absolute imports
    # pylint: disable=import-outside-toplevel,odoo-addons-relative-import
    from odoo.addons.hours_invoicing_exact.services.exact.journal_adapter import (
        ExactGeneralJournalAdapter,
    )

    post = ExactGeneralJournalAdapter.post

    def post_then_die(self, payload):
        result = post(self, payload)  # stored by Exact, answer received ...
        os.kill(os.getpid(), signal.SIGKILL)  # ... and the worker dies before committing it
        return result

    ExactGeneralJournalAdapter.post = post_then_die
    registry = registry_of()
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {"tracking_disable": True})
        company = env["res.company"].browse(int(company_id))
        env["accounting.period.entry"]._run_company(company, dt.date.fromisoformat(today))
    sys.exit(3)  # not reached when the POST happened


if __name__ == "__main__":
    main(sys.argv[1:])
