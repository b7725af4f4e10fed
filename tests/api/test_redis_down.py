"""Redis down [I]: with the cache unreachable (Redis gone; its port refuses), the widget API still reads a
deal and records a payment, and the payment's effects wait as relay rows for the beat tick to deliver."""
import pytest
from celery import current_app
from django.core.cache import cache
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError

from billing.models import EventDelivery, Payment

pytestmark = pytest.mark.django_db
DEAD_REDIS = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": "redis://127.0.0.1:9/0"}}  # discard port: nothing listens, refused at once


def test_the_api_serves_and_records_money_while_redis_is_down(widget, school_plan, settings):
    assert widget.put("/api/v1/deals/8101/schedule", school_plan).status_code == 200
    settings.CACHES = DEAD_REDIS
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"
    with pytest.raises(RedisConnectionError):  # Redis is really gone for this test
        cache.get("anything")
    assert widget.get("/api/v1/deals/8101").status_code == 200
    response = widget.post("/api/v1/deals/8101/payments", {"amount": "1000.00", "method": "cash",
                                                            "paid_at": "2026-11-20"})
    assert response.status_code == 201, response.content
    assert Payment.objects.filter(deal__external_id=8101).count() == 1
    assert EventDelivery.objects.filter(state="pending").exists()  # the outbox holds the effects


def test_a_pay_webhook_lands_while_redis_is_down_and_its_effects_catch_up_once_it_is_back(
        account, settings, django_capture_on_commit_callbacks, monkeypatch):
    # The webhook hot path: the nudge to the relay cannot be queued (broker gone, one refused try, logged),
    # the payment and its relay rows commit all the same; the beat tick delivers them when Redis is back.
    from billing.services.relay import events_relay_run
    from tests.webhooks.conftest import Notifier, pay_fields
    from tests.webhooks.test_pay_hot_path_rows import _deal

    deal, (invoice,) = _deal(account, 8111)
    settings.CACHES = DEAD_REDIS
    # The broker is Redis too: queuing the relay's nudge is refused, as a dead broker refuses it. (Changing
    # Celery's settings here would not do: the app keeps the configuration an earlier test loaded.)
    import billing.tasks  # noqa: F401  (registers the relay task)

    def broker_refuses(*args, **kwargs):
        raise KombuOperationalError("Error 111 connecting to 127.0.0.1:9. Connection refused.")

    monkeypatch.setattr(current_app.tasks["billing.events_relay"], "apply_async", broker_refuses)
    with django_capture_on_commit_callbacks(execute=True):
        response = Notifier(account).post("pay", pay_fields(invoice, transaction_id=811001, amount="1000.00"))
    assert response.json() == {"code": 0}
    assert Payment.objects.filter(transaction_id="811001").count() == 1
    waiting = EventDelivery.objects.filter(event__payload__deal_id=deal.pk, event__name="payment_recorded")
    assert set(waiting.values_list("state", flat=True)) == {"pending"}
    monkeypatch.undo()  # the broker is back
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}  # Redis is back
    events_relay_run()  # the beat tick: the deal's earlier CRM feed rows first, in order, then the Pay's
    assert set(waiting.values_list("state", flat=True)) == {"done"}
    assert waiting.count() == 3
    assert Payment.objects.filter(transaction_id="811001").count() == 1
