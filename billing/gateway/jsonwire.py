"""JSON on the wire: Decimals written as exact numbers and read back as Decimals; floats refused."""
import json
from decimal import Decimal
from typing import Any


def dumps(value: Any) -> str:
    """Compact JSON where Decimal("1500.00") stays `1500.00` (the json module would need a float)."""
    if value is None or isinstance(value, bool | int | str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a JSON number.")
        return format(value, "f")
    if isinstance(value, dict):
        members = (f"{json.dumps(str(key), ensure_ascii=False)}:{dumps(item)}" for key, item in value.items())
        return "{" + ",".join(members) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps(item) for item in value) + "]"
    raise TypeError(f"{type(value).__name__} cannot go on the wire (money is Decimal, never float).")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number.")


def loads(text: str | bytes) -> Any:
    """Parse JSON with every fraction as Decimal."""
    return json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant)
