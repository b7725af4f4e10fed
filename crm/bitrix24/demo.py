"""The Bitrix24 half of the demo: a lawyers' firm on the loopback portal (`make run` starts
`sandboxes.bitrix24` on :8104, which installs PayPlan through /bitrix24/install/).

The portal row is made here already linked to its PayPlan account (what the install wiring will do on
`portal_installed` for real portals); the sandbox's install then brings its tokens. Its deals are the
sandbox's seeded ones: 8061 has the lawyers' plan (12 equal payments + the court's state fee), 8062 and
8063 have none yet, to build one from the deal tab.
"""
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db import transaction

from billing.domain.schedule import ExtraCharge, PlanRequest
from billing.models import Account, Deal
from billing.services import ScheduleOptions, account_create, schedule_replace
from billing.services.deals import deal_get_or_create
from billing.time import account_today
from crm.bitrix24.models import Portal
from crm.bitrix24.outbox import KIND

DEMO_MEMBER_ID = "b24sandbox0000000000000000000001"  # the sandbox's seeded portal
DEMO_PORTAL_HOST = "127.0.0.1:8104"
DEMO_CRM_ID = 24000001  # the account's CRM id (a Bitrix24 account has no amoCRM id; unique among accounts)
DEMO_SLUG = "b24-lawyers"
DEMO_ADMIN_ID = 1  # the portal's admin, who installs the app
DEMO_URL = f"http://{DEMO_PORTAL_HOST}"
DEMO_WEBHOOK_KEY = "b24-demo"  # YooKassa notifications: /webhooks/yookassa/b24-demo
DEMO_YOOKASSA_SHOP_ID = "100600"  # the YooKassa sandbox's second shop (Procfile.demo)
DEMO_YOOKASSA_SECRET = "test_sandbox_secret_key_b24"


@dataclass(frozen=True)
class DemoDeal:
    deal_id: int
    name: str
    contact: str
    plan: PlanRequest | None


def bitrix24_demo_deals(today) -> list[DemoDeal]:
    return [
        DemoDeal(8061, "Банкротство физлица: Соколова", "Ирина Соколова",
                 PlanRequest(plan="equal", total=Decimal("160000"), installments_count=12,
                             first_due_date=today + timedelta(days=10), rounding=Decimal("1"),
                             extra_charges=(ExtraCharge("Госпошлина", Decimal("300"), today + timedelta(days=10)),))),
        DemoDeal(8062, "Сопровождение сделки: Петров", "Олег Петров", None),
        DemoDeal(8063, "Консультация", "", None),
    ]


@transaction.atomic
def bitrix24_demo_load() -> tuple[Account, Portal, int]:
    """Idempotent: the account, its portal row and the deals that are missing."""
    account = account_create(crm_account_id=DEMO_CRM_ID, slug=DEMO_SLUG, crm_kind=KIND, host=DEMO_PORTAL_HOST,
                             name="Юридическая фирма (Битрикс24, демо)")
    # The demo on the second gateway: cards and SBP through the YooKassa sandbox's second shop (Procfile.demo).
    account.webhook_key = DEMO_WEBHOOK_KEY
    account.yookassa_shop_id = account.yookassa_shop_id or DEMO_YOOKASSA_SHOP_ID
    account.yookassa_secret_key = account.yookassa_secret_key or DEMO_YOOKASSA_SECRET
    account.settings = {**account.settings,
                        "gateways": account.settings.get("gateways") or {"cards": "yookassa", "sbp": "yookassa"}}
    account.save(update_fields=["webhook_key", "yookassa_shop_id", "yookassa_secret_key", "settings"])
    portal = Portal.objects.select_for_update().filter(member_id=DEMO_MEMBER_ID).first()
    if portal is None:
        portal = Portal.objects.create(member_id=DEMO_MEMBER_ID, account=account, domain=DEMO_PORTAL_HOST,
                                       client_endpoint=f"{DEMO_URL}/rest/", status=Portal.Status.UNINSTALLED)
    elif portal.account_id is None:
        Portal.objects.filter(pk=portal.pk).update(account=account)
    today, created = account_today(account), 0
    options = ScheduleOptions(group="Банкротство 2026", education_direction="Юр. услуги", manager_id=DEMO_ADMIN_ID)
    for spec in bitrix24_demo_deals(today):
        if Deal.objects.filter(account=account, external_id=spec.deal_id).exists():
            continue
        deal = deal_get_or_create(account=account, external_id=spec.deal_id)
        deal.name, deal.contact_name, deal.responsible_user_id = spec.name, spec.contact, DEMO_ADMIN_ID
        deal.save(update_fields=["name", "contact_name", "responsible_user_id"])
        created += 1
        if spec.plan is not None:
            schedule_replace(deal=deal, plan_request=spec.plan, options=options, created_by=DEMO_ADMIN_ID, today=today)
    return account, portal, created
