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
    _check_time_zone(time_zone)
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


@transaction.atomic
def account_install(*, amocrm_account_id: int, subdomain: str, host: str, name: str = "",
                    time_zone: str = "Europe/Moscow") -> Account:
    """The account an installation names: created the first time; a re-install only updates where it
    lives, keeping its CloudPayments credentials, time zone and settings."""
    account = Account.objects.select_for_update().filter(amocrm_account_id=amocrm_account_id).first()
    if account is None:
        return account_create(amocrm_account_id=amocrm_account_id, subdomain=subdomain, host=host, name=name,
                              time_zone=time_zone)
    account.subdomain, account.host = subdomain.strip().lower(), host
    account.save(update_fields=["subdomain", "host"])
    return account


@transaction.atomic
def account_settings_update(*, account: Account, settings: dict, time_zone: str | None = None,
                            completed_status_id: int | None = None, completed_pipeline_id: int | None = None,
                            ) -> Account:
    """Replace the given top-level keys of the account's settings; keys not given are kept."""
    account = Account.objects.select_for_update().get(pk=account.pk)
    if time_zone is not None:
        _check_time_zone(time_zone)
        account.time_zone = time_zone
    if completed_status_id is not None:
        account.completed_status_id = completed_status_id
        account.completed_pipeline_id = completed_pipeline_id
    account.settings = {**account.settings, **settings}
    account.save(update_fields=["settings", "time_zone", "completed_status_id", "completed_pipeline_id"])
    return account


def _check_time_zone(time_zone: str) -> None:
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ApplicationError("invalid_time_zone", f"Unknown time zone {time_zone!r}.",
                               {"time_zone": ["Unknown time zone."]}) from exc
