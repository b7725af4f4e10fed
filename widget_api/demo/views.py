"""The demo page: the demo account's deals and a live token, for trying PayPlan without amoCRM."""
from django.conf import settings
from django.http import Http404
from django.shortcuts import render

from billing.demo import DEMO_ACCOUNT_ID, DEMO_MANAGER_ID, DEMO_SUBDOMAIN
from billing.models import Account
from widget_api.tokens import token_mint


def demo_page(request):
    if not settings.PAYPLAN_DEMO:
        raise Http404("The demo is switched off.")
    account = Account.objects.filter(amocrm_account_id=DEMO_ACCOUNT_ID).first()
    if account is None:
        raise Http404("No demo account: run `manage.py payplan_demo_load`.")
    token = token_mint(account_id=DEMO_ACCOUNT_ID, subdomain=DEMO_SUBDOMAIN, user_id=DEMO_MANAGER_ID,
                       ttl_seconds=3600)
    return render(request, "demo/index.html", {
        "account": account, "deals": account.deals.order_by("lead_id"), "token": token,
        "origin": settings.PAYPLAN_PUBLIC_ORIGIN.rstrip("/"),
    })
