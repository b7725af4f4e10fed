"""The PayPlan tab of a Bitrix24 deal card, in Chromium: the sandbox portal's deal page POSTs the frame
form into the tab's iframe as Bitrix24 does, our server verifies it and answers with the widget's UI core
(frontend_widget/script.js, the amoCRM widget's own) under the Bitrix24 host shim."""
import re
import uuid

import pytest
from playwright.sync_api import expect

from billing.models import Deal
from crm.bitrix24.demo import bitrix24_demo_load
from sandboxes.bitrix24 import Bitrix24Sandbox

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CLIENT_ID, CLIENT_SECRET = "local.payplane2e000001.00000001", "payplan-e2e-bitrix24-secret"
LAWYERS_DEAL, NEW_DEAL = 8061, 8062
AMOCRM_SCHOOL_LEAD = 17651  # the amoCRM demo's card with a plan, for its right column's width
# The panel's shown elements that stick out of it sideways (1 px for subpixel rounding), and the page if it
# scrolls sideways. A closed <details> keeps its content laid out but unshown: checkVisibility() skips it.
OVERFLOW_JS = """panel => {
  const edge = panel.getBoundingClientRect();
  const out = [...panel.querySelectorAll('*')].filter(node => {
    const box = node.getBoundingClientRect();
    return node.checkVisibility() && (box.left < edge.left - 1 || box.right > edge.right + 1);
  }).map(node => node.tagName + '.' + node.className);
  const root = document.documentElement;
  return root.scrollWidth > root.clientWidth ? out.concat(['the page scrolls sideways']) : out;
}"""


@pytest.fixture
def portal_url(live_server, settings):
    """The sandbox portal with PayPlan installed through our install URL, linked to the demo account."""
    settings.BITRIX24_REDIS_PREFIX = f"payplan-test-b24:{uuid.uuid4().hex}"
    settings.BITRIX24_CLIENT_ID, settings.BITRIX24_CLIENT_SECRET = CLIENT_ID, CLIENT_SECRET
    settings.BITRIX24_ALLOW_LOOPBACK = True
    settings.PAYPLAN_PUBLIC_ORIGIN = live_server.url
    sandbox = Bitrix24Sandbox(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, bucket_capacity=1000,
                              bucket_drain=1000).start()
    settings.BITRIX24_OAUTH_URL = sandbox.oauth_url
    bitrix24_demo_load()
    assert sandbox.install(install_url=f"{live_server.url}/bitrix24/install/")["status"] == 200
    yield sandbox.url
    sandbox.stop()


def tab(page):
    return page.frame_locator('iframe[name="payplan-frame"]')


def open_deal(page, portal_url, deal_id: int, lang: str = "ru"):
    page.goto(f"{portal_url}/crm/deal/details/{deal_id}/?lang={lang}")
    expect(tab(page).locator("body[data-widget-ready='true']")).to_be_attached()
    return tab(page)


def test_a_plan_is_built_and_seen_in_the_deal_tab(page, portal_url):
    frame = open_deal(page, portal_url, NEW_DEAL)
    panel = frame.locator("#payplan-panel")
    expect(panel).to_contain_text("Графика платежей ещё нет")

    panel.locator('[data-payplan-action="schedule"]').click()
    form = frame.locator('.payplan-dialog[data-dialog="schedule"]')
    form.locator('[name="total"]').fill("120000")
    form.locator('[name="installments_count"]').fill("12")
    expect(form.locator(".payplan-preview-line")).to_have_count(12)
    form.locator('[data-payplan-action="save"]').click()

    expect(panel.locator("[data-deal-status]")).to_have_text("По графику")
    expect(panel.locator(".payplan-line")).to_have_count(12)
    deal = Deal.objects.get(external_id=NEW_DEAL, account__slug="b24-lawyers")
    assert deal.schedules.count() == 1


def test_the_lawyers_plan_with_the_state_fee_shows_in_english(page, portal_url):
    frame = open_deal(page, portal_url, LAWYERS_DEAL, lang="en")
    panel = frame.locator("#payplan-panel")

    expect(panel.locator("[data-deal-status]")).to_have_text("On schedule")
    expect(panel).to_contain_text("Next payment")
    expect(panel).to_contain_text(re.compile(r"160,300\.00"))
    expect(panel).not_to_contain_text("Следующий платёж")


def test_the_deal_tab_spreads_the_panel_over_its_width_and_the_amocrm_column_stays_narrow(page, portal_url,
                                                                                         open_demo):
    amocrm = open_demo(lead=AMOCRM_SCHOOL_LEAD)
    column = amocrm.locator("#payplan-panel")
    expect(column.locator(".payplan-line")).to_have_count(6)
    column_box = column.bounding_box()
    column_schedule = column.locator('[data-payplan-section="lines"]').bounding_box()
    assert column_box["width"] < 320
    assert abs(column_schedule["x"] - column_box["x"]) < 1  # amoCRM: the schedule under the figures, as it was
    assert column.evaluate(OVERFLOW_JS) == []

    frame = open_deal(page, portal_url, LAWYERS_DEAL)
    panel = frame.locator("#payplan-panel")
    expect(panel.locator(".payplan-line")).to_have_count(13)
    expect(panel.locator("[data-reminders] .payplan-reminders__actions")).to_be_visible()
    tab_box = panel.bounding_box()
    figures = panel.locator(".payplan-figures").bounding_box()
    schedule = panel.locator('[data-payplan-section="lines"]').bounding_box()
    assert tab_box["width"] > 3 * column_box["width"]
    assert 900 <= tab_box["width"] <= 1100  # wide, yet lines short enough to read
    assert schedule["x"] >= figures["x"] + figures["width"]  # the lists beside the summary, not under it
    assert schedule["y"] < figures["y"] + figures["height"]
    assert panel.evaluate(OVERFLOW_JS) == []

    # A narrow tab (a small window) keeps the column layout rather than squeezing two columns.
    page.set_viewport_size({"width": 720, "height": 900})
    expect(panel.locator('[data-payplan-section="lines"]')).to_have_css("margin-left", "0px")
    figures = panel.locator(".payplan-figures").bounding_box()
    schedule = panel.locator('[data-payplan-section="lines"]').bounding_box()
    assert schedule["y"] > figures["y"] + figures["height"]
    assert panel.evaluate(OVERFLOW_JS) == []


def test_a_forged_frame_post_gets_401_and_no_panel(page, portal_url):
    def forge(route):
        body = re.sub(r"APPLICATION_TOKEN=[^&]*", "APPLICATION_TOKEN=apptoken-forged", route.request.post_data)
        route.continue_(post_data=body)

    page.route("**/bitrix24/frame/**", forge)
    with page.expect_response("**/bitrix24/frame/**") as answer:
        page.goto(f"{portal_url}/crm/deal/details/{LAWYERS_DEAL}/")
    assert answer.value.status == 401
    expect(tab(page).locator("body")).to_contain_text("не смог подтвердить, кто его открыл")
    expect(tab(page).locator("#payplan-panel")).to_have_count(0)


def test_the_apps_main_page_shows_the_analytics(page, portal_url):
    page.goto(f"{portal_url}/marketplace/app/payplan/")
    frame = tab(page)
    expect(frame.locator("body[data-widget-ready='true']")).to_be_attached()
    expect(frame.locator(".payplan-analytics")).to_be_visible()
    expect(frame.locator("[data-host-settings]")).to_have_text("Настройки")


def test_the_settings_speak_of_bitrix24_and_list_the_portals_pipelines(page, portal_url):
    page.goto(f"{portal_url}/marketplace/app/payplan/")
    frame = tab(page)
    expect(frame.locator("body[data-widget-ready='true']")).to_be_attached()
    with page.expect_response("**/api/v1/account/crm-options") as options:
        frame.locator("[data-host-settings]").click()
    assert options.value.status == 200
    assert "C1:WON" in options.value.text()
    expect(frame.locator("body")).to_contain_text("Битрикс24")
    expect(frame.locator("body")).not_to_contain_text("amoCRM")
