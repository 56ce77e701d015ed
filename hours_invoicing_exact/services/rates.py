"""Revenue of a booking line from rate agreements — the one resolver, Odoo-free.

Precedence, highest first:

1. a manual override on the line;
2. the project's agreement;
3. the principal's (customer's) agreement;
4. the list price: for hours the employee's default sales rate, then the service product's
   sales price; for other costs the product's sales price, else the cost itself (recharged at
   cost).

Within one level the most specific agreement wins. Hours: employee *and* product, then
employee, then product, then a general agreement (neither). Other costs: product, then the
nearest product category (a category's parents match too, nearer first), then general.
Ties (two agreements equally specific) go to the lowest sequence, then lowest id, so the
result never depends on the order the records were read in.

Hours revenue: ``hours × rate × (1 − discount %)``, the rate being the agreement's hourly rate,
or the list rate when the agreement gives only a discount. Cost revenue with a markup
agreement: ``cost × (1 + markup %)``; with a discount agreement:
``quantity × sales price × (1 − discount %)``. Amounts are rounded half-up to the currency's
decimals.
"""

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

HOURS = "hours"
COST = "cost"

SOURCE_OVERRIDE = "override"
SOURCE_PROJECT = "project"
SOURCE_PRINCIPAL = "principal"
SOURCE_EMPLOYEE = "employee"
SOURCE_PRODUCT = "product"
SOURCE_COST = "cost"
SOURCE_NONE = "none"


@dataclass(frozen=True)
class Agreement:
    """One rate agreement, as plain data."""

    id: int
    kind: str  # HOURS or COST
    employee_id: int | None = None
    product_id: int | None = None
    categ_id: int | None = None
    hourly_rate: float | None = None  # hours: None → the list rate
    discount: float = 0.0  # percent
    cost_pricing: str = "markup"  # COST: "markup" on cost or "discount" on sales price
    markup: float = 0.0  # percent, COST with cost_pricing "markup"
    sequence: int = 10


@dataclass(frozen=True)
class LineFacts:
    """What the resolver needs to know of one booking line."""

    kind: str  # HOURS or COST
    quantity: float = 0.0
    cost: float = 0.0  # positive cost amount of the line
    employee_id: int | None = None
    product_id: int | None = None
    categ_path: tuple = ()  # the product's category, then its parents, nearest first
    employee_rate: float = 0.0  # the employee's default hourly sales rate
    product_price: float = 0.0  # the product's sales price
    override: float | None = None  # manual revenue on the line
    digits: int = 2


@dataclass(frozen=True)
class Resolution:
    revenue: float
    unit_rate: float
    source: str
    agreement_id: int | None = None
    details: dict = field(default_factory=dict)


def _round(value, digits):
    quant = Decimal(1).scaleb(-digits)
    return float(Decimal(str(value)).quantize(quant, rounding=ROUND_HALF_UP))


def _specificity(agreement, line):
    """Return a sortable score, or None when the agreement does not apply to the line."""
    if agreement.kind != line.kind:
        return None
    if line.kind == HOURS:
        if agreement.employee_id and agreement.employee_id != line.employee_id:
            return None
        if agreement.product_id and agreement.product_id != line.product_id:
            return None
        score = (2 if agreement.employee_id else 0) + (1 if agreement.product_id else 0)
        return (score, 0)
    if agreement.product_id:
        return (2, 0) if agreement.product_id == line.product_id else None
    if agreement.categ_id:
        if agreement.categ_id not in line.categ_path:
            return None
        return (1, -line.categ_path.index(agreement.categ_id))
    return (0, 0)


def best_agreement(agreements, line):
    """The most specific agreement of one level that applies to the line, or None."""
    best, best_key = None, None
    for agreement in agreements:
        score = _specificity(agreement, line)
        if score is None:
            continue
        key = (score, -agreement.sequence, -agreement.id)
        if best_key is None or key > best_key:
            best, best_key = agreement, key
    return best


def list_rate(line):
    """The hourly list rate of an hours line and where it comes from."""
    if line.employee_rate:
        return line.employee_rate, SOURCE_EMPLOYEE
    if line.product_price:
        return line.product_price, SOURCE_PRODUCT
    return 0.0, SOURCE_NONE


def _apply(agreement, line, source):
    factor_discount = 1 - (agreement.discount or 0.0) / 100.0
    if line.kind == HOURS:
        rate = agreement.hourly_rate
        if rate is None:
            rate, _src = list_rate(line)
        unit = rate * factor_discount
        revenue = line.quantity * unit
    elif agreement.cost_pricing == "markup":
        revenue = line.cost * (1 + (agreement.markup or 0.0) / 100.0)
        unit = revenue / line.quantity if line.quantity else 0.0
    else:
        unit = line.product_price * factor_discount
        revenue = line.quantity * unit
    return Resolution(
        revenue=_round(revenue, line.digits),
        unit_rate=_round(unit, line.digits),
        source=source,
        agreement_id=agreement.id,
    )


def resolve(line, project_agreements=(), principal_agreements=()):
    """Resolve the revenue of one booking line; see the module docstring for the rules."""
    if line.override is not None:
        unit = line.override / line.quantity if line.quantity else 0.0
        return Resolution(_round(line.override, line.digits), _round(unit, line.digits),
                          SOURCE_OVERRIDE)
    for source, agreements in ((SOURCE_PROJECT, project_agreements),
                               (SOURCE_PRINCIPAL, principal_agreements)):
        agreement = best_agreement(agreements, line)
        if agreement:
            return _apply(agreement, line, source)
    if line.kind == HOURS:
        rate, source = list_rate(line)
        return Resolution(_round(line.quantity * rate, line.digits), _round(rate, line.digits),
                          source)
    if line.product_price:
        return Resolution(_round(line.quantity * line.product_price, line.digits),
                          _round(line.product_price, line.digits), SOURCE_PRODUCT)
    unit = line.cost / line.quantity if line.quantity else 0.0
    return Resolution(_round(line.cost, line.digits), _round(unit, line.digits), SOURCE_COST)
