"""The rate resolver, without Odoo: precedence, specificity, and the arithmetic."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hours_invoicing_exact.services import rates
from hours_invoicing_exact.services.rates import Agreement, LineFacts

EMPLOYEE, OTHER_EMPLOYEE, PRODUCT, OTHER_PRODUCT = 1, 2, 10, 11
CATEG_CHILD, CATEG_PARENT = 100, 101


def hours(**kw):
    base = {"kind": rates.HOURS, "quantity": 2.0, "employee_id": EMPLOYEE,
            "product_id": PRODUCT, "employee_rate": 0.0, "product_price": 80.0}
    base.update(kw)
    return LineFacts(**base)


def cost(**kw):
    base = {"kind": rates.COST, "quantity": 3.0, "cost": 24.0, "product_id": PRODUCT,
            "categ_path": (CATEG_CHILD, CATEG_PARENT), "product_price": 12.0}
    base.update(kw)
    return LineFacts(**base)


PROJECT_HOURS = Agreement(1, rates.HOURS, product_id=PRODUCT, hourly_rate=120.0, discount=10.0)
PRINCIPAL_HOURS = Agreement(2, rates.HOURS, product_id=PRODUCT, hourly_rate=90.0)


@pytest.mark.parametrize(("line", "project", "principal", "revenue", "source"), [
    (hours(), (), (), 160.0, rates.SOURCE_PRODUCT),
    (hours(employee_rate=100.0), (), (), 200.0, rates.SOURCE_EMPLOYEE),
    (hours(product_price=0.0), (), (), 0.0, rates.SOURCE_NONE),
    (hours(employee_rate=100.0), (), (PRINCIPAL_HOURS,), 180.0, rates.SOURCE_PRINCIPAL),
    (hours(employee_rate=100.0), (PROJECT_HOURS,), (PRINCIPAL_HOURS,), 216.0,
     rates.SOURCE_PROJECT),
    (hours(override=333.0), (PROJECT_HOURS,), (PRINCIPAL_HOURS,), 333.0,
     rates.SOURCE_OVERRIDE),
    (cost(), (), (), 36.0, rates.SOURCE_PRODUCT),
    (cost(product_price=0.0, cost=100.0, quantity=1.0), (), (), 100.0, rates.SOURCE_COST),
    (cost(), (), (Agreement(3, rates.COST, categ_id=CATEG_PARENT, markup=10.0),), 26.4,
     rates.SOURCE_PRINCIPAL),
    (cost(), (Agreement(4, rates.COST, categ_id=CATEG_CHILD, markup=20.0),),
     (Agreement(3, rates.COST, categ_id=CATEG_PARENT, markup=10.0),), 28.8, rates.SOURCE_PROJECT),
    (cost(), (Agreement(5, rates.COST, product_id=PRODUCT, cost_pricing="discount",
                        discount=25.0),), (), 27.0, rates.SOURCE_PROJECT),
    (cost(override=50.0), (Agreement(4, rates.COST, markup=20.0),), (), 50.0,
     rates.SOURCE_OVERRIDE),
])
def test_precedence(line, project, principal, revenue, source):
    result = rates.resolve(line, project, principal)
    assert result.revenue == pytest.approx(revenue)
    assert result.source == source


def test_specificity_within_a_level():
    agreements = (
        Agreement(1, rates.HOURS, hourly_rate=70.0),
        Agreement(2, rates.HOURS, product_id=PRODUCT, hourly_rate=75.0),
        Agreement(3, rates.HOURS, employee_id=EMPLOYEE, hourly_rate=85.0),
        Agreement(4, rates.HOURS, employee_id=EMPLOYEE, product_id=PRODUCT, hourly_rate=95.0),
    )
    unit = lambda **kw: rates.resolve(hours(quantity=1.0, **kw), agreements).revenue  # noqa: E731
    assert unit() == 95.0
    assert unit(product_id=OTHER_PRODUCT) == 85.0
    assert unit(employee_id=OTHER_EMPLOYEE) == 75.0
    assert unit(employee_id=OTHER_EMPLOYEE, product_id=OTHER_PRODUCT) == 70.0


def test_nearest_category_wins_and_ties_are_deterministic():
    parent = Agreement(1, rates.COST, categ_id=CATEG_PARENT, markup=10.0)
    child = Agreement(2, rates.COST, categ_id=CATEG_CHILD, markup=30.0)
    assert rates.resolve(cost(), (parent, child)).agreement_id == 2
    assert rates.resolve(cost(), (child, parent)).agreement_id == 2
    first = Agreement(7, rates.HOURS, hourly_rate=50.0, sequence=5)
    second = Agreement(3, rates.HOURS, hourly_rate=60.0, sequence=10)
    assert rates.resolve(hours(), (second, first)).agreement_id == 7
    assert rates.resolve(hours(), (first, second)).agreement_id == 7


def test_other_kind_and_other_employee_do_not_apply():
    only_costs = (Agreement(1, rates.COST, markup=50.0),)
    assert rates.resolve(hours(), only_costs).source == rates.SOURCE_PRODUCT
    other = (Agreement(2, rates.HOURS, employee_id=OTHER_EMPLOYEE, hourly_rate=1.0),)
    assert rates.resolve(hours(), other).source == rates.SOURCE_PRODUCT


def test_list_rate_with_discount_and_half_up_rounding():
    agreement = Agreement(1, rates.HOURS, hourly_rate=None, discount=25.0)
    result = rates.resolve(hours(quantity=4.0, employee_rate=100.0), (agreement,))
    assert (result.revenue, result.unit_rate) == (300.0, 75.0)
    odd = Agreement(2, rates.HOURS, hourly_rate=10.005)
    assert rates.resolve(hours(quantity=1.0), (odd,)).revenue == 10.01


@given(
    quantity=st.floats(min_value=0, max_value=1000, allow_nan=False),
    rate=st.floats(min_value=0, max_value=1000, allow_nan=False),
    discount=st.floats(min_value=0, max_value=100, allow_nan=False),
)
def test_revenue_never_above_undiscounted_and_never_negative(quantity, rate, discount):
    agreement = Agreement(1, rates.HOURS, hourly_rate=rate, discount=discount)
    result = rates.resolve(hours(quantity=quantity), (agreement,))
    assert 0 <= result.revenue <= round(quantity * rate, 2) + 0.01
