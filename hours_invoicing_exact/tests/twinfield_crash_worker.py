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


def main(argv):
    odoo_path, addons_path, db_name, db_host, db_port, db_user, connection_id = argv
    sys.path.insert(0, odoo_path)
    import odoo  # pylint: disable=import-outside-toplevel
    from odoo.modules.registry import Registry  # pylint: disable=import-outside-toplevel

    args = ["--addons-path", addons_path, "-d", db_name, "--log-level", "warn"]
    for option, value in (("--db_host", db_host), ("--db_port", db_port),
                          ("--db_user", db_user)):
        if value and value != "False":
            args += [option, value]
    odoo.tools.config.parse_config(args)
    # a script, not a package: absolute imports
    # pylint: disable=import-outside-toplevel,odoo-addons-relative-import
    from odoo.addons.hours_invoicing_exact.services.twinfield import adapters

    post_batch = adapters._TransactionAdapter.post_batch  # pylint: disable=protected-access

    def post_then_die(self, payloads):
        result = post_batch(self, payloads)  # stored by Twinfield, answer received ...
        os.kill(os.getpid(), signal.SIGKILL)  # ... and the worker dies before committing it
        return result

    adapters._TransactionAdapter.post_batch = post_then_die  # pylint: disable=protected-access
    registry = Registry(db_name)
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {"tracking_disable": True})
        connection = env["accounting.connection"].browse(int(connection_id))
        env["accounting.outbox"]._process(connection)  # pylint: disable=protected-access
    sys.exit(3)  # not reached when the write happened


if __name__ == "__main__":
    main(sys.argv[1:])
