"""JSON on the wire: Decimals exact both ways, floats never."""
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.gateway.jsonwire import dumps, loads


def test_decimals_are_written_as_exact_numbers():
    assert dumps({"Amount": Decimal("1500.00"), "Items": [Decimal("0.10")]}) == '{"Amount":1500.00,"Items":[0.10]}'


def test_plain_values_keep_json_meaning_and_unicode():
    assert dumps({"a": None, "b": True, "c": 3, "d": "Курс №1"}) == '{"a":null,"b":true,"c":3,"d":"Курс №1"}'


def test_floats_are_refused():
    with pytest.raises(TypeError):
        dumps({"Amount": 10.5})


def test_non_finite_decimals_are_refused():
    with pytest.raises(ValueError):
        dumps(Decimal("NaN"))
    with pytest.raises(ValueError):
        loads('{"Amount": NaN}')


def test_fractions_are_read_as_decimals():
    assert loads('{"Amount": 0.1, "Count": 2}') == {"Amount": Decimal("0.1"), "Count": 2}


@given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999999999999.99"), places=2))
def test_amounts_round_trip_exactly(amount):
    parsed = loads(dumps({"Amount": amount}))["Amount"]
    assert parsed == amount
    assert str(parsed) == str(amount)
