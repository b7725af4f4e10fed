"""The address recorded with a consent: REMOTE_ADDR unless the request comes from a configured proxy, whose
X-Forwarded-For is then read from the right; anything doubtful falls back to REMOTE_ADDR (fail closed)."""
import pytest
from django.test import RequestFactory

from client_portal.client_ip import client_ip


def request_from(remote: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().post("/register/x", **extra)


def test_without_a_configured_proxy_the_header_is_ignored(settings):
    settings.PAYPLAN_TRUSTED_PROXIES = []
    assert client_ip(request_from("203.0.113.7", "198.51.100.1")) == "203.0.113.7"


def test_a_configured_proxy_hands_on_the_client_it_saw(settings):
    settings.PAYPLAN_TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert client_ip(request_from("10.0.0.5", "198.51.100.1")) == "198.51.100.1"
    # Two proxies of ours in a row: the first address that is not ours is the client.
    assert client_ip(request_from("10.0.0.5", "198.51.100.1, 10.1.2.3")) == "198.51.100.1"


def test_a_client_cannot_choose_its_address_by_prepending_to_the_header(settings):
    settings.PAYPLAN_TRUSTED_PROXIES = ["10.0.0.5"]
    assert client_ip(request_from("10.0.0.5", "1.2.3.4, 198.51.100.1")) == "198.51.100.1"


def test_a_request_not_from_a_listed_proxy_keeps_its_own_address(settings):
    settings.PAYPLAN_TRUSTED_PROXIES = ["10.0.0.5"]
    assert client_ip(request_from("203.0.113.7", "198.51.100.1")) == "203.0.113.7"


@pytest.mark.parametrize("forwarded", ["", "not-an-ip", "198.51.100.1, garbage", "unknown"])
def test_a_malformed_header_falls_back_to_the_proxy_address(settings, forwarded):
    settings.PAYPLAN_TRUSTED_PROXIES = ["10.0.0.5"]
    assert client_ip(request_from("10.0.0.5", forwarded)) == "10.0.0.5"


def test_a_mistyped_proxy_setting_trusts_nobody(settings):
    settings.PAYPLAN_TRUSTED_PROXIES = ["10.0.0.500", "nonsense"]
    assert client_ip(request_from("10.0.0.5", "198.51.100.1")) == "10.0.0.5"


def test_no_valid_remote_address_is_none(settings):
    settings.PAYPLAN_TRUSTED_PROXIES = ["10.0.0.5"]
    assert client_ip(request_from("", "198.51.100.1")) is None
