"""Reference data of a Twinfield office, read once and cached by the caller (Odoo stores it),
so that mappings and checks run locally before any write (accounting-apis.md C2).

Every read is one ProcessXml query (1 credit).
"""

from collections.abc import Iterable

from .client import TwinfieldClient
from .errors import TwinfieldRejected
from .xml import (
    customer_dimension,
    list_offices,
    list_request,
    messages,
    parse_dimensions,
    parse_offices,
    parse_periods,
    parse_vat_codes,
)


def _normalise(value: str | None) -> str:
    return "".join(str(value or "").split()).upper()


class TwinfieldReference:
    """Reads offices, GL accounts, VAT codes, periods and customers; creates customers."""

    def __init__(self, client: TwinfieldClient):
        self.client = client

    def offices(self) -> list[dict]:
        """``[{"code", "name", "shortname"}]`` of the organisation."""
        return parse_offices(self.client.process_xml(list_offices()))

    def dimensions(self, dimtype: str) -> list[dict]:
        """Dimensions of one type (``BAS``, ``PNL``, ``DEB``, ``KPL``) of the client's office."""
        answer = self.client.process_xml(
            list_request("dimensions", self.client.office, dimtype=dimtype)
        )
        return parse_dimensions(answer)

    def gl_accounts(self) -> list[dict]:
        """Balance (``BAS``) and profit-and-loss (``PNL``) accounts; codes kept as text."""
        return self.dimensions("BAS") + self.dimensions("PNL")

    def customers(self) -> list[dict]:
        """Customer dimensions (``DEB``)."""
        return self.dimensions("DEB")

    def vat_codes(self) -> list[dict]:
        """``[{"code", "name", "type", "percentage"}]``."""
        return parse_vat_codes(
            self.client.process_xml(list_request("vat", self.client.office))
        )

    def periods(self, year: int) -> list[dict]:
        """``[{"period": "YYYY/PP", "open": bool}]`` of ``year``."""
        return parse_periods(
            self.client.process_xml(list_request("periods", self.client.office, year=year))
        )

    def create_customer(self, customer: dict) -> str:
        """Create a customer dimension (see :func:`~.xml.customer_dimension`); return its code.

        :raises TwinfieldRejected: Twinfield refused it (its own words).
        """
        answer = self.client.process_xml(customer_dimension(self.client.office, customer))
        if answer.get("result") != "1":
            raise TwinfieldRejected(" // ".join(messages(answer, "error")) or "refused")
        return answer.findtext("code") or customer["code"]


def match_customer(
    customers: Iterable[dict], *, vat_number=None, coc_number=None, code=None
) -> dict | None:
    """Find a customer by VAT number, then KvK (CoC) number, then code (issue 11, item 2)."""
    customers = list(customers)
    for key, value in (("vatnumber", vat_number), ("cocnumber", coc_number), ("code", code)):
        if not value:
            continue
        wanted = _normalise(value) if key != "code" else str(value)
        for customer in customers:
            have = customer.get(key)
            if have and (_normalise(have) if key != "code" else have) == wanted:
                return customer
    return None
