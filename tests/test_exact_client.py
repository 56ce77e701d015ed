"""The Exact Online client against the fake server, over real HTTP on 127.0.0.1."""

import datetime
import json
import logging

import pytest
import requests
from exact_support import CLIENT_ID, REDIRECT_URI, make_client, run_worker, wait_for

from hours_invoicing_exact.services.exact import client as exact_client
from hours_invoicing_exact.services.exact.client import ExactClient, odata_literal, or_filter
from hours_invoicing_exact.services.exact.errors import (
    DailyBudgetExhausted,
    ExactAccessDenied,
    ExactBusinessError,
    ExactError,
    ExactRequestError,
    ExactUnavailable,
    OutcomeUnknown,
    ReconnectNeeded,
)
from hours_invoicing_exact.services.exact.oauth import (
    FileTokenStore,
    OAuthClient,
    TokenManager,
    TokenState,
    base_url_for_country,
)
from hours_invoicing_exact.services.exact.ratelimit import RateLimitState
from hours_invoicing_exact.services.testing.exact_server import (
    CUSTOMER_ID,
    REVENUE_ACCOUNT_ID,
)

SALES = ("POST", "salesentry/SalesEntries")


def entry(ref="INV1", **overrides):
    values = {
        "Journal": "70",
        "Customer": CUSTOMER_ID,
        "EntryDate": "2024-01-31T00:00:00",
        "YourRef": ref,
        "SalesEntryLines": [{"GLAccount": REVENUE_ACCOUNT_ID, "AmountFC": 100.0, "VATCode": "2"}],
    }
    values.update(overrides)
    return values


# -- configuration and OAuth ---------------------------------------------------------------


def test_hosts_per_country():
    assert base_url_for_country() == "https://start.exactonline.nl"
    assert base_url_for_country("co.uk") == "https://start.exactonline.co.uk"
    with pytest.raises(ValueError):
        base_url_for_country("xx")


def test_odata_literals():
    assert odata_literal("O'Brien") == "'O''Brien'"
    assert or_filter("YourRef", ["A", "B"]) == "YourRef eq 'A' or YourRef eq 'B'"


def test_authorization_code_flow(server, token_path):
    oauth = OAuthClient(
        server.base_url, CLIENT_ID, server.client_secret, REDIRECT_URI, clock=server.clock
    )
    url = oauth.authorize_url("csrf-state")
    assert "response_type=code" in url and "state=csrf-state" in url
    redirect = requests.get(url, allow_redirects=False, timeout=5).headers["Location"]
    assert redirect.startswith(REDIRECT_URI + "?code=")
    code = redirect.split("code=")[1].split("&")[0]
    tokens = TokenManager(FileTokenStore(token_path), oauth)
    state = tokens.connect(code)
    assert state.expires_at == server.clock.now() + 600
    assert FileTokenStore(token_path).load() == state
    assert "access_token" not in repr(state) and state.access_token not in repr(state)


def test_refreshes_only_in_the_last_30_seconds_and_persists_rotation(server, client, token_path):
    first = FileTokenStore(token_path).load()
    server.clock.advance(565)
    client.me()
    assert server.token_calls["refresh_token"] == 0
    server.clock.advance(10)  # 25 s left
    client.me()
    assert server.token_calls["refresh_token"] == 1
    stored = FileTokenStore(token_path).load()
    assert stored.refresh_token != first.refresh_token
    assert stored.issued_at == server.clock.now()
    assert server.statuses[400] == 0  # no "too early" refusal was provoked


def test_too_early_refusal_keeps_using_the_valid_token(server, client, token_path):
    store = FileTokenStore(token_path)
    state = store.load()
    state.expires_at = server.clock.now() + 20  # local clock thinks it is nearly expired
    store.save(state)
    client.tokens.reload()
    assert client.me()["UserID"]
    assert server.token_calls["refresh_token"] == 1 and server.statuses[400] == 1
    assert store.load().refresh_token == state.refresh_token  # chain untouched


def test_old_refresh_token_needs_reconnect(server, client, token_path):
    stale = FileTokenStore(token_path).load()
    server.clock.advance(580)
    client.me()  # rotates the chain
    FileTokenStore(token_path).save(stale)  # e.g. a restored backup
    client.tokens.reload()
    server.clock.advance(600)
    with pytest.raises(ReconnectNeeded, match="Old refresh token used"):
        client.me()
    assert server.token_calls["refresh_token"] == 2  # no retry of a broken chain


def test_expired_refresh_token_needs_reconnect(server, client):
    server.clock.advance(31 * 86400)
    with pytest.raises(ReconnectNeeded, match="expired"):
        client.me()


def test_401_refreshes_once_and_retries(server, client, token_path):
    server.clock.advance(575)
    store = FileTokenStore(token_path)
    state = store.load()
    state.expires_at = server.clock.now() + 100  # skewed: still valid locally
    store.save(state)
    client.tokens.reload()
    server.revoke_access_tokens()
    assert client.me()["UserID"]
    assert server.token_calls["refresh_token"] == 1
    assert server.statuses[401] == 1


def test_401_on_a_fresh_token_stops(server, client):
    server.revoke_access_tokens()
    with pytest.raises(ExactAccessDenied):
        client.me()
    assert server.token_calls["refresh_token"] == 1


def test_two_processes_refresh_at_the_same_moment(server, token_path, tmp_path):
    FileTokenStore(token_path).save(
        TokenState.from_token_response(server.issue_tokens(), server.clock.now())
    )
    server.clock.advance(580)  # 20 s left: both workers want to refresh
    server.token_delay = 0.3  # keep the first refresh in flight while the second arrives
    go = tmp_path / "go"
    workers = [
        run_worker(
            "refresh",
            server.base_url,
            token_path,
            server.clock.now(),
            tmp_path / f"ready{index}",
            go,
            wait=False,
        )
        for index in range(2)
    ]
    for index in range(2):
        wait_for(tmp_path / f"ready{index}")
    go.touch()
    outputs = [worker.communicate(timeout=30) for worker in workers]
    for worker, (out, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err
        assert json.loads(out) == {"ok": True}
    assert server.token_calls["refresh_token"] == 1
    # chain intact: the stored refresh token is the newest one and still works later
    server.token_delay = 0.0
    server.clock.advance(575)
    client = make_client(server.base_url, token_path, server.clock)
    assert client.me()["UserID"]
    assert server.token_calls["refresh_token"] == 2 and server.statuses[401] == 0


# -- rate limits and retries ---------------------------------------------------------------


def test_waits_for_the_minutely_reset_without_429(server, client):
    server.minutely_limit = 5
    start = server.clock.now()
    for _ in range(12):
        client.journals()
    assert server.statuses[429] == 0
    assert server.clock.now() - start >= 60  # two waits for a new minute
    state = client.limiter.store.load()
    assert state.daily_remaining == 5000 - 12


def test_daily_budget_exhausted_raises_with_reset(server, client):
    server.daily_limit = 3
    for _ in range(3):
        client.journals()
    with pytest.raises(DailyBudgetExhausted) as caught:
        client.journals()
    day_end = (server.clock.now() // 86400 + 1) * 86400
    assert caught.value.reset_at == day_end
    assert server.statuses[429] == 0  # stopped before calling
    server.clock.advance(day_end - server.clock.now() + 1)
    assert client.journals()  # a new day: budget back (and the token refreshed)


def test_shared_budget_from_another_worker(server, client):
    now = server.clock.now()
    client.limiter.store.save(RateLimitState(daily_remaining=0, daily_reset=now + 100))
    with pytest.raises(DailyBudgetExhausted):
        client.journals()
    assert sum(server.calls.values()) == 0


def test_429_then_success(server, client):
    server.inject("status", status=429, method="POST")
    created = client.create_sales_entry(entry())
    assert created["YourRef"] == "INV1"
    assert server.statuses[429] == 1 and server.entries_by_ref() == {"INV1": 1}


def test_get_retries_5xx_with_backoff(server, client):
    server.inject("status", 3, status=500, method="GET")
    start = server.clock.now()
    assert len(client.journals()) == 2
    assert server.clock.now() - start == pytest.approx(1 + 2 + 4)


def test_get_gives_up_after_bounded_retries(server, client):
    server.inject("status", 10, status=502, method="GET")
    with pytest.raises(ExactUnavailable):
        client.journals()
    assert server.statuses[502] == 5  # first try + 4 retries


def test_post_is_not_repeated_after_timeout(server, client):
    server.inject("timeout_after_store", method="POST", delay=0.6)
    with pytest.raises(OutcomeUnknown):
        client.create_sales_entry(entry())
    assert server.entries_by_ref() == {"INV1": 1}
    assert server.calls[SALES] == 1


def test_post_is_not_repeated_after_connection_reset(server, client):
    server.inject("reset_before_store", method="POST")
    with pytest.raises(OutcomeUnknown):
        client.create_sales_entry(entry())
    assert server.sales_entries == [] and server.calls[SALES] == 0


def test_post_500_without_exact_error_is_an_unknown_outcome(server, client):
    server.inject("status", status=500, method="POST")
    with pytest.raises(OutcomeUnknown):
        client.create_sales_entry(entry())


def test_post_503_is_retried(server, client):
    server.inject("status", 2, status=503, method="POST")
    assert client.create_sales_entry(entry())["EntryNumber"] == 1
    assert server.entries_by_ref() == {"INV1": 1}


def test_connection_refused_is_retried_even_for_post(server, client):
    client.base_url = "http://127.0.0.1:9"  # discard port: nothing listens
    with pytest.raises(ExactUnavailable):
        client.create_sales_entry(entry())


# -- errors and endpoints -----------------------------------------------------------------


def test_business_error_carries_exacts_text(server, client):
    bad_line = [{"GLAccount": "00000000-0000-4000-8000-00000000dead", "AmountFC": 1.0}]
    with pytest.raises(ExactBusinessError) as caught:
        client.create_sales_entry(entry(SalesEntryLines=bad_line))
    assert caught.value.message == "Invalid reference: G/L account"
    assert caught.value.status == 500
    assert server.calls[SALES] == 1  # not retried


def test_bad_request_error(server, client):
    with pytest.raises(ExactRequestError, match=r"\$select"):
        client.get_rows("salesentry/SalesEntries", {})


def test_paging_follows_next(server, client):
    for number in range(150):
        server.add_account(Name=f"R{number}", Code=str(1000 + number))
    rows = client.get_rows("crm/Accounts", {"$select": "ID,Name"})
    assert len(rows) == 151 and len({row["ID"] for row in rows}) == 151
    assert server.calls[("GET", "crm/Accounts")] == 3


def test_batched_lookup_by_your_ref(server, client):
    for number in range(45):
        client.create_sales_entry(entry(f"INV{number}"))
    before = server.calls[("GET", "salesentry/SalesEntries")]
    rows = client.find_sales_entries([f"INV{number}" for number in range(45)] + ["NOPE"])
    assert sorted(row["YourRef"] for row in rows) == sorted(f"INV{n}" for n in range(45))
    assert set(rows[0]) == {"EntryID", "EntryNumber", "YourRef"}
    assert server.calls[("GET", "salesentry/SalesEntries")] - before == 3  # 20 refs per call


def test_relations_gl_vat_journals_divisions(server, client):
    assert client.find_accounts(code=" 1 ")[0]["ID"] == CUSTOMER_ID
    assert client.find_accounts(vat_number="NL000099998B57")[0]["ID"] == CUSTOMER_ID
    assert client.find_accounts(chamber_of_commerce="12345678")[0]["ID"] == CUSTOMER_ID
    created = client.create_account({"Name": "Nieuw BV", "Code": "42", "Status": "C"})
    assert client.find_accounts(code="42")[0]["ID"] == created["ID"]
    assert [row["Code"] for row in client.gl_accounts(["8000"])] == ["8000"]
    assert {row["Code"].strip() for row in client.vat_codes()} == {"0", "1", "2"}
    assert {row["Code"] for row in client.journals()} == {"70", "90"}
    assert client.divisions()[0]["Code"] == client.division
    assert client.me()["CurrentDivision"] == client.division


def test_journal_status_and_general_journal_entries(server, client):
    server.close_period("90", 2024, 3)
    assert client.journal_status("90", 2024, 3)["Status"] == 1
    assert client.journal_status("90", 2024, 4) is None
    created = client.create_general_journal_entry(
        {
            "JournalCode": "90",
            "FinancialYear": 2024,
            "FinancialPeriod": 4,
            "GeneralJournalEntryLines": [
                {"GLAccount": REVENUE_ACCOUNT_ID, "AmountFC": -10.0},
                {"GLAccount": REVENUE_ACCOUNT_ID, "AmountFC": 10.0},
            ],
        }
    )
    found = client.find_general_journal_entries([created["EntryNumber"]])
    assert [row["EntryID"] for row in found] == [created["EntryID"]]
    with pytest.raises(ExactBusinessError, match="closed"):
        client.create_general_journal_entry(
            {
                "JournalCode": "90",
                "FinancialYear": 2024,
                "FinancialPeriod": 3,
                "GeneralJournalEntryLines": [{"GLAccount": REVENUE_ACCOUNT_ID, "AmountFC": 0.0}],
            }
        )


def test_next_link_to_another_host_is_refused(server, client, monkeypatch):
    monkeypatch.setattr(
        ExactClient, "_send", lambda *args: {"results": [], "__next": "http://evil/x"}
    )
    with pytest.raises(Exception, match="another host"):
        client.get_rows("crm/Accounts", {"$select": "ID"})


def test_tokens_never_logged(server, client, token_path, caplog):
    caplog.set_level(logging.DEBUG)
    server.clock.advance(580)
    client.me()
    server.inject("status", status=500, method="GET")
    client.me()
    state = FileTokenStore(token_path).load()
    assert caplog.records
    assert state.access_token not in caplog.text and state.refresh_token not in caplog.text
    assert server.client_secret not in caplog.text


def test_exact_dates_are_parsed():
    assert exact_client.parse_exact_date("/Date(1711843200000)/") == datetime.date(2024, 3, 31)
    assert exact_client.parse_exact_date("2024-03-31T00:00:00") == datetime.date(2024, 3, 31)
    with pytest.raises(ExactError):
        exact_client.parse_exact_date("yesterday")


def test_financial_periods_are_calendar_months_or_the_divisions_own(server, client):
    periods = client.financial_periods(2024, 2024)
    assert [(p["year"], p["period"]) for p in periods] == [(2024, m) for m in range(1, 13)]
    assert (periods[1]["start"], periods[1]["end"]) == (
        datetime.date(2024, 2, 1), datetime.date(2024, 2, 29))
    # thirteen periods of four weeks in a financial year from 1 July
    start = datetime.date(2023, 7, 1)
    table = [(2024, n + 1, start + datetime.timedelta(days=28 * n),
              start + datetime.timedelta(days=28 * n + 27)) for n in range(13)]
    server.set_financial_periods(table)
    periods = client.financial_periods(2023, 2025)
    assert [(p["year"], p["period"], p["start"], p["end"]) for p in periods] == table
    assert client.financial_periods(2025, 2026) == []


def test_me_is_read_from_current_me_without_division(server, client):
    # accounting-apis.md A2: GET {host}/api/v1/current/Me (not /api/v1/current/current/Me)
    me = client.me()
    assert me["CurrentDivision"] == client.division
    assert server.calls[("GET", "current/Me")] == 1 and server.statuses[404] == 0
