"""PayPlan's numbers shaped for each amoCRM field type; values a field cannot hold are left out."""
from datetime import UTC, datetime

from crm.amocrm.fields import LeadField, custom_field_values, suggested_field_ids
from crm.texts import money_text

FIELDS = {
    1: LeadField(1, "Сумма обучения", "numeric", {}),
    2: LeadField(2, "Дата последнего платежа", "date", {}),
    3: LeadField(3, "Группа / поток", "text", {}),
    4: LeadField(4, "Направление обучения", "select", {"дизайн": 7002, "маркетинг": 7003}),
    5: LeadField(5, "Комментарий", "url", {}),
}
SNAPSHOT = {"total": "150000.00", "monthly_payment": "25000.50", "last_payment_day": "2027-06-05",
            "group": "UX-2027", "education_direction": "Дизайн", "received": None}


def test_each_value_takes_the_shape_of_its_field():
    mapping = {"total": 1, "last_payment_day": 2, "group": 3, "education_direction": 4, "received": 1}

    values = custom_field_values(SNAPSHOT, mapping, FIELDS, "Europe/Moscow")

    midnight_in_moscow = int(datetime(2027, 6, 4, 21, 0, tzinfo=UTC).timestamp())
    assert values == [
        {"field_id": 1, "values": [{"value": 150000}]},
        {"field_id": 2, "values": [{"value": midnight_in_moscow}]},
        {"field_id": 3, "values": [{"value": "UX-2027"}]},
        {"field_id": 4, "values": [{"enum_id": 7002}]},
    ]


def test_kopecks_go_as_a_string_never_a_float():
    values = custom_field_values(SNAPSHOT, {"monthly_payment": 1}, FIELDS, "Europe/Moscow")
    assert values == [{"field_id": 1, "values": [{"value": "25000.50"}]}]


def test_what_a_field_cannot_hold_is_left_out():
    snapshot = {**SNAPSHOT, "education_direction": "Астрология"}
    mapping = {"education_direction": 4, "group": 5, "total": 999}  # no such option, unfilled type, no such field
    assert custom_field_values(snapshot, mapping, FIELDS, "Europe/Moscow") == []


def test_fields_are_suggested_by_their_usual_names():
    assert suggested_field_ids(FIELDS) == {"total": 1, "last_payment_day": 2, "group": 3, "education_direction": 4}


def test_money_reads_the_russian_way():
    assert money_text("1234567.5") == "1\u00a0234\u00a0567,50\u00a0₽"
    assert money_text(None) == "—"
