# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A separate Odoo process that runs the outbox of a Twinfield connection and dies by
SIGKILL right after Twinfield answered its first write (a ``<transactions>`` call), before
anything commits that answer.

Started by ``test_twinfield_workers.py``: ``python twinfield_crash_worker.py ODOO_PATH
ADDONS_PATH DB_NAME DB_HOST DB_PORT DB_USER CONNECTION_ID``. Not a test module (no ``test_``
prefix): Odoo's test loader does not import it.
"""

import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from killed_worker import start_odoo  # noqa: E402 - a script beside its helper


def main(argv):
    odoo, registry_of, (connection_id,) = start_odoo(argv)
    # a script, not a package: absolute imports
    # pylint: disable=import-outside-toplevel,odoo-addons-relative-import
    from odoo.addons.hours_invoicing_exact.services.twinfield import adapters

    post_batch = adapters._TransactionAdapter.post_batch  # pylint: disable=protected-access

    def post_then_die(self, payloads):
        result = post_batch(self, payloads)  # stored by Twinfield, answer received ...
        os.kill(os.getpid(), signal.SIGKILL)  # ... and the worker dies before committing it
        return result

    adapters._TransactionAdapter.post_batch = post_then_die  # pylint: disable=protected-access
    registry = registry_of()
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {"tracking_disable": True})
        connection = env["accounting.connection"].browse(int(connection_id))
        env["accounting.outbox"]._process(connection)  # pylint: disable=protected-access
    sys.exit(3)  # not reached when the write happened


if __name__ == "__main__":
    main(sys.argv[1:])
