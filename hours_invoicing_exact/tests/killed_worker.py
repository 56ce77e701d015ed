# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Run one of our crash workers (a real Odoo process that SIGKILLs itself) and wait until
PostgreSQL has ended its sessions.

A killed client's backend ends, and releases its row locks, only once it notices the closed
socket; on a busy machine the test's next query can come first and find the rows still
locked (``SKIP LOCKED`` then skips them, as it must for a live worker)."""

import os
import subprocess
import time

import odoo


def run_killed_worker(command, dbname, timeout=300, wait_backends=30.0):
    """Run ``command`` (our worker script), return a ``subprocess.CompletedProcess`` once
    the worker died and none of its database sessions (``application_name`` ``odoo-<pid>``,
    Odoo's default) is left."""
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
