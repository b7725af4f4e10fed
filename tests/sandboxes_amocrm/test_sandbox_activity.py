"""Notes and tasks in the amoCRM sandbox: collection writes with validation, reads that prove exactly-once."""

from sandboxes.amocrm.seed import ACCOUNTANT_USER_ID, FIRST_LEAD_ID

LEAD_ID = FIRST_LEAD_ID + 2


def test_notes_written_both_ways_are_listed_once_each(crm):
    by_lead = crm.post(f"/api/v4/leads/{LEAD_ID}/notes", json=[
        {"note_type": "common", "params": {"text": "Payment 15 000 RUB received (cash)"}, "request_id": "p1"}])
    by_entity = crm.post("/api/v4/leads/notes", json=[
        {"entity_id": LEAD_ID, "note_type": "service_message",
         "params": {"service": "PayPlan", "text": "Invoice 2026-000004 issued"}}])

    assert by_lead.status_code == by_entity.status_code == 200
    created = by_lead.json()["_embedded"]["notes"][0]
    assert (created["entity_id"], created["request_id"]) == (LEAD_ID, "p1")
    listed = crm.get(f"/api/v4/leads/{LEAD_ID}/notes").json()["_embedded"]["notes"]
    assert [note["params"]["text"] for note in listed] == ["Payment 15 000 RUB received (cash)",
                                                           "Invoice 2026-000004 issued"]
    filtered = crm.get("/api/v4/leads/notes", params={"filter[entity_id][]": LEAD_ID,
                                                      "filter[note_type]": "service_message"})
    assert [note["id"] for note in filtered.json()["_embedded"]["notes"]] == [
        by_entity.json()["_embedded"]["notes"][0]["id"]]


def test_notes_of_a_lead_without_any_are_204(crm):
    assert crm.get(f"/api/v4/leads/{FIRST_LEAD_ID}/notes").status_code == 204


def test_note_needs_a_known_lead_a_type_and_text(crm):
    answer = crm.post("/api/v4/leads/notes", json=[
        {"entity_id": 1, "note_type": "common", "params": {"text": "x"}},
        {"entity_id": LEAD_ID, "note_type": "shout", "params": {"text": "x"}},
        {"entity_id": LEAD_ID, "note_type": "common", "params": {}}])

    assert answer.status_code == 400
    paths = [row["errors"][0]["path"] for row in answer.json()["validation-errors"]]
    assert paths == ["entity_id", "note_type", "params.text"]
    assert crm.get(f"/api/v4/leads/{LEAD_ID}/notes").status_code == 204


def test_task_round_trip(crm, sandbox):
    deadline = sandbox.now() + 3600
    answer = crm.post("/api/v4/tasks", json=[{
        "text": "Call client about overdue installment", "complete_till": deadline, "entity_id": LEAD_ID,
        "entity_type": "leads", "task_type_id": 1, "responsible_user_id": ACCOUNTANT_USER_ID, "duration": 0}])

    assert answer.status_code == 200
    task_id = answer.json()["_embedded"]["tasks"][0]["id"]
    listed = crm.get("/api/v4/tasks", params={"filter[entity_type]": "leads", "filter[entity_id][]": LEAD_ID})
    assert [(t["id"], t["complete_till"], t["responsible_user_id"]) for t in listed.json()["_embedded"]["tasks"]] \
        == [(task_id, deadline, ACCOUNTANT_USER_ID)]
    assert crm.get(f"/api/v4/tasks/{task_id}").json()["is_completed"] is False


def test_task_needs_a_known_responsible_user_and_a_deadline(crm):
    answer = crm.post("/api/v4/tasks", json=[
        {"text": "No deadline", "responsible_user_id": ACCOUNTANT_USER_ID},
        {"text": "Nobody", "complete_till": 1767261540, "responsible_user_id": 1},
        {"text": "Float deadline", "complete_till": 1767261540.5, "responsible_user_id": ACCOUNTANT_USER_ID}])

    assert answer.status_code == 400
    errors = {row["request_id"]: row["errors"][0] for row in answer.json()["validation-errors"]}
    assert errors["0"]["path"] == "complete_till"
    assert (errors["1"]["code"], errors["1"]["path"]) == ("NotSupportedChoice", "responsible_user_id")
    assert (errors["2"]["code"], errors["2"]["path"]) == ("InvalidType", "complete_till")
    assert crm.get("/api/v4/tasks").status_code == 204


def test_collection_write_wants_an_array(crm):
    answer = crm.post("/api/v4/tasks", json={"text": "not in an array"})

    assert answer.status_code == 400
    assert answer.headers["Content-Type"].startswith("application/problem+json")
