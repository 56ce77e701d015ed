"""Exactly-once delivery to Twinfield through the outbox engine, against the local Twinfield
server over HTTP (no Odoo).

Every fault-injection test asserts the server's state (exactly one transaction per invoice)
and the repository's (every record sent with the server's transaction number).
"""

import datetime as dt
import itertools
import random
import signal
import threading
from decimal import Decimal

import pytest
from twinfield_support import (
    enqueue,
    invoice,
    make_client,
    run_worker,
)

from hie_testing.twinfield_server import CUSTOMER, OFFICE
from hours_invoicing_exact.services import journal as j
from hours_invoicing_exact.services.outbox import (
    ERROR,
    PENDING,
    RECONNECT_NEEDED,
    SENDING,
    SENT,
    OutboxEngine,
)
from hours_invoicing_exact.services.twinfield.adapters import (
    TwinfieldJournalAdapter,
    TwinfieldSalesAdapter,
    journal_payload,
)
from hours_invoicing_exact.services.twinfield.credits import SqliteCreditStore

pytest_plugins = ["twinfield_support"]  # its fixtures
D = Decimal


def engine_for(client, *, batch_size=5, **kwargs):
    adapter = TwinfieldSalesAdapter(client, batch_size=batch_size)
    return OutboxEngine(kwargs.pop("repository"), adapter, batch_size=10, **kwargs)


def assert_exactly_once(server, repository, references):
    """One transaction per reference on the server; each record sent with its number."""
    assert server.transactions_by_invoice() == {reference: 1 for reference in references}
    numbers = {trs["invoicenumber"]: trs["number"] for trs in server.transactions}
    for reference in references:
        record = repository.get(reference)
        assert record.state == SENT, (reference, record)
        assert record.remote_number == numbers[reference]
        assert record.remote_id == f"{OFFICE}/VRK/{numbers[reference]}"


def test_batches_cost_one_write_per_call_and_no_lookup(twf_server, twf_client, repository):
    references = enqueue(repository, range(1, 26))
    report = engine_for(twf_client, repository=repository).run()
    assert report.posted == 25 and report.lookups == 0 and report.stopped is None
    assert_exactly_once(twf_server, repository, references)
    assert twf_server.calls["write"] == 5 and twf_server.calls["read"] == 0
    assert twf_server.credits_used == 15  # 0.6 credit per invoice


def test_refused_transaction_gets_twinfields_words_and_the_others_go(twf_server, twf_client,
                                                                   repository):
    references = enqueue(repository, [1, 3])
    repository.enqueue("BAD", dict(invoice(2, customer="9999"), number="BAD"))
    report = engine_for(twf_client, repository=repository).run()
    assert report.posted == 2 and report.rejected == 1
    bad = repository.get("BAD")
    assert bad.state == ERROR and bad.last_error == "Debiteur 9999 bestaat niet."
    assert_exactly_once(twf_server, repository, references)
    assert twf_server.calls["write"] == 1


def test_timeout_after_the_server_stored_the_batch(twf_server, twf_client, repository):
    references = enqueue(repository, range(1, 8))
    twf_server.inject("timeout_after_store", target="write", delay=0.6)
    report = engine_for(twf_client, repository=repository).run()
    assert report.unknown == 5 and report.recovered == 5 and report.lookups == 1
    assert_exactly_once(twf_server, repository, references)
    assert twf_server.calls["write"] == 2 and twf_server.calls["read"] == 1


@pytest.mark.parametrize("kind", ["reset_after_store", "reset_before_store"])
def test_connection_reset(twf_server, twf_client, repository, kind):
    references = enqueue(repository, range(1, 8))
    twf_server.inject(kind, 1, target="write")
    report = engine_for(twf_client, repository=repository).run()
    assert report.unknown == 5 and report.lookups == 1
    assert report.recovered == (5 if kind == "reset_after_store" else 0)
    assert_exactly_once(twf_server, repository, references)


def test_5xx_burst(twf_server, twf_client, repository):
    references = enqueue(repository, range(1, 8))
    twf_server.inject("status", 3, status=500, target="write")
    report = engine_for(twf_client, repository=repository, batch_size=3).run()
    assert report.stopped is None and twf_server.statuses[500] == 3
    assert_exactly_once(twf_server, repository, references)


def test_5xx_with_duplicates_enforced_is_looked_up_not_refused(twf_server, twf_client,
                                                             repository):
    """A stored batch whose answer was a 500: the re-sent invoices would be refused as
    duplicates; the engine looks them up first, and even the refusal only leads to a look-up."""
    twf_server.reject_duplicate_invoice_numbers = True
    references = enqueue(repository, range(1, 4))
    twf_server.inject("timeout_after_store", target="write", delay=0.6)
    engine_for(twf_client, repository=repository).run()
    assert_exactly_once(twf_server, repository, references)


def test_429_spell_is_waited_out(twf_server, twf_client, repository):
    references = enqueue(repository, range(1, 8))
    twf_server.inject("status", 3, status=429, target="write", retry_after=20)
    start = twf_server.clock.now()
    report = engine_for(twf_client, repository=repository).run()
    assert report.posted == 7 and report.lookups == 0 and report.unknown == 0
    assert twf_server.clock.now() - start >= 60
    assert_exactly_once(twf_server, repository, references)


def test_long_429_spell_stops_the_run_and_costs_nothing(twf_server, twf_client, repository):
    references = enqueue(repository, range(1, 6))
    twf_server.inject("status", 1000, status=429, target="write", retry_after=10)
    engine = engine_for(twf_client, repository=repository)
    for _run in range(3):
        report = engine.run()
        assert report.stopped and report.posted == 0
    assert all(r.state == PENDING and r.attempts == 0 for r in repository.records())
    twf_server.faults.clear()
    assert engine.run().posted == 5
    assert_exactly_once(twf_server, repository, references)


def test_credit_budget_exhausted_mid_run_then_resumes(twf_server, twf_tokens, repository):
    client = make_client(twf_server.base_url, twf_server.cluster_url, twf_tokens,
                         twf_server.clock, store_tokens=twf_server.issue_tokens(), max_wait=0)
    references = enqueue(repository, range(1, 31))
    engine = engine_for(client, repository=repository, batch_size=2)
    report = engine.run()
    assert report.posted == 16 and report.resume_at and "credits" in report.stopped
    assert [r.state for r in repository.records()] == [SENT] * 16 + [PENDING] * 14
    assert all(r.attempts == 0 for r in repository.records()[16:])
    assert twf_server.statuses[429] == 0  # the budget stopped us before Twinfield had to
    twf_server.clock.advance(report.resume_at - twf_server.clock.now())
    report = engine.run()
    assert report.posted == 14 and report.lookups == 0
    assert_exactly_once(twf_server, repository, references)


def test_reconnect_needed_stops_and_loses_nothing(twf_server, twf_client, repository):
    references = enqueue(repository, range(1, 6))
    engine = engine_for(twf_client, repository=repository, batch_size=2)
    engine.run(limit=2)
    twf_server.revoke_refresh_tokens()
    twf_server.clock.advance(3600)
    report = engine.run()
    assert report.reconnect_needed and report.posted == 0
    assert repository.connection_state()[0] == RECONNECT_NEEDED
    assert [r.state for r in repository.records()] == [SENT] * 2 + [PENDING] * 3
    twf_client.tokens.store.save(
        type(twf_client.tokens.store.load()).from_token_response(
            twf_server.issue_tokens(), twf_server.clock.now()))
    twf_client.tokens.reload()
    assert engine.run().posted == 3
    assert_exactly_once(twf_server, repository, references)


def test_two_workers_at_once(twf_server, twf_tokens, repository, tmp_path):
    twf_server.credits_per_minute = 500
    barrier, first_writes = threading.Barrier(2, timeout=30), itertools.count()

    def hold_the_first_write_until_the_other_worker_writes_too():
        if next(first_writes) < 2:
            barrier.wait()

    twf_server.before_write = hold_the_first_write_until_the_other_worker_writes_too
    references = enqueue(repository, range(1, 41))
    make_client(twf_server.base_url, twf_server.cluster_url, twf_tokens, twf_server.clock,
                store_tokens=twf_server.issue_tokens())
    credits = tmp_path / "credits.sqlite"
    SqliteCreditStore(credits).close()
    args = (twf_server.base_url, twf_server.cluster_url, twf_tokens, twf_server.clock.now(),
            repository.path, credits)
    workers = [run_worker("drain", *args, wait=False) for _worker in range(2)]
    outputs = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        outputs.append([int(value) for value in out.split()])
    assert sum(posted for posted, _recovered in outputs) == 40
    assert all(posted > 0 for posted, _recovered in outputs)  # both worked
    assert_exactly_once(twf_server, repository, references)


def test_worker_killed_between_the_call_and_the_commit(twf_server, twf_tokens, repository):
    references = enqueue(repository, range(1, 8))
    make_client(twf_server.base_url, twf_server.cluster_url, twf_tokens, twf_server.clock,
                store_tokens=twf_server.issue_tokens())
    worker = run_worker("post-then-die", twf_server.base_url, twf_server.cluster_url,
                        twf_tokens, twf_server.clock.now(), repository.path)
    assert worker.returncode == -signal.SIGKILL, worker.stderr.read()
    assert twf_server.transactions_by_invoice() == {ref: 1 for ref in references[:3]}
    assert [r.state for r in repository.records()[:3]] == [SENDING] * 3  # commit lost
    client = make_client(twf_server.base_url, twf_server.cluster_url, twf_tokens,
                         twf_server.clock)
    report = engine_for(client, repository=repository, batch_size=3).run()
    assert report.recovered == 3 and report.posted == 4 and report.lookups == 1
    assert_exactly_once(twf_server, repository, references)


def test_memorial_entry_with_lost_answer_is_recovered(twf_server, twf_client, repository):
    references = []
    for month in (1, 2, 3):
        rows = [
            {"gl_account": "8000", "balance": D("-100.00"), "vat_code": "VH", "tax_role": "base"},
            {"gl_account": "1300", "balance": D("121.00"), "account_type": "receivable",
             "partner": "P1"},
            {"gl_account": "1500", "balance": D("-21.00"), "vat_code": "VH", "tax_role": "tax"},
        ]
        header = j.EntryHeader("ACME", "MEMO",
                               j.Period.containing("month", dt.date(2024, month, 1)))
        entry = j.build_entry(rows, header, vat_percentages={"VH": D(21)}, vat_rounding="odoo")
        payload = journal_payload(entry, {"8000": "8000", "1300": "1300"}, {"P1": CUSTOMER})
        repository.enqueue(entry.reference, payload)
        references.append(entry.reference)
    twf_server.inject("timeout_after_store", target="write", delay=0.6)
    adapter = TwinfieldJournalAdapter(twf_client, batch_size=1)
    report = OutboxEngine(repository, adapter).run()
    assert report.unknown == 1 and report.recovered == 1
    assert len(twf_server.transactions) == 3
    assert all(repository.get(reference).state == SENT for reference in references)


@pytest.mark.parametrize("seed", range(6))
def test_random_walk_of_faults_keeps_exactly_once(twf_server, twf_client, repository, seed):
    """Seeded random walk: invoices arrive, faults of every kind hit reads and writes,
    runs come and go, duplicates are enforced or not; after every run no invoice is in
    Twinfield twice, and every record marked sent has the number Twinfield gave it.
    At the end, with the faults over, everything is sent exactly once."""
    rng = random.Random(seed)
    twf_server.reject_duplicate_invoice_numbers = rng.random() < 0.5
    engine = OutboxEngine(
        repository, TwinfieldSalesAdapter(twf_client, batch_size=rng.choice([1, 3, 7]),
                                          lookup_chunk=rng.choice([2, 100])),
        batch_size=rng.choice([4, 10]),
    )
    references, next_number = [], 1
    for _step in range(12):
        count = rng.randint(0, 6)
        references += enqueue(repository, range(next_number, next_number + count))
        next_number += count
        for _fault in range(rng.randint(0, 3)):
            kind = rng.choice(["reset_after_store", "reset_before_store", "status", "status",
                               "timeout_after_store"])
            twf_server.inject(kind, rng.randint(1, 2), status=rng.choice([500, 502, 503, 429]),
                              target=rng.choice(["write", "write", "read"]), delay=0.35,
                              retry_after=rng.randint(1, 90))
        engine.run(limit=rng.choice([None, 5]))
        counts = twf_server.transactions_by_invoice()
        assert all(count == 1 for count in counts.values()), counts
        numbers = {trs["invoicenumber"]: trs["number"] for trs in twf_server.transactions}
        for record in repository.records():
            if record.state == SENT:
                assert record.remote_number == numbers[record.reference]
            assert record.state != ERROR, record
        twf_server.clock.advance(rng.choice([0, 30, 120]))
    twf_server.faults.clear()
    for _run in range(3):
        engine.run()
    assert_exactly_once(twf_server, repository, references)
