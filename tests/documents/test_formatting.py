"""Amounts in words and sums the way Russian invoices print them."""
from datetime import date
from decimal import Decimal

import pytest

from documents.formatting import amount_in_words, date_long, date_short, money_ru, plural_ru


@pytest.mark.parametrize(("amount", "words"), [
    ("25000.00", "Двадцать пять тысяч рублей 00 копеек"),
    ("160000.50", "Сто шестьдесят тысяч рублей 50 копеек"),
    ("1.01", "Один рубль 01 копейка"),
    ("2.02", "Два рубля 02 копейки"),
    ("21.11", "Двадцать один рубль 11 копеек"),
    ("21000.22", "Двадцать одна тысяча рублей 22 копейки"),
    ("1000000.00", "Один миллион рублей 00 копеек"),
    ("0.05", "Ноль рублей 05 копеек"),
    ("112.14", "Сто двенадцать рублей 14 копеек"),
])
def test_amount_in_words_names_roubles_and_kopecks_in_the_right_forms(amount, words):
    assert amount_in_words(Decimal(amount)) == words


def test_amounts_in_words_refuse_floats():
    with pytest.raises(ValueError, match="float"):
        amount_in_words(25000.0)


@pytest.mark.parametrize(("amount", "text"), [
    ("25000", "25\u00a0000,00"), ("1234567.8", "1\u00a0234\u00a0567,80"), ("0", "0,00"), ("-15.5", "-15,50"),
    ("999.995", "1\u00a0000,00"),
])
def test_money_groups_thousands_with_non_breaking_spaces_and_a_decimal_comma(amount, text):
    assert money_ru(Decimal(amount)) == text


@pytest.mark.parametrize(("number", "form"), [(1, "платёж"), (3, "платежа"), (5, "платежей"), (11, "платежей"),
                                              (12, "платежей"), (21, "платёж"), (104, "платежа"), (0, "платежей")])
def test_plural_forms_follow_russian_rules(number, form):
    assert plural_ru(number, ("платёж", "платежа", "платежей")) == form


def test_dates_print_in_genitive_and_dotted_forms():
    assert date_long(date(2027, 1, 5)) == "5 января 2027 г."
    assert date_short(date(2027, 1, 5)) == "05.01.2027"
