"""Post 3,000 invoices through the outbox engine to the local fake Exact Online server.

Exact's limits (60 calls a minute, 5,000 a day) are enforced by the server on a
*virtual* clock shared with the client, so waiting for a new minute costs no wall time.
Two scenarios:

* ``clean``: every invoice is new;
* ``recovery``: a crashed run left the first 200 records in state ``sending``, half of
  which had reached Exact; they are looked up (20 references per call) before posting.

Prints calls made, calls per invoice, look-up calls, refused calls, token refreshes,
virtual time to drain and wall time per invoice. Run: ``python benchmarks/bench_exact_outbox.py``.
"""

import argparse
import pathlib
import sys
import tempfile
import time
import types

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _bootstrap() -> None:
    """Make ``hours_invoicing_exact.services`` importable without Odoo."""
    if "hours_invoicing_exact" not in sys.modules:
        package = types.ModuleType("hours_invoicing_exact")
        package.__path__ = [str(ROOT / "hours_invoicing_exact")]
        sys.modules["hours_invoicing_exact"] = package
    sys.path.insert(0, str(ROOT))


def run(scenario: str, invoices: int, crashed: int, workdir: pathlib.Path) -> dict:
    """Run one scenario; return its figures."""
    from hie_testing.exact_server import (
        CUSTOMER_ID,
        DEFAULT_DIVISION,
        REVENUE_ACCOUNT_ID,
        ExactServer,
    )
    from hours_invoicing_exact.services.exact.adapters import ExactSalesEntryAdapter
    from hours_invoicing_exact.services.exact.client import ExactClient
    from hours_invoicing_exact.services.exact.oauth import (
        FileTokenStore,
        OAuthClient,
        TokenManager,
        TokenState,
    )
    from hours_invoicing_exact.services.exact.ratelimit import MemoryRateLimitStore
    from hours_invoicing_exact.services.outbox import OutboxEngine, SqliteRepository

    with ExactServer(minutely_limit=60, daily_limit=5000) as server:
        clock = server.clock
        store = FileTokenStore(workdir / f"{scenario}-tokens.json")
        store.save(TokenState.from_token_response(server.issue_tokens(), clock.now()))
        oauth = OAuthClient(
            server.base_url,
            server.client_id,
            server.client_secret,
            "http://localhost/cb",
            clock=clock,
        )
        client = ExactClient(
            server.base_url,
            DEFAULT_DIVISION,
            TokenManager(store, oauth),
            MemoryRateLimitStore(),
            clock=clock,
        )
        adapter = ExactSalesEntryAdapter(client)
        repository = SqliteRepository(workdir / f"{scenario}.sqlite")
        for number in range(1, invoices + 1):
            reference = f"INV/2024/{number:05d}"
            repository.enqueue(
                reference,
                {
                    "number": reference,
                    "date": "2024-01-31",
                    "customer": CUSTOMER_ID,
                    "journal": "70",
                    "lines": [{"gl_account": REVENUE_ACCOUNT_ID, "vat_code": "2", "amount": 100.0}],
                },
            )
        if crashed:
            records = repository.claim(crashed)
            for record in records:
                repository.mark_sending(record)
            for record in records[::2]:
                adapter.post(record.payload)
            repository.release(records)
            clock.advance(60)
        server.calls.clear()
        server.statuses.clear()
        server.token_calls.clear()
        start_virtual, start_wall = clock.now(), time.perf_counter()
        report = OutboxEngine(repository, adapter, batch_size=50).run()
        wall = time.perf_counter() - start_wall
        virtual = clock.now() - start_virtual
        repository_states = {record.state for record in repository.records()}
        entries = server.entries_by_ref()
        repository.close()
    api_calls = sum(server.calls.values())
    writes = server.calls[("POST", "salesentry/SalesEntries")]
    return {
        "scenario": scenario,
        "invoices": invoices,
        "api calls": api_calls,
        "write calls": writes,
        "look-up calls": server.calls[("GET", "salesentry/SalesEntries")],
        "calls per invoice": round(api_calls / invoices, 4),
        "refused calls (4xx/5xx/429)": sum(
            n for status, n in server.statuses.items() if status >= 400
        ),
        "token refreshes": server.token_calls["refresh_token"],
        "virtual time to drain": f"{virtual / 60:.1f} min",
        "wall time per invoice": f"{wall / invoices * 1000:.2f} ms",
        "report": report,
        "exactly once": (
            set(entries.values()) == {1}
            and len(entries) == invoices
            and repository_states == {"sent"}
        ),
    }


def main(argv=None) -> int:
    """Run both scenarios and print their figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=3000)
    parser.add_argument("--crashed", type=int, default=200)
    args = parser.parse_args(argv)
    _bootstrap()
    with tempfile.TemporaryDirectory() as directory:
        for scenario, crashed in (("clean", 0), ("recovery", args.crashed)):
            figures = run(scenario, args.invoices, crashed, pathlib.Path(directory))
            print(f"== {scenario} ==")
            for name, value in figures.items():
                if name != "scenario":
                    print(f"  {name:28} {value}")
            if not figures["exactly once"]:
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
