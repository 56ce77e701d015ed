"""Exactly-once delivery through the outbox engine, against the fake Exact server over HTTP.

Every fault-injection test asserts the server's state (exactly one sales entry per
invoice) and the repository's (every record sent, with the server's EntryID).
"""

import signal

import pytest
from exact_support import enqueue, invoice, make_client, run_worker, wait_for

from hie_testing.exact_server import CUSTOMER_ID, REVENUE_ACCOUNT_ID
from hours_invoicing_exact.services.exact.adapters import ExactSalesEntryAdapter
from hours_invoicing_exact.services.outbox import (
    ERROR,
    PENDING,
    RECONNECT_NEEDED,
    SENDING,
    SENT,
    OutboxEngine,
    OutcomeUnknown,
    SqliteRepository,
)

POSTS = ("POST", "salesentry/SalesEntries")
LOOKUPS = ("GET", "salesentry/SalesEntries")


@pytest.fixture
def repository(tmp_path):
    repo = SqliteRepository(tmp_path / "outbox.sqlite")
    yield repo
    repo.close()


@pytest.fixture
def engine(repository, client):
    return OutboxEngine(repository, ExactSalesEntryAdapter(client), batch_size=10)


def assert_exactly_once(server, repository, references):
    """One entry per reference on the server; each record sent with that entry's id."""
    assert server.entries_by_ref() == {reference: 1 for reference in references}
    remote = {entry["YourRef"]: entry for entry in server.sales_entries}
    for reference in references:
        record = repository.get(reference)
        assert record.state == SENT, (reference, record)
        assert record.remote_id == remote[reference]["EntryID"]
        assert record.remote_number == str(remote[reference]["EntryNumber"])


# -- payload -----------------------------------------------------------------------------


def test_payload_of_invoice_and_credit_note(client):
    adapter = ExactSalesEntryAdapter(client)
    entry = adapter.build_entry(invoice(7, description="Uren januari", due_date="2024-02-29"))
    assert entry["YourRef"] == "INV/2024/00007" and entry["Type"] == 20
    assert entry["Journal"] == "70" and entry["Customer"] == CUSTOMER_ID
    assert entry["EntryDate"] == "2024-01-31T00:00:00" and entry["DueDate"] == "2024-02-29T00:00:00"
    assert [(line["AmountFC"], line["VATCode"]) for line in entry["SalesEntryLines"]] == [
        (107.0, "2"),
        (10.0, "1"),
    ]
    credit = adapter.build_entry(invoice(8, credit_note=True))
    assert credit["Type"] == 21
    assert [line["AmountFC"] for line in credit["SalesEntryLines"]] == [-108.0, -10.0]
    assert all("VATAmountFC" not in line for line in credit["SalesEntryLines"])


def test_payload_carries_odoos_vat_per_line(client):
    """Odoo's VAT of each line goes as VATAmountFC (with the amount's sign), so that Exact
    does not compute its own."""
    adapter = ExactSalesEntryAdapter(client)
    lines = [
        {"gl_account": REVENUE_ACCOUNT_ID, "vat_code": "2", "amount": 0.21, "vat_amount": 0.03},
        {"gl_account": REVENUE_ACCOUNT_ID, "vat_code": "1", "amount": 0.15, "vat_amount": 0.0},
        {"gl_account": REVENUE_ACCOUNT_ID, "amount": 5.0, "vat_amount": 0.0},  # no VAT code
    ]
    entry = adapter.build_entry(invoice(9, lines=lines))
    assert [line.get("VATAmountFC") for line in entry["SalesEntryLines"]] == [0.03, 0.0, None]
    credit = adapter.build_entry(invoice(10, lines=lines, credit_note=True))
    assert [line.get("VATAmountFC") for line in credit["SalesEntryLines"]] == [-0.03, 0.0, None]


# -- happy path and business errors --------------------------------------------------------


def test_sends_each_invoice_with_one_write_and_no_lookup(server, repository, engine):
    references = enqueue(repository, range(1, 26))
    report = engine.run()
    assert report.posted == 25 and report.lookups == 0 and report.stopped is None
    assert_exactly_once(server, repository, references)
    assert server.calls[POSTS] == 25 and server.calls[LOOKUPS] == 0
    assert engine.run().posted == 0  # nothing left, nothing sent twice
    assert sum(server.calls.values()) == 25


def test_business_error_is_recorded_and_the_others_continue(server, repository, engine):
    references = enqueue(repository, [1, 3])
    repository.enqueue("BAD", dict(invoice(2), number="BAD", journal="99"))
    report = engine.run()
    assert report.posted == 2 and report.rejected == 1
    bad = repository.get("BAD")
    assert bad.state == ERROR and bad.last_error == "Invalid reference: Journals"
    assert_exactly_once(server, repository, references)
    assert server.calls[POSTS] == 3  # the rejected one was not retried


# -- lost answers ----------------------------------------------------------------------


def test_timeout_after_the_server_stored_the_post(server, repository, engine):
    references = enqueue(repository, range(1, 6))
    server.inject("timeout_after_store", method="POST", delay=0.6)
    report = engine.run()
    assert report.unknown == 1 and report.recovered == 1 and report.lookups == 1
    assert_exactly_once(server, repository, references)
    assert server.calls[POSTS] == 5 and server.calls[LOOKUPS] == 1


@pytest.mark.parametrize("kind", ["reset_after_store", "reset_before_store"])
def test_connection_reset(server, repository, engine, kind):
    references = enqueue(repository, range(1, 6))
    server.inject(kind, 2, method="POST")
    report = engine.run()
    assert report.unknown == 2 and report.lookups == 1
    assert_exactly_once(server, repository, references)
    assert report.recovered == (2 if kind == "reset_after_store" else 0)
    assert server.calls[POSTS] == 5  # POSTs the server processed: one per invoice


def test_500_burst(server, repository, engine):
    references = enqueue(repository, range(1, 8))
    server.inject("status", 3, status=500)  # three POSTs in a row get a bare 500
    report = engine.run()
    assert report.stopped is None
    assert_exactly_once(server, repository, references)
    assert server.statuses[500] == 3 and report.unknown == 3
    assert report.lookups == 1 and server.calls[LOOKUPS] == 1  # one batched look-up
    assert server.calls[POSTS] == 7  # POSTs the server processed: one per invoice


def test_429_then_success(server, repository, engine):
    references = enqueue(repository, range(1, 4))
    server.inject("status", status=429, method="POST")
    report = engine.run()
    assert report.posted == 3 and report.lookups == 0
    assert_exactly_once(server, repository, references)
    assert server.statuses[429] == 1


class PoisonAdapter:
    """Posts through ``inner``, except the write of ``reference``, which never gets an answer."""

    def __init__(self, inner, reference):
        self.inner, self.reference = inner, reference

    def post(self, payload):
        if payload["number"] == self.reference:
            raise OutcomeUnknown("No answer from Exact Online (test).")
        return self.inner.post(payload)

    def lookup(self, references):
        return self.inner.lookup(references)


def test_unknown_outcome_of_one_record_is_bounded_by_max_attempts(server, repository, client):
    """A record whose writes get no answer while Exact accepts the others goes to error,
    with the cause, after ``max_attempts``; the others are sent exactly once."""
    poison = enqueue(repository, [1])[0]
    adapter = PoisonAdapter(ExactSalesEntryAdapter(client), poison)
    engine = OutboxEngine(repository, adapter, max_attempts=3)
    references = []
    for run in range(3):
        references += enqueue(repository, [10 + run])
        engine.run()
    record = repository.get(poison)
    assert record.state == ERROR and "Gave up after 3 attempts" in record.last_error
    assert "No answer from Exact Online (test)." in record.last_error
    assert_exactly_once(server, repository, references)


def test_unknown_outcome_alone_costs_nothing(server, repository, client):
    """Writes without an answer in a run where Exact accepted nothing are Exact's trouble:
    the record stays to be looked up, with its cause, and never goes to error."""
    references = enqueue(repository, [1])
    server.inject("reset_before_store", 100, method="POST")
    engine = OutboxEngine(repository, ExactSalesEntryAdapter(client), max_attempts=3)
    for _run in range(8):
        report = engine.run()
        assert report.unknown == 2  # looked up and tried again once in the run
    record = repository.get(references[0])
    assert record.state == SENDING and record.attempts == 0 and record.last_error
    server.faults.clear()
    engine.run()
    assert_exactly_once(server, repository, references)


# -- stopping the run ----------------------------------------------------------------------


def test_daily_budget_exhausted_mid_run_then_resumes(server, repository, engine):
    references = enqueue(repository, range(1, 21))
    server.daily_limit = 12
    report = engine.run()
    assert report.posted == 12 and report.resume_at is not None
    assert "daily" in report.stopped
    states = [record.state for record in repository.records()]
    assert states == [SENT] * 12 + [PENDING] * 8  # nothing left in "sending"
    assert server.statuses[429] == 0
    server.clock.advance(report.resume_at - server.clock.now() + 1)
    report = engine.run()
    assert report.posted == 8 and report.lookups == 0
    assert_exactly_once(server, repository, references)


def test_spent_daily_budget_over_many_runs_costs_nothing(server, repository, engine):
    """Defect 5: runs stopped by the spent daily budget make no call and count no attempt;
    nothing goes to error, everything is sent after the reset."""
    references = enqueue(repository, range(1, 11))
    server.daily_limit = 3
    report = engine.run()
    assert report.posted == 3 and report.resume_at
    calls = sum(server.calls.values())
    for _run in range(12):  # every 15 minutes of a long day
        report = engine.run()
        assert report.posted == 0 and report.stopped
    assert sum(server.calls.values()) == calls  # no call was made
    records = repository.records()
    assert [record.state for record in records] == [SENT] * 3 + [PENDING] * 7
    assert all(record.attempts == 0 for record in records[3:])
    posted = 0
    for _day in range(3):  # three calls a day
        server.clock.advance(report.resume_at - server.clock.now() + 1)
        report = engine.run()
        posted += report.posted
    assert posted == 7
    assert_exactly_once(server, repository, references)


def test_long_429_spell_costs_nothing(server, repository, client):
    references = enqueue(repository, range(1, 6))
    engine = OutboxEngine(repository, ExactSalesEntryAdapter(client), batch_size=10)
    server.inject("status", 400, status=429)
    for _run in range(10):
        report = engine.run()
        assert report.stopped and report.posted == 0
    assert all(r.state == PENDING and r.attempts == 0 for r in repository.records())
    server.faults.clear()
    assert engine.run().posted == 5
    assert_exactly_once(server, repository, references)


@pytest.mark.parametrize("status,method", [(503, None), (502, "POST"), (500, "POST")])
def test_long_5xx_spell_costs_nothing(server, repository, client, status, method):
    """A 5xx spell: retried reads and writes that end in a stop, or writes without an
    answer in runs where Exact accepts nothing, cost no attempt; all go once it is over."""
    references = enqueue(repository, range(1, 8))
    engine = OutboxEngine(repository, ExactSalesEntryAdapter(client), batch_size=3,
                          max_attempts=2)
    server.inject("status", 1000, status=status, method=method)
    for _run in range(10):
        report = engine.run()
        assert report.posted == 0 and report.rejected == 0
    assert all(r.state in (PENDING, SENDING) and r.attempts == 0
               for r in repository.records())
    server.faults.clear()
    engine.run()
    assert_exactly_once(server, repository, references)
    assert not [r for r in repository.records() if r.state == ERROR]


def test_reconnect_needed_stops_and_loses_nothing(server, repository, engine, token_path):
    references = enqueue(repository, range(1, 6))
    engine.run(limit=2)
    server.clock.advance(31 * 86400)  # refresh token expired
    report = engine.run()
    assert report.reconnect_needed and report.posted == 0
    assert repository.connection_state()[0] == RECONNECT_NEEDED
    assert [record.state for record in repository.records()] == [SENT] * 2 + [PENDING] * 3
    # the user connects again; the next run sends the rest, exactly once
    make_client(server.base_url, token_path, server.clock, store_tokens=server.issue_tokens())
    engine.adapter.client.tokens.reload()
    assert engine.run().posted == 3
    assert_exactly_once(server, repository, references)


# -- crash recovery ----------------------------------------------------------------------


def test_records_left_sending_are_looked_up_in_batches_before_posting(server, repository, client):
    references = enqueue(repository, range(1, 51))
    adapter = ExactSalesEntryAdapter(client, lookup_chunk=20)
    for record in repository.claim(50)[:45]:  # 45 attempts of a crashed run...
        repository.mark_sending(record)
        if record.id % 3:  # ... of which 30 reached Exact
            adapter.post(record.payload)
    repository.release(repository.records())
    posts_before = server.calls[POSTS]
    report = OutboxEngine(repository, adapter, batch_size=50).run()
    assert report.recovered == 30 and report.posted == 20 and report.lookups == 1
    assert server.calls[LOOKUPS] == 3  # 45 references, 20 per call
    assert server.calls[POSTS] - posts_before == 20
    assert_exactly_once(server, repository, references)


def test_worker_killed_between_post_and_commit(server, repository, token_path):
    references = enqueue(repository, range(1, 6))
    make_client(server.base_url, token_path, server.clock, store_tokens=server.issue_tokens())
    worker = run_worker(
        "post-then-die", server.base_url, token_path, server.clock.now(), repository.path
    )
    assert worker.returncode == -signal.SIGKILL, worker.stderr.read()
    assert server.entries_by_ref() == {references[0]: 1}
    assert repository.get(references[0]).state == SENDING  # POST done, commit lost
    client = make_client(server.base_url, token_path, server.clock)
    report = OutboxEngine(repository, ExactSalesEntryAdapter(client)).run()
    assert report.recovered == 1 and report.posted == 4
    assert_exactly_once(server, repository, references)


def test_a_record_held_by_a_live_run_is_skipped(tmp_path, repository):
    references = enqueue(repository, [1, 2])
    ready, go = tmp_path / "ready", tmp_path / "go"
    holder = run_worker("hold-claim", repository.path, ready, go, wait=False)
    try:
        wait_for(ready)
        claimed = repository.claim(10)
        assert [record.reference for record in claimed] == references[1:]
        repository.release(claimed)
    finally:
        go.touch()
        holder.wait(timeout=30)
    assert holder.returncode == 0, holder.stderr.read()
    assert [record.reference for record in repository.claim(10)] == references


# -- engine contract with a scripted adapter ---------------------------------------------


class CrashingAdapter:
    """Adapter that fails with a bug on the references in ``crash``, else succeeds."""

    def __init__(self, crash):
        self.crash = set(crash)
        self.remote = {}

    def post(self, payload):
        if payload["number"] in self.crash:
            raise RuntimeError("bug")
        self.remote[payload["number"]] = ("id-" + payload["number"], str(len(self.remote)))
        return self.remote[payload["number"]]

    def lookup(self, references):
        return {ref: self.remote[ref] for ref in references if ref in self.remote}


def test_unexpected_exception_leaves_the_record_for_a_look_up(repository):
    references = enqueue(repository, [1, 2])
    adapter = CrashingAdapter([references[0]])
    with pytest.raises(RuntimeError):
        OutboxEngine(repository, adapter).run()
    assert repository.get(references[0]).state == SENDING
    adapter.crash.clear()
    report = OutboxEngine(repository, adapter).run()
    assert report.lookups == 1 and report.posted == 2
    assert [record.state for record in repository.records()] == [SENT, SENT]
