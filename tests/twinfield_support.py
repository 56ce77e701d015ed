"""Helpers and fixtures shared by the Twinfield tests, and the entry point of their worker
subprocesses (``python -c WORKER_BOOT <mode> <args...>``, see :func:`run_worker`)."""

import os
import pathlib
import signal
import subprocess
import sys

import pytest

from hie_testing.twinfield_server import CUSTOMER, OFFICE, REVENUE, SECOND_REVENUE, TwinfieldServer
from hours_invoicing_exact.services.exact.clock import VirtualClock
from hours_invoicing_exact.services.outbox import OutboxEngine, SqliteRepository
from hours_invoicing_exact.services.twinfield.adapters import TwinfieldSalesAdapter
from hours_invoicing_exact.services.twinfield.client import TwinfieldClient
from hours_invoicing_exact.services.twinfield.credits import (
    CreditBudget,
    MemoryCreditStore,
    SqliteCreditStore,
)
from hours_invoicing_exact.services.twinfield.oidc import (
    FileTokenStore,
    TokenState,
    TwinfieldOIDC,
    TwinfieldTokenManager,
)

ROOT = pathlib.Path(__file__).resolve().parent.parent
REDIRECT_URI = "http://localhost:8069/twinfield/callback"
CLIENT_ID = "twf-client-id"
CLIENT_SECRET = "twf-client-secret"
#: (connect, read) timeouts: short, the server's "timeout after store" waits longer.
TIMEOUT = (2.0, 0.3)
WORKER_BOOT = (
    "import runpy, sys; sys.path.insert(0, sys.argv[1] + '/tests'); "
    "runpy.run_path(sys.argv[1] + '/tests/conftest.py'); import twinfield_support; "
    "twinfield_support.worker_main(sys.argv[2:])"
)


def make_oidc(server) -> TwinfieldOIDC:
    return TwinfieldOIDC(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, login_host=server.base_url,
                         clock=server.clock, timeout=5.0)


def make_client(server_url, cluster_url, token_path, clock, *, store_tokens=None,
                credit_store=None, limit=25, max_wait=None, timeout=TIMEOUT):
    """A :class:`TwinfieldClient` whose tokens live in ``token_path``."""
    oidc = TwinfieldOIDC(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, login_host=server_url,
                         clock=clock, timeout=5.0)
    store = FileTokenStore(token_path)
    if store_tokens is not None:
        store.save(TokenState.from_token_response(store_tokens, clock.now()))
    budget = CreditBudget(credit_store or MemoryCreditStore(), limit=limit, clock=clock,
                          max_wait=max_wait)
    return TwinfieldClient(cluster_url, OFFICE, TwinfieldTokenManager(store, oidc), budget,
                           clock=clock, timeout=timeout, backoff=1.0)


def invoice(number: int, **overrides) -> dict:
    """The sales adapter's payload of invoice ``number`` (VAT as Odoo computed it)."""
    values = {
        "number": f"INV/2024/{number:05d}",
        "date": "2024-01-31",
        "due_date": "2024-02-29",
        "customer": CUSTOMER,
        "lines": [
            {"gl_account": REVENUE, "vat_code": "VH", "amount": f"{100 + number}.00",
             "vat_amount": f"{(100 + number) * 0.21:.2f}"},
            {"gl_account": SECOND_REVENUE, "vat_code": "VL", "amount": "10.00",
             "vat_amount": "0.90"},
        ],
    }
    values.update(overrides)
    return values


def enqueue(repository: SqliteRepository, numbers) -> list[str]:
    references = []
    for number in numbers:
        payload = invoice(number)
        repository.enqueue(payload["number"], payload)
        references.append(payload["number"])
    return references


def run_worker(mode: str, *args, wait: bool = True) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-c", WORKER_BOOT, str(ROOT), mode, *map(str, args)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    if wait:
        process.wait(timeout=60)
    return process


def worker_main(argv: list[str]) -> None:
    """``post-then-die URL CLUSTER TOKENS NOW DB``: run the engine, SIGKILL right after the
    first batch call returned, before its commit.
    ``drain URL CLUSTER TOKENS NOW DB CREDITS_DB``: run the engine until nothing is due,
    sharing the credit budget through ``CREDITS_DB``; print the report."""
    mode, args = argv[0], argv[1:]
    clock = VirtualClock(float(args[3]))
    if mode == "post-then-die":
        client = make_client(args[0], args[1], args[2], clock)
        adapter = TwinfieldSalesAdapter(client, batch_size=3)
        real = adapter.post_batch

        def post_then_die(payloads):
            real(payloads)
            os.kill(os.getpid(), signal.SIGKILL)

        adapter.post_batch = post_then_die
        OutboxEngine(SqliteRepository(args[4]), adapter, batch_size=10).run()
    elif mode == "drain":
        client = make_client(args[0], args[1], args[2], clock,
                             credit_store=SqliteCreditStore(args[5]), limit=500,
                             timeout=(2.0, 5.0))
        report = OutboxEngine(SqliteRepository(args[4]),
                              TwinfieldSalesAdapter(client, batch_size=4), batch_size=4).run()
        print(report.posted, report.recovered)
    else:
        raise SystemExit(f"unknown worker mode {mode!r}")


# -- fixtures (imported by the test modules) ---------------------------------------------------


@pytest.fixture
def twf_server():
    with TwinfieldServer() as running:
        yield running


@pytest.fixture
def twf_tokens(tmp_path):
    return tmp_path / "twf-tokens.json"


@pytest.fixture
def twf_client(twf_server, twf_tokens):
    return make_client(twf_server.base_url, twf_server.cluster_url, twf_tokens, twf_server.clock,
                       store_tokens=twf_server.issue_tokens())


@pytest.fixture
def repository(tmp_path):
    repo = SqliteRepository(tmp_path / "outbox.sqlite")
    yield repo
    repo.close()
