"""Client answer links: signed, expiring, per line; GET shows, POST acts; forged or old → friendly 404."""
import re
from datetime import date, timedelta

import pytest
import time_machine
from django.test import Client

from billing.dunning.links import answer_links, answer_token
from billing.dunning.models import ClientAnswer, DunningLine
from tests.dunning.conftest import at, events, make_account, make_deal, tick


@pytest.fixture
def line(school):
    make_deal(school)
    with time_machine.travel(at(school, "2026-12-02 10:00"), tick=False):
        tick(at(school, "2026-12-02 10:00"))
    return DunningLine.objects.get(seq=1)


def path(url: str) -> str:
    return url.removeprefix("https://payplan.test")


def test_paid_link_shows_a_russian_page_and_a_post_records_the_claim(school, line):
    links = answer_links(account_id=school.pk, line_id=line.pk)
    client = Client()
    with time_machine.travel(at(school, "2026-12-03 12:00"), tick=False):
        page = client.get(path(links["paid"]))
        assert page.status_code == 200
        html = page.content.decode()
        assert 'lang="ru"' in html
        assert "25\u00a0000,00\u00a0₽" in html  # billing.texts.money_text: non-breaking spaces
        assert "05.12.2026" in html
        assert 'name="viewport"' in html
        assert not ClientAnswer.objects.exists()  # opening the link changes nothing
        done = client.post(path(links["paid"]))
    assert done.status_code == 200
    assert "Спасибо" in done.content.decode()
    [answered] = events("client_answered")
    assert (answered["answer"], answered["seq"], answered["responsible_user_id"]) == ("paid", 1, 501)
    line.refresh_from_db()
    assert line.paused_until == date(2026, 12, 6)  # three days to see the money arrive


def test_postpone_within_the_limit_shifts_and_beyond_it_asks_the_manager(school, line):
    links = answer_links(account_id=school.pk, line_id=line.pk)
    client = Client()
    with time_machine.travel(at(school, "2026-12-03 12:00"), tick=False):
        form = client.get(path(links["postpone"]))
        assert 'type="date"' in form.content.decode()
        assert 'for="date"' in form.content.decode()
        bad = client.post(path(links["postpone"]), {"date": "вчера"})
        assert bad.status_code == 422
        assert "Выберите дату" in bad.content.decode()
        past = client.post(path(links["postpone"]), {"date": "2026-12-01"})
        assert past.status_code == 422
        ok = client.post(path(links["postpone"]), {"date": "2026-12-10"})
        assert "перенесён на 10.12.2026" in ok.content.decode()
        again = client.post(path(links["postpone"]), {"date": "2026-12-11"})
        assert "передали менеджеру" in again.content.decode()
    line.refresh_from_db()
    assert line.shift_days == 5
    assert [(e["accepted"], e["needs_manager"]) for e in events("client_answered")] == [(True, False), (False, True)]


@pytest.mark.parametrize("token", ["forged", "WzEsMV0:1vJ8Qd:bad-signature-here"])
def test_a_forged_link_is_a_friendly_404_with_no_effect(school, line, token):
    for suffix in ("paid", "postpone"):
        response = Client().post(f"/r/{token}/{suffix}", {"date": "2026-12-08"})
        assert response.status_code == 404
        assert "Ссылка не работает" in response.content.decode()
    assert not ClientAnswer.objects.exists()


def test_an_expired_link_is_a_friendly_404(school, line, settings):
    with time_machine.travel(at(school, "2026-12-02 10:00"), tick=False):
        links = answer_links(account_id=school.pk, line_id=line.pk)
    later = at(school, "2026-12-02 10:00") + timedelta(days=settings.DUNNING_ANSWER_LINK_MAX_AGE_DAYS, minutes=1)
    with time_machine.travel(later, tick=False):
        response = Client().post(path(links["paid"]))
    assert response.status_code == 404
    assert not ClientAnswer.objects.exists()


def test_a_token_names_its_account_so_another_accounts_line_is_not_found(school, line):
    other = make_account(7654321, "lawyers")
    token = answer_token(account_id=other.pk, line_id=line.pk)
    assert Client().post(f"/r/{token}/paid").status_code == 404
    assert not ClientAnswer.objects.exists()


def test_the_operator_command_runs_a_day_in_every_accounts_calendar(school):
    from io import StringIO

    from django.core import mail
    from django.core.management import call_command

    make_deal(school, lead_id=4242)
    out = StringIO()
    call_command("payplan_dunning_run", "--date", "2026-12-05", "--time", "18:30", stdout=out)
    call_command("payplan_dunning_run", "--date", "2026-12-05", "--time", "18:30", stdout=out)
    assert "overdue recorded 1" in out.getvalue()
    assert len(mail.outbox) == 1
    assert len(events("installment_overdue")) == 1


CYRILLIC = re.compile(r"[А-Яа-яЁё]")


def _visible(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", re.sub(r"<(style|head)\b.*?</\1>", " ", html, flags=re.S)).split())


def _english(school) -> None:
    school.settings = {**school.settings, "language": "en"}
    school.save(update_fields=["settings"])


def test_an_english_account_s_answer_pages_read_in_english_from_the_catalogue(school, line):
    _english(school)
    links = answer_links(account_id=school.pk, line_id=line.pk)
    client = Client()
    with time_machine.travel(at(school, "2026-12-03 12:00"), tick=False):
        html = client.get(path(links["paid"])).content.decode()
        assert 'lang="en"' in html
        assert "Have you already paid?" in html
        assert "25,000.00\u00a0₽" in html
        assert "2026-12-05" in html
        form = client.get(path(links["postpone"])).content.decode()
        assert "When will you pay?" in form
        bad = client.post(path(links["postpone"]), {"date": "soon"})
        assert bad.status_code == 422
        assert "Choose the date in the calendar." in bad.content.decode()
        past = client.post(path(links["postpone"]), {"date": "2026-12-01"}).content.decode()
        assert "Choose a date after 2026-12-05." in past
        done = client.post(path(links["postpone"]), {"date": "2026-12-10"}).content.decode()
        assert "has been moved to 2026-12-10" in done
        paid = client.post(path(links["paid"])).content.decode()
        assert "Thank you!" in paid
    for page in (html, form, past, done, paid):
        text = _visible(page).replace("Иванова Мария", "")  # the client's own name stays as the CRM has it
        assert not CYRILLIC.search(text), text


def test_lang_in_the_address_overrides_the_account_s_language_both_ways(school, line):
    links = answer_links(account_id=school.pk, line_id=line.pk)
    client = Client()
    with time_machine.travel(at(school, "2026-12-03 12:00"), tick=False):
        english = client.get(path(links["paid"]) + "?lang=en").content.decode()
        assert "Have you already paid?" in english
        assert "Вы уже оплатили" not in english
        _english(school)
        russian = client.get(path(links["paid"]) + "?lang=ru").content.decode()
        assert "Вы уже оплатили?" in russian
        assert 'lang="ru"' in russian
        forged = client.get(path(links["paid"]).replace("/r/", "/r/x") + "?lang=en")
        assert forged.status_code == 404
        assert "The link does not work" in forged.content.decode()
    assert not ClientAnswer.objects.exists()
