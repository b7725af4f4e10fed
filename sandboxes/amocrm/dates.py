"""Account-time helpers: amoCRM stores a date field as the unix time of local midnight in the account tz."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo


def local_midnight(day: date, timezone: str) -> int:
    return int(datetime.combine(day, time(0, 0), tzinfo=ZoneInfo(timezone)).timestamp())


def date_field_value(raw: object, timezone: str) -> int | None:
    """Snap a date field input (unix seconds, RFC 3339 or YYYY-MM-DD) to local midnight; None if unreadable."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        moment = datetime.fromtimestamp(raw, ZoneInfo(timezone))
    elif isinstance(raw, str):
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ZoneInfo(timezone))
        moment = moment.astimezone(ZoneInfo(timezone))
    else:
        return None
    return local_midnight(moment.date(), timezone)


def utc_offset(timezone: str, at: float) -> str:
    """`+03:00` style offset of the account tz at a moment, as amoCRM's datetime_settings shows it."""
    offset = datetime.fromtimestamp(at, ZoneInfo(timezone)).strftime("%z")
    return f"{offset[:3]}:{offset[3:]}"
