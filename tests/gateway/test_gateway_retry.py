"""The gateway transport's retries are urllib3's Retry on the pooled session; what it repeats is pinned."""
import requests
from urllib3 import HTTPResponse

from billing.gateway.transport import RETRY_AFTER_MAX_SECONDS, JsonTransport, gateway_retry


def test_post_is_retried_on_5xx_and_429_only():
    retry = gateway_retry(3, 0.5)
    assert retry.is_retry("POST", 503)
    assert retry.is_retry("POST", 500)
    assert retry.is_retry("POST", 429)
    assert not retry.is_retry("POST", 400)
    assert not retry.is_retry("POST", 401)
    assert retry._is_method_retryable("POST")  # a read timeout on a POST is repeated: X-Request-ID dedupes


def test_backoff_doubles_from_the_configured_base():
    retry = gateway_retry(3, 0.5)
    waits = []
    for _ in range(3):
        retry = retry.increment("POST", "/x", response=HTTPResponse(status=503))
        waits.append(retry.get_backoff_time())
    assert waits == [0.5, 1.0, 2.0]


def test_retry_after_is_honoured_and_capped():
    retry = gateway_retry(3, 0.5)
    assert retry.get_retry_after(HTTPResponse(status=429, headers={"Retry-After": "2"})) == 2
    assert retry.get_retry_after(HTTPResponse(status=429, headers={"Retry-After": "3600"})) == RETRY_AFTER_MAX_SECONDS


def test_the_retrying_adapter_is_mounted_once_per_pooled_session():
    session = requests.Session()
    first = JsonTransport("http://127.0.0.1:1/", "u", "p", connect_timeout=1, read_timeout=1, retries=2,
                          backoff=0.1, session=session)
    adapter = session.get_adapter(first.base_url + "orders/create")
    JsonTransport("http://127.0.0.1:1/", "u", "p", connect_timeout=1, read_timeout=1, retries=2, backoff=0.1,
                  session=session)
    assert session.get_adapter(first.base_url + "orders/create") is adapter
    assert adapter.max_retries.total == 2
