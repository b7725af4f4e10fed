"""A manager's day in the demo amoCRM page, with the widget loaded unchanged from frontend_widget/."""
import re
from datetime import timedelta
from decimal import Decimal

import openpyxl
import pytest
from playwright.sync_api import expect

from billing.demo import DEMO_CP_SECRET
from billing.models import Account, Deal, Payment, Schedule
from billing.time import account_today
from sandboxes.cloudpayments import SandboxServer

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NEW_LEAD = 17658  # no plan yet
SCHOOL_LEAD = 17651  # active: 160 000 planned, 25 000 received
OVERDUE_LEAD = 17652


def text(locator) -> str:
    return locator.inner_text().replace("\xa0", " ").strip()


def panel(page):
    return page.locator("#payplan-panel")


def dialog(page, kind: str):
    return page.locator(f'.payplan-dialog[data-dialog="{kind}"]')


def open_schedule_dialog(open_demo, lead: int):
    page = open_demo(lead=lead)
    panel(page).locator('[data-payplan-action="schedule"]').click()
    expect(dialog(page, "schedule")).to_be_visible()
    return page


def versions(lead: int) -> int:
    return Schedule.objects.filter(deal__external_id=lead).count()


def test_a_schedule_is_previewed_while_typing_and_a_double_click_saves_one_version(open_demo, artifacts):
    page = open_schedule_dialog(open_demo, NEW_LEAD)
    form = dialog(page, "schedule")
    form.locator('[name="total"]').fill("120000")
    form.locator('[name="installments_count"]').fill("4")
    expect(form.locator(".payplan-preview-line")).to_have_count(4)
    expect(form.locator('[data-preview="debt"]')).to_have_text(re.compile(r"120\s000"))
    form.locator('[name="installments_count"]').fill("6")
    form.locator('[name="group"]').fill("Поток 2027-01")
    expect(form.locator(".payplan-preview-line")).to_have_count(6)
    expect(form.locator('[data-preview="monthly"]')).to_have_text(re.compile(r"20\s000"))
    form.screenshot(path=str(artifacts / "schedule-dialog.png"))

    form.locator('[data-payplan-action="save"]').dblclick()

    expect(dialog(page, "schedule")).to_have_count(0)
    expect(panel(page).locator("[data-deal-status]")).to_have_text("По графику")
    expect(panel(page).locator(".payplan-line")).to_have_count(6)
    expect(panel(page).locator(".payplan-flash")).to_have_text("График сохранён")
    assert versions(NEW_LEAD) == 1
    assert Deal.objects.get(external_id=NEW_LEAD).group == "Поток 2027-01"


def test_bad_input_shows_the_api_message_beside_the_field_and_saves_nothing(open_demo):
    page = open_schedule_dialog(open_demo, NEW_LEAD)
    form = dialog(page, "schedule")
    form.locator('[name="total"]').fill("abc")
    form.locator('[data-payplan-action="save"]').click()
    # The browser speaks Russian, so DRF answers in Russian (LocaleMiddleware).
    expect(form.locator('[data-error-for="total"]')).to_have_text("Требуется численное значение.")

    form.locator('[name="total"]').fill("100")
    form.locator('[name="already_paid"]').fill("200")
    form.locator('[data-payplan-action="save"]').click()
    expect(form.locator('[data-error-for="already_paid"]')).to_contain_text("меньше суммы")
    expect(form.locator('[data-error-for="total"]')).to_be_hidden()
    assert versions(NEW_LEAD) == 0


def test_a_lost_answer_is_retried_with_the_same_idempotency_key_and_applied_once(open_demo):
    page = open_schedule_dialog(open_demo, NEW_LEAD)
    keys = []

    def lose_the_first_answer(route):
        keys.append(route.request.headers.get("idempotency-key"))
        if len(keys) == 1:
            route.fetch()  # the server saves the plan ...
            route.abort()  # ... and its answer never reaches the browser
        else:
            route.continue_()

    page.route(f"**/api/v1/deals/{NEW_LEAD}/schedule", lose_the_first_answer)
    form = dialog(page, "schedule")
    form.locator('[name="total"]').fill("90000")
    form.locator('[name="installments_count"]').fill("3")
    form.locator('[data-payplan-action="save"]').click()
    expect(form.locator(".payplan-alert")).to_contain_text("повторный запрос не будет проведён дважды")
    assert versions(NEW_LEAD) == 1

    form.locator('[data-payplan-action="save"]').click()
    expect(dialog(page, "schedule")).to_have_count(0)
    expect(panel(page).locator(".payplan-line")).to_have_count(3)
    assert versions(NEW_LEAD) == 1
    assert len(keys) == 2
    assert keys[0]
    assert keys[0] == keys[1]


def test_an_offline_payment_shows_the_new_debt_first_and_a_refused_amount_beside_the_field(open_demo):
    page = open_demo(lead=SCHOOL_LEAD)
    expect(panel(page).locator('[data-figure="debt"]')).to_have_text(re.compile(r"135\s000"))
    before = Payment.objects.filter(deal__external_id=SCHOOL_LEAD).count()
    panel(page).locator('[data-payplan-action="payment"]').click()
    form = dialog(page, "payment")

    form.locator('[name="amount"]').fill("999999")
    expect(form.locator("[data-new-debt]")).to_contain_text("больше долга")
    form.locator('[data-payplan-action="save"]').click()
    expect(form.locator('[data-error-for="amount"]')).to_contain_text("больше долга")

    form.locator('[name="amount"]').fill("15000")
    assert text(form.locator("[data-new-debt]")) == "120 000,00 ₽"
    form.locator('[name="method"]').select_option("bank_transfer")
    form.locator('[name="comment"]').fill("перевод от родителей")
    form.locator('[data-payplan-action="save"]').click()

    expect(dialog(page, "payment")).to_have_count(0)
    expect(panel(page).locator('[data-figure="debt"]')).to_have_text(re.compile(r"120\s000"))
    expect(panel(page).locator(".payplan-flash")).to_contain_text("Платёж проведён")
    payments = Payment.objects.filter(deal__external_id=SCHOOL_LEAD)
    assert payments.count() == before + 1
    assert payments.latest("id").amount == Decimal("15000.00")


def test_a_double_clicked_full_payment_records_one_payment_and_the_panel_says_paid(open_demo):
    page = open_demo(lead=OVERDUE_LEAD)
    expect(panel(page).locator('[data-figure="overdue"]')).to_be_visible()
    before = Payment.objects.filter(deal__external_id=OVERDUE_LEAD).count()
    panel(page).locator('[data-payplan-action="full"]').click()
    form = dialog(page, "full")
    expect(form.locator("[data-full-amount]")).to_have_text(re.compile(r"60\s000"))

    form.locator('[data-payplan-action="save"]').dblclick()

    expect(panel(page).locator("[data-deal-status]")).to_have_text("Оплачено")
    expect(panel(page).locator('[data-figure="debt"]')).to_have_text(re.compile(r"^0,00\s₽$"))
    expect(panel(page).locator('[data-payplan-action="full"]')).to_have_count(0)
    assert Payment.objects.filter(deal__external_id=OVERDUE_LEAD).count() == before + 1
    assert Deal.objects.get(external_id=OVERDUE_LEAD).status == "paid"


@pytest.fixture
def cloudpayments(live_server, settings, demo):
    server = SandboxServer(
        {demo.cloudpayments_public_id: (DEMO_CP_SECRET, demo.webhook_key)},
        notify_url_template=f"{live_server.url}/webhooks/cloudpayments/{{account_key}}/{{kind}}",
        notify_time_factor="0.01", notify_attempts=3, notify_timeout=10,
    ).start()
    settings.CLOUDPAYMENTS_API_URL = server.url + "/"
    settings.CLOUDPAYMENTS_BACKOFF = 0.01
    yield server
    server.stop()


def test_an_invoice_sent_now_is_paid_online_in_the_cloudpayments_sandbox(open_demo, cloudpayments, artifacts):
    page = open_demo(lead=SCHOOL_LEAD)
    panel(page).locator('[data-payplan-action="invoice"]').click()
    dialog(page, "invoice").locator('[data-payplan-action="save"]').click()
    expect(panel(page).locator(".payplan-flash")).to_contain_text("выставлен")
    link = panel(page).locator("[data-payment-link]").first
    expect(link).to_have_attribute("href", re.compile(r"^" + re.escape(cloudpayments.url)))

    page.goto(link.get_attribute("href"))
    page.get_by_role("button", name="Pay").click()
    page.wait_for_load_state()
    page = open_demo(lead=SCHOOL_LEAD)
    expect(panel(page).locator('[data-figure="debt"]')).to_have_text(re.compile(r"125\s000"))
    expect(panel(page).locator(".payplan-chip--paid")).to_have_count(1)
    panel(page).locator('[data-payplan-section="payments"] [data-payplan-action="toggle"]').click()
    expect(panel(page).locator('[data-payplan-section="payments"] .payplan-item').first).to_contain_text(
        "CloudPayments")
    page.locator("#card-widgets").screenshot(path=str(artifacts / "panel.png"))
    page.screenshot(path=str(artifacts / "lead-card.png"))

    # Documents need the token too: the widget fetches them and hands the browser a file.
    for link, name in (('[data-payplan-action="pdf"]', "invoice-"), ('[data-payplan-action="receipt"]', "receipt")):
        with page.expect_download() as download:
            panel(page).locator(link).first.click()
        assert download.value.suggested_filename.startswith(name)
        with open(download.value.path(), "rb") as document:
            assert document.read(5) == b"%PDF-"


def test_backend_down_shows_a_clear_message_and_retry_recovers(open_demo, page):
    page.route("**/api/v1/**", lambda route: route.abort())
    open_demo(lead=SCHOOL_LEAD)
    error = panel(page).locator(".payplan-state--error")
    expect(error).to_contain_text("Сервер PayPlan недоступен")
    expect(panel(page).locator(".payplan-spinner")).to_have_count(0)

    page.unroute("**/api/v1/**")
    error.locator('[data-payplan-action="retry"]').click()
    expect(panel(page).locator("[data-deal-status]")).to_have_text("По графику")


def test_the_widget_speaks_english_where_amocrm_does(open_demo):
    page = open_demo(lead=NEW_LEAD, lang="en")
    expect(panel(page).locator("[data-deal-status]")).to_have_text("No plan")
    expect(panel(page).locator('[data-payplan-action="schedule"]')).to_have_text("Calculate schedule")


def test_analytics_filters_rows_and_the_excel_download(open_demo, demo, artifacts):
    page = open_demo(area="advanced_settings")
    analytics = page.locator(".payplan-analytics")
    page.locator('[data-payplan-action="preset"][data-preset="year"]').click()
    expect(analytics.locator(".payplan-total")).to_have_count(3)
    expect(analytics.locator(".payplan-chart__canvas svg")).to_have_count(1)
    expect(analytics.locator(".payplan-aging__item")).to_have_count(5)
    # The demo's lines run from two months before its today to months after: a window around today
    # holds them on any date (in January the calendar year leaves the overdue ones out).
    today = account_today(demo)
    for name, day in (("date_from", today - timedelta(days=92)), ("date_to", today + timedelta(days=92))):
        analytics.locator(f'[name="{name}"]').fill(day.isoformat())
        analytics.locator(f'[name="{name}"]').dispatch_event("change")
    rows = analytics.locator(".payplan-table--rows tbody tr")
    expect(rows.first).to_be_visible()

    analytics.locator('[name="group"]').select_option("Поток 2026-11")
    expect(analytics.locator(".payplan-table--rows")).not_to_contain_text("Петров")
    expect(rows.filter(has_text="Смирнова")).to_have_count(1)

    analytics.locator('[name="group"]').select_option("")
    analytics.locator('[data-payplan-action="kind"][data-kind="overdue"]').click()
    expect(analytics.locator(".payplan-table--rows")).to_contain_text("Петров")
    # Polled from here: wait_for_function compiles its predicate in the page, which our CSP forbids.
    bars = page.locator(".payplan-chart__canvas rect.bar")
    expect(bars.first).to_be_attached()
    for _ in range(100):  # the chart grows its bars in an animation
        heights = bars.evaluate_all("(bars) => bars.map((bar) => parseFloat(bar.getAttribute('height')) || 0)")
        if any(height > 0 for height in heights):
            break
        page.wait_for_timeout(200)
    assert any(height > 0 for height in heights), heights
    page.screenshot(path=str(artifacts / "analytics.png"), full_page=True)

    with page.expect_download() as download:
        analytics.locator('[data-payplan-action="export"]').click()
    assert download.value.suggested_filename.endswith(".xlsx")
    with open(download.value.path(), "rb") as workbook_file:
        workbook = openpyxl.load_workbook(workbook_file)
    cells = [str(cell.value) for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row]
    assert any("Петров" in cell for cell in cells)


def weekly_plan(account, lead: int, lines: int):
    """`lines` weekly lines from tomorrow on: more upcoming rows than one page of the analytics table holds."""
    from billing.domain.schedule import PlanRequest
    from billing.services import ScheduleOptions, deal_get_or_create, schedule_replace

    today = account_today(account)
    deal = deal_get_or_create(account=account, external_id=lead)
    schedule_replace(deal=deal, plan_request=PlanRequest(plan="equal", total=Decimal(1000 * lines),
                                                         installments_count=lines, period="week",
                                                         first_due_date=today + timedelta(days=1)),
                     options=ScheduleOptions(), created_by=None, today=today)
    return today


@pytest.mark.parametrize(("lang", "previous", "following", "of"), [("ru", "Назад", "Далее", "из"),
                                                                    ("en", "Previous", "Next", "of")])
def test_analytics_rows_page_on_by_cursor_and_back_by_its_stack(open_demo, demo, page, lang, previous, following,
                                                                 of):
    today = weekly_plan(demo, NEW_LEAD, 45)
    asked = []
    page.on("request", lambda request: asked.append(request.url) if "/analytics/rows" in request.url else None)
    open_demo(area="advanced_settings", lang=lang)
    analytics = page.locator(".payplan-analytics")
    expect(analytics.locator(".payplan-total")).to_have_count(3)
    for name, day in (("date_from", today), ("date_to", today + timedelta(days=366))):
        analytics.locator(f'[name="{name}"]').fill(day.isoformat())
        analytics.locator(f'[name="{name}"]').dispatch_event("change")
    analytics.locator('[data-payplan-action="kind"][data-kind="upcoming"]').click()
    rows = analytics.locator(".payplan-table--rows tbody tr")
    shown = analytics.locator("[data-rows-range]")
    back = analytics.locator('[data-payplan-action="page"][data-step="-1"]')
    on = analytics.locator('[data-payplan-action="page"][data-step="1"]')
    expect(shown).to_have_text(re.compile(rf"^1–20 {of} \d+$"))
    total = int(text(shown).split()[-1])
    assert total >= 45
    expect(back).to_have_text(f"‹ {previous}")
    expect(on).to_have_text(f"{following} ›")
    expect(back).to_be_disabled()
    first_page = rows.all_inner_texts()

    on.click()
    expect(shown).to_have_text(f"21–40 {of} {total}")  # the first page's total, kept
    second_page = rows.all_inner_texts()
    assert len(second_page) == 20
    assert not set(second_page) & set(first_page)
    on.click()
    expect(shown).to_have_text(f"41–{min(total, 60)} {of} {total}")
    back.click()
    expect(shown).to_have_text(f"21–40 {of} {total}")
    assert rows.all_inner_texts() == second_page
    back.click()
    expect(shown).to_have_text(f"1–20 {of} {total}")
    expect(back).to_be_disabled()
    assert rows.all_inner_texts() == first_page

    # The first page is asked for as page 1 (it brings the total), every later one by its cursor only.
    upcoming = [url for url in asked if "kind=upcoming" in url]
    assert sum("cursor=" in url for url in upcoming) >= 3
    assert all(("cursor=" in url) != bool(re.search(r"[?&]page=1(&|$)", url)) for url in upcoming), upcoming
    assert not [url for url in asked if re.search(r"[?&]page=(?!1(&|$))", url)]


def test_account_settings_are_saved_with_errors_beside_their_fields(open_demo, demo, artifacts):
    page = open_demo(area="settings")
    block = page.locator(".payplan-account")
    expect(block.locator('[name="requisites.inn"]')).to_be_visible()
    expect(page.locator('.widget-settings__input[name="backend_url"]')).to_have_value(re.compile(r"^http://"))
    # One save button on the page: the settings window's own saves PayPlan's settings too.
    expect(page.get_by_role("button", name="Сохранить", exact=True)).to_have_count(1)
    block.locator('[name="invoice_lead_days"]').fill("3")
    block.locator('[name="requisites.inn"]').fill("123")
    page.locator("[data-demo-save]").click()
    expect(block.locator('[data-error-for="requisites.inn"]')).to_contain_text("Только цифры")
    expect(block.locator("[data-account-result]")).to_contain_text("не сохранены")

    block.locator('[name="requisites.inn"]').fill("7707083893")
    page.locator("[data-demo-save]").click()
    expect(block.locator("[data-account-result]")).to_have_text("Сохранено")
    page.locator(".modal-scroller").evaluate("(scroller) => scroller.scrollTo(0, 0)")
    page.screenshot(path=str(artifacts / "settings.png"))
    account = Account.objects.get(pk=demo.pk)
    assert account.settings["invoice_lead_days"] == 3
    assert account.settings["requisites"]["inn"] == "7707083893"
    assert account.cloudpayments_api_secret == "sandbox_api_secret"  # the blank secret field kept it


def test_cloudpayments_settings_show_the_urls_and_check_the_secret(open_demo, demo):
    page = open_demo(area="settings")
    block = page.locator(".payplan-account")
    expect(block.locator("[data-cp-status]")).to_contain_text("CloudPayments подключён")
    expect(block.locator(".payplan-account__cp-urls input").first).to_have_value(
        re.compile(rf"/webhooks/cloudpayments/{demo.webhook_key}/check$"))
    expect(block.locator('[name="cloudpayments.api_secret"]')).to_have_value("")
    block.locator('[data-payplan-action="test-cloudpayments"]').click()
    expect(block.locator("[data-cp-result]")).to_contain_text("Секрет верный")
