"""Leads and reference reads of the amoCRM sandbox: bearer checks, shapes, filters, paging, PATCH validation."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from sandboxes.amocrm import Account
from sandboxes.amocrm.seed import (
    FIELD_DIRECTION,
    FIELD_GROUP,
    FIELD_LAST_PAYMENT_DAY,
    FIRST_CONTACT_ID,
    FIRST_LEAD_ID,
    LAWYER_PIPELINE_ID,
    MAIN_PIPELINE_ID,
    STATUS_PAYING,
)

LEAD = f"/api/v4/leads/{FIRST_LEAD_ID}"


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Basic abc"])
def test_api_without_a_valid_bearer_is_401_problem_json(crm, authorization):
    crm.token = None
    headers = {"Authorization": authorization} if authorization else {}

    answer = crm.get(LEAD, headers=headers)

    assert answer.status_code == 401
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    assert answer.json()["status"] == 401


def test_lead_with_contacts_has_the_documented_shape(crm):
    answer = crm.get(LEAD, params={"with": "contacts"})

    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("application/hal+json")
    assert answer.headers["X-Request-Id"]
    lead = answer.json()
    assert (lead["id"], lead["pipeline_id"], lead["status_id"]) == (FIRST_LEAD_ID, MAIN_PIPELINE_ID, STATUS_PAYING)
    assert isinstance(lead["price"], int)
    assert lead["_embedded"]["contacts"][0] | {"_links": None} == {"id": FIRST_CONTACT_ID, "is_main": True,
                                                                   "_links": None}
    by_id = {value["field_id"]: value for value in lead["custom_fields_values"]}
    assert by_id[FIELD_DIRECTION]["values"] == [{"value": "Программирование", "enum_id": 7001}]
    assert "contacts" not in crm.get(LEAD).json()["_embedded"]


def test_unknown_lead_is_204_with_empty_body(crm):
    answer = crm.get("/api/v4/leads/999")

    assert answer.status_code == 204
    assert answer.content == b""


def test_lead_list_filters_by_id_and_query(crm):
    by_ids = crm.get("/api/v4/leads", params={"filter[id][]": [FIRST_LEAD_ID, FIRST_LEAD_ID + 2]}).json()
    by_phone = crm.get("/api/v4/leads", params={"query": "+79161234503"}).json()

    assert [lead["id"] for lead in by_ids["_embedded"]["leads"]] == [FIRST_LEAD_ID, FIRST_LEAD_ID + 2]
    assert [lead["id"] for lead in by_phone["_embedded"]["leads"]] == [FIRST_LEAD_ID + 2]


def test_lead_list_pages_with_next_link_until_the_last_page(crm):
    seen, url = [], "/api/v4/leads?limit=3"
    while url:
        page = crm.get(url).json()
        seen += [lead["id"] for lead in page["_embedded"]["leads"]]
        url = page["_links"].get("next", {}).get("href", "").removeprefix(crm.base_url)

    assert seen == list(range(FIRST_LEAD_ID, FIRST_LEAD_ID + 8))
    assert crm.get("/api/v4/leads", params={"limit": 3, "page": 4}).status_code == 204


def test_empty_search_is_204(crm):
    answer = crm.get("/api/v4/leads", params={"query": "никого нет"})

    assert answer.status_code == 204
    assert answer.content == b""


def test_patch_with_unknown_custom_field_is_400_not_supported_choice(crm):
    answer = crm.patch("/api/v4/leads", json=[{"id": FIRST_LEAD_ID, "custom_fields_values": [
        {"field_id": 999999, "values": [{"value": "x"}]}]}])

    assert answer.status_code == 400
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    assert answer.json()["validation-errors"] == [{"request_id": "0", "errors": [{
        "code": "NotSupportedChoice", "path": "custom_fields_values.0.field_id",
        "detail": "The value you selected is not a valid choice."}]}]


@pytest.mark.parametrize("price", [1500.5, "1500", None, True, -1])
def test_patch_with_non_integer_price_is_400(crm, price):
    answer = crm.patch(LEAD, json={"price": price})

    assert answer.status_code == 400
    assert answer.json()["validation-errors"][0]["errors"][0]["path"] == "price"


@pytest.mark.parametrize("status_id", [142, 143])
def test_closing_status_without_pipeline_id_is_400(crm, status_id):
    answer = crm.patch("/api/v4/leads", json=[{"id": FIRST_LEAD_ID, "status_id": status_id}])

    assert answer.status_code == 400
    assert answer.json()["validation-errors"][0]["errors"][0]["path"] == "pipeline_id"


def test_status_of_another_pipeline_is_400(crm):
    answer = crm.patch(LEAD, json={"status_id": STATUS_PAYING, "pipeline_id": LAWYER_PIPELINE_ID})

    assert answer.status_code == 400
    assert answer.json()["validation-errors"][0]["errors"][0]["path"] == "status_id"


def test_collection_patch_applies_every_item_and_echoes_request_ids(crm):
    answer = crm.patch("/api/v4/leads", json=[
        {"id": FIRST_LEAD_ID, "status_id": 142, "pipeline_id": MAIN_PIPELINE_ID, "price": 160000,
         "request_id": "won"},
        {"id": FIRST_LEAD_ID + 1, "custom_fields_values": [
            {"field_id": FIELD_DIRECTION, "values": [{"enum_id": 7003}]},
            {"field_id": FIELD_GROUP, "values": None}]},
    ])

    assert answer.status_code == 200
    rows = answer.json()["_embedded"]["leads"]
    assert [(row["id"], row["request_id"]) for row in rows] == [(FIRST_LEAD_ID, "won"), (FIRST_LEAD_ID + 1, "1")]
    won = crm.get(LEAD).json()
    assert (won["status_id"], won["price"]) == (142, 160000)
    assert won["closed_at"] is not None
    fields = {f["field_id"]: f["values"] for f in crm.get(f"/api/v4/leads/{FIRST_LEAD_ID + 1}").json()[
        "custom_fields_values"]}
    assert fields[FIELD_DIRECTION] == [{"value": "Маркетинг", "enum_id": 7003}]
    assert FIELD_GROUP not in fields


def test_one_bad_item_rejects_the_whole_patch(crm):
    answer = crm.patch("/api/v4/leads", json=[{"id": FIRST_LEAD_ID, "price": 1},
                                              {"id": FIRST_LEAD_ID + 1, "price": 2.5}])

    assert answer.status_code == 400
    assert answer.json()["validation-errors"][0]["request_id"] == "1"
    assert crm.get(LEAD).json()["price"] != 1


def test_date_field_snaps_to_midnight_in_the_account_timezone(crm):
    utc_midnight = int(datetime(2026, 3, 1, tzinfo=ZoneInfo("UTC")).timestamp())

    crm.patch(LEAD, json={"custom_fields_values": [
        {"field_id": FIELD_LAST_PAYMENT_DAY, "values": [{"value": utc_midnight}]}]})

    fields = {f["field_id"]: f["values"] for f in crm.get(LEAD).json()["custom_fields_values"]}
    moscow_midnight = int(datetime(2026, 3, 1, tzinfo=ZoneInfo("Europe/Moscow")).timestamp())
    assert fields[FIELD_LAST_PAYMENT_DAY] == [{"value": moscow_midnight}]


def test_every_pipeline_lists_won_and_lost(crm):
    pipelines = crm.get("/api/v4/leads/pipelines").json()["_embedded"]["pipelines"]
    statuses = crm.get(f"/api/v4/leads/pipelines/{LAWYER_PIPELINE_ID}/statuses").json()["_embedded"]["statuses"]

    assert [p["id"] for p in pipelines] == [MAIN_PIPELINE_ID, LAWYER_PIPELINE_ID]
    for pipeline in pipelines:
        assert {142, 143} <= {status["id"] for status in pipeline["_embedded"]["statuses"]}
    assert {142, 143} <= {status["id"] for status in statuses}
    assert crm.get("/api/v4/leads/pipelines/1/statuses").status_code == 404


def test_custom_fields_list_names_types_and_enums(crm):
    fields = crm.get("/api/v4/leads/custom_fields").json()["_embedded"]["custom_fields"]

    by_id = {field["id"]: field for field in fields}
    assert by_id[FIELD_LAST_PAYMENT_DAY]["type"] == "date"
    assert [e["id"] for e in by_id[FIELD_DIRECTION]["enums"]] == [7001, 7002, 7003, 7004]


def test_contact_has_phone_and_email_multitext(crm):
    contact = crm.get(f"/api/v4/contacts/{FIRST_CONTACT_ID}").json()

    codes = {field["field_code"]: field["values"][0] for field in contact["custom_fields_values"]}
    assert codes["PHONE"]["value"] == "+79161234501"
    assert codes["PHONE"]["enum_code"] == "MOB"
    assert codes["EMAIL"]["value"] == "ivan.petrov@example.ru"


def test_account_with_datetime_settings_and_task_types(crm):
    account = crm.get("/api/v4/account", params={"with": "datetime_settings,task_types"}).json()

    assert (account["subdomain"], account["currency"]) == ("demo", "RUB")
    assert account["_embedded"]["datetime_settings"]["timezone"] == "Europe/Moscow"
    assert [task_type["id"] for task_type in account["_embedded"]["task_types"]] == [1, 2]


def test_token_of_one_account_cannot_read_another_accounts_lead(sandbox, oauth, client_for):
    other = sandbox.add_account(Account(42, "other"))
    other.add_user(1, "Чужой", is_admin=True)
    other.add_pipeline(10, "Воронка", [(1001, "Новая")], is_main=True)
    stranger = client_for(sandbox, oauth.exchange(sandbox.issue_code(42)).json()["access_token"])

    assert stranger.get(LEAD).status_code == 204
