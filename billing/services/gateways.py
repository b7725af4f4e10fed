"""Which gateway an account talks to: the one its typed setting `gateways` names (CloudPayments by default,
YooKassa beside it), with that gateway's keys; each invoice, saved method and payment keeps its own."""
from functools import cache

import requests
from django.conf import settings
from django.utils.translation import gettext as _

from billing.domain.account_settings import gateways_read
from billing.errors import ApplicationError
from billing.gateway.cloudpayments import CloudPaymentsGateway
from billing.gateway.interface import Gateway
from billing.gateway.yookassa import YooKassaGateway, YooKassaPayouts
from billing.models import Account, Payment

CLOUDPAYMENTS, YOOKASSA = "cloudpayments", "yookassa"


@cache
def _session(base_url: str, public_id: str) -> requests.Session:
    # One pooled session per terminal per process: keep-alive without sharing credentials.
    return requests.Session()


def cloudpayments_gateway(account: Account) -> CloudPaymentsGateway:
    base_url = settings.CLOUDPAYMENTS_API_URL
    return CloudPaymentsGateway(
        account.cloudpayments_public_id, account.cloudpayments_api_secret, base_url=base_url,
        connect_timeout=settings.CLOUDPAYMENTS_CONNECT_TIMEOUT, read_timeout=settings.CLOUDPAYMENTS_READ_TIMEOUT,
        retries=settings.CLOUDPAYMENTS_RETRIES, backoff=settings.CLOUDPAYMENTS_BACKOFF,
        session=_session(base_url, account.cloudpayments_public_id),
    )


def yookassa_gateway(account: Account) -> YooKassaGateway:
    """The account's shop; refused (fail closed) while its keys are not both there."""
    if not account.yookassa_connected:
        raise ApplicationError("yookassa_not_connected", _("YooKassa is not connected: enter the shop ID and the "
                                                           "secret key in the settings."))
    base_url = settings.YOOKASSA_API_URL
    return YooKassaGateway(
        account.yookassa_shop_id, account.yookassa_secret_key, base_url=base_url,
        connect_timeout=settings.YOOKASSA_CONNECT_TIMEOUT, read_timeout=settings.YOOKASSA_READ_TIMEOUT,
        retries=settings.YOOKASSA_RETRIES, backoff=settings.YOOKASSA_BACKOFF,
        session=_session(base_url, f"yookassa:{account.yookassa_shop_id}"),
        return_url=settings.PAYPLAN_PUBLIC_ORIGIN,
    )


def yookassa_payouts(account: Account) -> YooKassaPayouts:
    """The account's YooKassa payout gateway (its own agent id and key); refused while either is missing."""
    if not account.yookassa_payouts_connected:
        raise ApplicationError("yookassa_payouts_not_connected", _(
            "YooKassa payouts are not connected: enter the payout gateway ID and its secret key in the settings."))
    base_url = settings.YOOKASSA_API_URL
    return YooKassaPayouts(
        account.yookassa_payout_agent_id, account.yookassa_payout_secret_key, base_url=base_url,
        connect_timeout=settings.YOOKASSA_CONNECT_TIMEOUT, read_timeout=settings.YOOKASSA_READ_TIMEOUT,
        retries=settings.YOOKASSA_RETRIES, backoff=settings.YOOKASSA_BACKOFF,
        session=_session(base_url, f"yookassa-payouts:{account.yookassa_payout_agent_id}"))


def gateway_named(account: Account, name: str) -> Gateway:
    return yookassa_gateway(account) if name == YOOKASSA else cloudpayments_gateway(account)


def gateway_name_for(account: Account, *, purpose: str = "cards") -> str:
    """`cards` (invoices, links, autopay of new cards) or `sbp`; "" when the account has no SBP gateway."""
    chosen = gateways_read(account.settings)
    return chosen.sbp if purpose == "sbp" else chosen.cards


def gateway_for(account: Account) -> Gateway:
    """The gateway new invoices and new saved methods go through (the account's `gateways.cards`)."""
    return gateway_named(account, gateway_name_for(account))


def gateway_of_payment(payment: Payment) -> Gateway:
    """A refund goes back through the gateway the money came through, whatever the account uses today."""
    return gateway_named(payment.account, YOOKASSA if payment.method == Payment.Method.YOOKASSA else CLOUDPAYMENTS)
