"""Gateway dataclasses: amounts are exact Decimals or the request is never built."""
from decimal import Decimal

import pytest

from billing.domain.money import MoneyError
from billing.gateway.interface import ChargeToken, CreateOrder, Refund, exact_amount


def test_amounts_are_normalised_to_kopecks():
    order = CreateOrder(amount=Decimal("1500"), description="x", invoice_id="1", account_id="2")
    assert str(order.amount) == "1500.00"
    assert exact_amount("10.5") == Decimal("10.50")


@pytest.mark.parametrize("amount", [10.5, Decimal("10.005"), Decimal("0"), Decimal("0.001"), "-1", "abc"])
def test_floats_fractions_of_kopecks_and_non_positive_amounts_are_refused(amount):
    with pytest.raises(MoneyError):
        exact_amount(amount)


def test_every_request_with_an_amount_checks_it():
    with pytest.raises(MoneyError):
        ChargeToken(amount=Decimal("1.234"), token="t", account_id="a", invoice_id=None, description=None)
    with pytest.raises(MoneyError):
        Refund(transaction_id=1, amount=Decimal("0"))
