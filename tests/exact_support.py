"""Helpers shared by the Exact tests, and the entry point of their worker subprocesses.

Workers run as ``python -c WORKER_BOOT <mode> <args...>`` (see :func:`run_worker`).
"""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

from hie_testing.exact_server import (
    CUSTOMER_ID,
    DEFAULT_DIVISION,
    REVENUE_ACCOUNT_ID,
    SECOND_REVENUE_ACCOUNT_ID,
)
from hours_invoicing_exact.services.exact.adapters import ExactSalesEntryAdapter
from hours_invoicing_exact.services.exact.client import ExactClient
from hours_invoicing_exact.services.exact.clock import VirtualClock
from hours_invoicing_exact.services.exact.oauth import (
    FileTokenStore,
    OAuthClient,
    TokenManager,
    TokenState,
)
from hours_invoicing_exact.services.exact.ratelimit import MemoryRateLimitStore
from hours_invoicing_exact.services.outbox import OutboxEngine, SqliteRepository

ROOT = pathlib.Path(__file__).resolve().parent.parent
REDIRECT_URI = "http://localhost:8069/exact/callback"
CLIENT_ID = "test-client-id"
CLIENT_SECRET = "test-client-secret"
#: (connect, read) timeouts: short, the server's "timeout after store" waits longer.
TIMEOUT = (2.0, 0.3)
WORKER_BOOT = (
    "import runpy, sys; sys.path.insert(0, sys.argv[1] + '/tests'); "
    "runpy.run_path(sys.argv[1] + '/tests/conftest.py'); import exact_support; "
    "exact_support.worker_main(sys.argv[2:])"
)


def make_client(base_url, token_path, clock, *, store_tokens=None, ratelimit_store=None):
    """Return an :class:`ExactClient` on ``base_url`` whose tokens live in ``token_path``.

    ``store_tokens`` (a token-endpoint JSON) is saved first, as after a consent.
    """
    oauth = OAuthClient(base_url, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, clock=clock, timeout=5.0)
    store = FileTokenStore(token_path)
    if store_tokens is not None:
        store.save(TokenState.from_token_response(store_tokens, clock.now()))
    return ExactClient(
        base_url,
        DEFAULT_DIVISION,
        TokenManager(store, oauth),
        ratelimit_store or MemoryRateLimitStore(),
        clock=clock,
        timeout=TIMEOUT,
        backoff=1.0,
    )


def invoice(number: int, **overrides) -> dict:
    """Return the plain invoice dict of the sales-entry adapter for invoice ``number``."""
    values = {
        "number": f"INV/2024/{number:05d}",
        "date": "2024-01-31",
        "customer": CUSTOMER_ID,
        "journal": "70",
        "lines": [
            {"gl_account": REVENUE_ACCOUNT_ID, "vat_code": "2", "amount": 100.0 + number},
            {"gl_account": SECOND_REVENUE_ACCOUNT_ID, "vat_code": "1", "amount": 10.0},
        ],
    }
    values.update(overrides)
    return values


def enqueue(repository: SqliteRepository, numbers) -> list[str]:
    """Enqueue the invoices ``numbers``; return their references."""
    references = []
    for number in numbers:
        payload = invoice(number)
        repository.enqueue(payload["number"], payload)
        references.append(payload["number"])
    return references


def run_worker(mode: str, *args, wait: bool = True) -> subprocess.Popen:
    """Start a worker subprocess; with ``wait`` wait for it (at most 30 s)."""
    process = subprocess.Popen(
        [sys.executable, "-c", WORKER_BOOT, str(ROOT), mode, *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    if wait:
        process.wait(timeout=30)
    return process


def wait_for(path: pathlib.Path, deadline: float = 20.0) -> None:
    """Spin until ``path`` exists."""
    end = time.monotonic() + deadline
    while not path.exists():
        if time.monotonic() > end:
            raise TimeoutError(path)
        time.sleep(0.005)


def worker_main(argv: list[str]) -> None:
    """Entry point of the worker subprocesses.

    ``refresh BASE_URL TOKEN_PATH NOW READY_PATH GO_PATH``: signal ready, wait for go,
    make one API call (refreshing the token if needed), print the JSON outcome.

    ``post-then-die BASE_URL TOKEN_PATH NOW DB_PATH``: run the outbox engine and kill
    this process with SIGKILL right after the first POST returned, before its commit.

    ``hold-claim DB_PATH READY_PATH GO_PATH``: claim one record, signal ready, wait for go.
    """
    mode, args = argv[0], argv[1:]
    if mode == "hold-claim":
        repository = SqliteRepository(args[0])
        repository.claim(1)
        pathlib.Path(args[1]).touch()
        wait_for(pathlib.Path(args[2]))
        return
    client = make_client(args[0], args[1], VirtualClock(float(args[2])))
    if mode == "refresh":
        pathlib.Path(args[3]).touch()
        wait_for(pathlib.Path(args[4]))
        print(json.dumps({"ok": bool(client.me().get("UserID"))}))
    elif mode == "post-then-die":
        adapter = ExactSalesEntryAdapter(client)
        real_post = adapter.post

        def post_then_die(payload):
            real_post(payload)
            os.kill(os.getpid(), signal.SIGKILL)

        adapter.post = post_then_die
        OutboxEngine(SqliteRepository(args[3]), adapter).run()
    else:
        raise SystemExit(f"unknown worker mode {mode!r}")
