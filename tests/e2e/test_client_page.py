"""The client's own page in Chromium, at phone width (360 px) and on a desktop, in Russian and English:
pay the next line and everything in the CloudPayments sandbox, approve a restructuring the manager proposed,
sign up through the registration form and land on the plan; a bad link is a friendly 404."""
import re

import pytest
from playwright.sync_api import expect

from billing.client_links import client_page_path, registration_token
from billing.demo import DEMO_CP_SECRET
from billing.domain.schedule import PlanRequest
from billing.models import ClientRegistration, Deal, Invoice
from billing.services.proposals import options_of, proposal_create
from billing.time import account_today
from sandboxes.cloudpayments import SandboxServer
from tests.crm.conftest import crm_settings, install, make_sandbox  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SCHOOL_LEAD = 17651  # active: 160 000 planned, 25 000 received
PHONE = {"width": 360, "height": 780}


@pytest.fixture
def cloudpayments(live_server, settings, demo):
    server = SandboxServer(
        {demo.cloudpayments_public_id: (DEMO_CP_SECRET, demo.webhook_key)},
        notify_url_template=f"{live_server.url}/webhooks/cloudpayments/{{account_key}}/{{kind}}",
        notify_time_factor="0.01", notify_attempts=3, notify_timeout=10,
    ).start()
    settings.CLOUDPAYMENTS_API_URL = server.url + "/"
    settings.CLOUDPAYMENTS_BACKOFF = 0.01
    settings.PAYPLAN_PUBLIC_ORIGIN = live_server.url  # the order's way back is the client page
    yield server
    server.stop()


def school_page(live_server, lang: str = "") -> str:
    deal = Deal.objects.get(external_id=SCHOOL_LEAD)
    return live_server.url + client_page_path(deal) + (f"?lang={lang}" if lang else "")


def fits(page, width: int) -> None:
    """Nothing wider than the screen: the main column and every button stay inside it."""
    assert page.locator("main").bounding_box()["width"] <= width
    for button in page.locator("button:visible").all():
        box = button.bounding_box()
        assert box["x"] >= 0, box
        assert box["x"] + box["width"] <= width + 0.5, box


def test_pay_the_next_payment_on_a_phone_in_russian(page, live_server, cloudpayments, artifacts):
    page.set_viewport_size(PHONE)
    page.goto(school_page(live_server))
    expect(page.locator("h1")).to_be_visible()
    expect(page.locator('[data-figure="remaining"]')).to_have_text(re.compile(r"135\s000,00\s₽"))
    fits(page, PHONE["width"])
    page.screenshot(path=str(artifacts / "client-page-phone.png"), full_page=True)
    before = page.locator('[data-status="paid"]').count()

    page.get_by_role("button", name="Оплатить следующий платёж", exact=True).click()
    expect(page.get_by_role("button", name="Pay")).to_be_visible()  # «Перейти к оплате» (link + meta refresh)
    page.get_by_role("button", name="Pay").click()
    page.get_by_role("link", name="Back to the shop").click()

    expect(page.locator('[data-figure="paid"]')).not_to_have_text(re.compile(r"^25\s000"))
    expect(page.locator('[data-status="paid"]')).to_have_count(before + 1)
    assert Invoice.objects.filter(deal__external_id=SCHOOL_LEAD, status="paid").count() == 1


def test_pay_everything_on_a_desktop_in_english(page, live_server, cloudpayments):
    page.goto(school_page(live_server, "en"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("button", name=re.compile(r"^Pay everything")).click()
    expect(page.get_by_role("button", name="Pay")).to_be_visible()  # the meta refresh goes there by itself
    page.get_by_role("button", name="Pay").click()
    page.get_by_role("link", name="Back to the shop").click()
    expect(page.locator("[data-paid-in-full]")).to_be_visible()  # back on the page (its default language)
    expect(page.locator('[data-figure="remaining"]')).to_have_text(re.compile(r"^0\.00\s₽$"))  # English: «0.00 ₽»
    assert Deal.objects.get(external_id=SCHOOL_LEAD).status == "paid"


@pytest.mark.parametrize(("viewport", "lang", "approve_label", "done"), [
    (PHONE, "", "Согласиться с новым графиком", "новый график действует"),
    ({"width": 1280, "height": 800}, "en", "Approve the new plan", "the new plan is in force"),
])
def test_approve_a_restructuring_the_manager_proposed(page, live_server, demo, viewport, lang, approve_label, done):
    deal = Deal.objects.get(external_id=SCHOOL_LEAD)
    schedule = deal.schedules.get(is_active=True)
    today = account_today(demo)
    proposal_create(deal=deal, plan_request=PlanRequest(
        plan="equal", total=schedule.total, already_paid=schedule.already_paid, installments_count=8,
        first_due_date=today.replace(day=1).replace(month=today.month % 12 + 1,
                                                    year=today.year + (today.month == 12))),
        options=options_of(deal=deal, schedule=schedule), proposed_by=1)
    page.set_viewport_size(viewport)
    page.goto(school_page(live_server, lang))
    proposal = page.locator('[data-proposal="pending"]')
    expect(proposal.locator("[data-changes] tbody tr").first).to_be_visible()
    fits(page, viewport["width"])
    proposal.get_by_role("button", name=approve_label).focus()
    page.keyboard.press("Enter")  # keyboard only
    expect(page.locator("[data-flash]")).to_contain_text(done)
    assert deal.schedules.get(is_active=True).version == schedule.version + 1


def test_register_and_land_on_the_plan_on_a_phone(page, live_server, demo, settings, artifacts):
    sandbox = make_sandbox(settings)
    settings.AMOCRM_REDIRECT_URI = sandbox.redirect_uri
    try:
        assert install(sandbox).status_code == 200
        page.set_viewport_size(PHONE)
        page.goto(f"{live_server.url}/register/{registration_token(demo.pk)}")
        page.get_by_label("Имя").fill("Вера Новая")
        page.get_by_label("Телефон").fill("+7 999 000-11-22")
        page.get_by_label("Эл. почта для счетов и чеков").fill("vera@example.ru")
        page.get_by_label("Курс «Массаж»").check()
        page.get_by_label("Я согласен(на) на обработку моих персональных данных").check()
        fits(page, PHONE["width"])
        page.screenshot(path=str(artifacts / "register-phone.png"), full_page=True)
        page.get_by_role("button", name="Зарегистрироваться и увидеть график").click()
        expect(page.locator('[data-figure="total"]')).to_have_text(re.compile(r"48\s000,00\s₽"))
        expect(page.locator("[data-plan] tbody tr")).to_have_count(3)
        registration = ClientRegistration.objects.get()
        assert registration.status == "done"
        lead = sandbox.account().leads[registration.crm_external_id]
        assert "Вера Новая" in lead.name
    finally:
        sandbox.stop()


@pytest.mark.parametrize("lang", ["", "en"])
def test_a_bad_link_is_a_friendly_404(page, live_server, lang):
    response = page.goto(f"{live_server.url}/p/forged.token{'?lang=en' if lang else ''}")
    assert response.status == 404
    expect(page.locator("h1")).to_have_text("This link does not work" if lang else "Ссылка не работает")


def test_the_card_shows_copies_and_rotates_the_link_and_proposes_a_plan(page, open_demo, live_server, settings):
    settings.PAYPLAN_PUBLIC_ORIGIN = live_server.url
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = open_demo(lead=SCHOOL_LEAD)
    block = page.locator("#payplan-panel [data-client-page]")
    url = block.locator("[data-client-page-url]")
    expect(url).to_have_value(re.compile(r"/p/"))
    old = url.input_value()
    block.locator('[data-payplan-action="client-page-copy"]').click()
    expect(page.locator("#payplan-panel .payplan-flash")).to_have_text("Ссылка скопирована")
    block.locator('[data-payplan-action="client-page-rotate"]').click()
    expect(url).not_to_have_value(old)
    assert page.request.get(old).status == 404
    assert page.request.get(url.input_value()).status == 200

    page.locator('#payplan-panel [data-payplan-action="schedule"]').click()
    schedule = page.locator('.payplan-dialog[data-dialog="schedule"]')
    schedule.locator('[name="installments_count"]').fill("9")
    schedule.locator('[data-payplan-action="propose"]').click()
    expect(page.locator("#payplan-panel [data-proposal-state]")).to_have_attribute("data-proposal-state", "pending")
    client = page.context.new_page()
    client.goto(page.locator("#payplan-panel [data-client-page-url]").input_value())
    expect(client.locator('[data-proposal="pending"]')).to_be_visible()
    client.close()


def test_switch_autopay_on_and_off_on_a_phone_in_russian(page, live_server, demo, artifacts):
    """[E] point 2 / [F] point 1: the saved card, the consent box, «Включить» and «Отключить», CSRF and CSP on."""
    from django.utils import timezone

    from billing.models import SavedCard, Schedule
    from billing.services.autopay import token_digest

    deal = Deal.objects.get(external_id=SCHOOL_LEAD)
    Schedule.objects.filter(deal=deal, is_active=True).update(autopay=True)
    card = SavedCard.objects.create(
        account=demo, deal=deal, token="tk_e2e_4242", token_digest=token_digest("tk_e2e_4242"),
        public_id=demo.cloudpayments_public_id, gateway_account_id=str(deal.external_id), card_first_six="424242",
        card_last_four="4242", card_exp="09/28", card_type="Visa")
    page.set_viewport_size(PHONE)
    page.goto(school_page(live_server))
    section = page.locator('[data-autopay="off"]')
    expect(section.locator("[data-autopay-terms]")).to_contain_text("•••• 4242")
    fits(page, PHONE["width"])
    section.get_by_label(re.compile("Я согласен")).check()
    section.get_by_role("button", name="Включить автоплатёж").click()
    expect(page.locator("[data-autopay-card]")).to_have_text("Автоплатёж включён: карта •••• 4242, до 09/28")
    card.refresh_from_db()
    assert (card.status, card.consent_source) == ("active", "client_page")
    assert card.consent_ip
    assert card.consented_at <= timezone.now()
    page.screenshot(path=str(artifacts / "client-page-autopay-on-phone.png"), full_page=True)
    page.get_by_role("button", name="Отключить автоплатёж").click()
    expect(page.locator('[data-flash="autopay_off"]')).to_be_visible()
    expect(page.locator('[data-autopay="off"]')).to_be_visible()
    card.refresh_from_db()
    assert (card.status, card.disabled_by) == ("disabled", "client")
