"""What managers read in amoCRM (notes, tasks, the sign-up lead's name) comes from the catalogue in the
account's language: every note and task PayPlan writes has an English source and a Russian translation, the
Russian one reads exactly as before, and sums and dates follow the language."""
import re
import string
from datetime import date
from decimal import Decimal

import pytest
from django.utils import translation

from crm import texts

CYRILLIC = re.compile(r"[А-Яа-яЁё]")


def _values(template: str) -> dict:
    return {name: "x" for _text, name, _spec, _conv in string.Formatter().parse(template) if name}


@pytest.mark.parametrize(("table", "render"), [(texts.NOTES, texts.note_text), (texts.TASKS, texts.task_text)])
def test_every_note_and_task_reads_in_both_languages_from_the_catalogue(table, render):
    legacy = texts.catalog()["notes" if table is texts.NOTES else "tasks"]
    assert set(legacy) <= set(table), f"notes or tasks only in i18n/ru.json: {sorted(set(legacy) - set(table))}"
    for name, source in table.items():
        with translation.override("en"):
            english = render(name, **_values(source))
        with translation.override("ru"):
            russian = render(name, **_values(source))
        assert not CYRILLIC.search(english), (name, english)
        assert CYRILLIC.search(russian), (name, russian)
        if name in legacy:  # the Russian text reads as it did (a catalogued note may have grown since)
            assert russian.startswith(legacy[name].format(**_values(source))), name


def test_sums_dates_and_words_follow_the_language():
    with translation.override("ru"):
        assert texts.money_text(Decimal("25000.5")) == "25\u00a0000,50\u00a0₽"
        assert texts.date_text(date(2026, 12, 5)) == "05.12.2026"
        assert texts.autopay_by_text("manager:17") == "менеджером"
        assert texts.registration_lead_name(name="Мария", template="Курс") == "Заявка с сайта: Мария (Курс)"
    with translation.override("en"):
        assert texts.money_text(Decimal("25000.5")) == "25,000.50\u00a0₽"
        assert texts.date_text("2026-12-05") == "2026-12-05"
        assert texts.autopay_by_text("client") == "by the client"
        assert texts.registration_lead_name(name="Maria", template="Course") == "Website application: Maria (Course)"
