"""Exact Online relations (``crm/Accounts``): look-up of several partners in one call, the
match of a partner with Exact's rows, and the body of a new relation.

A partner is found by its VAT number, else its Chamber of Commerce (KvK) number, else its
code; Exact pads codes to 18 characters, so they are compared with ``trim(Code)``
(project reference A4).
"""

from collections.abc import Iterable, Sequence

from .client import ACCOUNT_SELECT, ExactClient, odata_literal

ACCOUNTS_PATH = "crm/Accounts"
#: Partners looked up in one ``crm/Accounts`` call (up to 3 clauses each).
LOOKUP_CHUNK = 6
#: Status of a customer relation.
STATUS_CUSTOMER = "C"

Keys = tuple[str | None, str | None, str | None]  # (VAT number, KvK number, code)


def lookup_filter(keys: Iterable[Keys]) -> str:
    """The ``$filter`` finding every relation with one of the given keys."""
    clauses = []
    for vat, kvk, code in keys:
        if vat:
            clauses.append(f"VATNumber eq {odata_literal(vat)}")
        if kvk:
            clauses.append(f"ChamberOfCommerce eq {odata_literal(kvk)}")
        if code:
            clauses.append(f"trim(Code) eq {odata_literal(code)}")
    return " or ".join(clauses)


def find_relations(client: ExactClient, keys: Sequence[Keys]) -> list[dict]:
    """Return Exact's relations matching any of ``keys`` (one call; at most
    :data:`LOOKUP_CHUNK` keys)."""
    return client.get_rows(
        ACCOUNTS_PATH, {"$filter": lookup_filter(keys), "$select": ACCOUNT_SELECT}
    )


def match_relation(rows: Iterable[dict], vat, kvk, code) -> dict | None:
    """Return the row of ``rows`` matching the VAT number, else KvK number, else code."""
    rows = list(rows)
    for key, value in (("VATNumber", vat), ("ChamberOfCommerce", kvk), ("Code", code)):
        found = value and next(
            (row for row in rows if (row.get(key) or "").strip() == value), None
        )
        if found:
            return found
    return None


def relation_body(
    name: str, *, street=None, street2=None, zip_code=None, city=None, country=None,
    email=None, vat=None, kvk=None,
) -> dict:
    """The ``crm/Accounts`` POST body of a new customer relation (empty values left out)."""
    values = {
        "Name": name,
        "Status": STATUS_CUSTOMER,
        "IsSales": True,
        "AddressLine1": street or None,
        "AddressLine2": street2 or None,
        "Postcode": zip_code or None,
        "City": city or None,
        "Country": country or None,
        "Email": email or None,
        "VATNumber": vat,
        "ChamberOfCommerce": kvk,
    }
    return {key: value for key, value in values.items() if value is not None}
