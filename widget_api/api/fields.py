"""Serializer fields for the contract's value types: money strings, day of month, rounding unit."""
import re
from decimal import Decimal

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing.domain.money import MAX_AMOUNT
from billing.domain.schedule import EARLIEST_DATE, LATEST_DATE

# Money as a string: digits with an optional dot and up to two decimals, nothing else ("1e3", " 5",
# "sNaN" and "+5" are refused); the OpenAPI schema publishes the same pattern (widget_api.schema).
MONEY_STRING = re.compile(r"^-?[0-9]{1,12}(\.[0-9]{1,2})?$")


class MoneyField(serializers.DecimalField):
    """Money in as a string or JSON number, out always as a string with two decimals."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 14)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("max_value", MAX_AMOUNT)
        super().__init__(coerce_to_string=True, **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or (isinstance(data, str) and not MONEY_STRING.match(data)):
            self.fail("invalid")
        return super().to_internal_value(data)


class BoundedDateField(serializers.DateField):
    """A date PayPlan can reason about (the plans' window): year 1 or 9999 would overflow date arithmetic
    (a period added, a by-day range) deep inside a selector instead of being refused here."""

    default_error_messages = {"out_of_range": _("Must be between {earliest} and {latest}.")}

    def to_internal_value(self, value):
        day = super().to_internal_value(value)
        if not EARLIEST_DATE <= day <= LATEST_DATE:
            self.fail("out_of_range", earliest=EARLIEST_DATE.strftime("%d.%m.%Y"),
                      latest=LATEST_DATE.strftime("%d.%m.%Y"))
        return day


def PositiveMoneyField(**kwargs) -> MoneyField:
    return MoneyField(min_value=Decimal("0.01"), **kwargs)


@extend_schema_field({"oneOf": [{"type": "integer", "minimum": 1, "maximum": 31},
                                {"type": "string", "enum": ["last"]}]})
class DueDayField(serializers.Field):
    default_error_messages = {"invalid": _('Day of month must be 1..31 or "last".')}

    def to_internal_value(self, data):
        if data == "last":
            return "last"
        if isinstance(data, bool):
            self.fail("invalid")
        try:
            day = int(str(data))
        except ValueError:
            self.fail("invalid")
        if not 1 <= day <= 31:
            self.fail("invalid")
        return day

    def to_representation(self, value):
        return value


@extend_schema_field({"type": "string", "enum": ["0.01", "1", "100"]})
class RoundingField(serializers.Field):
    UNITS = {Decimal("0.01"): Decimal("0.01"), Decimal("1"): Decimal("1"), Decimal("100"): Decimal("100")}
    default_error_messages = {"invalid": _('Rounding must be "0.01", "1" or "100".')}

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        try:
            unit = Decimal(str(data))
        except ArithmeticError:
            self.fail("invalid")
        if unit not in self.UNITS:
            self.fail("invalid")
        return self.UNITS[unit]

    def to_representation(self, value):
        return str(value)
