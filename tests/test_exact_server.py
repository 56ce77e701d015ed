"""The fake Exact Online server speaks the protocol the client relies on (raw HTTP)."""

import socket

import pytest
import requests

from hours_invoicing_exact.services.testing.exact_server import (
    CUSTOMER_ID,
    DEFAULT_DIVISION,
    RECEIVABLE_ACCOUNT_ID,
    REVENUE_ACCOUNT_ID,
    SECOND_REVENUE_ACCOUNT_ID,
    VAT_HIGH_ACCOUNT_ID,
    ExactServer,
    FilterParser,
    ODataError,
)

API = f"/api/v1/{DEFAULT_DIVISION}"


@pytest.fixture
def server():
    with ExactServer() as running:
        yield running


@pytest.fixture
def http(server):
    """A session authorised with a fresh token chain."""
    session = requests.Session()
    session.headers["Authorization"] = "Bearer " + server.issue_tokens()["access_token"]
    session.headers["Accept"] = "application/json"
    return session


def refresh(server, refresh_token):
    return requests.post(
        server.base_url + "/api/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": server.client_id,
            "client_secret": server.client_secret,
        },
        timeout=5,
    )


def sales_entry(ref="INV1", **overrides):
    values = {
        "Journal": "70",
        "Customer": CUSTOMER_ID,
        "EntryDate": "2024-01-31",
        "YourRef": ref,
        "SalesEntryLines": [{"GLAccount": REVENUE_ACCOUNT_ID, "AmountFC": 100.0, "VATCode": "2"}],
    }
    values.update(overrides)
    return values


def test_authorize_redirects_with_code_and_state_then_code_is_single_use(server):
    answer = requests.get(
        server.base_url + "/api/oauth2/auth",
        params={
            "client_id": server.client_id,
            "redirect_uri": "http://odoo/cb",
            "response_type": "code",
            "state": "s1",
        },
        allow_redirects=False,
        timeout=5,
    )
    assert answer.status_code == 302
    location = answer.headers["Location"]
    assert location.startswith("http://odoo/cb?code=") and location.endswith("&state=s1")
    form = {
        "grant_type": "authorization_code",
        "code": location.split("code=")[1].split("&")[0],
        "redirect_uri": "http://odoo/cb",
        "client_id": server.client_id,
        "client_secret": server.client_secret,
    }
    first = requests.post(server.base_url + "/api/oauth2/token", data=form, timeout=5)
    assert first.status_code == 200
    assert first.json()["expires_in"] == "600" and first.json()["refresh_token"]
    again = requests.post(server.base_url + "/api/oauth2/token", data=form, timeout=5)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_refresh_rules_too_early_rotation_and_reuse(server):
    tokens = server.issue_tokens()
    server.clock.advance(569)
    early = refresh(server, tokens["refresh_token"])
    assert early.status_code == 400
    assert early.headers["Reason"] == "TooEarlyToRefreshTokens"
    server.clock.advance(1)
    rotated = refresh(server, tokens["refresh_token"])
    assert rotated.status_code == 200
    assert rotated.json()["refresh_token"] != tokens["refresh_token"]
    server.clock.advance(600)
    reused = refresh(server, tokens["refresh_token"])
    assert reused.status_code == 401
    assert reused.json() == {
        "error": "unauthorized_client",
        "error_description": "Old refresh token used.",
    }
    # the reuse broke the chain: even the newest refresh token is dead now
    assert refresh(server, rotated.json()["refresh_token"]).status_code == 401


def test_refresh_token_expires_after_30_days(server):
    tokens = server.issue_tokens()
    server.clock.advance(31 * 86400)
    answer = refresh(server, tokens["refresh_token"])
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"
    assert "expired" in answer.json()["error_description"]


def test_access_token_expires_after_600_seconds(server, http):
    assert http.get(server.base_url + API + "/crm/Accounts", timeout=5).status_code == 200
    server.clock.advance(600)
    assert http.get(server.base_url + API + "/crm/Accounts", timeout=5).status_code == 401


def test_wrong_division_is_forbidden(server, http):
    answer = http.get(server.base_url + "/api/v1/999/crm/Accounts", timeout=5)
    assert answer.status_code == 403
    assert answer.json()["error"]["message"]["value"] == "Forbidden - WrongDivision"


def test_rate_limit_headers_and_minutely_429(server, http):
    server.minutely_limit = 3
    url = server.base_url + API + "/financial/Journals"
    answers = [http.get(url, timeout=5) for _ in range(4)]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    first = answers[0].headers
    assert first["X-RateLimit-Limit"] == "5000" and first["X-RateLimit-Remaining"] == "4999"
    assert first["X-RateLimit-Minutely-Remaining"] == "2"
    assert int(first["X-RateLimit-Minutely-Reset"]) % 60000 == 0  # epoch milliseconds
    assert int(first["X-RateLimit-Reset"]) % 86400000 == 0
    refused = answers[3].headers
    assert refused["X-RateLimit-Minutely-Remaining"] == "0"
    assert "X-RateLimit-Remaining" not in refused  # minutely headers only
    server.clock.advance(60)
    assert http.get(url, timeout=5).status_code == 200


def test_filters_select_top_and_paging(server, http):
    for number in range(130):
        server.add_account(Name=f"Relation {number}", Code=str(100 + number))
    url = server.base_url + API + "/crm/Accounts"
    answer = http.get(url, params={"$select": "ID,Name"}, timeout=5).json()["d"]
    assert len(answer["results"]) == 60 and set(answer["results"][0]) == {"ID", "Name"}
    rows = answer["results"]
    while "__next" in answer:
        answer = http.get(answer["__next"], timeout=5).json()["d"]
        rows += answer["results"]
    assert len(rows) == 131 and len({row["ID"] for row in rows}) == 131

    by_code = http.get(
        url,
        params={"$filter": "trim(Code) eq '105' or trim(Code) eq '1'", "$select": "Name,Code"},
        timeout=5,
    ).json()["d"]["results"]
    assert sorted(row["Name"] for row in by_code) == ["Klant BV", "Relation 5"]
    assert by_code[0]["Code"] == "1".rjust(18)
    by_guid = http.get(
        url, params={"$filter": f"ID eq guid'{CUSTOMER_ID.upper()}'", "$select": "Name"}, timeout=5
    ).json()["d"]["results"]
    assert by_guid == [{"Name": "Klant BV"}]
    top = http.get(url, params={"$top": "2", "$select": "ID"}, timeout=5).json()["d"]
    assert len(top["results"]) == 2 and "__next" not in top


def test_filter_parser_forms():
    row = {"YourRef": "O'Brien", "Status": 20, "Code": "   7", "ID": CUSTOMER_ID}
    assert FilterParser("YourRef eq 'O''Brien' and (Status ge 20 or Status eq 0)").parse()(row)
    assert FilterParser("trim(Code) eq '7' and Status ne 50").parse()(row)
    assert not FilterParser("Status gt 20").parse()(row)
    with pytest.raises(ODataError):
        FilterParser("YourRef like 'x'").parse()


def test_sales_entry_get_requires_select(server, http):
    # A4 "$select": Exact refuses unbounded GETs on these endpoints with a 400
    url = server.base_url + API + "/salesentry/SalesEntries"
    answer = http.get(url, timeout=5)
    assert answer.status_code == 400
    assert "$select" in answer.json()["error"]["message"]["value"]


def test_post_sales_entry_and_business_errors(server, http):
    url = server.base_url + API + "/salesentry/SalesEntries"
    created = http.post(url, json=sales_entry(), timeout=5)
    assert created.status_code == 201
    entry = created.json()["d"]
    assert entry["YourRef"] == "INV1" and entry["AmountFC"] == 121.0 and entry["EntryNumber"] == 1
    cases = {
        "Invalid reference: G/L account": sales_entry(
            SalesEntryLines=[{"GLAccount": "00000000-0000-4000-8000-000000000000", "AmountFC": 1}]
        ),
        "Invalid: G/L account type": sales_entry(
            SalesEntryLines=[{"GLAccount": RECEIVABLE_ACCOUNT_ID, "AmountFC": 1}]
        ),
        "Invalid reference: VAT code": sales_entry(
            SalesEntryLines=[{"GLAccount": REVENUE_ACCOUNT_ID, "AmountFC": 1, "VATCode": "99"}]
        ),
        "Invalid reference: Journals": sales_entry(Journal="71"),
        "Invalid: Journal": sales_entry(Journal="90"),
    }
    for text, body in cases.items():
        answer = http.post(url, json=body, timeout=5)
        assert answer.status_code == 500
        assert answer.json() == {"error": {"code": "", "message": {"lang": "", "value": text}}}
    # A5 / C4: a closed period refuses the entry (pre-check: JournalStatusByFinancialPeriod)
    server.close_period("70", 2024, 1)
    closed = http.post(url, json=sales_entry("INV2"), timeout=5)
    assert closed.status_code == 500
    assert "closed" in closed.json()["error"]["message"]["value"]
    assert [row["YourRef"] for row in server.sales_entries] == ["INV1"]


def test_general_journal_entry_must_balance(server, http):
    # A4 GeneralJournalEntries: the sign of AmountFC carries the side; lines (with the VAT Exact
    # generates) must sum to zero, else a business error (A5: business errors are HTTP 500)
    url = server.base_url + API + "/generaljournalentry/GeneralJournalEntries"
    lines = [
        {"GLAccount": REVENUE_ACCOUNT_ID, "AmountFC": -50.0},
        {"GLAccount": RECEIVABLE_ACCOUNT_ID, "AmountFC": 50.0},
    ]
    body = {
        "JournalCode": "90",
        "FinancialYear": 2024,
        "FinancialPeriod": 2,
        "GeneralJournalEntryLines": lines,
    }
    assert http.post(url, json=body, timeout=5).status_code == 201
    lines[0]["AmountFC"] = -49.0
    unbalanced = http.post(url, json=body, timeout=5)
    assert unbalanced.status_code == 500
    assert len(server.general_journal_entries) == 1


def test_fault_injection_status_reset_and_counters(server, http):
    url = server.base_url + API + "/salesentry/SalesEntries"
    server.inject("status", 2, status=503, method="POST")
    assert http.post(url, json=sales_entry(), timeout=5).status_code == 503
    assert http.post(url, json=sales_entry(), timeout=5).status_code == 503
    assert server.sales_entries == []
    server.inject("reset_after_store", method="POST")
    with pytest.raises(requests.ConnectionError):
        http.post(url, json=sales_entry("STORED"), timeout=5)
    server.inject("reset_before_store", method="POST")
    with pytest.raises(requests.ConnectionError):
        http.post(url, json=sales_entry("LOST"), timeout=5)
    assert [row["YourRef"] for row in server.sales_entries] == ["STORED"]
    assert server.calls[("POST", "salesentry/SalesEntries")] == 1  # injected failures excluded


def test_timeout_after_store(server, http):
    server.inject("timeout_after_store", method="POST", delay=0.5)
    with pytest.raises(requests.Timeout):
        http.post(
            server.base_url + API + "/salesentry/SalesEntries", json=sales_entry(), timeout=0.2
        )
    assert server.entries_by_ref() == {"INV1": 1}


def test_port_zero_picks_a_free_port():
    with ExactServer() as first, ExactServer() as second:
        assert first.base_url != second.base_url
        host, port = first.base_url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=2):
            pass


# -- strictness: the server refuses what Exact refuses (each rule cites accounting-apis.md) ----


def test_current_me_has_no_division_in_path_and_wrong_paths_are_404(server, http):
    # A2: GET {host}/api/v1/current/Me
    me = http.get(server.base_url + "/api/v1/current/Me",
                  params={"$select": "CurrentDivision"}, timeout=5)
    assert me.status_code == 200
    assert me.json()["d"]["results"] == [{"CurrentDivision": DEFAULT_DIVISION}]
    for wrong in ("/api/v1/current/current/Me", f"{API}/current/Me", "/api/v1/current/crm/Accounts",
                  f"{API}/crm/Acounts", "/api/v2/1234/crm/Accounts", "/api/v1/Me"):
        answer = http.get(server.base_url + wrong, params={"$select": "ID"}, timeout=5)
        assert answer.status_code == 404, wrong
        assert "not found" in answer.json()["error"]["message"]["value"]
    assert http.post(server.base_url + API + "/crm/Nope", json={}, timeout=5).status_code == 404


def test_select_rule_on_general_journal_entries(server, http):
    # A4 "$select": GeneralJournalEntries refuse an unbounded GET with Exact's message
    for resource in ("generaljournalentry/GeneralJournalEntries",
                     "generaljournalentry/GeneralJournalEntryLines"):
        answer = http.get(f"{server.base_url}{API}/{resource}", timeout=5)
        assert answer.status_code == 400
        assert answer.json()["error"]["message"]["value"] == (
            "Please add a $select or a $top=1 statement to the query string.")
        assert http.get(f"{server.base_url}{API}/{resource}", params={"$top": "1"},
                        timeout=5).status_code == 200
        assert http.get(f"{server.base_url}{API}/{resource}", params={"$select": "EntryID"},
                        timeout=5).status_code == 200


def test_unknown_properties_are_refused(server, http):
    # A4 field lists, A5: format errors are 400; nothing is stored
    url = server.base_url + API + "/salesentry/SalesEntries"
    header = http.post(url, json=sales_entry(YourReference="X"), timeout=5)
    assert header.status_code == 400
    assert "'YourReference'" in header.json()["error"]["message"]["value"]
    line = sales_entry(SalesEntryLines=[{"GLAccount": REVENUE_ACCOUNT_ID, "AmountFC": 1.0,
                                         "VATAmount": 0.21}])
    answer = http.post(url, json=line, timeout=5)
    assert answer.status_code == 400
    assert "'VATAmount'" in answer.json()["error"]["message"]["value"]
    journal = http.post(server.base_url + API + "/generaljournalentry/GeneralJournalEntries",
                        json={"JournalCode": "90", "Debit": 1,
                              "GeneralJournalEntryLines": []}, timeout=5)
    assert journal.status_code == 400
    account = http.post(server.base_url + API + "/crm/Accounts",
                        json={"Name": "X", "KvK": "1"}, timeout=5)
    assert account.status_code == 400
    assert server.sales_entries == [] and server.general_journal_entries == []


def test_sales_entry_vat_computed_per_line_half_up_or_taken_from_vat_amount(server, http):
    # A4 SalesEntries: VATAmountFC overrides the VAT Exact computes per line
    url = server.base_url + API + "/salesentry/SalesEntries"
    lines = [{"GLAccount": REVENUE_ACCOUNT_ID, "AmountFC": 0.50, "VATCode": "2"},
             {"GLAccount": REVENUE_ACCOUNT_ID, "AmountFC": 0.50, "VATCode": "2"}]
    computed = http.post(url, json=sales_entry("C1", SalesEntryLines=lines), timeout=5).json()
    # 0.105 rounds half up to 0.11 per line (a float round would give 0.1)
    assert computed["d"]["VATAmountFC"] == 0.22 and computed["d"]["AmountFC"] == 1.22
    lines[1]["VATAmountFC"] = 0.10
    given = http.post(url, json=sales_entry("C2", SalesEntryLines=lines), timeout=5).json()
    assert given["d"]["VATAmountFC"] == 0.21 and given["d"]["AmountFC"] == 1.21


def test_duplicate_entry_number_refused(server, http):
    # A4: EntryNumber may be given; A5: duplicates refused (text UNCONFIRMED) as a 500
    url = server.base_url + API + "/salesentry/SalesEntries"
    assert http.post(url, json=sales_entry("D1", EntryNumber=7), timeout=5).status_code == 201
    again = http.post(url, json=sales_entry("D2", EntryNumber=7), timeout=5)
    assert again.status_code == 500
    assert "already exists" in again.json()["error"]["message"]["value"]
    # numbers Exact hands out skip the one taken
    numbers = [http.post(url, json=sales_entry(f"N{i}"), timeout=5).json()["d"]["EntryNumber"]
               for i in range(8)]
    assert 7 not in numbers and len(set(numbers)) == 8


def test_general_journal_entry_closed_period_refused(server, http):
    # A5 / C4: closed period -> business error, nothing stored
    url = server.base_url + API + "/generaljournalentry/GeneralJournalEntries"
    server.close_period("90", 2024, 2)
    body = {"JournalCode": "90", "FinancialYear": 2024, "FinancialPeriod": 2,
            "GeneralJournalEntryLines": [
                {"GLAccount": REVENUE_ACCOUNT_ID, "AmountFC": -50.0},
                {"GLAccount": RECEIVABLE_ACCOUNT_ID, "AmountFC": 50.0}]}
    answer = http.post(url, json=body, timeout=5)
    assert answer.status_code == 500 and "closed" in answer.json()["error"]["message"]["value"]
    assert server.general_journal_entries == [] and server.general_journal_entry_lines == []


def test_general_journal_entry_generates_vat_line_on_vat_account(server, http):
    # A4 GeneralJournalEntries: VAT lines are generated automatically, on the code's GLToPay
    url = server.base_url + API + "/generaljournalentry/GeneralJournalEntries"
    body = {"JournalCode": "90", "FinancialYear": 2024, "FinancialPeriod": 3,
            "GeneralJournalEntryLines": [
                {"GLAccount": REVENUE_ACCOUNT_ID, "AmountFC": -100.0, "VATCode": "2",
                 "Description": "M1"},
                {"GLAccount": SECOND_REVENUE_ACCOUNT_ID, "AmountFC": -0.5, "VATCode": "2",
                 "AmountVATFC": -0.1, "Description": "M1"},
                {"GLAccount": RECEIVABLE_ACCOUNT_ID, "AmountFC": 121.6, "Description": "M1"}]}
    created = http.post(url, json=body, timeout=5)
    assert created.status_code == 201, created.text
    rows = http.get(server.base_url + API + "/generaljournalentry/GeneralJournalEntryLines",
                    params={"$select": "GLAccount,AmountFC,VATCode,AmountVATFC"},
                    timeout=5).json()["d"]["results"]
    vat_rows = [row for row in rows if row["GLAccount"] == VAT_HIGH_ACCOUNT_ID]
    assert sorted(row["AmountFC"] for row in vat_rows) == [-21.0, -0.1]
    assert round(sum(row["AmountFC"] for row in rows), 2) == 0.0  # the ledger balances
    base = [row for row in rows if row["GLAccount"] == REVENUE_ACCOUNT_ID]
    assert base == [{"GLAccount": REVENUE_ACCOUNT_ID, "AmountFC": -100.0, "VATCode": "2",
                     "AmountVATFC": -21.0}]
    # the VAT generated counts in the balance check: without it the entry is refused
    body["GeneralJournalEntryLines"][2]["AmountFC"] = 100.5
    assert http.post(url, json=body, timeout=5).status_code == 500
