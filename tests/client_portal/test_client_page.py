"""The client page: signed per-deal links, the plan in Russian (English on ask), pay next / pay all."""
import re
from datetime import timedelta

import pytest
import time_machine
from django.core import signing

from billing.client_links import SALT
from billing.models import Invoice
from billing.services.client_page import client_link_rotate
from tests.client_links import client_pages_linked
from tests.client_portal.conftest import make_deal, page_path

pytestmark = pytest.mark.django_db


def payment_link(response) -> str:
    """The payment page the «go to payment» page sends the client to (a link: the CSP forbids a redirect)."""
    return re.search(r'href="([^"]+)" data-payment-link', response.content.decode())[1]


def test_the_page_shows_the_plan_in_russian_without_the_crm_title(client, deal):
    response = client.get(page_path(deal))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'lang="ru"' in html
    assert 'name="viewport"' in html
    assert "05.12.2026" in html
    assert "10\u00a0000,00\u00a0₽" in html
    assert "30\u00a0000,00\u00a0₽" in html  # total and remaining
    assert "Оплатить следующий платёж" in html
    assert "Оплатить всё" in html
    assert "ВНУТР" not in html  # the lead's CRM title is the manager's note, never the client's
    assert "<script" not in html
    assert response["Content-Security-Policy"]


def test_english_on_request(client, deal):
    html = client.get(page_path(deal) + "?lang=en").content.decode()
    assert 'lang="en"' in html
    assert "Pay the next payment" in html
    assert "Remaining" in html


@pytest.mark.parametrize("token", ["nonsense", "WzEsMV0:1vXXXX:forged", ""])
def test_bad_tokens_get_a_friendly_404_that_names_nothing(client, deal, token):
    response = client.get(f"/p/{token}x")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Ссылка не работает" in html
    assert "Анна" not in html
    assert "30\u00a0000" not in html


def test_a_rotated_link_is_revoked_and_the_new_one_works(client, deal):
    old = page_path(deal)
    client_link_rotate(deal=deal)
    assert client.get(old).status_code == 404
    assert client.get(page_path(deal)).status_code == 200


def test_an_expired_link_is_a_404(client, deal, settings):
    path = page_path(deal)
    with time_machine.travel(timedelta(days=settings.PAYPLAN_CLIENT_LINK_MAX_AGE_DAYS + 1)):
        assert client.get(path).status_code == 404


def test_a_token_for_one_deal_never_shows_another(client, account, other_account):
    mine = make_deal(account, lead_id=1)
    theirs = make_deal(other_account, lead_id=2)
    theirs.contact_name = "Борис Чужой"
    theirs.save()
    html = client.get(page_path(mine)).content.decode()
    assert "Анна Иванова" in html
    assert "Борис" not in html
    # A token re-signed with another salt or for another id does not verify.
    forged = signing.dumps([theirs.pk, 1], salt="something else")
    assert client.get(f"/p/{forged}").status_code == 404
    # Documents: another deal's invoice id through my token is a 404.
    invoice_path = page_path(mine) + f"/documents/receipt/{theirs.pk}.pdf"
    assert client.get(invoice_path).status_code == 404
    assert signing.loads(page_path(mine).removeprefix("/p/"), salt=SALT) == [mine.pk, 1]


def test_pay_next_issues_the_invoice_once_and_goes_to_its_payment_page(client, deal, gateway):
    first = client.post(page_path(deal) + "/pay/next")
    assert first.status_code == 200
    link = payment_link(first)
    assert link.startswith("https://pay.test/d/")
    again = client.post(page_path(deal) + "/pay/next")
    assert payment_link(again) == link
    assert "Перейти к оплате" in first.content.decode()
    invoice = Invoice.objects.get()
    assert (invoice.amount, invoice.installment.seq, invoice.covers_remainder) == (10000, 1, False)
    order = gateway.calls[0][1]
    assert client_pages_linked(order.success_redirect_url) == [deal.pk]
    assert "ВНУТР" not in order.description


def test_pay_all_issues_one_invoice_for_the_whole_remainder_and_reuses_it(client, deal, gateway):
    client.post(page_path(deal) + "/pay/next")
    first = client.post(page_path(deal) + "/pay/all")
    assert first.status_code == 200
    again = client.post(page_path(deal) + "/pay/all")
    assert payment_link(again) == payment_link(first)
    remainder = Invoice.objects.get(covers_remainder=True)
    assert (remainder.amount, remainder.installment.seq, remainder.status) == (30000, 3, "issued")
    assert Invoice.objects.filter(status__in=Invoice.LIVE_STATUSES).count() == 2  # next line's + the remainder


def test_paying_the_remainder_invoice_pays_the_deal(client, deal, gateway):
    from billing.services.payments import PaymentInput, payment_record_from_gateway

    client.post(page_path(deal) + "/pay/all")
    invoice = Invoice.objects.get(covers_remainder=True)
    payment_record_from_gateway(deal=deal, amount=invoice.amount, payment=PaymentInput(
        method="cloudpayments", paid_at=deal.created_at.date(), transaction_id="tx1", invoice_id=invoice.pk))
    html = client.get(page_path(deal)).content.decode()
    assert "Всё оплачено" in html
    assert html.count('data-status="paid"') == 3


def test_a_stale_remainder_invoice_is_cancelled_when_other_money_arrives(client, deal, gateway):
    from decimal import Decimal

    from billing.services import PaymentInput, payment_record

    client.post(page_path(deal) + "/pay/all")
    payment_record(deal=deal, amount=Decimal("5000.00"),
                   payment=PaymentInput(method="cash", paid_at=deal.created_at.date(), recorded_by=1))
    assert Invoice.objects.get(covers_remainder=True).status == "cancelled"
    client.post(page_path(deal) + "/pay/all")
    assert Invoice.objects.get(covers_remainder=True, status="issued").amount == Decimal("25000.00")


def test_the_way_back_from_the_payment_page_keeps_the_clients_language(client, deal, gateway):
    paying = client.post(page_path(deal) + "/pay/next", {"lang": "en"})
    assert paying.status_code == 200
    assert 'lang="en"' in paying.content.decode()
    back = gateway.calls[0][1].success_redirect_url  # the gateway sends the client here, with no language of its own
    path = back[back.index("/p/"):]
    returned = client.get(path).content.decode()
    assert 'lang="en"' in returned
    assert "Pay the next payment" in returned
    failed = client.get(gateway.calls[0][1].fail_redirect_url[back.index("/p/"):]).content.decode()
    assert 'lang="en"' in failed


def test_switching_back_to_russian_is_remembered_too(client, deal):
    assert 'lang="en"' in client.get(page_path(deal) + "?lang=en").content.decode()
    english = client.get(page_path(deal)).content.decode()
    assert re.search(r'href="/p/[^"?]+\?lang=ru"', english)  # the switch names its language
    assert 'lang="ru"' in client.get(page_path(deal) + "?lang=ru").content.decode()
    assert "Оплатить следующий платёж" in client.get(page_path(deal)).content.decode()


def test_a_new_visitor_reads_russian(client, deal):
    html = client.get(page_path(deal)).content.decode()
    assert 'lang="ru"' in html
    assert client.cookies.get("payplan_lang") is None
def test_an_interest_plan_shows_the_interest_of_each_line_and_over_the_term(account, client):
    from datetime import date
    from decimal import Decimal

    from billing.domain.schedule import PlanRequest
    from billing.services import ScheduleOptions, schedule_replace

    deal = make_deal(account, lead_id=7090)
    schedule_replace(deal=deal, plan_request=PlanRequest(
        plan="annuity", total=Decimal("100000"), installments_count=12, first_due_date=date(2027, 2, 1),
        annual_rate=Decimal("12"), day_count="30/360"), options=ScheduleOptions(), created_by=1,
        today=date(2026, 11, 24))
    html = client.get(page_path(deal)).content.decode()
    assert "в т. ч. проценты 1\u00a0000,00" in html
    assert "Проценты за весь срок: 6\u00a0618,53" in html
    assert "Эффективная ставка: 12," in html
