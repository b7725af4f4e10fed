"""The demo host's server side: the page, the token minter and the widget's files, all only in demo mode."""
import pytest

from billing.demo import DEMO_ACCOUNT_ID, DEMO_MANAGER_ID, demo_account_load
from widget_api.tokens import token_verify

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_account(settings):
    settings.PAYPLAN_DEMO = True  # what `make run` sets
    account, _ = demo_account_load()
    return account


@pytest.mark.parametrize("path", ["/demo/", "/demo/token", "/demo/widget/script.js"])
def test_the_demo_is_off_unless_switched_on(client, path):
    demo_account_load()
    response = client.post(path) if path.endswith("token") else client.get(path)
    assert response.status_code == 404
    assert b'"token"' not in response.content


def test_the_token_endpoint_mints_a_real_token_of_the_demo_manager(client, demo_account):
    response = client.post("/demo/token")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    claims = token_verify(response.json()["token"])
    assert (claims.account_id, claims.user_id) == (DEMO_ACCOUNT_ID, DEMO_MANAGER_ID)


def test_a_token_is_never_minted_by_a_get(client, demo_account):
    assert client.get("/demo/token").status_code == 405


@pytest.mark.parametrize("path", ["/demo/", "/demo/token", "/demo/widget/script.js"])
def test_nothing_of_the_demo_answers_when_the_demo_is_off(client, demo_account, settings, path):
    settings.PAYPLAN_DEMO = False
    response = client.post(path) if path.endswith("token") else client.get(path)
    assert response.status_code == 404


def test_the_page_boots_the_host_with_the_demo_deals_and_the_widget_path(client, demo_account):
    response = client.get("/demo/?lead=17652&lang=en&area=advanced_settings")
    assert response.status_code == 200
    boot = response.context["boot"]
    assert (boot["lead_id"], boot["lang"], boot["area"]) == (17652, "en", "advanced_settings")
    assert [deal["id"] for deal in boot["deals"]] == list(range(17651, 17659))
    assert boot["widget_path"].endswith("/demo/widget")
    assert str(DEMO_MANAGER_ID) in boot["managers"]
    assert b'id="demo-boot"' in response.content


def test_an_unknown_lead_or_area_falls_back_to_the_first_deal_card(client, demo_account):
    boot = client.get("/demo/?lead=999&area=../../etc").context["boot"]
    assert (boot["lead_id"], boot["area"]) == (17651, "lcard")


@pytest.mark.parametrize("path", ["script.js", "manifest.json", "i18n/ru.json", "templates/panel.twig",
                                  "images/logo_min.png", "vendor/frappe-charts.min.umd.js"])
def test_the_widget_files_are_served_unchanged(client, demo_account, path, settings):
    response = client.get(f"/demo/widget/{path}")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == (settings.BASE_DIR / "frontend_widget" / path).read_bytes()


@pytest.mark.parametrize("path", ["tools/build_zip.py", "../manage.py", "i18n/../../manage.py", "nothing.js"])
def test_nothing_outside_the_widget_package_is_served(client, demo_account, path):
    assert client.get(f"/demo/widget/{path}").status_code == 404
