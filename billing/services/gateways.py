"""Which gateway an account talks to: CloudPayments (or its loopback sandbox) with the account's keys."""
from functools import cache

import requests
from django.conf import settings

from billing.gateway.cloudpayments import CloudPaymentsGateway
from billing.gateway.interface import Gateway
from billing.models import Account


@cache
def _session(base_url: str, public_id: str) -> requests.Session:
    # One pooled session per terminal per process: keep-alive without sharing credentials.
    return requests.Session()


def gateway_for(account: Account) -> Gateway:
    base_url = settings.CLOUDPAYMENTS_API_URL
    return CloudPaymentsGateway(
        account.cloudpayments_public_id, account.cloudpayments_api_secret, base_url=base_url,
        connect_timeout=settings.CLOUDPAYMENTS_CONNECT_TIMEOUT, read_timeout=settings.CLOUDPAYMENTS_READ_TIMEOUT,
        retries=settings.CLOUDPAYMENTS_RETRIES, backoff=settings.CLOUDPAYMENTS_BACKOFF,
        session=_session(base_url, account.cloudpayments_public_id),
    )
