"""Payment status read back from Exact Online (``read/financial/ReceivablesList``) and
Twinfield (Finder ``IVT``) against the strict local servers, without Odoo: paged reads (one
read per run, never a call per invoice), an invoice paid in part and in full, a failed read."""

from decimal import Decimal

import pytest
import requests
from exact_support import invoice as exact_invoice
from twinfield_support import invoice as twf_invoice

from hie_testing import exact_server as es
from hie_testing import twinfield_server as ts
from hours_invoicing_exact.services import payment_status as ps
from hours_invoicing_exact.services.exact.adapters import ExactSalesEntryAdapter
from hours_invoicing_exact.services.exact.errors import ExactError, ExactRequestError
from hours_invoicing_exact.services.twinfield.adapters import TwinfieldSalesAdapter
from hours_invoicing_exact.services.twinfield.errors import TwinfieldError

pytest_plugins = ["twinfield_support"]
D = Decimal


# -- pure status arithmetic --------------------------------------------------------------------


@pytest.mark.parametrize(("total", "still", "status"), [
    ("121.00", "121.00", ps.OPEN),
    ("121.00", "0.00", ps.PAID),
    ("121.00", "0.01", ps.PARTIAL),
    ("121.00", "120.99", ps.PARTIAL),
    ("-50.00", "-50.00", ps.OPEN),  # credit note: signs ignored
    ("-50.00", "-20.00", ps.PARTIAL),
])
def test_status_of(total, still, status):
    assert ps.status_of(total, still) == status


def test_statuses_sum_items_and_treat_unlisted_as_paid():
    items = [ps.OpenItem("INV/1", "70001", D("60.50")), ps.OpenItem("INV/1", "70001", D("60.50")),
             ps.OpenItem("INV/2", "70002", D("10.00")), ps.OpenItem("", "1", D("5.00"))]
    result = ps.statuses({"INV/1": D("121.00"), "INV/2": "100.00", "INV/3": 42}, items)
    assert result == {"INV/1": (ps.OPEN, D("121.00")), "INV/2": (ps.PARTIAL, D("10.00")),
                      "INV/3": (ps.PAID, D(0))}


def test_parse_receivables_rows():
    rows = [{"HID": 1, "YourRef": "INV/1 ", "InvoiceNumber": 70001, "EntryNumber": 70001,
             "Amount": 121.0, "DueDate": "/Date(1706659200000)/", "CurrencyCode": "EUR"}]
    (item,) = ps.parse_receivables(rows)
    assert item == ps.OpenItem("INV/1", "70001", D("121.00"), item.due_date)
    assert item.due_date.isoformat() == "2024-01-31"


def test_parse_open_invoices_by_column_name_not_position():
    rows = [{"openvalue": "12.10", "invoicenumber": "INV/9", "duedate": "20240229"}]
    (item,) = ps.parse_open_invoices(rows)
    assert (item.reference, item.open_amount, item.due_date.isoformat()) == (
        "INV/9", D("12.10"), "2024-02-29")
    with pytest.raises(ValueError, match="no column"):
        ps.parse_open_invoices([{"number": "1"}])


# -- Exact Online ------------------------------------------------------------------------------


def _post_exact(client, count):
    adapter = ExactSalesEntryAdapter(client)
    totals = {}
    for number in range(1, count + 1):
        payload = exact_invoice(number)
        adapter.post(payload)
        totals[payload["number"]] = None
    return totals


def test_exact_receivables_paged_in_one_read(server, client):
    totals = _post_exact(client, 130)  # 60 rows a page (A4): three pages
    entries = {entry["YourRef"]: entry for entry in server.sales_entries}
    server.pay("INV/2024/00001")  # in full
    server.pay("INV/2024/00002", 50)  # in part
    server.pay("INV/2024/00003", 20)
    server.pay("INV/2024/00003", entries["INV/2024/00003"]["AmountFC"] - 20)  # two payments
    server.calls.clear()
    items = ps.exact_open_items(client)
    assert server.calls[("GET", ps.RECEIVABLES_PATH)] == 3  # pages, not per invoice
    assert sum(server.calls.values()) == 3
    totals = {ref: entry["AmountFC"] for ref, entry in entries.items()}
    result = ps.statuses(totals, items)
    assert result["INV/2024/00001"] == (ps.PAID, D(0))
    amount2 = D(str(entries["INV/2024/00002"]["AmountFC"])).quantize(D("0.01"))
    assert result["INV/2024/00002"] == (ps.PARTIAL, amount2 - 50)
    assert result["INV/2024/00003"][0] == ps.PAID
    assert result["INV/2024/00004"] == (
        ps.OPEN, D(str(entries["INV/2024/00004"]["AmountFC"])).quantize(D("0.01")))
    assert len(items) == 128


def test_exact_receivables_need_select(server, client):
    # accounting-apis.md A4 "$select": the strict server refuses the read without it
    with pytest.raises(ExactRequestError, match=r"\$select"):
        client.get_rows(ps.RECEIVABLES_PATH, {})


def test_exact_receivables_credit_note_negative(server, client):
    adapter = ExactSalesEntryAdapter(client)
    adapter.post(exact_invoice(1, credit_note=True))
    (item,) = ps.exact_open_items(client)
    assert item.open_amount < 0
    assert ps.statuses({"INV/2024/00001": -item.open_amount}, [item])["INV/2024/00001"][0] \
        == ps.OPEN


def test_exact_failed_read_raises_without_partial_result(server, client):
    _post_exact(client, 70)
    server.inject("status", 10, status=500, method="GET")
    client.max_retries = 1
    client.backoff = 0.0
    with pytest.raises(ExactError):
        ps.exact_open_items(client)


# -- Twinfield ---------------------------------------------------------------------------------


def _post_twinfield(client, count):
    adapter = TwinfieldSalesAdapter(client)
    results = adapter.post_batch([twf_invoice(number) for number in range(1, count + 1)])
    assert all(isinstance(result, tuple) for result in results), results


def test_twinfield_open_items_paged(twf_server, twf_client):
    twf_server.credits_per_minute = 1000
    _post_twinfield(twf_client, 7)
    twf_server.pay("INV/2024/00001")
    twf_server.pay("INV/2024/00002", "50.00")
    twf_server.calls.clear()
    credits = twf_server.credits_used
    items = ps.twinfield_open_items(twf_client, page_size=2)
    assert twf_server.calls["finder"] == 3  # 6 open rows, 2 a page
    assert twf_server.credits_used - credits == 3  # B4: a Search is a query, 1 credit
    by_ref = {item.reference: item for item in items}
    assert "INV/2024/00001" not in by_ref
    total2 = D("102.00") + D("21.42") + D("10.00") + D("0.90")
    assert by_ref["INV/2024/00002"].open_amount == total2 - 50
    assert by_ref["INV/2024/00002"].due_date.isoformat() == "2024-02-29"
    result = ps.statuses({"INV/2024/00001": 1, "INV/2024/00002": total2}, items)
    assert result == {"INV/2024/00001": (ps.PAID, D(0)),
                      "INV/2024/00002": (ps.PARTIAL, total2 - 50)}


def test_twinfield_finder_checks_the_header(twf_server, twf_client):
    body = ps.finder_search_request("*", 1, 10, {"office": ts.OFFICE})
    envelope = twf_client._finder_envelope("wrong-token", body)
    response = requests.post(twf_server.cluster_url + "/webservices/finder.asmx", data=envelope,
                             headers={"SOAPAction": '"http://www.twinfield.com/Search"'},
                             timeout=5)
    assert response.status_code == 500 and b"Token invalid" in response.content


def test_twinfield_failed_read(twf_server, twf_client):
    _post_twinfield(twf_client, 2)
    twf_server.inject("status", 10, status=503, target="read")
    twf_client.max_retries = 1
    twf_client.backoff = 0.0
    with pytest.raises(TwinfieldError):
        ps.twinfield_open_items(twf_client)


def test_twinfield_unknown_finder_type_is_an_error(twf_server, twf_client):
    with pytest.raises(TwinfieldError, match="niet ondersteund"):
        twf_client.finder_search("XYZ", "*", 1, 10, {"office": ts.OFFICE})


def test_exact_server_constant_page_size():
    assert es.PAGE_SIZE == 60


# -- seeded random walks: the status read always equals what the package holds ----------------


@pytest.mark.parametrize("seed", range(4))
def test_exact_random_walk(server, client, seed):
    import random

    rng = random.Random(seed)
    adapter = ExactSalesEntryAdapter(client)
    totals, paid, posted = {}, {}, 0
    for _step in range(40):
        action = rng.choice(["post", "post", "pay_part", "pay_all", "read"])
        if action == "post" or not totals:
            posted += 1
            payload = exact_invoice(posted, credit_note=rng.random() < 0.15)
            adapter.post(payload)
            entry = server.sales_entries[-1]
            totals[payload["number"]] = D(str(abs(entry["AmountFC"]))).quantize(D("0.01"))
            paid[payload["number"]] = D(0)
        elif action in ("pay_part", "pay_all"):
            reference = rng.choice(sorted(totals))
            still = totals[reference] - paid[reference]
            if still <= 0:
                continue
            amount = still if action == "pay_all" else min(
                still, D(rng.randint(1, 5000)) / 100)
            server.pay(reference, float(amount))
            paid[reference] += amount
        else:
            result = ps.statuses(totals, ps.exact_open_items(client))
            for reference, total in totals.items():
                still = total - paid[reference]
                expected = ps.PAID if still == 0 else ps.OPEN if still == total else ps.PARTIAL
                assert result[reference] == (expected, still), (seed, reference)


@pytest.mark.parametrize("seed", range(3))
def test_twinfield_random_walk(twf_server, twf_client, seed):
    import random

    rng = random.Random(seed)
    twf_server.credits_per_minute = 10_000
    twf_client.budget.limit = 10_000
    adapter = TwinfieldSalesAdapter(twf_client)
    totals, paid, posted = {}, {}, 0
    for _step in range(30):
        action = rng.choice(["post", "pay_part", "pay_all", "read"])
        if action == "post" or not totals:
            posted += 1
            payload = twf_invoice(posted)
            assert isinstance(adapter.post_batch([payload])[0], tuple)
            totals[payload["number"]] = twf_server._invoice_total(ts.OFFICE, payload["number"])
            paid[payload["number"]] = D(0)
        elif action in ("pay_part", "pay_all"):
            reference = rng.choice(sorted(totals))
            still = totals[reference] - paid[reference]
            if still <= 0:
                continue
            amount = still if action == "pay_all" else min(still, D(rng.randint(1, 5000)) / 100)
            twf_server.pay(reference, amount)
            paid[reference] += amount
        else:
            items = ps.twinfield_open_items(twf_client, page_size=rng.choice([1, 2, 100]))
            result = ps.statuses(totals, items)
            for reference, total in totals.items():
                still = total - paid[reference]
                expected = ps.PAID if still == 0 else ps.OPEN if still == total else ps.PARTIAL
                assert result[reference] == (expected, still), (seed, reference)
