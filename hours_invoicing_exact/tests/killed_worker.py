# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Our crash workers: real Odoo processes that SIGKILL themselves at a chosen moment.

Test side, :func:`run_killed_worker`: start a worker script on the test's database and
wait until PostgreSQL has ended its sessions. A killed client's backend ends, and releases
its row locks, only once it notices the closed socket; on a busy machine the test's next
query can come first and find the rows still locked (``SKIP LOCKED`` then skips them, as it
must for a live worker).

Worker side, :func:`start_odoo`: the scripts (``*_crash_worker.py``, no ``test_`` prefix,
so Odoo's test loader does not import them) are started as ``python SCRIPT ODOO_PATH
ADDONS_PATH DB_NAME DB_HOST DB_PORT DB_USER ARGS...``.
"""

import os
import subprocess
import sys
import time


def run_killed_worker(worker, dbname, *args, timeout=300, wait_backends=30.0):
    """Run the worker script ``worker`` with ``args`` on database ``dbname`` (Odoo's own
    configuration); return a ``subprocess.CompletedProcess`` once the worker died and none
    of its database sessions (``application_name`` ``odoo-<pid>``, Odoo's default) is
    left."""
    import odoo  # pylint: disable=import-outside-toplevel

    config = odoo.tools.config
    odoo_path = os.path.dirname(os.path.dirname(os.path.abspath(odoo.__file__)))
    command = [sys.executable, str(worker), odoo_path, config["addons_path"], dbname,
               str(config["db_host"]), str(config["db_port"]), str(config["db_user"]),
               *map(str, args)]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("ODOO_PGAPPNAME", None)  # keep Odoo's default application name: odoo-<pid>
    with subprocess.Popen(  # noqa: S603 - our own worker script
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    ) as process:
        stdout, stderr = process.communicate(timeout=timeout)
        pid = process.pid
    deadline = time.monotonic() + wait_backends
    db = odoo.sql_db.db_connect(dbname)
    while True:
        with db.cursor() as cr:
            cr.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                       [f"odoo-{pid}"])
            if not cr.fetchone()[0] or time.monotonic() > deadline:
                break
        time.sleep(0.05)
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def start_odoo(argv):
    """In a worker: configure Odoo from ``argv`` (as :func:`run_killed_worker` passes it);
    return ``(odoo, registry, the worker's own args)``."""
    odoo_path, addons_path, db_name, db_host, db_port, db_user, *rest = argv
    sys.path.insert(0, odoo_path)
    import odoo  # pylint: disable=import-outside-toplevel
    from odoo.modules.registry import Registry  # pylint: disable=import-outside-toplevel

    args = ["--addons-path", addons_path, "-d", db_name, "--log-level", "warn"]
    for option, value in (("--db_host", db_host), ("--db_port", db_port),
                          ("--db_user", db_user)):
        if value and value != "False":
            args += [option, value]
    odoo.tools.config.parse_config(args)
    return odoo, (lambda: Registry(db_name)), rest
