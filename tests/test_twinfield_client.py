"""The Twinfield client (OIDC, cluster discovery, SOAP through zeep, XML, credits) against the
local Twinfield server (``hie_testing/twinfield_server.py``), without Odoo."""

import datetime as dt
import threading
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from lxml import etree
from twinfield_support import (
    CLIENT_ID,
    REDIRECT_URI,
    invoice,
    make_client,
    make_oidc,
)

from hie_testing.twinfield_server import CUSTOMER, OFFICE, REVENUE, TwinfieldServer
from hours_invoicing_exact.services import journal as j
from hours_invoicing_exact.services.exact.clock import VirtualClock
from hours_invoicing_exact.services.twinfield import xml as x
from hours_invoicing_exact.services.twinfield.adapters import (
    TwinfieldJournalAdapter,
    TwinfieldSalesAdapter,
    journal_payload,
)
from hours_invoicing_exact.services.twinfield.client import WSDL_PATH
from hours_invoicing_exact.services.twinfield.credits import (
    CreditBudget,
    MemoryCreditStore,
    SqliteCreditStore,
    credits_of,
)
from hours_invoicing_exact.services.twinfield.errors import (
    CreditBudgetExhausted,
    OutcomeUnknown,
    ReconnectNeeded,
    TwinfieldAccessDenied,
    TwinfieldError,
    TwinfieldRejected,
    TwinfieldRequestError,
    TwinfieldUnavailable,
)
from hours_invoicing_exact.services.twinfield.oidc import (
    SCOPES,
    FileTokenStore,
    TwinfieldTokenManager,
    new_state_and_nonce,
)
from hours_invoicing_exact.services.twinfield.reference import (
    TwinfieldReference,
    match_customer,
)

pytest_plugins = ["twinfield_support"]  # its fixtures
D = Decimal


# -- OpenID Connect and cluster discovery ------------------------------------------------------


def _consent(server, oidc, state, nonce):
    answer = requests.get(oidc.authorize_url(state, nonce), allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert answer.headers["Location"].startswith(REDIRECT_URI)
    return query


def test_authorize_url_asks_the_scopes_with_state_and_nonce(twf_server):
    oidc = make_oidc(twf_server)
    state, nonce = new_state_and_nonce()
    url = oidc.authorize_url(state, nonce)
    query = parse_qs(urlsplit(url).query)
    assert url.startswith(twf_server.base_url + "/auth/authentication/connect/authorize?")
    assert query["scope"] == ["openid twf.user twf.organisation twf.organisationUser "
                              "offline_access"] == [" ".join(SCOPES)]
    assert query["state"] == [state] and query["nonce"] == [nonce]
    assert query["response_type"] == ["code"] and query["client_id"] == [CLIENT_ID]
    # the server refuses an authorize request without nonce (B1)
    no_nonce = url.replace(f"&nonce={nonce}", "")
    assert requests.get(no_nonce, allow_redirects=False, timeout=5).status_code == 400


def test_code_flow_then_cluster_discovery(twf_server, tmp_path):
    oidc = make_oidc(twf_server)
    state, nonce = new_state_and_nonce()
    query = _consent(twf_server, oidc, state, nonce)
    assert query["state"] == [state]
    tokens = TwinfieldTokenManager(FileTokenStore(tmp_path / "t.json"), oidc)
    stored = tokens.connect(query["code"][0], nonce)
    assert stored.refresh_token and stored.expires_at == twf_server.clock.now() + 3600
    info = oidc.validate(tokens.access_token())
    assert info.cluster_url == twf_server.cluster_url
    assert info.organisation_code == "ORG-HIE" and "twf.organisationUser" in info.scopes
    # an authorization code is single use
    with pytest.raises(ReconnectNeeded):
        oidc.exchange_code(query["code"][0])


def test_nonce_of_the_id_token_is_checked(twf_server):
    oidc = make_oidc(twf_server)
    query = _consent(twf_server, oidc, "s", "the-nonce")
    with pytest.raises(TwinfieldError, match="nonce"):
        oidc.exchange_code(query["code"][0], nonce="another-nonce")


def test_wrong_client_secret_is_refused(twf_server):
    oidc = make_oidc(twf_server)
    oidc.client_secret = "wrong"
    query = _consent(twf_server, oidc, "s", "n")
    with pytest.raises(ReconnectNeeded, match="invalid_client"):
        oidc.exchange_code(query["code"][0])


def test_refresh_shortly_before_expiry_keeps_the_reusable_refresh_token(twf_server, twf_tokens,
                                                                          twf_client):
    tokens = twf_client.tokens
    first = tokens.access_token()
    refresh = FileTokenStore(twf_tokens).load().refresh_token
    twf_server.clock.advance(3600 - 60)  # 60 s left: no refresh yet
    assert tokens.access_token() == first and twf_server.calls["token"] == 0
    twf_server.clock.advance(20)  # 40 s left: inside the margin
    second = tokens.access_token()
    assert second != first and twf_server.calls["token"] == 1
    stored = FileTokenStore(twf_tokens).load()
    assert stored.refresh_token == refresh  # not rotated: kept
    twf_server.clock.advance(3600)
    assert tokens.access_token() not in (first, second)  # the same refresh token again
    assert twf_server.calls["token"] == 2


def test_refused_refresh_means_reconnect_needed(twf_server, twf_client):
    twf_server.revoke_refresh_tokens()
    twf_server.clock.advance(3600)
    with pytest.raises(ReconnectNeeded, match="Connect to Twinfield again"):
        TwinfieldReference(twf_client).offices()


def test_validation_of_an_expired_token_means_reconnect(twf_server, twf_client):
    token = twf_client.tokens.access_token()
    twf_server.clock.advance(3601)
    with pytest.raises(ReconnectNeeded):
        make_oidc(twf_server).validate(token)


def test_token_endpoint_5xx_is_retried_then_unavailable(twf_server, twf_client):
    twf_server.clock.advance(3600)
    twf_server.inject("status", 1, status=502, target="token")
    assert TwinfieldReference(twf_client).offices()  # one retry of the refresh
    twf_server.clock.advance(3600)
    twf_server.inject("status", 10, status=503, target="token")
    with pytest.raises(TwinfieldUnavailable):
        TwinfieldReference(twf_client).offices()


def test_expired_token_in_the_header_is_renewed_once(twf_server, twf_client):
    TwinfieldReference(twf_client).offices()
    twf_server.expire_access_tokens()  # the cached token is refused: "Token invalid"
    assert TwinfieldReference(twf_client).offices()[0]["code"] == OFFICE
    assert twf_server.calls["token"] == 1


# -- SOAP envelope -----------------------------------------------------------------------------


def test_envelope_built_by_zeep_from_the_shipped_wsdl(twf_client):
    wsdl = WSDL_PATH.read_text()
    assert 'operation name="ProcessXmlCompressed' not in wsdl  # retired (B6)
    message = twf_client.zeep.create_message(
        twf_client.service, "ProcessXmlString", xmlRequest="<list/>",
        _soapheaders=[twf_client.header("tok")],
    )
    header = message.find("{http://schemas.xmlsoap.org/soap/envelope/}Header")[0]
    tags = [etree.QName(child).localname for child in header]
    assert tags == ["AccessToken", "CompanyCode", "CompanyId"]
    assert header[1].text == OFFICE
    assert header[2].get("{http://www.w3.org/2001/XMLSchema-instance}nil") == "true"
    assert twf_client.service._binding_options["address"].endswith(
        "/cluster-nl1/webservices/processxml.asmx")


def test_server_serves_the_wsdl_zeep_loads(twf_server):
    import zeep

    client = zeep.Client(twf_server.cluster_url + "/webservices/processxml.asmx?wsdl")
    assert "ProcessXmlString" in str(client.service._binding._operations)


def test_offices_are_listed_without_a_company_code(twf_server, twf_client):
    """B2: a new connection lists the offices of its organisation before it knows one; the
    header then carries the access token alone (the official sample's GetCompanies)."""
    twf_client.office = ""
    message = twf_client.zeep.create_message(
        twf_client.service, "ProcessXmlString", xmlRequest="<list/>",
        _soapheaders=[twf_client.header("tok")],
    )
    header = message.find("{http://schemas.xmlsoap.org/soap/envelope/}Header")[0]
    assert [etree.QName(child).localname for child in header] == ["AccessToken", "CompanyId"]
    assert [office["code"] for office in TwinfieldReference(twf_client).offices()] == [OFFICE]


def test_missing_company_code_is_a_fault_in_twinfields_words(twf_server, twf_client):
    twf_client.office = ""
    with pytest.raises(TwinfieldAccessDenied, match="Company ontbreekt"):
        TwinfieldReference(twf_client).gl_accounts()


def test_the_organisation_code_is_no_office(twf_server, twf_client):
    """Only an office code of the organisation names an office, also to list the offices."""
    twf_client.office = twf_server.organisation
    with pytest.raises(TwinfieldAccessDenied, match="onbekend"):
        TwinfieldReference(twf_client).offices()
    assert twf_server.calls["read"] == 0


def test_missing_company_id_is_a_bare_400(twf_server, twf_client):
    envelope = (
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:t="http://www.twinfield.com/"><soap:Header><t:Header><t:AccessToken>'
        f'{twf_client.tokens.access_token()}</t:AccessToken><t:CompanyCode>{OFFICE}'
        '</t:CompanyCode></t:Header></soap:Header><soap:Body><t:ProcessXmlString>'
        '<t:xmlRequest>&lt;list/&gt;</t:xmlRequest></t:ProcessXmlString></soap:Body>'
        '</soap:Envelope>'
    )
    answer = requests.post(
        twf_server.cluster_url + "/webservices/processxml.asmx", data=envelope, timeout=5,
        headers={"SOAPAction": '"http://www.twinfield.com/ProcessXmlString"',
                 "Content-Type": "text/xml"})
    assert answer.status_code == 400 and answer.content == b""


# -- reference data -----------------------------------------------------------------------------


def test_reference_data_with_codes_as_text(twf_server, twf_client):
    reference = TwinfieldReference(twf_client)
    assert [office["code"] for office in reference.offices()] == [OFFICE]
    codes = [account["code"] for account in reference.gl_accounts()]
    assert "0110" in codes and "8000" in codes  # leading zero kept
    vat = {row["code"]: row["percentage"] for row in reference.vat_codes()}
    assert vat == {"VH": D(21), "VL": D(9), "VN": D(0)}
    twf_server.close_period("2024/02")
    periods = {row["period"]: row["open"] for row in reference.periods(2024)}
    assert periods["2024/01"] and not periods["2024/02"] and len(periods) == 12
    assert twf_server.credits_used == 5  # five reads, one credit each


def test_customer_matched_by_vat_kvk_code_else_created(twf_server, twf_client):
    reference = TwinfieldReference(twf_client)
    customers = reference.customers()
    assert match_customer(customers, vat_number="nl 0000 99998 b57")["code"] == CUSTOMER
    assert match_customer(customers, coc_number="12345678")["code"] == CUSTOMER
    assert match_customer(customers, code="1001")["code"] == "1001"
    assert match_customer(customers, vat_number="NL123456789B01") is None
    code = reference.create_customer({"code": "1002", "name": "Nieuw BV",
                                      "vat_number": "NL123456789B01", "country": "NL"})
    assert code == "1002"
    assert match_customer(reference.customers(), vat_number="NL123456789B01")["code"] == "1002"
    with pytest.raises(TwinfieldRejected, match="Code 1002 bestaat al"):
        reference.create_customer({"code": "1002", "name": "Nog eens"})


# -- XML building -------------------------------------------------------------------------------


def test_sales_transaction_layout():
    element = x.sales_transaction(invoice(1, period="2024/01"), office=OFFICE)
    assert element.get("destiny") == "final" and element.get("raisewarning") == "false"
    header = element.find("header")
    assert [child.tag for child in header] == [
        "office", "code", "date", "period", "currency", "invoicenumber", "duedate"]
    assert header.findtext("code") == "VRK" and header.findtext("date") == "20240131"
    assert header.findtext("duedate") == "20240229"
    lines = element.findall("lines/line")
    assert [(line.get("type"), line.findtext("debitcredit"), line.findtext("value"),
             line.findtext("vatvalue")) for line in lines] == [
        ("total", "debit", "133.11", None),
        ("detail", "credit", "101.00", "21.21"),
        ("detail", "credit", "10.00", "0.90"),
    ]
    assert lines[0].findtext("dim2") == CUSTOMER and lines[0].find("dim1") is None


def test_credit_note_and_discount_line_sides():
    payload = invoice(1, credit_note=True)
    payload["lines"].append({"gl_account": REVENUE, "vat_code": "VH", "amount": "-5.00",
                             "vat_amount": "-1.05"})
    lines = x.sales_transaction(payload, office=OFFICE).findall("lines/line")
    assert [(line.findtext("debitcredit"), line.findtext("value")) for line in lines] == [
        ("credit", "127.06"), ("debit", "101.00"), ("debit", "10.00"), ("credit", "5.00")]


def test_numbers_as_codes_are_refused():
    with pytest.raises(TwinfieldError, match="leading zeros"):
        x.sales_transaction(invoice(1, customer=110), office=OFFICE)


def test_transaction_over_1000_lines_is_refused_locally(twf_server, twf_client):
    lines = [{"gl_account": REVENUE, "vat_code": "VH", "amount": "1.00", "vat_amount": "0.21"}]
    adapter = TwinfieldSalesAdapter(twf_client)
    (outcome,) = adapter.post_batch([invoice(1, lines=lines * 1000)])
    assert isinstance(outcome, TwinfieldRejected) and "1000 lines" in outcome.message
    assert twf_server.calls["write"] == 0
    # the server refuses it with HTTP 400 (B6) when sent anyway
    request = x.transactions([x.sales_transaction(invoice(2, lines=lines * 999), office=OFFICE)])
    request[0].find("lines").append(etree.fromstring(
        "<line type='detail'><dim1>8000</dim1><debitcredit>credit</debitcredit>"
        "<value>1.00</value></line>"))
    request[0].find("lines").append(etree.fromstring(
        "<line type='detail'><dim1>8000</dim1><debitcredit>credit</debitcredit>"
        "<value>1.00</value></line>"))
    with pytest.raises(TwinfieldRequestError, match="HTTP 400"):
        twf_client.process_xml(request)


# -- transactions against the strict server ----------------------------------------------------


@pytest.mark.parametrize("vat_style", ["vatvalue", "vat_lines"])
def test_twinfields_vat_equals_odoos_to_the_cent(twf_server, twf_client, vat_style):
    """0.07 + 0.07 + 0.07 at 21 %: Odoo rounds per invoice (0.03); Twinfield would compute
    0.01 per line. Both ways of carrying Odoo's VAT make Twinfield book 0.03."""
    lines = [{"gl_account": REVENUE, "vat_code": "VH", "amount": "0.07",
              "vat_amount": vat} for vat in ("0.01", "0.01", "0.01")]
    lines[0]["vat_amount"] = "0.01"
    lines[2]["vat_amount"] = "0.01"
    lines.append({"gl_account": REVENUE, "vat_code": "VL", "amount": "0.50",
                  "vat_amount": "0.05"})  # Twinfield's own: 0.045 -> 0.05 anyway
    payload = invoice(1, lines=lines)
    payload["lines"][1]["vat_amount"] = "0.00"  # Odoo's per-document rounding: 0.02 in all
    adapter = TwinfieldSalesAdapter(twf_client, vat_style=vat_style)
    (outcome,) = adapter.post_batch([payload])
    assert isinstance(outcome, tuple), outcome
    (stored,) = twf_server.transactions
    vat = {line["vatcode"]: line["signed"] for line in stored["lines"] if line["type"] == "vat"}
    assert vat == {"VH": D("-0.02"), "VL": D("-0.05")}
    assert sum(line["signed"] for line in stored["lines"]) == 0


def test_discount_line_with_vat_against_its_base(twf_server, twf_client):
    """A discount line (negative) left with a cent of VAT on the other side: a vatvalue
    lies on its line's side, so the code's VAT goes as one VAT line; Twinfield's VAT and
    total equal Odoo's to the cent."""
    payload = invoice(1, lines=[
        {"gl_account": REVENUE, "vat_code": "VH", "amount": "100.00", "vat_amount": "21.00"},
        {"gl_account": REVENUE, "vat_code": "VH", "amount": "-0.05", "vat_amount": "0.01"},
        {"gl_account": REVENUE, "vat_code": "VL", "amount": "10.00", "vat_amount": "0.90"},
    ])
    element = x.sales_transaction(payload, office=OFFICE)
    assert [line.findtext("vatvalue") for line in element.iter("line")
            if line.get("type") == "detail"] == [None, None, "0.90"]
    (outcome,) = TwinfieldSalesAdapter(twf_client).post_batch([payload])
    assert isinstance(outcome, tuple), outcome
    (stored,) = twf_server.transactions
    vat = {line["vatcode"]: line["signed"] for line in stored["lines"] if line["type"] == "vat"}
    assert vat == {"VH": D("-21.01"), "VL": D("-0.90")}
    (total,) = [line for line in stored["lines"] if line["type"] == "total"]
    assert total["signed"] == D("131.86")


def test_server_computes_vat_like_twinfield_when_not_given(twf_server, twf_client):
    payload = invoice(1, lines=[{"gl_account": REVENUE, "vat_code": "VH", "amount": "0.07"}])
    element = x.sales_transaction(payload, office=OFFICE)
    element.find("lines/line[@type='total']/value").text = "0.08"  # 0.07 + 0.0147 -> 0.01
    answer = twf_client.process_xml(x.transactions([element]))
    assert x.parse_transactions(answer, 1)[0]["ok"]
    assert twf_server.vat_of(twf_server.transactions[0]) == D("-0.01")


def test_partly_successful_batch_gives_each_its_own_outcome(twf_server, twf_client):
    twf_server.close_period("2024/02")
    payloads = [
        invoice(1),
        invoice(2, customer="9999"),
        invoice(3, date="2024-02-10", due_date="2024-03-10"),
        invoice(4, lines=[dict(invoice(4)["lines"][0], vat_code="XX")]),
        invoice(5),
    ]
    outcomes = TwinfieldSalesAdapter(twf_client).post_batch(payloads)
    assert isinstance(outcomes[0], tuple) and isinstance(outcomes[4], tuple)
    assert outcomes[1].message == "Debiteur 9999 bestaat niet."
    assert outcomes[2].message == "Periode 2024/02 is gesloten."
    assert outcomes[3].message == "Btw-code XX bestaat niet."
    assert twf_server.transactions_by_invoice() == {"INV/2024/00001": 1, "INV/2024/00005": 1}
    assert twf_server.calls["write"] == 1 and twf_server.credits_used == 3  # one call


def test_closed_period_is_refused_before_any_call(twf_server, twf_client):
    twf_server.close_period("2024/01")
    periods = {row["period"]: row["open"] for row in TwinfieldReference(twf_client).periods(2024)}
    adapter = TwinfieldSalesAdapter(twf_client, is_closed=lambda period: not periods[period])
    (outcome,) = adapter.post_batch([invoice(1)])
    assert outcome.message == "Period 2024/01 is closed in Twinfield."
    assert twf_server.calls["write"] == 0


def test_unbalanced_answer_carries_twinfields_message(twf_server, twf_client):
    element = x.sales_transaction(invoice(1), office=OFFICE)
    element.find("lines/line[@type='total']/value").text = "1.00"
    result = x.parse_transactions(twf_client.process_xml(x.transactions([element])), 1)[0]
    assert not result["ok"] and result["errors"][0].startswith("Boeking is niet in balans")


def test_one_line_transaction_is_refused(twf_server, twf_client):
    element = x.sales_transaction(invoice(1), office=OFFICE)
    for line in element.findall("lines/line")[1:]:
        line.getparent().remove(line)
    result = x.parse_transactions(twf_client.process_xml(x.transactions([element])), 1)[0]
    assert "minstens twee regels" in " ".join(result["errors"])


@pytest.mark.parametrize("raise_warnings", [True, False])
def test_warnings_are_decided_deliberately(twf_server, twf_client, raise_warnings):
    payload = invoice(1, due_date="2024-01-01")  # due before the invoice date: a warning
    adapter = TwinfieldSalesAdapter(twf_client, raise_warnings=raise_warnings)
    (outcome,) = adapter.post_batch([payload])
    if raise_warnings:
        assert isinstance(outcome, TwinfieldRejected)
        assert outcome.message == "Vervaldatum ligt voor de factuurdatum."
        assert not twf_server.transactions
    else:
        assert isinstance(outcome, tuple)
        assert adapter.warnings == {payload["number"]: ["Vervaldatum ligt voor de factuurdatum."]}


def test_lookup_by_invoice_number_is_one_browse_per_chunk(twf_server, twf_client):
    adapter = TwinfieldSalesAdapter(twf_client, lookup_chunk=10)
    outcomes = adapter.post_batch([invoice(number) for number in range(1, 16)])
    reads = twf_server.calls["read"]
    wanted = [f"INV/2024/{n:05d}" for n in (2, 7, 9, 14)] + ["INV/2024/99999"]
    found = adapter.lookup(wanted)
    assert twf_server.calls["read"] - reads == 1  # five references, one browse
    assert found == {ref: outcomes[int(ref[-5:]) - 1] for ref in wanted[:4]}


@pytest.mark.parametrize("enforced", [True, False])
def test_duplicate_invoice_number_is_a_hint_to_look_up(twf_client, twf_server, enforced):
    twf_server.reject_duplicate_invoice_numbers = enforced
    adapter = TwinfieldSalesAdapter(twf_client)
    (first,) = adapter.post_batch([invoice(1)])
    (second,) = adapter.post_batch([invoice(1)])
    if enforced:  # refused, looked up, recorded as the existing transaction
        assert second == first and twf_server.transactions_by_invoice() == {invoice(1)["number"]: 1}
    else:  # not enforced: the server stores a second one; the engine's look-up prevents it
        assert second != first


def test_memorial_entry_from_the_journal_core(twf_server, twf_client):
    rows = [
        {"gl_account": "8000", "balance": D("-0.21"), "vat_code": "VH", "tax_role": "base"},
        {"gl_account": "1300", "balance": D("0.24"), "account_type": "receivable",
         "partner": "P1"},
        {"gl_account": "1500", "balance": D("-0.03"), "vat_code": "VH", "tax_role": "tax"},
    ]
    header = j.EntryHeader("ACME", "MEMO", j.Period.containing("month", dt.date(2024, 3, 1)))
    entry = j.build_entry(rows, header, vat_percentages={"VH": D(21)}, vat_rounding="odoo",
                          vat_tolerance={"VH": D("0.02")})
    payload = journal_payload(entry, {"8000": "8000", "1300": "1300"}, {"P1": CUSTOMER})
    adapter = TwinfieldJournalAdapter(twf_client)
    (outcome,) = adapter.post_batch([payload])
    assert isinstance(outcome, tuple), outcome
    (stored,) = twf_server.transactions
    assert stored["code"] == "MEMO" and stored["period"] == "2024/03"
    assert sorted((line["type"], line["dim1"], line["signed"]) for line in stored["lines"]) == [
        ("detail", "1300", D("0.24")), ("detail", "8000", D("-0.21")),
        ("vat", "1500", D("-0.03"))]  # Odoo's 0.03, not Twinfield's 0.04
    assert adapter.lookup([entry.reference]) == {entry.reference: outcome}
    lines = adapter.read_lines([entry.reference])
    assert sorted((line["type"], line["gl_account"], line["vat_code"], line["relation"],
                   line["amount"]) for line in lines) == [
        ("detail", "1300", "", CUSTOMER, D("0.24")), ("detail", "8000", "VH", "", D("-0.21")),
        ("vat", "1500", "VH", "", D("-0.03"))]
    assert {line["number"] for line in lines} == {outcome[1]}
    unbalanced = dict(payload, lines=[dict(payload["lines"][0], amount="-0.22"),
                                      *payload["lines"][1:]])
    (refused,) = adapter.post_batch([unbalanced])
    assert isinstance(refused, TwinfieldRejected) and "does not balance" in refused.message


def test_memorial_correction_with_vat_against_its_base(twf_server, twf_client):
    """A correction line whose base grew while its VAT shrank by a cent (and a VAT-only
    line): a ``vatvalue`` lies on its line's side, so the code's VAT goes as an explicit VAT
    line. Twinfield books Odoo's VAT to the cent and the entry balances."""
    payload = {
        "reference": "ACME-MEMO-2024-03-15-2", "date": "2024-03-15", "period": "2024/03",
        "lines": [
            {"gl_account": "8000", "amount": "-12.00", "vat_code": "VH", "vat_amount": "0.01"},
            {"gl_account": "8010", "amount": "0.00", "vat_code": "VH", "vat_amount": "0.02"},
            {"gl_account": "8010", "amount": "-10.00", "vat_code": "VL", "vat_amount": "-0.90"},
            {"gl_account": "1300", "amount": "22.87", "relation": CUSTOMER},
        ],
    }
    element = x.journal_transaction(payload, office=OFFICE)
    assert [line.findtext("vatvalue") for line in element.iter("line")
            if line.get("type") == "detail"] == [None, None, "0.90", None]
    adapter = TwinfieldJournalAdapter(twf_client)
    (outcome,) = adapter.post_batch([payload])
    assert isinstance(outcome, tuple), outcome
    (stored,) = twf_server.transactions
    vat = {line["vatcode"]: line["signed"] for line in stored["lines"] if line["type"] == "vat"}
    assert vat == {"VH": D("0.03"), "VL": D("-0.90")}
    assert sum(line["signed"] for line in stored["lines"]) == 0
    assert {line["number"] for line in adapter.read_lines([payload["reference"]])} == {
        outcome[1]}
    assert len(adapter.read_lines([payload["reference"]])) == len(stored["lines"])


# -- fair use ------------------------------------------------------------------------------------


def test_credits_of_reads_and_writes():
    assert [credits_of(tag) for tag in ("list", "read", "columns", "transactions",
                                         "dimension")] == [1, 1, 1, 3, 3]


def test_budget_waits_for_the_minute_to_turn():
    clock = VirtualClock(1_700_000_000.0)  # 20 s into a minute
    budget = CreditBudget(MemoryCreditStore(), limit=25, clock=clock)
    for _call in range(8):
        budget.spend(3)
    assert clock.slept == 0
    budget.spend(1)  # 25: still fits
    budget.spend(3)  # waits for the next minute
    assert clock.slept == pytest.approx(40.5)
    stopping = CreditBudget(budget.store, limit=25, clock=clock, max_wait=5)
    for _call in range(7):
        stopping.spend(3)
    with pytest.raises(CreditBudgetExhausted) as caught:
        stopping.spend(3)
    assert caught.value.reset_at == pytest.approx(1_700_000_040.5 + 60 - 0.5 + 0.5)


def test_sqlite_credit_store_is_shared(tmp_path):
    clock = VirtualClock(1_700_000_040.0)
    one = CreditBudget(SqliteCreditStore(tmp_path / "c.sqlite"), limit=6, clock=clock, max_wait=0)
    two = CreditBudget(SqliteCreditStore(tmp_path / "c.sqlite"), limit=6, clock=clock, max_wait=0)
    one.spend(3)
    two.spend(3)
    with pytest.raises(CreditBudgetExhausted):
        one.spend(1)


def test_app_bucket_is_shared_by_the_organisations():
    clock = VirtualClock(1_700_000_040.0)
    app = MemoryCreditStore()
    first, second = (CreditBudget(MemoryCreditStore(), limit=25, clock=clock, max_wait=0,
                                  app_store=app, app_limit=6) for _org in range(2))
    first.spend(3)
    second.spend(3)
    with pytest.raises(CreditBudgetExhausted):
        first.spend(1)  # its organisation has credits left, the app has none
    assert first.store.update(lambda window: window).used == 3  # given back
    clock.advance(60)
    first.spend(3)


def test_client_budget_keeps_the_server_below_its_limit(twf_server, twf_client):
    reference = TwinfieldReference(twf_client)
    start = twf_server.clock.now()
    adapter = TwinfieldSalesAdapter(twf_client)
    for number in range(1, 12):  # 11 writes of 3 credits: more than 25 a minute
        adapter.post_batch([invoice(number)])
    reference.offices()
    assert twf_server.statuses[429] == 0
    assert twf_server.clock.now() - start >= 40  # waited for the minute to turn
    assert len(twf_server.transactions) == 11


def test_429_honours_retry_after(twf_server, twf_client):
    twf_server.inject("status", 2, status=429, retry_after=7)
    start = twf_server.clock.now()
    assert TwinfieldReference(twf_client).offices()
    assert twf_server.clock.now() - start == pytest.approx(14)
    assert twf_server.statuses[429] == 2


def test_server_answers_429_beyond_the_credits(twf_server, twf_client):
    """A second app eating the same organisation's budget: the server's 429 and Retry-After
    make the client wait for the minute, then succeed."""
    twf_server.credits_per_minute = 3
    twf_client.budget.limit = 500  # a client that does not know the real limit
    adapter = TwinfieldSalesAdapter(twf_client)
    start = twf_server.clock.now()
    assert isinstance(adapter.post_batch([invoice(1)])[0], tuple)
    assert isinstance(adapter.post_batch([invoice(2)])[0], tuple)
    assert twf_server.statuses[429] == 1 and twf_server.clock.now() - start >= 40


def test_concurrency_limit_per_organisation(twf_server, twf_client, tmp_path):
    """A second call while the organisation's concurrency is used up gets 429 (B6); the
    client waits Retry-After and succeeds once the first call is done."""
    twf_server.max_concurrent = 1
    entered, release = threading.Event(), threading.Event()

    def hold():
        entered.set()
        release.wait(10)

    twf_server.before_write = hold
    writer = threading.Thread(
        target=TwinfieldSalesAdapter(twf_client).post_batch, args=([invoice(1)],))
    writer.start()
    entered.wait(10)
    other = make_client(twf_server.base_url, twf_server.cluster_url, tmp_path / "o.json",
                        twf_server.clock, store_tokens=twf_server.issue_tokens())
    other.max_429_waits = 1000
    sleep = other.clock.sleep

    def sleep_and_release(seconds):
        release.set()  # the first call ends while the second one waits
        writer.join(10)
        sleep(seconds)

    other.clock = type("C", (), {"now": other.clock.now, "sleep": staticmethod(
        sleep_and_release)})()
    assert TwinfieldReference(other).offices()
    assert twf_server.statuses[429] == 1 and len(twf_server.transactions) == 1


def test_write_without_answer_is_an_unknown_outcome(twf_server, twf_client):
    twf_server.inject("reset_after_store", target="write")
    with pytest.raises(OutcomeUnknown):
        TwinfieldSalesAdapter(twf_client).post_batch([invoice(1)])
    assert len(twf_server.transactions) == 1


def test_reads_are_retried_after_5xx(twf_server, twf_client):
    twf_server.inject("status", 2, status=503, target="read")
    assert TwinfieldReference(twf_client).offices()
    assert twf_server.statuses[503] == 2


def test_server_in_another_process_clock(tmp_path):
    """The server may run on a real clock for demos."""
    from hours_invoicing_exact.services.exact.clock import SystemClock

    with TwinfieldServer(clock=SystemClock()) as server:
        client = make_client(server.base_url, server.cluster_url, tmp_path / "t.json",
                             SystemClock(), store_tokens=server.issue_tokens())
        assert TwinfieldReference(client).offices()
