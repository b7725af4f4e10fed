"""The REST client: batches of at most 50, the portal's leaky bucket under a burst (no limit error
reaches the caller), backoff on QUERY_LIMIT_EXCEEDED, typed errors, a renamed portal followed."""
import pytest

from crm.bitrix24 import adapter
from crm.bitrix24.client import Bitrix24Client, query_encode
from crm.bitrix24.errors import RateLimited, Rejected, Transient
from crm.bitrix24.models import Portal
from tests.bitrix24.conftest import rest_calls
from tests.threads import run_together


def test_batch_commands_go_fifty_per_request_with_per_command_errors(direct_portal, sandbox):
    sandbox.journal.clear()
    commands = {f"k{index}": ("crm.deal.get", {"id": 8061 + index % 4}) for index in range(120)}

    outcome = Bitrix24Client(direct_portal).batch(commands)

    assert len(rest_calls(sandbox, "batch")) == 3
    assert len(outcome.results) == 90  # 8064 does not exist: "Not found" with an empty error code
    assert len(outcome.errors) == 30
    assert outcome.errors["k3"] == ("", "Not found")


def test_batch_commands_may_use_earlier_results(direct_portal, sandbox):
    outcome = Bitrix24Client(direct_portal).batch({
        "deal": ("crm.deal.get", {"id": 8061}),
        "contact": ("crm.contact.get", {"id": "$result[deal][CONTACT_ID]"})})

    assert outcome.results["contact"]["LAST_NAME"] == "Соколова"


def test_query_encoding_is_phps():
    assert query_encode({"id": 5, "fields": {"TITLE": "Оплата 5 000 ₽", "UF": ["D_1", "D_2"]}, "x": None}) == (
        "id=5&fields[TITLE]=%D0%9E%D0%BF%D0%BB%D0%B0%D1%82%D0%B0%205%20000%20%E2%82%BD"
        "&fields[UF][0]=D_1&fields[UF][1]=D_2")


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_two_hundred_calls_from_four_workers_meets_no_limit_error(sandbox, settings):
    from tests.bitrix24.conftest import portal_direct

    portal = portal_direct(sandbox)
    # The portal's bucket is smaller than ours (another app on our IP shares it): some calls are refused
    # with QUERY_LIMIT_EXCEEDED, and the client backs off instead of failing.
    sandbox.bucket_capacity, sandbox.bucket_drain = 10.0, 60.0
    settings.BITRIX24_BUCKET_CAPACITY, settings.BITRIX24_BUCKET_DRAIN_RPS = 14.0, 80.0
    errors: list = []

    def worker():
        client = Bitrix24Client(Portal.objects.get(pk=portal.pk))
        done = 0
        for index in range(50):
            try:
                client.call("crm.deal.get", {"id": 8061 + index % 3})
                done += 1
            except Exception as exc:  # any error reaching the caller fails the test
                errors.append(exc)
        return done, client.limit_answers

    results = run_together([worker] * 4, timeout=120)

    assert errors == []
    assert sum(done for done, _ in results) == 200
    assert sandbox.counters["limit_exceeded"] == sum(absorbed for _, absorbed in results)
    print(f"burst: 200 calls, {sandbox.counters['limit_exceeded']} QUERY_LIMIT_EXCEEDED absorbed, "
          f"bucket peak {sandbox.counters['max_bucket_level']:.1f} of {sandbox.bucket_capacity:.0f}")


def test_two_hundred_timeline_comments_take_four_requests(direct_portal, sandbox):
    sandbox.journal.clear()

    results = adapter.comments_add(direct_portal, {str(n): (8061, f"Платёж №{n} получен") for n in range(200)})

    assert all(result.ok and result.entity_id for result in results.values())
    assert len(rest_calls(sandbox)) == 4
    assert len(sandbox.snapshot()["comments"]) == 200


def test_an_injected_limit_answer_is_absorbed(direct_portal, sandbox):
    sandbox.fault_add({"kind": "query_limit", "next": 2})
    client = Bitrix24Client(direct_portal)

    assert client.call("crm.deal.get", {"id": 8061})["ID"] == "8061"
    assert client.limit_answers == 2


def test_a_limit_that_outlasts_the_wait_is_a_rate_limit_error_with_a_delay(direct_portal, sandbox):
    sandbox.fault_add({"kind": "query_limit", "next": 50})

    with pytest.raises(RateLimited) as raised:
        Bitrix24Client(direct_portal, max_wait=1.0).call("crm.deal.get", {"id": 8061})
    assert raised.value.retry_after > 0


def test_the_operation_time_limit_names_when_to_come_back(direct_portal, sandbox):
    sandbox.fault_add({"kind": "operation_limit", "next": 1, "method": "crm.deal.get"})

    with pytest.raises(RateLimited) as raised:
        Bitrix24Client(direct_portal).call("crm.deal.get", {"id": 8061})
    assert raised.value.code == "OPERATION_TIME_LIMIT"
    assert raised.value.retry_after >= 1


def test_server_errors_are_transient_and_writes_may_have_been_applied(direct_portal, sandbox):
    sandbox.fault_add({"kind": "status", "status": 500, "next": 2})
    client = Bitrix24Client(direct_portal)

    with pytest.raises(Transient) as read:
        client.call("crm.deal.get", {"id": 8061})
    with pytest.raises(Transient) as write:
        client.call("crm.deal.update", {"id": 8061, "fields": {"TITLE": "x"}})
    assert (read.value.maybe_applied, write.value.maybe_applied) == (False, True)
    assert not isinstance(read.value, RateLimited)


def test_crm_errors_with_an_empty_code_are_rejections(direct_portal):
    with pytest.raises(Rejected) as raised:
        Bitrix24Client(direct_portal).call("crm.deal.get", {"id": 999})
    assert "Not found" in raised.value.message


def test_a_renamed_portal_is_followed_and_its_new_address_kept(direct_portal, sandbox):
    old = direct_portal.domain
    sandbox.rename(None, f"localhost:{sandbox.port}")

    assert Bitrix24Client(direct_portal).call("crm.deal.get", {"id": 8061})["ID"] == "8061"

    portal = Portal.objects.get(pk=direct_portal.pk)
    assert portal.domain == f"localhost:{sandbox.port}"
    assert portal.previous_domains == [old]
    assert portal.client_endpoint == f"http://localhost:{sandbox.port}/rest/"


def test_a_method_over_its_time_budget_waits_until_the_portal_says(direct_portal, sandbox):
    sandbox.operation_budget, sandbox.method_cost = 1.0, 0.6
    client = Bitrix24Client(direct_portal)
    client.call("crm.deal.get", {"id": 8061})
    client.call("crm.deal.get", {"id": 8061})

    with pytest.raises(RateLimited) as raised:
        client.call("crm.deal.get", {"id": 8061})
    assert raised.value.code == "OPERATION_TIME_LIMIT"
    assert raised.value.retry_after > 60  # until operating_reset_at, not a blind retry
    assert client.call("user.current")["ID"] == "1"  # other methods are not blocked
