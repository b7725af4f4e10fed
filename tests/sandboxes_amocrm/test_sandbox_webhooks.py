"""Webhook subscriptions and the form-urlencoded status webhooks the amoCRM sandbox posts to them."""

from sandboxes.amocrm.seed import DEMO_ACCOUNT_ID, FIRST_LEAD_ID, MAIN_PIPELINE_ID, STATUS_PAYING

HOOKS = "/api/v4/webhooks"


def subscribe(crm, receiver, settings=("status_lead",)):
    answer = crm.post(HOOKS, json={"destination": f"{receiver.url}/amocrm/webhooks/key-1",
                                   "settings": list(settings), "sort": 10})
    assert answer.status_code == 200
    return answer.json()


def test_status_change_through_the_api_posts_a_form_webhook(crm, receiver):
    subscribe(crm, receiver)

    crm.patch("/api/v4/leads", json=[{"id": FIRST_LEAD_ID, "status_id": 142, "pipeline_id": MAIN_PIPELINE_ID}])

    hook = receiver.wait_for(1)[0]
    assert hook["method"] == "POST"
    assert hook["path"] == "/amocrm/webhooks/key-1"
    assert hook["content_type"] == "application/x-www-form-urlencoded"
    form = hook["form"]
    assert form["leads[status][0][id]"] == str(FIRST_LEAD_ID)
    assert form["leads[status][0][status_id]"] == "142"
    assert form["leads[status][0][old_status_id]"] == str(STATUS_PAYING)
    assert form["leads[status][0][pipeline_id]"] == form["leads[status][0][old_pipeline_id]"] == str(MAIN_PIPELINE_ID)
    assert (form["account[id]"], form["account[subdomain]"]) == (str(DEMO_ACCOUNT_ID), "demo")


def test_status_change_through_the_control_endpoint_posts_a_webhook(crm, receiver, sandbox):
    subscribe(crm, receiver)

    moved = crm.post(f"/_sandbox/leads/{FIRST_LEAD_ID}/status", json={"status_id": 143,
                                                                     "pipeline_id": MAIN_PIPELINE_ID})

    assert moved.json()["status_id"] == 143
    assert receiver.wait_for(1)[0]["form"]["leads[status][0][status_id]"] == "143"
    assert sandbox.flush_webhooks()[0].status == 200


def test_price_only_update_posts_nothing_to_a_status_subscription(crm, receiver, sandbox):
    subscribe(crm, receiver)

    crm.patch(f"/api/v4/leads/{FIRST_LEAD_ID}", json={"price": 1000})

    assert sandbox.flush_webhooks() == []
    assert receiver.requests == []


def test_update_subscription_gets_the_update_section(crm, receiver):
    subscribe(crm, receiver, settings=("update_lead",))

    crm.patch(f"/api/v4/leads/{FIRST_LEAD_ID}", json={"price": 1000})

    assert receiver.wait_for(1)[0]["form"]["leads[update][0][price]"] == "1000"


def test_subscriptions_list_and_delete(crm, receiver):
    created = subscribe(crm, receiver)

    listed = crm.get(HOOKS).json()["_embedded"]["webhooks"]
    deleted = crm.delete(HOOKS, json={"destination": created["destination"]})

    assert [hook["destination"] for hook in listed] == [created["destination"]]
    assert deleted.status_code == 204
    assert crm.get(HOOKS).status_code == 204


def test_destination_off_this_machine_is_refused(crm):
    answer = crm.post(HOOKS, json={"destination": "https://payplan.example.com/hook", "settings": ["status_lead"]})

    assert answer.status_code == 400
    assert answer.json()["validation-errors"][0]["errors"][0]["path"] == "destination"
