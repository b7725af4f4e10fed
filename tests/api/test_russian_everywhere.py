"""Russian first: every error a person reads comes from the gettext catalogue in the account's language.

A broad sweep of bad requests across the widget API must answer, in Russian mode, with Russian sentences
that never show a field key (`items.0.due_date`, `total:`); the same requests in English mode answer in
English; and every message the code marks for translation has a Russian translation in the compiled
catalogue. Business errors never carry an inline (untranslated) message.
"""
import gettext as gnu_gettext
import json
import re
import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import WidgetClient

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
APPS = ("billing", "widget_api", "crm", "documents")
CATALOGUES = (*APPS, "crm/bitrix24")  # the Bitrix24 adapter keeps its own catalogue
LEAD = 424242  # has a plan
BARE = 424243  # has no plan
PLAN = {"plan": "equal", "total": "160000.00", "installments_count": 4, "first_due_date": "2027-01-05",
        "due_day": 5}

# Names and technical terms that stay in Latin letters inside a Russian sentence.
KEPT_LATIN = ("CloudPayments", "amoCRM", "PayPlan", "API Secret", "Public ID", "Idempotency-Key", "X-Auth-Token",
              "Content-Length", "JSON", "NUL", "HMAC", "TestMode", "PATCH", "PUT", "data: URI", "PDF", "SMS",
              "WhatsApp", "Telegram", "YYYY-MM-DD", "[YYYY-MM-DD]")
# Three Latin words in a row is an English sentence (or a piece of one) left untranslated.
ENGLISH_WORDS = re.compile(r"[A-Za-z]{2,}(?:[,;:.]?\s+[A-Za-z]{2,}){2,}")
# A field key in a sentence: items.0.due_date, extra_charges.1, `total:` at the start, a snake_case key.
FIELD_KEY = re.compile(r"\b[a-z][a-z_]*\.\d+\b|^[a-z][a-z_]*:|\b[a-z]+_[a-z_]+\b")
CYRILLIC = re.compile(r"[А-Яа-яЁё]")


def _admin_headers(account) -> dict:
    from widget_api.tokens import token_mint

    return {"HTTP_X_AUTH_TOKEN": token_mint(account_id=account.crm_account_id, subdomain=account.slug,
                                            user_id=8765432, is_admin=True)}


def _later(days: int) -> str:
    return (date(2026, 11, 27) + timedelta(days=days)).isoformat()


def _bad_requests() -> list[tuple[str, str, str, object, dict]]:
    """(name, method, path, body, extra) of requests every one of which must be refused with a message.
    `extra` may say {"admin": True}, {"no_token": True}, {"token": "..."}, {"raw": True} (body sent as is),
    {"content_type": ...}, {"headers": {...}}."""
    schedule = f"/api/v1/deals/{LEAD}/schedule"
    preview = f"/api/v1/deals/{LEAD}/schedule/preview"
    cases = [
        ("no_token", "get", f"/api/v1/deals/{LEAD}", None, {"no_token": True}),
        ("garbage_token", "get", f"/api/v1/deals/{LEAD}", None, {"token": "not-a-token"}),
        ("not_admin", "put", "/api/v1/account/templates/invoice", {"source": "<p>x</p>"}, {}),
        ("absurd_deal_id", "get", "/api/v1/deals/0", None, {}),
        ("unknown_route", "get", "/api/v1/nowhere", None, {}),
        ("unknown_invoice_pdf", "get", "/api/v1/invoices/999999/pdf", None, {}),
        ("unknown_receipt_pdf", "get", "/api/v1/payments/999999/receipt.pdf", None, {}),
        ("unknown_document_kind", "get", f"/api/v1/deals/{LEAD}/documents/nonsense.pdf", None, {}),
        ("no_plan_to_print", "get", f"/api/v1/deals/{BARE}/documents/schedule.pdf", None, {}),
        ("unknown_template_kind", "get", "/api/v1/account/templates/nonsense", None, {}),
        ("method_not_allowed", "delete", f"/api/v1/deals/{LEAD}", {}, {}),
        ("form_body", "put", schedule, "plan=full", {"raw": True,
                                                     "content_type": "application/x-www-form-urlencoded"}),
        ("malformed_json", "put", schedule, "{not json", {"raw": True}),
        ("nul_in_json", "put", schedule, '{"plan": "eq\\u0000ual"}', {"raw": True}),
        ("lone_surrogate_in_row", "put", schedule,
         '{"plan": "custom", "items": [{"due_date": "2027-01-01", "amount": "\\ud800"}]}', {"raw": True}),
        ("deep_json", "put", schedule, "[" * 200 + "]" * 200, {"raw": True}),
        ("nul_in_query", "get", "/api/v1/analytics/rows?kind=received%00", None, {}),
        ("long_idempotency_key", "put", schedule, PLAN, {"headers": {"HTTP_IDEMPOTENCY_KEY": "k" * 300}}),
        ("oversized", "put", schedule, b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1), {"raw": True}),
    ]
    plan_changes = {
        "plan_kind": {"plan": "weekly"}, "total_text": {"total": "abc"}, "total_negative": {"total": "-5.00"},
        "total_zero": {"total": "0"}, "total_missing": {"total": None}, "already_paid_all": {"already_paid": "160000"},
        "count_zero": {"installments_count": 0}, "count_too_many": {"installments_count": 121},
        "count_and_amount": {"installments_count": 2, "installment_amount": "100.00"},
        "bad_date": {"first_due_date": "2027-02-30"}, "old_date": {"first_due_date": "1899-01-01"},
        "no_first_date": {"first_due_date": None}, "period": {"period": "fortnight"}, "due_day": {"due_day": 32},
        "due_day_weekly": {"period": "week", "due_day": 5}, "rounding": {"rounding": "5"},
        "direction": {"direction": "sideways"}, "down_payment_too_big": {"down_payment": {"amount": "160000"}},
        "down_payment_negative": {"down_payment": {"amount": "-1"}},
        "down_payment_late": {"down_payment": {"amount": "1000", "due_date": "2027-03-01"}},
        "extra_zero": {"extra_charges": [{"label": "Госпошлина", "amount": "0"}]},
        "extra_bad_date": {"extra_charges": [{"label": "", "amount": "10", "due_date": "soon"}]},
        "custom_empty": {"plan": "custom", "items": []},
        "custom_sum": {"plan": "custom", "items": [{"due_date": "2027-01-01", "amount": "999.00"}]},
        "custom_row_date": {"plan": "custom", "items": [{"due_date": "2027-01-01", "amount": "80000.00"},
                                                        {"due_date": "someday", "amount": "80000.00"}]},
        "custom_row_amount": {"plan": "custom", "items": [{"due_date": "2027-01-01", "amount": "80000.00"},
                                                          {"due_date": "2027-02-01", "amount": "-1"}]},
        "custom_rows_order": {"plan": "custom", "items": [{"due_date": "2027-02-01", "amount": "80000.00"},
                                                          {"due_date": "2027-01-01", "amount": "80000.00"}]},
        "custom_row_missing_date": {"plan": "custom", "items": [{"amount": "160000.00"}]},
        "manager": {"manager_id": "boss"}, "group_too_long": {"group": "x" * 300},
    }
    for name, change in plan_changes.items():
        cases.append((f"plan_{name}", "post", preview, {**PLAN, **change}, {}))
    cases += [
        ("payment_no_plan", "post", f"/api/v1/deals/{BARE}/payments",
         {"amount": "100.00", "method": "cash", "paid_at": "2026-11-20"}, {}),
        ("payment_zero", "post", f"/api/v1/deals/{LEAD}/payments",
         {"amount": "0", "method": "cash", "paid_at": "2026-11-20"}, {}),
        ("payment_future", "post", f"/api/v1/deals/{LEAD}/payments",
         {"amount": "100.00", "method": "cash", "paid_at": _later(30)}, {}),
        ("payment_over_debt", "post", f"/api/v1/deals/{LEAD}/payments",
         {"amount": "999999.00", "method": "cash", "paid_at": "2026-11-20"}, {}),
        ("payment_method", "post", f"/api/v1/deals/{LEAD}/payments",
         {"amount": "100.00", "method": "barter", "paid_at": "2026-11-20"}, {}),
        ("payment_date_text", "post", f"/api/v1/deals/{LEAD}/payments",
         {"amount": "100.00", "method": "cash", "paid_at": "yesterday"}, {}),
        ("full_payment_no_plan", "post", f"/api/v1/deals/{BARE}/full-payment", {"method": "cash"}, {}),
        ("invoice_no_plan", "post", f"/api/v1/deals/{BARE}/invoices", {}, {}),
        ("invoice_unknown_line", "post", f"/api/v1/deals/{LEAD}/invoices", {"installment_seq": 99}, {}),
        ("template_syntax", "put", "/api/v1/account/templates/invoice",
         {"source": "<p>\n{% for line in invoice.lines %}\n{{ line.title }}"}, {"admin": True}),
        ("template_undefined", "put", "/api/v1/account/templates/invoice",
         {"source": "<p>{{ invoice.number }}</p>\n<p>{{ invoice.secret_field }}</p>"}, {"admin": True}),
        ("template_forbidden", "put", "/api/v1/account/templates/invoice",
         {"source": "{{ ''.__class__.__mro__ }}"}, {"admin": True}),
        ("settings_put_incomplete", "put", "/api/v1/account/settings", {"time_zone": "Europe/Moscow"},
         {"admin": True}),
        ("settings_time_zone", "patch", "/api/v1/account/settings", {"time_zone": "Mars/Olympus"}, {"admin": True}),
        ("settings_inn", "patch", "/api/v1/account/settings", {"requisites": {"inn": "12ab"}}, {"admin": True}),
        ("settings_reminder_row", "patch", "/api/v1/account/settings",
         {"reminders": [{"day": 1, "action": "client_email"}, {"day": 1000, "action": "dance"}]}, {"admin": True}),
        ("analytics_range", "get", "/api/v1/analytics/rows?kind=received&date_from=2026-12-01&date_to=2026-01-01",
         None, {}),
        ("analytics_long_range", "get",
         "/api/v1/analytics/rows?kind=received&date_from=2000-01-01&date_to=2026-01-01", None, {}),
        ("analytics_kind", "get", "/api/v1/analytics/rows?kind=everything", None, {}),
        ("promise_past", "post", f"/api/v1/deals/{LEAD}/dunning/promise", {"seq": 1, "date": "2026-11-01"}, {}),
        ("promise_unknown_line", "post", f"/api/v1/deals/{LEAD}/dunning/promise",
         {"seq": 77, "date": _later(10)}, {}),
        ("call_outcome", "post", f"/api/v1/deals/{LEAD}/dunning/call-outcome", {"seq": 1, "outcome": "sang"}, {}),
        ("remind_channel", "post", f"/api/v1/deals/{LEAD}/dunning/remind-now", {"seq": 1, "channel": "pigeon"}, {}),
        ("decision", "post", f"/api/v1/deals/{LEAD}/dunning/decision", {"decision": "forgive"}, {}),
        ("waive_no_reason", "post", f"/api/v1/deals/{LEAD}/dunning/waive-fee", {"seq": 1, "reason": " "}, {}),
        ("waive_not_a_fee", "post", f"/api/v1/deals/{LEAD}/dunning/waive-fee", {"seq": 1, "reason": "ошибка"}, {}),
        ("dunning_deal_unknown", "get", "/api/v1/deals/999999/dunning", None, {}),
        ("crm_options_not_connected", "get", "/api/v1/account/crm-options", None, {"admin": True}),
        ("dunning_ladder", "patch", "/api/v1/account/dunning", {"steps": [{"day": "x", "action": {"kind": "?"}}]},
         {"admin": True}),
        ("dunning_channel", "put", "/api/v1/account/dunning/channels", {"channel": "pigeon"}, {"admin": True}),
    ]
    return cases


@pytest.fixture
def sweep(account):
    from billing.services.deals import deal_get_or_create

    widget = WidgetClient(account)
    deal_get_or_create(account=account, external_id=BARE)
    response = widget.put(f"/api/v1/deals/{LEAD}/schedule", PLAN)
    assert response.status_code == 200, response.content

    def run(language: str | None) -> list[tuple[str, int, dict]]:
        answers, refused = [], []
        for name, method, path, body, extra in _bad_requests():
            headers = {} if extra.get("no_token") else (
                _admin_headers(account) if extra.get("admin") else widget.headers())
            if extra.get("token"):
                headers = {"HTTP_X_AUTH_TOKEN": extra["token"]}
            headers.update(extra.get("headers", {}))
            if language:
                headers["HTTP_ACCEPT_LANGUAGE"] = language
            call = getattr(widget.client, method)
            if body is None:
                response = call(path, **headers)
            else:
                payload = body if extra.get("raw") else json.dumps(body)
                response = call(path, payload, content_type=extra.get("content_type", "application/json"),
                                **headers)
            if response.status_code < 400 or not response["Content-Type"].startswith("application/json"):
                refused.append((name, response.status_code, response.content[:200]))
                continue
            answers.append((name, response.status_code, response.json()["error"]))
        assert not refused, f"these bad requests were not refused with the error body: {refused}"
        return answers

    return run


def _messages(error: dict) -> list[str]:
    return [error["message"], *(text for texts in error["fields"].values() for text in texts)]


def _without_kept_terms(text: str) -> str:
    for term in KEPT_LATIN:
        text = text.replace(term, " ")
    return text


def _english_or_keys(text: str) -> list[str]:
    plain = _without_kept_terms(text)
    return [*ENGLISH_WORDS.findall(plain), *FIELD_KEY.findall(plain)]


@pytest.mark.parametrize("language", ["ru", None], ids=["accept-language-ru", "no-header-ru-default"])
def test_every_error_of_the_api_reads_in_russian_without_field_keys(sweep, language):
    problems = []
    for name, status, error in sweep(language):
        for text in _messages(error):
            if not CYRILLIC.search(text):
                problems.append((name, status, "not Russian", text))
            leftovers = _english_or_keys(text)
            if leftovers:
                problems.append((name, status, leftovers, text))
    assert not problems, "\n".join(map(str, problems))


def test_row_errors_of_a_custom_plan_name_the_row_in_words(sweep):
    answers = {name: error for name, _status, error in sweep("ru")}
    assert answers["plan_custom_row_date"]["message"].startswith("Строка 2: дата платежа — ")
    assert "items.1.due_date" in answers["plan_custom_row_date"]["fields"]  # the widget marks the row by it
    assert answers["plan_custom_rows_order"]["message"] == (
        "Строка 2: дата платежа — дата должна быть позже даты предыдущей строки.")
    assert answers["plan_custom_row_amount"]["message"].startswith("Строка 2: сумма — ")
    assert answers["plan_extra_zero"]["message"].startswith("Доп. начисление 1: сумма — ")
    assert answers["plan_total_text"]["message"].startswith("Сумма — ")
    assert "160 000,00 ₽" in answers["plan_already_paid_all"]["message"] or \
        "«Уже оплачено»" in answers["plan_already_paid_all"]["message"]
    assert "\u00a0₽" in answers["plan_custom_sum"]["message"]  # money as «999,00 ₽», never 999.00


def test_the_same_errors_read_in_english_when_the_widget_asks_for_english(sweep):
    problems = []
    for name, status, error in sweep("en"):
        for text in _messages(error):
            if CYRILLIC.search(text):
                problems.append((name, status, text))
    assert not problems, "\n".join(map(str, problems))


# --- the catalogue --------------------------------------------------------------------------------------

KEYWORDS = ("gettext", "gettext_lazy", "gettext_noop", "_", "pgettext:1c,2", "pgettext_lazy:1c,2",
            "ngettext:1,2", "ngettext_lazy:1,2", "npgettext:1c,2,3", "npgettext_lazy:1c,2,3")


def _code_msgids(tmp_path: Path) -> set[str]:
    """Every message the product code marks for translation, found the way makemessages finds them."""
    sources = [str(path) for app in APPS for path in sorted((ROOT / app).rglob("*.py"))
               if "sandbox" not in path.parts and "migrations" not in path.parts]
    pot = tmp_path / "code.pot"
    subprocess.run(["xgettext", "--language=Python", "--from-code=UTF-8", "--no-location", "-o", str(pot),
                    *(f"--keyword={keyword}" for keyword in KEYWORDS), *sources], check=True)
    return {key for key in _po_entries(pot.read_text(encoding="utf-8")) if key}


def _po_entries(text: str) -> dict[str, str]:
    """{"msgctxt\\x04msgid" or "msgid": msgstr} of a .po/.pot (enough of the format for our catalogues)."""
    entries: dict[str, str] = {}
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        current = None
        for line in block.splitlines():
            found = re.match(r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[0\])?) "(.*)"$', line)
            if found:
                current = found.group(1).replace("[0]", "")
                fields[current] = found.group(2)
            elif current and re.match(r'^"(.*)"$', line):
                fields[current] += line[1:-1]
        if "msgid" in fields:
            unescape = lambda value: value.encode().decode("unicode_escape").encode("latin-1").decode()  # noqa: E731
            key = (unescape(fields["msgctxt"]) + "\x04" if "msgctxt" in fields else "") + unescape(fields["msgid"])
            entries[key] = unescape(fields.get("msgstr", ""))
    return entries


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="gettext tools are not installed")
def test_every_message_in_the_code_has_a_russian_translation_in_the_compiled_catalogue(tmp_path):
    code = _code_msgids(tmp_path)
    assert len(code) > 200, "the extraction found too little: is the keyword list right?"
    compiled: dict[str, str] = {}
    sources: dict[str, str] = {}
    for app in CATALOGUES:
        folder = ROOT / app / "locale" / "ru" / "LC_MESSAGES"
        with (folder / "django.mo").open("rb") as handle:
            compiled.update(gnu_gettext.GNUTranslations(handle)._catalog)
        sources.update(_po_entries((folder / "django.po").read_text(encoding="utf-8")))
    untranslated = sorted(key for key in code if not sources.get(key))
    assert not untranslated, f"msgids without a Russian msgstr in the .po files: {untranslated}"
    stale = sorted(key for key in code if not compiled.get(key))
    assert not stale, f"translated in .po but not compiled into .mo (run msgfmt): {stale}"


def test_business_errors_never_carry_an_inline_message():
    """ApplicationError(code, message): the message comes from the catalogue (gettext), never a literal."""
    inline = re.compile(r"\b(?:ApplicationError|NotFound|Conflict)\(\s*\"[a-z_]+\"\s*,\s*f?\"|"
                        r"\bValidationError\(\s*f?\"|\bValidationError\(\s*\{\"\w+\": \[f?\"")
    found = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "sandbox" in path.parts or "migrations" in path.parts or path.name == "sandbox.py":
                continue
            for match in inline.finditer(path.read_text(encoding="utf-8")):
                found.append(f"{path.relative_to(ROOT)}: {match.group(0)}")
    assert not found, "\n".join(found)


def test_the_engines_default_labels_and_comments_read_in_the_managers_language(account):
    from django.utils import translation

    from billing.texts import installment_label, money_text, payment_comment

    widget = WidgetClient(account)
    plan = {**PLAN, "already_paid": "10000.00", "down_payment": {"amount": "30000.00"},
            "extra_charges": [{"label": "", "amount": "500.00"}]}
    assert widget.put(f"/api/v1/deals/{LEAD}/schedule", plan).status_code == 200
    russian = widget.client.get(f"/api/v1/deals/{LEAD}", HTTP_ACCEPT_LANGUAGE="ru", **widget.headers()).json()
    labels = {line["kind"]: line["label"] for line in russian["schedule"]["installments"]}
    assert labels["down_payment"] == "Первый взнос"
    assert labels["extra"] == "Доп. начисление"
    assert [payment["comment"] for payment in russian["payments"]] == ["Получено до графика"]
    english = widget.client.get(f"/api/v1/deals/{LEAD}", HTTP_ACCEPT_LANGUAGE="en", **widget.headers()).json()
    assert {line["kind"]: line["label"] for line in english["schedule"]["installments"]}["down_payment"] == \
        "Down payment"
    with translation.override("ru"):
        assert money_text("160000") == "160\u00a0000,00\u00a0₽"
        assert payment_comment("Received before the plan") == "Получено до графика"
        assert payment_comment("CloudPayments, invoice 2026-000001, card *4242 (test mode)") == \
            "CloudPayments, счёт № 2026-000001, карта *4242 (тестовый режим)"
        assert installment_label("regular", "Installment") == "Платёж по графику"
        assert installment_label("extra", "Госпошлина") == "Госпошлина"


# --- pages and documents --------------------------------------------------------------------------------

def _catalogue_entries() -> dict[str, str]:
    entries: dict[str, str] = {}
    for app in (*CATALOGUES, "client_portal"):
        folder = ROOT / app / "locale" / "ru" / "LC_MESSAGES"
        entries.update(_po_entries((folder / "django.po").read_text(encoding="utf-8")))
    return entries


def _django_templates() -> list[Path]:
    """Server-rendered pages a client or manager reads (the Jinja document templates are checked in
    tests/documents/test_document_languages.py)."""
    return sorted(path for app in (*APPS, "client_portal") for path in (ROOT / app).rglob("templates/**/*.html")
                  if "templates_default" not in path.parts)


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="gettext tools are not installed")
def test_every_word_of_the_server_rendered_pages_has_a_russian_translation(tmp_path):
    from django.utils.translation.template import templatize

    sources = []
    for number, path in enumerate(_django_templates()):
        source = tmp_path / f"page{number}.py"
        source.write_text(templatize(path.read_text(encoding="utf-8"), origin=str(path)), encoding="utf-8")
        sources.append(str(source))
    pot = tmp_path / "pages.pot"
    subprocess.run(["xgettext", "--language=Python", "--from-code=UTF-8", "--no-location", "-o", str(pot),
                    *(f"--keyword={keyword}" for keyword in KEYWORDS), *sources], check=True)
    msgids = {key for key in _po_entries(pot.read_text(encoding="utf-8")) if key}
    assert len(msgids) > 50
    catalogue = _catalogue_entries()
    untranslated = sorted(key for key in msgids if not catalogue.get(key))
    assert not untranslated, f"page words without a Russian msgstr: {untranslated}"


# Bilingual by design: the amoCRM install result is read before the account has chosen a language.
BILINGUAL_PAGES = {"installed.html", "install_failed.html"}
LANGUAGE_NAMES = ("Русский",)


def test_no_server_rendered_page_carries_fixed_russian_outside_the_catalogue():
    found = []
    for path in _django_templates():
        if path.name in BILINGUAL_PAGES:
            continue
        text = path.read_text(encoding="utf-8")
        for name in LANGUAGE_NAMES:
            text = text.replace(name, "")
        found += [f"{path.relative_to(ROOT)}: {word}" for word in re.findall(r"[А-Яа-яЁё]+", text)]
    assert not found, found
