"""Creating and updating tenant accounts."""
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction

from billing.errors import ApplicationError
from billing.models import Account


@transaction.atomic
def account_create(*, amocrm_account_id: int, subdomain: str, host: str = "", name: str = "",
                   cloudpayments_public_id: str = "", cloudpayments_api_secret: str = "",
                   time_zone: str = "Europe/Moscow", currency: str = "RUB") -> Account:
    """Create the account for an amoCRM account id, or update the one that exists."""
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ApplicationError("invalid_time_zone", f"Unknown time zone {time_zone!r}.",
                               {"time_zone": ["Unknown time zone."]}) from exc
    subdomain = subdomain.strip().lower()
    account, _ = Account.objects.select_for_update().update_or_create(
        amocrm_account_id=amocrm_account_id,
        defaults={
            "subdomain": subdomain,
            "host": host or f"{subdomain}.amocrm.ru",
            "name": name or subdomain,
            "cloudpayments_public_id": cloudpayments_public_id,
            "cloudpayments_api_secret": cloudpayments_api_secret,
            "time_zone": time_zone,
            "currency": currency,
        },
    )
    return account
