"""A CRM note names how the money came in words, never by its code: every payment method has them."""
import re

import pytest
from django.utils import translation

from billing.models import Payment
from crm.texts import method_text


@pytest.mark.parametrize("method", [choice.value for choice in Payment.Method])
def test_every_payment_method_reads_as_words_in_russian_and_english(method):
    with translation.override("ru"):
        russian = method_text(method)
    with translation.override("en"):
        english = method_text(method)
    assert re.search("[а-яё]", russian), russian  # words, not the code
    assert english
    assert "_" not in english
