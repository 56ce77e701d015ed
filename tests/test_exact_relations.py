"""Exact relations (``services/exact/relations.py``): several partners per look-up call,
the match order VAT, KvK, code, and the body of a new relation."""

from hours_invoicing_exact.services.exact import relations


def test_several_partners_in_one_call_and_match_order(server, client):
    server.add_account(Name="Code BV", Code="77")
    keys = [("NL000099998B57", None, None), (None, None, "77"), (None, "99999999", None)]
    assert relations.lookup_filter(keys[:2]) == (
        "VATNumber eq 'NL000099998B57' or trim(Code) eq '77'")
    calls = sum(server.calls.values())
    rows = relations.find_relations(client, keys)
    assert sum(server.calls.values()) == calls + 1
    assert relations.match_relation(rows, *keys[0])["Name"] == "Klant BV"
    assert relations.match_relation(rows, *keys[1])["Name"] == "Code BV"
    assert relations.match_relation(rows, *keys[2]) is None


def test_relation_body_leaves_out_empty_values():
    assert relations.relation_body("Klant BV", city="Utrecht", vat="NL1", country=None) == {
        "Name": "Klant BV", "Status": "C", "IsSales": True, "City": "Utrecht",
        "VATNumber": "NL1",
    }
