"""Creating and updating tenant accounts."""
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from billing.errors import ApplicationError
from billing.models import Account, default_crm_kind
from billing.services.account_settings import account_settings_change


@transaction.atomic
def account_create(*, crm_account_id: int, slug: str, crm_kind: str | None = None, host: str | None = None,
                   name: str | None = None,
                   cloudpayments_public_id: str | None = None, cloudpayments_api_secret: str | None = None,
                   cloudpayments_test_mode: bool | None = None, time_zone: str | None = None,
                   currency: str | None = None) -> Account:
    """Create the account for a CRM account id, or update the one that exists. On an update only
    the values given (not None) change: leaving the keys out never blanks stored CloudPayments keys."""
    if time_zone is not None:
        _check_time_zone(time_zone)
    slug = slug.strip().lower()
    given = {key: value for key, value in {
        "cloudpayments_public_id": cloudpayments_public_id, "cloudpayments_api_secret": cloudpayments_api_secret,
        "cloudpayments_test_mode": cloudpayments_test_mode, "time_zone": time_zone, "currency": currency,
    }.items() if value is not None}
    crm_kind = crm_kind or default_crm_kind()
    account = Account.objects.select_for_update().filter(crm_kind=crm_kind, crm_account_id=crm_account_id).first()
    if account is None:
        given["crm_kind"] = crm_kind
        return Account.objects.create(crm_account_id=crm_account_id, slug=slug,
                                      host=host or settings.PAYPLAN_ACCOUNT_HOST_TEMPLATE.format(slug=slug),
                                      name=name or slug, **given)
    given["slug"] = slug
    if host:
        given["host"] = host
    if name:
        given["name"] = name
    for key, value in given.items():
        setattr(account, key, value)
    account.save(update_fields=list(given))
    return account


@transaction.atomic
def account_cloudpayments_update(*, account: Account, public_id: str | None = None, api_secret: str | None = None,
                                 clear_api_secret: bool = False, test_mode: bool | None = None) -> Account:
    """The admin's CloudPayments keys: what is given changes; an empty or missing secret keeps the stored
    one (the widget never sees it, so a blank field means "unchanged"); `clear_api_secret` disconnects."""
    account = Account.objects.select_for_update().get(pk=account.pk)
    changed = []
    if public_id is not None:
        account.cloudpayments_public_id = public_id.strip()
        changed.append("cloudpayments_public_id")
    if clear_api_secret:
        account.cloudpayments_api_secret = ""
        changed.append("cloudpayments_api_secret")
    elif api_secret and api_secret.strip():
        account.cloudpayments_api_secret = api_secret.strip()
        changed.append("cloudpayments_api_secret")
    if test_mode is not None:
        account.cloudpayments_test_mode = test_mode
        changed.append("cloudpayments_test_mode")
    if changed:
        account.save(update_fields=changed)
    return account


@transaction.atomic
def account_install(*, crm_account_id: int, slug: str, host: str, name: str = "",
                    time_zone: str = "Europe/Moscow", crm_kind: str | None = None) -> Account:
    """The account an installation names: created the first time; a re-install only updates where it
    lives, keeping its CloudPayments credentials, time zone and settings."""
    account = (Account.objects.select_for_update()
               .filter(crm_kind=crm_kind or default_crm_kind(), crm_account_id=crm_account_id).first())
    if account is None:
        # A new install starts with CloudPayments not connected: no keys until the admin enters them.
        return account_create(crm_account_id=crm_account_id, slug=slug, crm_kind=crm_kind, host=host, name=name,
                              time_zone=time_zone, cloudpayments_public_id="", cloudpayments_api_secret="")
    account.slug, account.host = slug.strip().lower(), host
    account.save(update_fields=["slug", "host"])
    return account


def account_settings_update(*, account: Account, settings: dict, time_zone: str | None = None,
                            completed_status_id: int | None = None, completed_pipeline_id: int | None = None,
                            cloudpayments: dict | None = None) -> Account:
    """Change the given settings (checked like the API's PATCH; keys not given are kept).
    `cloudpayments` holds the terminal's keys (`public_id`, `api_secret`, `clear_api_secret`, `test_mode`)."""
    changes = dict(settings)
    if time_zone is not None:
        changes["time_zone"] = time_zone
    if completed_status_id is not None:
        changes["completed_stage"] = {"status_id": completed_status_id, "pipeline_id": completed_pipeline_id}
    if cloudpayments is not None:
        changes["cloudpayments"] = cloudpayments
    return account_settings_change(account=account, changes=changes)


def account_settings_patch(*, account: Account, changes: dict) -> Account:
    """PATCH semantics: see `billing.services.account_settings.account_settings_change`."""
    return account_settings_change(account=account, changes=changes)


def _check_time_zone(time_zone: str) -> None:
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ApplicationError("invalid_time_zone", _("Unknown time zone %(zone)r.") % {"zone": time_zone},
                               {"time_zone": [_("Unknown time zone.")]}) from exc
