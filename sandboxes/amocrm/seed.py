"""The `demo` seed: one Moscow account with users, two pipelines, PayPlan's lead fields, leads and contacts."""

from __future__ import annotations

from datetime import date

from .dates import local_midnight
from .models import LOST_STATUS_ID, WON_STATUS_ID, Account

DEMO_ACCOUNT_ID = 31234567
DEMO_SUBDOMAIN = "demo"
ADMIN_USER_ID = 8765432
ACCOUNTANT_USER_ID = 8765433
LAWYER_USER_ID = 8765434

MAIN_PIPELINE_ID = 1113
LAWYER_PIPELINE_ID = 1114
STATUS_UNSORTED = 1113001
STATUS_NEW = 1113002
STATUS_CONTRACT_SENT = 1113003
STATUS_PLAN_SIGNED = 1113004
STATUS_PAYING = 1113005
STATUS_OVERDUE = 1113006
STATUS_CLAIM_SENT = 1114002

FIELD_TOTAL = 512341
FIELD_RECEIVED = 512342
FIELD_DEBT = 512343
FIELD_PAYMENTS_COUNT = 512344
FIELD_MONTHLY_PAYMENT = 512345
FIELD_LAST_PAYMENT_DAY = 512346
FIELD_GROUP = 512347
FIELD_DIRECTION = 512348
DIRECTION_ENUMS = {7001: "Программирование", 7002: "Дизайн", 7003: "Маркетинг", 7004: "Английский язык"}

FIRST_LEAD_ID = 17651
FIRST_CONTACT_ID = 24601


def demo_account() -> Account:
    account = Account(DEMO_ACCOUNT_ID, DEMO_SUBDOMAIN, name="PayPlan Demo")
    account.add_user(ADMIN_USER_ID, "Анна Менеджер", email="anna@demo.example", is_admin=True)
    account.add_user(ACCOUNTANT_USER_ID, "Борис Бухгалтер", email="boris@demo.example")
    account.add_user(LAWYER_USER_ID, "Вера Юрист", email="vera@demo.example")
    account.add_pipeline(MAIN_PIPELINE_ID, "Обучение", [
        (STATUS_UNSORTED, "Неразобранное"), (STATUS_NEW, "Новая заявка"),
        (STATUS_CONTRACT_SENT, "Договор отправлен"), (STATUS_PLAN_SIGNED, "Рассрочка оформлена"),
        (STATUS_PAYING, "Оплата по графику"), (STATUS_OVERDUE, "Есть просрочка"),
    ], is_main=True)
    account.add_pipeline(LAWYER_PIPELINE_ID, "Юрист", [
        (1114001, "Неразобранное"), (STATUS_CLAIM_SENT, "Претензия направлена"), (1114003, "Иск подан"),
    ])
    account.add_lead_field(FIELD_TOTAL, "Сумма обучения", "numeric")
    account.add_lead_field(FIELD_RECEIVED, "Оплачено", "numeric")
    account.add_lead_field(FIELD_DEBT, "Долг", "numeric")
    account.add_lead_field(FIELD_PAYMENTS_COUNT, "Количество платежей", "numeric")
    account.add_lead_field(FIELD_MONTHLY_PAYMENT, "Ежемесячный платёж", "numeric")
    account.add_lead_field(FIELD_LAST_PAYMENT_DAY, "Дата последнего платежа", "date")
    account.add_lead_field(FIELD_GROUP, "Группа / поток", "text")
    account.add_lead_field(FIELD_DIRECTION, "Направление обучения", "select",
                           enums=list(DIRECTION_ENUMS.items()))
    for offset, (name, phone, email, lead_name, price, status_id, direction, group) in enumerate(DEMO_DEALS):
        contact = account.add_contact(name, contact_id=FIRST_CONTACT_ID + offset,
                                      phones=[(phone, "MOB")], emails=[(email, "WORK")])
        fields = _plan_fields(price, direction, group) if status_id not in (STATUS_NEW, STATUS_UNSORTED) else {}
        pipeline_id = LAWYER_PIPELINE_ID if status_id == STATUS_CLAIM_SENT else MAIN_PIPELINE_ID
        account.add_lead(lead_name, lead_id=FIRST_LEAD_ID + offset, price=price, pipeline_id=pipeline_id,
                         status_id=status_id, contact_ids=[contact.id], custom_fields=fields,
                         created_at=account.created_at + offset * 86400,
                         responsible_user_id=LAWYER_USER_ID if pipeline_id == LAWYER_PIPELINE_ID
                         else ADMIN_USER_ID)
    return account


# contact name, phone, email, lead name, price, status, education direction enum, group
DEMO_DEALS = [
    ("Иван Петров", "+79161234501", "ivan.petrov@example.ru", "Петров — Python-разработчик", 120000,
     STATUS_PAYING, 7001, "PY-2026-01"),
    ("Мария Соколова", "+79161234502", "maria.sokolova@example.ru", "Соколова — UX/UI дизайн", 96000,
     STATUS_PLAN_SIGNED, 7002, "UX-2026-02"),
    ("Алексей Смирнов", "+79161234503", "a.smirnov@example.ru", "Смирнов — Интернет-маркетинг", 60000,
     STATUS_OVERDUE, 7003, "MK-2026-01"),
    ("Екатерина Волкова", "+79161234504", "k.volkova@example.ru", "Волкова — Английский B2", 48000,
     STATUS_CONTRACT_SENT, 7004, "EN-2026-03"),
    ("Дмитрий Кузнецов", "+79161234505", "d.kuznetsov@example.ru", "Кузнецов — Java-разработчик", 150000,
     STATUS_NEW, 7001, ""),
    ("Ольга Новикова", "+79161234506", "olga.novikova@example.ru", "Новикова — Графический дизайн", 72000,
     WON_STATUS_ID, 7002, "GD-2025-11"),
    ("Сергей Морозов", "+79161234507", "s.morozov@example.ru", "Морозов — SMM", 36000,
     STATUS_CLAIM_SENT, 7003, "MK-2025-09"),
    ("Анастасия Лебедева", "+79161234508", "a.lebedeva@example.ru", "Лебедева — Английский C1", 54000,
     LOST_STATUS_ID, 7004, "EN-2025-10"),
]


def _plan_fields(total: int, direction: int, group: str) -> dict[int, list[dict]]:
    """A plan of six monthly payments, two of them paid, in the value shapes the API answers."""
    payments = 6
    monthly = total // payments
    received = monthly * 2
    last_payment = local_midnight(date(2026, 1, 15), "Europe/Moscow")
    return {
        FIELD_TOTAL: [{"value": str(total)}],
        FIELD_RECEIVED: [{"value": str(received)}],
        FIELD_DEBT: [{"value": str(total - received)}],
        FIELD_PAYMENTS_COUNT: [{"value": str(payments)}],
        FIELD_MONTHLY_PAYMENT: [{"value": str(monthly)}],
        FIELD_LAST_PAYMENT_DAY: [{"value": last_payment}],
        FIELD_GROUP: [{"value": group}],
        FIELD_DIRECTION: [{"value": DIRECTION_ENUMS[direction], "enum_id": direction}],
    }
