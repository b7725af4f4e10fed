"""Request field keys in words a manager reads: «Строка 2: дата платежа» instead of `items.1.due_date`.

The `fields` object of an error keeps the machine keys (the widget marks its inputs with them); the
sentence in `message` never shows a key: it names the field in words, and a row of a list by its number.
"""
from django.utils.translation import gettext, gettext_lazy

# Field keys of every endpoint's body; a key not listed here is left out of the sentence, never shown raw.
FIELD_WORDS = {
    "plan": gettext_lazy("plan kind"),
    "total": gettext_lazy("total"),
    "already_paid": gettext_lazy("already paid"),
    "down_payment": gettext_lazy("down payment"),
    "installments_count": gettext_lazy("number of payments"),
    "installment_amount": gettext_lazy("payment amount"),
    "first_due_date": gettext_lazy("first payment date"),
    "period": gettext_lazy("period"),
    "due_day": gettext_lazy("day of the month"),
    "rounding": gettext_lazy("rounding"),
    "extra_charges": gettext_lazy("extra charges"),
    "items": gettext_lazy("payments"),
    "due_date": gettext_lazy("payment date"),
    "amount": gettext_lazy("amount"),
    "label": gettext_lazy("name"),
    "direction": gettext_lazy("direction"),
    "group": gettext_lazy("group"),
    "education_direction": gettext_lazy("education direction"),
    "autopay": gettext_lazy("autopayment"),
    "manager_id": gettext_lazy("manager"),
    "method": gettext_lazy("payment method"),
    "paid_at": gettext_lazy("payment date"),
    "comment": gettext_lazy("comment"),
    "installment_seq": gettext_lazy("payment line"),
    "seq": gettext_lazy("line"),
    "date": gettext_lazy("date"),
    "outcome": gettext_lazy("call outcome"),
    "channel": gettext_lazy("channel"),
    "decision": gettext_lazy("decision"),
    "reason": gettext_lazy("reason"),
    "source": gettext_lazy("template"),
    "date_from": gettext_lazy("start date"),
    "date_to": gettext_lazy("end date"),
    "kind": gettext_lazy("kind"),
    "lang": gettext_lazy("language"),
    "secret": gettext_lazy("secret key"),
    "options": gettext_lazy("options"),
    "enabled": gettext_lazy("enabled"),
    "steps": gettext_lazy("reminder steps"),
    "day": gettext_lazy("day"),
    "action": gettext_lazy("action"),
    "field_id": gettext_lazy("lead field"),
    "default_text": gettext_lazy("default text"),
    "time_zone": gettext_lazy("time zone"),
    "completed_stage": gettext_lazy("completed stage"),
    "status_id": gettext_lazy("stage"),
    "pipeline_id": gettext_lazy("pipeline"),
    "custom_fields": gettext_lazy("lead fields"),
    "task_user_id": gettext_lazy("task owner"),
    "invoice_lead_days": gettext_lazy("days before the due date to issue an invoice"),
    "invoice_grace_days": gettext_lazy("days to pay an overdue invoice"),
    "requisites": gettext_lazy("company requisites"),
    "reminders": gettext_lazy("reminders"),
    "receipts": gettext_lazy("receipts"),
    "cloudpayments": gettext_lazy("CloudPayments"),
    "public_id": gettext_lazy("Public ID"),
    "api_secret": gettext_lazy("API Secret"),
    "test_mode": gettext_lazy("test mode"),
    "client_service_name": gettext_lazy("service name for clients"),
    "company_name": gettext_lazy("company name"),
    "inn": gettext_lazy("INN"),
    "kpp": gettext_lazy("KPP"),
    "ogrn": gettext_lazy("OGRN"),
    "address": gettext_lazy("address"),
    "bank_name": gettext_lazy("bank"),
    "bik": gettext_lazy("BIK"),
    "bank_account": gettext_lazy("bank account"),
    "correspondent_account": gettext_lazy("correspondent account"),
    "email": gettext_lazy("email"),
    "phone": gettext_lazy("phone"),
    "director": gettext_lazy("director"),
    "accountant": gettext_lazy("chief accountant"),
    "vat": gettext_lazy("VAT"),
    "taxation_system": gettext_lazy("taxation system"),
    "item_label": gettext_lazy("receipt item name"),
    "cutoff_hour": gettext_lazy("last sending hour"),
    "quiet_start_hour": gettext_lazy("quiet hours start"),
    "quiet_end_hour": gettext_lazy("quiet hours end"),
    "postpone_max_days": gettext_lazy("longest postponement"),
    "head_of_sales_user_id": gettext_lazy("head of sales"),
    "lawyer_user_id": gettext_lazy("lawyer"),
    "penalties": gettext_lazy("penalties"),
    "stages": gettext_lazy("stages"),
    "end_of_ladder": gettext_lazy("end of the reminders"),
    "query": gettext_lazy("query"),
    "Idempotency-Key": gettext_lazy("Idempotency-Key"),
}
# Lists whose rows a manager counts: a row's error names the row by number.
ROW_WORDS = {
    "items": gettext_lazy("Row %(row)s"),
    "extra_charges": gettext_lazy("Extra charge %(row)s"),
    "steps": gettext_lazy("Step %(row)s"),
    "reminders": gettext_lazy("Reminder %(row)s"),
}


def field_words(key: str) -> str:
    """`items.1.due_date` -> «Строка 2: дата платежа»; `total` -> «сумма»; an unknown key -> ""."""
    parts = [part for part in key.split(".") if part and part != "non_field_errors"]
    row = ""
    words: list[str] = []
    for index, part in enumerate(parts):
        if part.isdigit():
            container = parts[index - 1] if index else ""
            row = str(ROW_WORDS.get(container, ROW_WORDS["items"])) % {"row": int(part) + 1}
            words = []  # the row's words name the list; what follows names the field in the row
        elif part in FIELD_WORDS:
            words.append(str(FIELD_WORDS[part]))
    label = ", ".join(words)
    if row:
        return f"{row}: {label}" if label else row
    return label


def field_message(key: str, message: str) -> str:
    """One human sentence for a field's error: «Строка 2: дата платежа — введите дату.»."""
    words = field_words(key)
    if not words:
        return message
    return gettext("%(field)s — %(message)s") % {"field": _capitalised(words), "message": _lowered(message)}


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def _lowered(text: str) -> str:
    """«Требуется численное значение.» reads on after a dash as «требуется численное значение.», but an
    abbreviation («INN», «API») keeps its capitals."""
    if len(text) > 1 and text[0].isupper() and not text[1].isupper():
        return text[0].lower() + text[1:]
    return text
