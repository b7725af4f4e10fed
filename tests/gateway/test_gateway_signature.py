"""Notification HMAC: the contract's test vector, both header variants, and what must fail."""
from urllib.parse import urlencode

from hypothesis import given
from hypothesis import strategies as st

from billing.gateway.signature import decoded_message, sign, verify_notification

SECRET = "sandbox_api_secret"
BODY = b"TransactionId=1&Amount=10.00&Name=IVAN+PETROV&Data=%7B%22a%22%3A1%7D"
CONTENT_HMAC = "iIcJGi1oDe2YR5f1MfijK922tRadUwX6YuLzn7zSkTg="
X_CONTENT_HMAC = "lu6sLnXU0bFOxKIyUhlhKFBaDfU+f3ltnfMn+QLDuW0="


def test_contract_vector_signs_the_raw_body():
    assert sign(SECRET, BODY) == CONTENT_HMAC


def test_contract_vector_signs_the_decoded_body():
    assert decoded_message(BODY) == b'TransactionId=1&Amount=10.00&Name=IVAN PETROV&Data={"a":1}'
    assert sign(SECRET, decoded_message(BODY)) == X_CONTENT_HMAC


def test_either_header_alone_is_enough():
    assert verify_notification(SECRET, BODY, CONTENT_HMAC, None)
    assert verify_notification(SECRET, BODY, None, X_CONTENT_HMAC)
    assert verify_notification(SECRET, BODY, CONTENT_HMAC, X_CONTENT_HMAC)


def test_headers_swapped_between_variants_do_not_verify():
    assert not verify_notification(SECRET, BODY, X_CONTENT_HMAC, CONTENT_HMAC)


def test_missing_headers_are_rejected():
    assert not verify_notification(SECRET, BODY, None, None)
    assert not verify_notification(SECRET, BODY, "", "")


def test_wrong_secret_or_tampered_body_is_rejected():
    assert not verify_notification("another_secret", BODY, CONTENT_HMAC, X_CONTENT_HMAC)
    tampered = BODY.replace(b"10.00", b"1.00")
    assert not verify_notification(SECRET, tampered, CONTENT_HMAC, X_CONTENT_HMAC)


def test_non_ascii_or_garbage_headers_do_not_crash():
    assert not verify_notification(SECRET, BODY, "подпись", "ü")
    assert not verify_notification(SECRET, b"\xff\xfe=%FF", "x", "y")


@given(st.dictionaries(st.text(min_size=1, max_size=12), st.text(max_size=40), max_size=8))
def test_any_form_body_verifies_by_both_variants(fields):
    body = urlencode(fields).encode("utf-8")
    assert verify_notification(SECRET, body, sign(SECRET, body), None)
    assert verify_notification(SECRET, body, None, sign(SECRET, decoded_message(body)))
