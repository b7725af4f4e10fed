"""The Bitrix24 sandbox by itself (no Django): the shapes and faults tests and the demo rely on."""
import subprocess
import sys
import time

import pytest
import requests

from sandboxes.bitrix24 import DEFAULT_MEMBER_ID, Bitrix24Sandbox

CLIENT = {"client_id": "local.sandbox", "client_secret": "s3cret"}


@pytest.fixture
def box():
    sandbox = Bitrix24Sandbox(**CLIENT).start()
    portal = sandbox.portal()
    portal.app_installed = portal.install_finished = True
    yield sandbox
    sandbox.stop()


def rest(box, method, access, **params):
    return requests.post(f"{box.url}/rest/{method}.json", json={**params, "auth": access}, timeout=5)


def token(box, grant: dict) -> requests.Response:
    return requests.get(f"{box.oauth_url}/oauth/token/", params={**CLIENT, **grant}, timeout=5)


def test_refresh_tokens_rotate_and_die_on_reuse(box):
    _, refresh = box.issue_pair(DEFAULT_MEMBER_ID, 1)

    first = token(box, {"grant_type": "refresh_token", "refresh_token": refresh})
    again = token(box, {"grant_type": "refresh_token", "refresh_token": refresh})

    assert first.status_code == 200
    assert first.json()["client_endpoint"] == f"http://{box.host}/rest/"
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")
    assert token(box, {"grant_type": "refresh_token", "refresh_token": first.json()["refresh_token"]}).ok


def test_codes_live_thirty_seconds_and_payment_can_be_required(box):
    code = box.issue_code()
    box.clock_offset += 31
    assert token(box, {"grant_type": "authorization_code", "code": code}).json()["error"] == "invalid_grant"
    box.payment_required = True
    _, refresh = box.issue_pair(DEFAULT_MEMBER_ID, 1)
    assert token(box, {"grant_type": "refresh_token", "refresh_token": refresh}).json()["error"] == "PAYMENT_REQUIRED"


def test_tokens_expire_with_the_clock_and_junk_is_no_auth(box):
    access, _ = box.issue_pair(DEFAULT_MEMBER_ID, 1)
    assert rest(box, "user.current", access).json()["result"]["ID"] == "1"
    box.clock_offset += 3601
    assert (rest(box, "user.current", access).status_code, rest(box, "user.current", access).json()["error"]) == (
        401, "expired_token")
    assert rest(box, "user.current", "junk").json()["error"] == "NO_AUTH_FOUND"


def test_batch_limits_halt_and_nested_batches(box):
    access, _ = box.issue_pair(DEFAULT_MEMBER_ID, 1)
    too_long = rest(box, "batch", access, cmd={f"k{n}": "user.current" for n in range(51)})
    halted = rest(box, "batch", access, halt=1, cmd={"a": "crm.deal.get?id=1", "b": "user.current",
                                                     "c": "batch?cmd[x]=user.current"}).json()["result"]

    assert (too_long.status_code, too_long.json()["error"]) == (400, "ERROR_BATCH_LENGTH_EXCEEDED")
    assert halted["result_error"]["a"] == {"error": "", "error_description": "Not found"}
    assert "b" not in halted["result"]
    nested = rest(box, "batch", access, cmd={"c": "batch?cmd[x]=user.current"}).json()["result"]
    assert nested["result_error"]["c"]["error"] == "ERROR_BATCH_METHOD_NOT_ALLOWED"


def test_lists_page_by_fifty_and_start_minus_one_skips_the_count(box):
    access, _ = box.issue_pair(DEFAULT_MEMBER_ID, 1)
    for n in range(60):
        box.control("POST", "deals", {}, {"fields": {"TITLE": f"Сделка {n}"}})

    first = rest(box, "crm.deal.list", access).json()
    fast = rest(box, "crm.deal.list", access, start=-1).json()

    assert (len(first["result"]), first["total"], first["next"]) == (50, 63, 50)
    assert len(fast["result"]) == 50
    assert "total" not in fast
    assert "next" not in fast


def test_the_leaky_bucket_refuses_above_capacity(box):
    access, _ = box.issue_pair(DEFAULT_MEMBER_ID, 1)
    box.bucket_capacity, box.bucket_drain = 5, 0.001

    statuses = [rest(box, "user.current", access).status_code for _ in range(8)]

    assert statuses == [200] * 5 + [503] * 3
    assert rest(box, "user.current", access).json()["error"] == "QUERY_LIMIT_EXCEEDED"


def test_webhooks_may_not_bind_placements(box):
    answer = requests.post(f"{box.url}/rest/1/sandboxwebhooksecret/placement.bind.json",
                           json={"PLACEMENT": "CRM_DEAL_DETAIL_TAB", "HANDLER": "https://x/"}, timeout=5)
    assert answer.json()["error"] == "WRONG_AUTH_TYPE"
    deal = requests.get(f"{box.url}/rest/1/sandboxwebhooksecret/crm.deal.get", params={"id": 8061}, timeout=5)
    assert deal.json()["result"]["OPPORTUNITY"] == "160000.00"


def test_a_rebind_says_handler_already_binded(box):
    access, _ = box.issue_pair(DEFAULT_MEMBER_ID, 1)
    bind = {"PLACEMENT": "CRM_DEAL_DETAIL_TAB", "HANDLER": "https://payplan.test/bitrix24/frame/", "TITLE": "PayPlan"}
    assert rest(box, "placement.bind", access, **bind).json()["result"] is True
    assert "already binded" in rest(box, "placement.bind", access, **bind).json()["error_description"]


def test_the_sandbox_runs_from_the_command_line():
    process = subprocess.Popen([sys.executable, "-m", "sandboxes.bitrix24", "--port", "0"], stdout=subprocess.PIPE,
                               text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith("Bitrix24 sandbox on http://127.0.0.1:")
        url = line.split()[3]
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            state = requests.get(f"{url}/_sandbox/state", timeout=2)
            if state.ok:
                break
        assert state.json()["member_id"] == DEFAULT_MEMBER_ID
    finally:
        process.terminate()
        process.wait(timeout=5)


def test_crm_item_speaks_camel_case_with_numbers_and_deal_get_strings(box):
    access, _ = box.issue_pair(DEFAULT_MEMBER_ID, 1)

    item = rest(box, "crm.item.get", access, entityTypeId=2, id=8061).json()["result"]["item"]
    deal = rest(box, "crm.deal.get", access, id=8061).json()["result"]
    moved = rest(box, "crm.item.update", access, entityTypeId=2, id=8061, fields={"stageId": "C1:WON"}).json()

    assert (item["id"], item["categoryId"], item["opportunity"]) == (8061, 1, 160000.0)
    assert (deal["ID"], deal["CATEGORY_ID"], deal["OPPORTUNITY"]) == ("8061", "1", "160000.00")
    assert moved["result"]["item"]["stageId"] == "C1:WON"
    made = rest(box, "crm.type.add", access, fields={"title": "Рассрочки"}).json()["result"]["type"]
    assert made["entityTypeId"] == 1030


def test_the_deal_page_posts_the_frame_form_into_the_tab_as_bitrix24_does(box):
    access, _ = box.issue_pair(DEFAULT_MEMBER_ID, 1)
    bind = {"PLACEMENT": "CRM_DEAL_DETAIL_TAB", "HANDLER": "http://127.0.0.1:9/bitrix24/frame/", "TITLE": "PayPlan"}
    assert rest(box, "placement.bind", access, **bind).json()["result"] is True

    page = requests.get(f"{box.url}/crm/deal/details/8061/?lang=en&user=7", timeout=5)
    main = requests.get(f"{box.url}/marketplace/app/payplan/", timeout=5).text

    assert page.headers["Content-Type"].startswith("text/html")
    assert 'target="payplan-frame" action="http://127.0.0.1:9/bitrix24/frame/?DOMAIN=' in page.text
    assert "LANG=en" in page.text
    for field in ("AUTH_ID", "REFRESH_ID", "APPLICATION_TOKEN", "member_id", "PLACEMENT_OPTIONS"):
        assert f'name="{field}"' in page.text
    assert 'value="CRM_DEAL_DETAIL_TAB"' in page.text
    assert "{&quot;ID&quot;: &quot;8061&quot;}" in page.text
    assert 'data-placement="DEFAULT"' in main


def test_the_deal_page_says_when_the_app_is_not_installed(box):
    box.portal().install_finished = False

    page = requests.get(f"{box.url}/crm/deal/details/8061/", timeout=5).text

    assert "Приложение PayPlan не установлено" in page
    assert "<form" not in page
    assert requests.get(f"{box.url}/crm/deal/details/999/", timeout=5).status_code == 404
