"""The documents PayPlan makes and the variables each one's template may read (and nothing else)."""
from django.db import models


class Kind(models.TextChoices):
    INVOICE = "invoice", "Счёт на оплату"
    RECEIPT = "receipt", "Подтверждение оплаты"
    SCHEDULE = "schedule", "График платежей"
    CONTRACT = "contract", "Договор"
    OFFER = "offer", "Коммерческое предложение"


DEAL_KINDS = (Kind.SCHEDULE, Kind.CONTRACT, Kind.OFFER)  # made from a deal, not from one invoice or payment

COMPANY = {
    "company.name": "Наименование организации / ИП",
    "company.inn": "ИНН", "company.kpp": "КПП", "company.ogrn": "ОГРН / ОГРНИП",
    "company.address": "Адрес", "company.phone": "Телефон", "company.email": "Эл. почта",
    "company.bank_name": "Банк получателя", "company.bik": "БИК банка",
    "company.correspondent_account": "Корреспондентский счёт банка",
    "company.bank_account": "Расчётный счёт", "company.director": "Руководитель (Фамилия И. О.)",
    "company.accountant": "Бухгалтер (Фамилия И. О.)",
    "missing_requisites": "Список незаполненных реквизитов (названия по-русски)",
}
CLIENT_AND_DEAL = {
    "client.name": "Клиент (контакт сделки)", "client.email": "Эл. почта клиента",
    "client.phone": "Телефон клиента",
    "deal.lead_id": "Номер сделки amoCRM",
    "deal.service_name": "Услуга, как её видит клиент (поле, выбранное в настройках; не название сделки в CRM)",
    "deal.name": "То же, что deal.service_name (название сделки в CRM клиенту не показывается)",
    "deal.contract_number": "Номер договора («Д-2026-000001») или пусто, пока договор не сформирован",
    "deal.group": "Группа (поток)",
    "deal.education_direction": "Направление", "deal.total": "Сумма по плану (Decimal)",
    "deal.paid": "Оплачено (Decimal)", "deal.debt": "Остаток долга (Decimal)",
    "currency": "Валюта, например RUB", "today": "Сегодня (дата в часовом поясе аккаунта)",
}
SCHEDULE = {
    "schedule": "График или пусто (none), если плана ещё нет",
    "schedule.version": "Версия графика", "schedule.total": "Сумма по графику",
    "schedule.already_paid": "Получено до графика", "schedule.paid": "Оплачено всего",
    "schedule.debt": "Остаток к оплате", "schedule.installments_count": "Число платежей",
    "schedule.monthly_payment": "Регулярный платёж или none", "schedule.last_due_date": "Дата последнего платежа",
    "schedule.installments": "Строки: seq, due_date, kind, kind_label, label, amount, paid, remaining, status, "
                             "status_label, principal, interest (в т. ч. проценты)",
    "schedule.interest_total": "Проценты за весь срок (0, если график без процентов)",
    "schedule.annual_rate": "Ставка, % годовых, или none", "schedule.effective_rate": "Эффективная ставка, % или none",
}
VARIABLES: dict[str, dict[str, str]] = {
    Kind.INVOICE: {
        **COMPANY, **CLIENT_AND_DEAL,
        "invoice.number": "Номер счёта",
        "invoice.status": "creating, issued, paid, cancelled, expired, failed", "invoice.date": "Дата счёта",
        "invoice.due_date": "Оплатить до: срок платежа, но не раньше даты счёта + 3 дня",
        "invoice.installment_due_date": "Срок платежа по графику",
        "invoice.amount": "Сумма (Decimal)", "invoice.amount_words": "Сумма прописью",
        "invoice.payment_url": "Ссылка на оплату (CloudPayments)", "invoice.vat_label": "«Без налога (НДС)» или "
        "«В том числе НДС 20%»", "invoice.vat_amount": "Сумма НДС или none",
        "invoice.installment_seq": "Номер платежа по графику", "invoice.installments_count": "Всего платежей",
        "invoice.lines": "Строки: n, title, quantity, unit, price, amount",
    },
    Kind.RECEIPT: {
        **COMPANY, **CLIENT_AND_DEAL,
        "payment.number": "Номер подтверждения", "payment.date": "Дата поступления",
        "payment.amount": "Сумма (Decimal)", "payment.amount_words": "Сумма прописью",
        "payment.method": "Способ: cloudpayments, cash, bank_transfer, ...", "payment.method_label": "Способ по-русски",
        "payment.transaction_id": "Номер транзакции или пусто", "payment.invoice_number": "Номер счёта или пусто",
        "payment.comment": "Комментарий", "payment.paid_total": "Оплачено с учётом этого платежа",
        "payment.debt_after": "Остаток долга после этого платежа",
    },
    Kind.SCHEDULE: {**COMPANY, **CLIENT_AND_DEAL, **SCHEDULE},
    Kind.CONTRACT: {**COMPANY, **CLIENT_AND_DEAL, **SCHEDULE,
                    "contract.number": "Номер договора", "contract.date": "Дата договора",
                    "contract.city": "Город (из адреса организации или пусто)"},
    Kind.OFFER: {**COMPANY, **CLIENT_AND_DEAL, **SCHEDULE,
                 "offer.number": "Номер предложения", "offer.date": "Дата", "offer.valid_until": "Действует до"},
}
HELPERS = {
    "|money": "25000 → «25 000,00»", "|amount_words": "Сумма прописью: «Двадцать пять тысяч рублей 00 копеек»",
    "|date_long": "«5 января 2027 г.»", "|date_short": "«05.01.2027»", "|currency_sign": "RUB → «руб.»",
    "|required": "Значение или красная пометка «не указано»",
    "|plural(one, few, many)": "5|plural('платёж', 'платежа', 'платежей') → «платежей»",
    "qr_code(text)": "QR-код как data: URI для <img>",
    "range(n)": "Числа 0..n-1 (n ≤ 10 000)",
}
