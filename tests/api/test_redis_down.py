"""Redis down [I]: with the cache unreachable (Redis gone; its port refuses), the widget API still reads a
deal and records a payment, and the payment's effects wait as relay rows for the beat tick to deliver."""
import pytest
from django.core.cache import cache
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
