"""Twinfield cost centres (KPL) and warnings against the strict local server, without Odoo.

accounting-apis.md B6 "Cost centre": on ``dim2`` of detail lines per php-twinfield, on
``dim3`` per CodeMill (the sources conflict): the level is a setting, and the local server
plays both, refusing unknown cost centres and cost centres on the wrong level. B3: warnings
come as ``msgtype="warning"`` inside a 200 answer."""

from decimal import Decimal

import pytest
from twinfield_support import invoice

from hie_testing.twinfield_server import CUSTOMER, REVENUE
from hours_invoicing_exact.services.twinfield.adapters import (
    TwinfieldJournalAdapter,
    TwinfieldSalesAdapter,
)
from hours_invoicing_exact.services.twinfield.errors import TwinfieldRejected

pytest_plugins = ["twinfield_support"]  # its fixtures
D = Decimal


def _with_cost_centre(number, code, level):
    payload = invoice(number)
    payload["lines"][0] = dict(payload["lines"][0], cost_centre=code, cost_centre_dim=level)
    return payload


@pytest.mark.parametrize("level", ["dim2", "dim3"])
def test_cost_centre_on_the_offices_level(twf_server, twf_client, level):
    twf_server.cost_centre_dim = level
    adapter = TwinfieldSalesAdapter(twf_client)
    (outcome,) = adapter.post_batch([_with_cost_centre(1, "100", level)])
    assert isinstance(outcome, tuple), outcome
    (stored,) = twf_server.transactions
    details = [line for line in stored["lines"] if line["type"] == "detail"]
    assert [(line["dim1"], line[level]) for line in details] == [(REVENUE, "100"),
                                                                  ("8010", None)]


@pytest.mark.parametrize("level", ["dim2", "dim3"])
def test_unknown_cost_centre_is_refused_in_twinfields_words(twf_server, twf_client, level):
    twf_server.cost_centre_dim = level
    (outcome,) = TwinfieldSalesAdapter(twf_client).post_batch(
        [_with_cost_centre(1, "999", level)])
    assert isinstance(outcome, TwinfieldRejected)
    assert "Kostenplaats 999 bestaat niet" in outcome.message
    assert twf_server.transactions == []


def test_cost_centre_on_the_wrong_level_is_refused(twf_server, twf_client):
    twf_server.cost_centre_dim = "dim3"
    (outcome,) = TwinfieldSalesAdapter(twf_client).post_batch(
        [_with_cost_centre(1, "100", "dim2")])
    assert isinstance(outcome, TwinfieldRejected) and "niveau 2" in outcome.message
    assert twf_server.transactions == []


def _memo(lines, reference="C1-MEMO-2024-03-1"):
    return {"reference": reference, "date": "2024-03-31", "period": "2024/03",
            "currency": "EUR", "lines": lines}


@pytest.mark.parametrize("level", ["dim2", "dim3"])
def test_memorial_lines_carry_the_cost_centre(twf_server, twf_client, level):
    twf_server.cost_centre_dim = level
    payload = _memo([
        {"gl_account": REVENUE, "amount": "-100.00", "vat_code": "VH", "vat_amount": "-21.00",
         "cost_centre": "100", "cost_centre_dim": level},
        {"gl_account": "1300", "amount": "121.00", "relation": CUSTOMER},
    ])
    (outcome,) = TwinfieldJournalAdapter(twf_client).post_batch([payload])
    assert isinstance(outcome, tuple), outcome
    (stored,) = twf_server.transactions
    revenue = next(line for line in stored["lines"] if line["dim1"] == REVENUE)
    assert revenue[level] == "100"
    unknown = _memo([dict(payload["lines"][0], cost_centre="777"), payload["lines"][1]],
                    reference="C1-MEMO-2024-03-2")
    (refused,) = TwinfieldJournalAdapter(twf_client).post_batch([unknown])
    assert isinstance(refused, TwinfieldRejected) and "Kostenplaats 777" in refused.message


def test_warning_inside_an_accepted_answer_is_kept_per_reference(twf_server, twf_client):
    twf_server.warn("Let op: relatie heeft een kredietlimiet.", code="VRK")
    adapter = TwinfieldSalesAdapter(twf_client)
    first, second = adapter.post_batch([invoice(1), invoice(2)])
    assert isinstance(first, tuple) and isinstance(second, tuple)
    assert adapter.warnings == {"INV/2024/00001": ["Let op: relatie heeft een kredietlimiet."]}
    assert len(twf_server.transactions) == 2
