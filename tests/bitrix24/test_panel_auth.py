"""Frame → PayPlan token → widget API: the token minted for a verified Bitrix24 frame reads only its own
portal's account, and dies with the install it was minted for (fail closed)."""
import json
import re
from datetime import timedelta
from decimal import Decimal

import jwt
import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from billing.domain.schedule import PlanRequest
from billing.models import Deal
from billing.services import ScheduleOptions, account_create, deal_get_or_create, schedule_replace
from crm.bitrix24.frame import FrameAuth
from crm.bitrix24.models import Portal
from crm.bitrix24.widget_token import frame_token_mint, frame_token_renew
from tests.bitrix24.conftest import portal_link


def _portal(member_id: str, crm_id: int, slug: str, *, installer: int = 1) -> Portal:
    account = account_create(crm_account_id=crm_id, slug=slug, crm_kind="bitrix24")
    return Portal.objects.create(member_id=member_id, account=account, domain=f"{slug}.bitrix24.ru",
                                 client_endpoint=f"https://{slug}.bitrix24.ru/rest/", installer_user_id=installer,
                                 install_generation=1)


def _token(portal: Portal, *, user_id: int = 7, deal_id: int | None = 8061, is_admin: bool = False) -> str:
    auth = FrameAuth(portal, "CRM_DEAL_DETAIL_TAB", deal_id, "user-access", "ru", user_id, is_admin)
    return frame_token_mint(auth=auth)


def _get(token: str, path: str = "/api/v1/deals/8061"):
    return APIClient().get(path, HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.fixture
def lawyers(db):
    portal = _portal("a" * 32, 77000001, "lawyers")
    deal = deal_get_or_create(account=portal.account, external_id=8061)
    schedule_replace(deal=deal, plan_request=PlanRequest(plan="equal", total=Decimal("120000"), installments_count=12,
                                                         first_due_date=timezone.localdate() + timedelta(days=10)),
                     options=ScheduleOptions(), created_by=1, today=timezone.localdate())
    return portal


def test_a_frame_token_reads_its_portals_deal(lawyers):
    answer = _get(_token(lawyers))

    assert answer.status_code == 200, answer.content
    assert answer.json()["lead_id"] == 8061
    assert answer.json()["total"] == "120000.00"


def test_another_portals_token_cannot_read_this_tenants_deal(lawyers):
    builders = _portal("b" * 32, 77000002, "builders")

    answer = _get(_token(builders))

    assert answer.status_code == 200
    assert answer.json()["status"] == "no_plan"
    assert answer.json()["schedule"] is None
    assert Deal.objects.get(account=lawyers.account, external_id=8061).schedules.exists()


@pytest.mark.parametrize("damage", ["no_token", "garbage", "re_signed", "amo_scheme_header", "other_audience"])
def test_a_forged_token_is_refused(lawyers, settings, damage):
    token, other_key = _token(lawyers), "a-guessed-key-long-enough-for-hs256-signing"
    claims = jwt.decode(token, options={"verify_signature": False})
    forged = {
        "no_token": "", "garbage": "not-a-jwt", "amo_scheme_header": token,
        "re_signed": jwt.encode({**claims, "acc": claims["acc"] + 1}, other_key, algorithm="HS256"),
    }.get(damage, token)
    if damage == "other_audience":
        settings.PAYPLAN_PUBLIC_ORIGIN = "https://elsewhere.test"
    if damage == "amo_scheme_header":
        answer = APIClient().get("/api/v1/deals/8061", HTTP_X_AUTH_TOKEN=forged)
    else:
        answer = _get(forged)

    assert answer.status_code == 401, answer.content


@pytest.mark.parametrize("change", ["uninstalled", "reinstalled", "relinked", "account_off"])
def test_a_token_dies_with_the_install_it_was_minted_for(lawyers, change):
    token = _token(lawyers)
    if change == "uninstalled":
        Portal.objects.filter(pk=lawyers.pk).update(status=Portal.Status.UNINSTALLED)
    elif change == "reinstalled":
        Portal.objects.filter(pk=lawyers.pk).update(install_generation=2)
    elif change == "relinked":
        portal_link(lawyers, crm_id=77000009, slug="someone-else")
    else:
        type(lawyers.account).objects.filter(pk=lawyers.account_id).update(is_active=False)

    assert _get(token).status_code == 401


def test_a_token_expires_and_is_renewed_only_while_valid(lawyers):
    token = _token(lawyers)
    renewed = APIClient().post("/bitrix24/token/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert renewed.status_code == 200
    assert _get(renewed.json()["token"]).status_code == 200

    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        assert _get(token).status_code == 401
        assert APIClient().post("/bitrix24/token/", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401


def test_renewals_stop_when_the_frame_session_is_over(lawyers):
    token = _token(lawyers)
    for hours in range(1, 13):
        with time_machine.travel(timezone.now() + timedelta(hours=hours, minutes=-10 * hours)):
            token = frame_token_renew(token)
    with time_machine.travel(timezone.now() + timedelta(hours=12, minutes=50)):
        assert APIClient().post("/bitrix24/token/", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401


def test_only_an_admin_of_the_portal_may_write_settings(lawyers):
    admin, manager = _token(lawyers, user_id=1, is_admin=True), _token(lawyers, user_id=7)
    body = {"reminders": []}

    refused = APIClient().patch("/api/v1/account/settings", body, format="json", HTTP_AUTHORIZATION=f"Bearer {manager}")
    assert refused.status_code == 403
    assert jwt.decode(admin, options={"verify_signature": False})["adm"] is True


@pytest.mark.django_db(transaction=True)
def test_the_frame_post_gives_the_page_a_token_for_the_api(linked_portal, sandbox):
    """Over real HTTP: the sandbox opens the deal tab, the page's boot JSON carries the token, the API
    answers it with the deal of the portal's account."""
    answers = sandbox.open_frame(deal_id=8062)
    boot = json.loads(re.search(r'id="payplan-boot" type="application/json">(.*?)</script>',
                                answers[0]["body"]).group(1))

    assert (boot["area"], boot["deal_id"], boot["lang"], boot["user"]["id"]) == ("lcard", 8062, "ru", 7)
    assert boot["user"]["is_admin"] == "N"  # user.admin: the sandbox's manager 7 is not an admin
    answer = _get(boot["token"], "/api/v1/deals/8062")
    assert answer.status_code == 200
    assert Deal.objects.filter(account=linked_portal.account, external_id=8062).exists()


@pytest.mark.parametrize(("lang", "expected"), [("ru", "ru"), ("ua", "ru"), ("kz", "ru"), (None, "ru"), ("", "ru"),
                                                ("en", "en"), ("de", "en"), ("EN", "en"), ("br", "en")])
def test_the_panel_speaks_the_portal_users_language(lang, expected):
    from crm.bitrix24.panel import panel_language

    assert panel_language(lang) == expected


def test_the_app_main_page_shows_analytics_and_the_deal_tab_the_card():
    from crm.bitrix24.panel import panel_area

    assert panel_area(placement="CRM_DEAL_DETAIL_TAB", deal_id=8061) == "lcard"
    assert panel_area(placement="DEFAULT", deal_id=None) == "advanced_settings"
    assert panel_area(placement="CRM_DEAL_DETAIL_TAB", deal_id=None) == "advanced_settings"


@pytest.mark.django_db(transaction=True)
def test_the_portals_admin_is_told_by_user_admin_with_the_viewers_own_token(linked_portal, sandbox):
    answers = sandbox.open_frame(deal_id=8061, user_id=1)
    boot = json.loads(re.search(r'id="payplan-boot" type="application/json">(.*?)</script>',
                                answers[0]["body"]).group(1))

    assert (boot["user"]["id"], boot["user"]["is_admin"]) == (1, "Y")
    assert jwt.decode(boot["token"], options={"verify_signature": False})["adm"] is True
