"""What the outbox will ask of a Bitrix24 portal: fields, stage moves to won, comments, tasks, reads,
task completion — each checked in the sandbox's data, with per-item results."""
from crm.bitrix24 import adapter
from tests.bitrix24.conftest import rest_calls

SNAPSHOT = {"total": "160000.00", "received": "40000", "debt": "120000.00", "payments_count": 4,
            "monthly_payment": "40000.00", "last_payment_day": "2027-03-05", "next_payment_date": "2026-12-05",
            "group": "Банкротство", "education_direction": None}


def test_figures_go_into_the_user_fields_made_on_install(direct_portal, sandbox):
    results = adapter.fields_update(direct_portal, {8061: SNAPSHOT, 8062: {"debt": "0.00"}, 9999: SNAPSHOT})

    deal = sandbox.snapshot()["deals"]["8061"]
    assert deal["UF_CRM_PAYPLAN_RECEIVED"] == "40000.00"
    assert deal["UF_CRM_PAYPLAN_DEBT"] == "120000.00"
    assert deal["UF_CRM_PAYPLAN_PAYMENTS"] == "4"
    assert deal["UF_CRM_PAYPLAN_NEXT_DATE"] == "2026-12-05"
    assert deal["UF_CRM_PAYPLAN_GROUP"] == "Банкротство"
    assert deal["UF_CRM_PAYPLAN_DIRECTION"] == ""
    assert sandbox.snapshot()["deals"]["8062"]["UF_CRM_PAYPLAN_DEBT"] == "0.00"
    assert results[8061].ok
    assert results[8062].ok
    assert not results[9999].ok
    assert results[9999].permanent


def test_deals_move_to_the_success_stage_of_their_own_pipeline(direct_portal, sandbox):
    sandbox.journal.clear()

    results = adapter.deals_move_to_won(direct_portal, [8061, 8062, 7777])

    deals = sandbox.snapshot()["deals"]
    assert (deals["8061"]["STAGE_ID"], deals["8061"]["STAGE_SEMANTIC_ID"]) == ("C1:WON", "S")
    assert (deals["8062"]["STAGE_ID"], deals["8062"]["CLOSED"]) == ("WON", "Y")
    assert results[8061].ok
    assert results[8062].ok
    assert results[7777].permanent
    assert len(rest_calls(sandbox)) == 3  # reads, stages, updates: one batch each
    again = adapter.deals_move_to_won(direct_portal, [8061])
    assert again[8061].ok
    assert again[8061].error == "already won"


def test_comments_and_the_running_summary(direct_portal, sandbox):
    added = adapter.comments_add(direct_portal, {"41": (8061, "Платёж 40 000,00 ₽ получен"),
                                                 "42": (7777, "Никуда")})
    assert added["41"].ok
    assert not added["42"].ok
    assert added["42"].permanent

    first = adapter.comment_upsert(direct_portal, deal_id=8061, text="Итого: 160 000,00 ₽", comment_id=None)
    edited = adapter.comment_upsert(direct_portal, deal_id=8061, text="Итого: осталось 0,00 ₽",
                                    comment_id=first.entity_id)
    assert edited.entity_id == first.entity_id
    comments = {row["ID"]: row["COMMENT"] for row in sandbox.snapshot()["comments"]}
    assert comments[str(first.entity_id)] == "Итого: осталось 0,00 ₽"
    assert len(comments) == 2


def test_tasks_go_to_the_given_user_or_the_deals_own(direct_portal, sandbox):
    results = adapter.tasks_add(direct_portal, {
        "1": adapter.TaskSpec(8061, "Позвонить клиенту: просрочка", "2026-12-06T18:00:00+03:00"),
        "2": adapter.TaskSpec(8062, "Выплата юристу", "2026-12-10T18:00:00+03:00", responsible_id=3),
        "3": adapter.TaskSpec(7777, "Нет сделки", "2026-12-10T18:00:00+03:00")})

    tasks = {row["id"]: row for row in sandbox.snapshot()["tasks"]}
    first, second = tasks[str(results["1"].entity_id)], tasks[str(results["2"].entity_id)]
    assert (first["responsibleId"], first["ufCrmTask"]) == ("7", ["D_8061"])
    assert second["responsibleId"] == "3"
    assert not results["3"].ok


def test_completed_tasks_are_found_and_a_task_can_be_completed(direct_portal, sandbox):
    made = adapter.tasks_add(direct_portal, {str(n): adapter.TaskSpec(8061, f"Выплата {n}",
                                                                      "2026-12-10T18:00:00+03:00")
                                             for n in range(3)})
    ids = [result.entity_id for result in made.values()]
    sandbox.control("POST", f"tasks/{ids[0]}/complete", {}, {"user_id": 5})
    assert adapter.task_complete(direct_portal, ids[1]).ok

    completed = adapter.tasks_completed(direct_portal, ids)

    assert set(completed) == {ids[0], ids[1]}
    assert completed[ids[0]]["closed_by"] == 5


def test_a_deal_is_read_with_its_main_contact(direct_portal):
    fetched = adapter.deals_fetch(direct_portal, [8061, 8063, 7777])

    assert set(fetched) == {8061, 8063}
    assert fetched[8061]["contact_name"] == "Ирина Соколова"
    assert fetched[8061]["contact_phone"] == "+79160000001"
    assert str(fetched[8061]["opportunity"]) == "160000.00"
    assert fetched[8061]["responsible_user_id"] == 7
    assert fetched[8063]["contact_name"] == ""


def test_the_main_contact_takes_what_the_client_corrected(direct_portal, sandbox):
    results = adapter.contacts_update(direct_portal, {8061: {"name": "Ирина", "phone": "+79161112233",
                                                             "email": "irina@example.ru"},
                                                      8063: {"name": "Без контакта"}})

    contact = sandbox.portal().contacts[501]
    assert contact["PHONE"] == [{"VALUE": "+79161112233", "VALUE_TYPE": "WORK"}]
    assert contact["EMAIL"][0]["VALUE"] == "irina@example.ru"
    assert results[8061].ok
    assert results[8063].ok
    assert "no contact" in results[8063].error


def test_what_an_earlier_attempt_created_is_found_not_made_twice(direct_portal):
    made = adapter.comments_add(direct_portal, {"1": (8061, "Платёж 40 000,00 ₽ получен")})["1"].entity_id
    task = adapter.tasks_add(direct_portal, {"1": adapter.TaskSpec(8062, "Выплата юристу",
                                                                   "2026-12-10T18:00:00+03:00")})["1"].entity_id

    assert adapter.comment_find(direct_portal, deal_id=8061, text="Платёж 40 000,00 ₽ получен") == made
    assert adapter.comment_find(direct_portal, deal_id=8061, text="Другой текст") is None
    assert adapter.task_find(direct_portal, deal_id=8062, title="Выплата юристу") == task
    assert adapter.task_find(direct_portal, deal_id=8061, title="Выплата юристу") is None
