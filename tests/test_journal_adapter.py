"""The general journal adapter against the local Exact server (no Odoo)."""

import datetime as dt
from decimal import Decimal

import pytest
from exact_support import make_client

from hours_invoicing_exact.services import journal as j
from hours_invoicing_exact.services.exact.journal_adapter import (
    ClosedPeriod,
    ExactGeneralJournalAdapter,
)
from hours_invoicing_exact.services.outbox import SENT, OutboxEngine, SqliteRepository
from hours_invoicing_exact.services.testing.exact_server import (
    CUSTOMER_ID,
    RECEIVABLE_ACCOUNT_ID,
    REVENUE_ACCOUNT_ID,
    VAT_HIGH_ACCOUNT_ID,
    ExactServer,
)

D = Decimal
POSTS = ("POST", "generaljournalentry/GeneralJournalEntries")
GL = {"8000": REVENUE_ACCOUNT_ID, "1300": RECEIVABLE_ACCOUNT_ID}


@pytest.fixture
def server():
    with ExactServer() as running:
        yield running


@pytest.fixture
def client(server, tmp_path):
    return make_client(
        server.base_url, tmp_path / "t.json", server.clock, store_tokens=server.issue_tokens()
    )


def payload(month, sequence=1):
    """A month of three 0.07 invoices at 21 %: Odoo's VAT 0.03, Exact's own would be 0.04."""
    rows = [
        {"gl_account": "8000", "balance": D("-0.21"), "vat_code": "2  ", "tax_role": "base"},
        {"gl_account": "1300", "balance": D("0.24"), "account_type": "receivable", "partner": "P1"},
        {"gl_account": "1520", "balance": D("-0.03"), "vat_code": "2  ", "tax_role": "tax"},
    ]
    header = j.EntryHeader("ACME", "90", j.Period.containing("month", month), sequence)
    entry = j.build_entry(
        rows,
        header,
        vat_percentages={"2  ": D(21)},
        vat_rounding="odoo",
        vat_tolerance={"2  ": D("0.02")},
    )
    body = j.to_exact_payload(entry, GL, {"P1": CUSTOMER_ID})
    return entry.reference, {"reference": entry.reference, "entry": body}


def test_entry_with_odoo_vat_is_accepted_and_found_again(server, client):
    adapter = ExactGeneralJournalAdapter(client)
    reference, body = payload(dt.date(2024, 3, 1))
    entry_id, number = adapter.post(body)
    lines = adapter.read_lines([entry_id])
    assert sorted((x["AmountFC"], x["AmountVATFC"]) for x in lines) == [
        (-0.21, -0.03), (-0.03, 0), (0.24, 0)]
    # the VAT line Exact generates sits on the VAT code's own G/L account
    assert [x["GLAccount"] for x in lines if x["AmountFC"] == -0.03] == [VAT_HIGH_ACCOUNT_ID]
    assert adapter.lookup([reference, "ACME-90-2024-04-1"]) == {reference: (entry_id, number)}


def test_closed_period_is_refused_before_any_post(server, client):
    server.close_period("90", 2024, 3)
    adapter = ExactGeneralJournalAdapter(client)
    with pytest.raises(ClosedPeriod, match="closed for period 3/2024"):
        adapter.post(payload(dt.date(2024, 3, 1))[1])
    assert server.calls[POSTS] == 0


def test_timeout_after_store_is_recovered_by_lookup(server, client, tmp_path):
    repository = SqliteRepository(tmp_path / "o.sqlite")
    try:
        references = []
        for month in (1, 2, 3):
            reference, body = payload(dt.date(2024, month, 1))
            repository.enqueue(reference, body)
            references.append(reference)
        server.inject("timeout_after_store", method="POST", delay=0.6)
        report = OutboxEngine(repository, ExactGeneralJournalAdapter(client)).run()
        assert report.unknown == 1 and report.recovered == 1
        assert server.calls[POSTS] == 3 and len(server.general_journal_entries) == 3
        assert all(repository.get(ref).state == SENT for ref in references)
    finally:
        repository.close()
