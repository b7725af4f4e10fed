"""The card's «Следующий шаг»: the earliest ladder step still to come over the deal's unpaid lines."""
import pytest
import time_machine

from billing.dunning.services import dunning_policy_set
from tests.conftest import WidgetClient
from tests.dunning.conftest import at, make_deal, tick

pytestmark = pytest.mark.django_db
LEAD = 7101


def card(widget: WidgetClient, account, moment: str) -> dict:
    with time_machine.travel(at(account, moment)):
        return widget.get(f"/api/v1/deals/{LEAD}/dunning").json()


def test_next_step_is_the_first_unrecorded_step_of_the_oldest_open_line(account, widget, provider):
    make_deal(account, lead_id=LEAD)
    tick(at(account, "2026-12-05 18:30"))  # the due day's email and task are recorded
    body = card(widget, account, "2026-12-06 10:00")
    assert body["next_step"] == {"seq": 1, "due_date": "2026-12-05", "day": 3, "channel": "client_sms",
                                 "date": "2026-12-08"}


def test_before_the_due_date_the_next_step_is_the_first_reminder(account, widget):
    make_deal(account, lead_id=LEAD)
    body = card(widget, account, "2026-11-27 12:00")
    assert body["next_step"]["seq"] == 1
    assert (body["next_step"]["day"], body["next_step"]["date"]) == (-3, "2026-12-02")


def test_a_switched_off_ladder_has_no_next_step(account, widget):
    make_deal(account, lead_id=LEAD)
    dunning_policy_set(account=account, config={}, enabled=False)
    assert card(widget, account, "2026-11-27 12:00")["next_step"] is None


def test_a_deal_handed_to_the_lawyer_has_no_next_step(account, widget, provider):
    make_deal(account, lead_id=LEAD, count=1)
    tick(at(account, "2026-12-05 18:30"))
    with time_machine.travel(at(account, "2026-12-06 10:00")):
        response = widget.post(f"/api/v1/deals/{LEAD}/dunning/decision", {"decision": "lawyer"})
    assert response.status_code == 201
    assert response.json()["next_step"] is None
