"""The demo account: one business per user story, deals in every state, dates relative to today."""
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction

from billing.domain.calendar import add_months
from billing.domain.schedule import CustomItem, DownPayment, ExtraCharge, PlanRequest
from billing.models import Account, Deal
from billing.services import PaymentInput, ScheduleOptions, account_create, payment_record, schedule_replace
from billing.services.deals import deal_get_or_create
from billing.time import account_today

DEMO_ACCOUNT_ID = 31234567
DEMO_SLUG = "demo"
DEMO_MANAGER_ID = 8765432
# The loopback CloudPayments sandbox's demo terminal (sandboxes.cloudpayments's default account).
DEMO_CP_PUBLIC_ID = "test_api_00000000000000000000001"
DEMO_CP_SECRET = "sandbox_api_secret"
DEMO_WEBHOOK_KEY = "demo"
# The loopback YooKassa `make run` starts (sandboxes.yookassa, :8105): SBP goes through it, cards stay on
# CloudPayments; switching `gateways.cards` to yookassa in the settings puts the links there too.
DEMO_YOOKASSA_SHOP_ID = "100500"
DEMO_YOOKASSA_SECRET = "test_sandbox_secret_key"
# Its payout gateway ([K]): the outgoing claim 17654 pays the client by SBP once the accountant approves.
DEMO_YOOKASSA_PAYOUT_AGENT_ID = "505050"
DEMO_YOOKASSA_PAYOUT_SECRET = "test_sandbox_payout_key"
DEMO_PAYOUT_DESTINATION = {"kind": "sbp", "phone": "79031112233", "bank_id": "100000000111", "auto": True}
# Made-up but well-formed requisites, so demo invoices look like the real thing.
DEMO_REQUISITES = {
    "company_name": "ООО «Школа ПэйПлан»", "inn": "7701234567", "kpp": "770101001", "ogrn": "1207700123456",
    "address": "125009, г. Москва, ул. Тверская, д. 7, офис 12", "bank_name": "АО «Демо Банк», г. Москва",
    "bik": "044525999", "bank_account": "40702810900000012345", "correspondent_account": "30101810400000000999",
    "email": "billing@payplan.example", "phone": "+7 495 000-00-00", "director": "Смирнова А. В.",
    "accountant": "Борисова Е. Н.",
}
DEMO_RECEIPTS = {"enabled": True, "inn": "7701234567", "taxation_system": 1, "vat": None,
                 "item_label": "Оплата обучения"}

# [J] Plans that start themselves: a deal moved to «Рассрочка оформлена» (the CRM sandbox's demo pipeline
# «Обучение») gets 6 monthly payments on the 10th for the deal's budget; «Оплата по графику» waits for the
# first payment (a deal moved there without one goes back, with a note).
DEMO_TRIGGER_PIPELINE_ID, DEMO_TRIGGER_STATUS_ID, DEMO_GATED_STATUS_ID = 1113, 1113004, 1113005
DEMO_PLAN_AUTOSTART = {
    "enabled": True, "stage": {"pipeline_id": DEMO_TRIGGER_PIPELINE_ID, "status_id": DEMO_TRIGGER_STATUS_ID},
    "template": {"plan": "equal", "total": {"source": "amount"}, "installments_count": {"source": "fixed", "value": 6},
                 "period": "month", "due_day": {"source": "fixed", "value": 10}, "first_due_in_days": 3, "fees": []},
    "gate": {"enabled": True, "status_ids": [DEMO_GATED_STATUS_ID]},
}


@dataclass(frozen=True)
class DemoDeal:
    external_id: int
    name: str
    contact: str
    plan: PlanRequest | None
    options: ScheduleOptions = field(default_factory=ScheduleOptions)
    payments: tuple[tuple[int, Decimal, str], ...] = ()  # (days ago, amount, method)


# The sign-up form (/register/<token>): two programmes with their default plans and the 152-FZ text.
DEMO_REGISTRATION = {
    "enabled": True,
    "consent_text": ("Я даю ООО «Школа будущего» согласие на обработку моих персональных данных (имя, телефон, "
                     "адрес электронной почты) для заключения и исполнения договора и напоминаний о платежах "
                     "по Федеральному закону от 27.07.2006 № 152-ФЗ. Согласие можно отозвать письмом на почту школы."),
    "templates": [
        {"key": "cosmetology", "title": "Курс «Косметология»", "total": "160000.00", "installments_count": 6},
        {"key": "massage", "title": "Курс «Массаж»", "total": "48000.00", "installments_count": 3},
    ],
}


def demo_deals(today: date) -> list[DemoDeal]:
    school = ScheduleOptions(group="Поток 2026-11", education_direction="Косметология", manager_id=DEMO_MANAGER_ID)
    return [
        DemoDeal(17651, "Курс косметологии — Иванова", "Мария Иванова",
                 PlanRequest(plan="equal", total=Decimal("160000"), already_paid=Decimal("10000"),
                             installments_count=6, first_due_date=today + timedelta(days=5), due_day=5),
                 school, payments=((2, Decimal("15000"), "cash"),)),
        DemoDeal(17652, "Курс массажа — Петров (просрочка)", "Пётр Петров",
                 PlanRequest(plan="equal", total=Decimal("90000"), installments_count=3,
                             first_due_date=add_months(today, -2, 5), due_day=5),
                 ScheduleOptions(group="Поток 2026-09", education_direction="Массаж"),
                 payments=((50, Decimal("30000"), "bank_transfer"),)),
        DemoDeal(17653, "Банкротство — Сидорова", "Анна Сидорова",
                 PlanRequest(plan="equal", total=Decimal("120000"), installments_count=12,
                             first_due_date=today + timedelta(days=10), rounding=Decimal("1"),
                             extra_charges=(ExtraCharge("Госпошлина", Decimal("300"), today + timedelta(days=10)),)),
                 ScheduleOptions(group="Банкротство 2026", education_direction="Юр. услуги")),
        DemoDeal(17654, "Претензия — выплата дольщику Кузнецову", "Олег Кузнецов",
                 PlanRequest(plan="equal", total=Decimal("450000"), installments_count=3,
                             first_due_date=add_months(today, 1, "last"), due_day="last"),
                 ScheduleOptions(direction="outgoing", group="Претензии")),
        DemoDeal(17655, "Курс визажа — Смирнова (оплачено)", "Елена Смирнова",
                 PlanRequest(plan="full", total=Decimal("45000"), first_due_date=today),
                 school, payments=((0, Decimal("45000"), "card_terminal"),)),
        DemoDeal(17656, "Подписка — ООО Ромашка", "ООО Ромашка",
                 PlanRequest(plan="equal", total=Decimal("60000"), installments_count=4, period="2weeks",
                             first_due_date=today + timedelta(days=3),
                             down_payment=DownPayment(Decimal("12000"), today + timedelta(days=1))),
                 ScheduleOptions(group="Подписки", education_direction="B2B")),
        DemoDeal(17657, "Управляющая компания — долг Фёдорова", "Иван Фёдоров",
                 PlanRequest(plan="custom", total=Decimal("36000"),
                             items=(CustomItem(add_months(today, -1, 5), Decimal("12000")),
                                    CustomItem(today + timedelta(days=7), Decimal("12000")),
                                    CustomItem(today + timedelta(days=37), Decimal("12000")))),
                 ScheduleOptions(group="Дебиторка", education_direction="ЖКХ")),
        DemoDeal(17658, "Новая заявка — без графика", "Светлана Орлова", None),
    ]


@transaction.atomic
def demo_account_load() -> tuple[Account, int]:
    """Create the demo account and its deals; deals that already exist are left as they are."""
    account = account_create(crm_account_id=DEMO_ACCOUNT_ID, slug=DEMO_SLUG, name="PayPlan demo",
                             cloudpayments_public_id=DEMO_CP_PUBLIC_ID, cloudpayments_api_secret=DEMO_CP_SECRET,
                             cloudpayments_test_mode=True)  # the sandbox terminal sends TestMode=1
    account.webhook_key = DEMO_WEBHOOK_KEY
    account.yookassa_shop_id = account.yookassa_shop_id or DEMO_YOOKASSA_SHOP_ID
    account.yookassa_secret_key = account.yookassa_secret_key or DEMO_YOOKASSA_SECRET
    account.yookassa_payout_agent_id = account.yookassa_payout_agent_id or DEMO_YOOKASSA_PAYOUT_AGENT_ID
    account.yookassa_payout_secret_key = account.yookassa_payout_secret_key or DEMO_YOOKASSA_PAYOUT_SECRET
    account.settings = {**account.settings, "requisites": account.settings.get("requisites") or DEMO_REQUISITES,
                        "receipts": account.settings.get("receipts") or DEMO_RECEIPTS,
                        # Clients read the direction («Косметология»), never the lead titles below.
                        "client_service_name": account.settings.get("client_service_name") or {
                            "source": "education_direction", "default_text": "Оплата услуг"},
                        "client_registration": account.settings.get("client_registration") or DEMO_REGISTRATION,
                        "gateways": account.settings.get("gateways") or {"cards": "cloudpayments", "sbp": "yookassa"},
                        "plan_autostart": account.settings.get("plan_autostart") or DEMO_PLAN_AUTOSTART,
                        "early_payoff_mode": account.settings.get("early_payoff_mode") or "shorten"}
    account.save(update_fields=["webhook_key", "settings", "yookassa_shop_id", "yookassa_secret_key",
                                "yookassa_payout_agent_id", "yookassa_payout_secret_key"])
    today = account_today(account)
    created = 0
    for spec in demo_deals(today):
        if Deal.objects.filter(account=account, external_id=spec.external_id).exists():
            continue
        deal = deal_get_or_create(account=account, external_id=spec.external_id)
        deal.name, deal.contact_name, deal.responsible_user_id = spec.name, spec.contact, DEMO_MANAGER_ID
        deal.contact_phone, deal.contact_email = DEMO_CONTACTS.get(spec.external_id, ("", ""))
        deal.save(update_fields=["name", "contact_name", "responsible_user_id", "contact_phone", "contact_email"])
        created += 1
        if spec.plan is None:
            continue
        schedule_replace(deal=deal, plan_request=spec.plan, options=spec.options, created_by=DEMO_MANAGER_ID,
                         today=today)
        for days_ago, amount, method in spec.payments:
            payment_record(deal=deal, amount=amount, payment=PaymentInput(
                method=method, paid_at=today - timedelta(days=days_ago), recorded_by=DEMO_MANAGER_ID,
                comment="демо"))
    demo_dunning_setup(account)
    demo_payouts_setup(account)
    return account, created


def demo_payouts_setup(account: Account) -> None:
    """The outgoing claim's client gets SBP requisites with automatic payouts on (the YooKassa sandbox's
    payout gateway pays it once the accountant approves)."""
    from billing.models import PayoutDestination
    from billing.services.payouts_auto import DestinationInput, payout_destination_set

    deal = Deal.objects.filter(account=account, external_id=17654).first()
    if deal is not None and not PayoutDestination.objects.filter(deal=deal).exists():
        payout_destination_set(deal=deal, data=DestinationInput(**DEMO_PAYOUT_DESTINATION))


# Clients the reminder ladder can reach in the demo (loopback sandboxes only).
DEMO_CONTACTS = {17651: ("+7 912 345-67-89", "maria.ivanova@example.test"),
                 17652: ("+7 903 111-22-33", "petrov@example.test")}
DEMO_LADDER = {
    "steps": [{"day": -3, "channel": "client_email"}, {"day": 0, "channel": "client_email"},
              {"day": 0, "channel": "client_sms"}, {"day": 0, "channel": "manager_task", "after_cutoff": True},
              {"day": 3, "channel": "client_whatsapp"}, {"day": 7, "channel": "manager_task"},
              {"day": 30, "channel": "manager_task", "assignee": {"kind": "lawyer"},
               "action": {"kind": "assign_user", "role": "lawyer"}}],
    "stages": {},
}


def demo_dunning_setup(account: Account) -> None:
    """The demo's ladder (a due date sends the email, the SMS and the manager's task) and sandbox keys."""
    from billing.dunning.models import ChannelSettings, DunningPolicy
    from billing.dunning.services import channel_settings_set, dunning_policy_set

    if not DunningPolicy.objects.filter(account=account).exists():
        dunning_policy_set(account=account, config=DEMO_LADDER)
    if not ChannelSettings.objects.filter(account=account).exists():
        channel_settings_set(account=account, channel="sms", secret="demo-smsru-api-id", options={"sender": "PayPlan"})
        channel_settings_set(account=account, channel="whatsapp", secret="demo-whatsapp-token",
                             options={"phone_number_id": "100200300"})
        channel_settings_set(account=account, channel="telegram", secret="123456:demo-bot-token",
                             options={"bot_username": "payplan_demo_bot"})
