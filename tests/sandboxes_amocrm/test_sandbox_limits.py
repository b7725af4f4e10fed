"""Rate limit, IP-style block and injected faults of the amoCRM sandbox."""

import time

import pytest
import requests

from sandboxes.amocrm import CrmSandbox

ACCOUNT = "/api/v4/account"


@pytest.fixture
def limited(client_for):
    """A sandbox with amoCRM's 7 req/s and a block after 3 consecutive 429s, and a client with a token."""
    with CrmSandbox(rate_limit_rps=7, block_after=3) as sandbox:
        yield sandbox, client_for(sandbox, sandbox.issue_long_lived_token())


def test_eighth_call_within_one_second_is_429_then_the_window_frees(limited):
    _, crm = limited

    statuses = [crm.get(ACCOUNT).status_code for _ in range(8)]

    assert statuses == [200] * 7 + [429]
    time.sleep(1.05)
    assert crm.get(ACCOUNT).status_code == 200
    counters = crm.get("/_sandbox/counters").json()
    assert counters["rate_limited"] == 1
    assert counters["max_calls_per_second"] == 8


def test_repeated_429s_turn_into_a_403_html_block_until_reset(limited):
    _, crm = limited
    for _ in range(7):
        crm.get(ACCOUNT)

    statuses = [crm.get(ACCOUNT).status_code for _ in range(4)]
    blocked = crm.get(ACCOUNT)
    token_endpoint = crm.post("/oauth2/access_token", json={})

    assert statuses == [429, 429, 429, 403]
    assert blocked.status_code == token_endpoint.status_code == 403
    assert blocked.headers["Content-Type"].startswith("text/html")
    crm.post("/_sandbox/reset")
    assert crm.get(ACCOUNT).status_code == 200


def test_limit_is_per_access_token(limited, client_for):
    sandbox, crm = limited
    other = client_for(sandbox, sandbox.issue_long_lived_token())
    for _ in range(7):
        crm.get(ACCOUNT)

    assert other.get(ACCOUNT).status_code == 200


@pytest.mark.parametrize(("status", "content_type"), [(429, "text/html"), (500, "application/problem+json"),
                                                      (503, "text/html")])
def test_fault_answers_the_next_k_calls_then_traffic_recovers(crm, status, content_type):
    assert crm.post("/_sandbox/faults", json={"next": 2, "status": status}).status_code == 200

    answers = [crm.get(ACCOUNT) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [status, status, 200]
    assert answers[0].headers["Content-Type"].startswith(content_type)


def test_fault_204_answers_a_single_read_with_no_body(crm):
    crm.post("/_sandbox/faults", json={"next": 1, "status": 204})

    answer = crm.get("/api/v4/leads")

    assert (answer.status_code, answer.content) == (204, b"")


def test_fault_delay_holds_the_answer(crm):
    crm.post("/_sandbox/faults", json={"next": 1, "delay_seconds": 0.3})

    with pytest.raises(requests.ReadTimeout):  # the answer is held past a client's patience ...
        crm.session.get(crm.base_url + ACCOUNT, headers={"Authorization": f"Bearer {crm.token}"}, timeout=0.1)
    assert crm.get(ACCOUNT).status_code == 200  # ... and the fault was for the next call only


def test_fault_can_target_the_token_endpoint(crm):
    crm.post("/_sandbox/faults", json={"next": 1, "status": 503, "path_prefix": "/oauth2/"})

    assert crm.get(ACCOUNT).status_code == 200
    assert crm.post("/oauth2/access_token", json={}).status_code == 503


def test_fault_reset_before_drops_the_connection_and_applies_nothing(crm, sandbox):
    crm.post("/_sandbox/faults", json={"next": 1, "reset": "before", "method": "PATCH", "path_prefix": "/api/v4/leads"})
    price = sandbox.account().leads[17651].price

    assert crm.get("/api/v4/leads/17651").status_code == 200  # another method: not the fault's call
    with pytest.raises(requests.ConnectionError):
        crm.patch("/api/v4/leads/17651", json={"price": price + 1})

    assert sandbox.account().leads[17651].price == price
    entry = sandbox.journal[-1]
    assert (entry.method, entry.status, entry.reset) == ("PATCH", 0, "before")
    assert crm.patch("/api/v4/leads/17651", json={"price": price + 1}).status_code == 200  # the next call is fine


def test_fault_reset_after_applies_the_request_but_drops_its_answer(crm, sandbox):
    crm.post("/_sandbox/faults", json={"next": 1, "reset": "after", "path_prefix": "/api/v4/leads/notes"})
    note = {"entity_id": 17651, "note_type": "common", "params": {"text": "stored, never confirmed"}}

    with pytest.raises(requests.ConnectionError):
        crm.post("/api/v4/leads/notes", json=[note])

    assert [n.params["text"] for n in sandbox.account().notes.values()] == ["stored, never confirmed"]
    entry = sandbox.journal[-1]
    assert (entry.method, entry.status, entry.reset) == ("POST", 200, "after")
    over_http = crm.get("/_sandbox/journal").json()["entries"]
    assert over_http[-1]["reset"] == "after"


@pytest.mark.parametrize("spec", [{"next": 0, "status": 429}, {"status": 418}, {"delay_seconds": 31},
                                  {"next": 1}, {"reset": "during"}, {"reset": "after", "status": 500},
                                  {"status": 500, "method": "OPTIONS"}])
def test_bad_fault_specs_are_refused(crm, spec):
    assert crm.post("/_sandbox/faults", json=spec).status_code == 400


def test_journal_records_method_path_body_token_and_status(crm, sandbox):
    crm.patch("/api/v4/leads/17651", json={"price": 1000}, headers={"User-Agent": "payplan-test"})

    entry = sandbox.journal[-1]
    assert (entry.method, entry.path, entry.body, entry.token, entry.status) == (
        "PATCH", "/api/v4/leads/17651", {"price": 1000}, crm.token, 200)
    assert entry.user_agent == "payplan-test"
    over_http = crm.get("/_sandbox/journal").json()["entries"]
    assert over_http[-1]["path"] == "/api/v4/leads/17651"
