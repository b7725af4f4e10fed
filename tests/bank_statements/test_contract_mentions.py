"""Contract numbers as people write them in a payment purpose («дог. N18/2026», «договор №18/2026», «по дог.18/2026
от …») read as the deal's contract number; a longer or shorter number, or a bare short one, does not."""
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.domain.bank_matching import OpenLine, contract_key, contract_mentions, contract_named, match_credit


@pytest.mark.parametrize("purpose", [
    "Платеж по графику (дог. N18/2026), взнос 2 из 6; НДС=0",
    "Оплата по договору №18/2026",
    "оплата по дог.18/2026 от 01.05.2026 без НДС",
    "по договору от 01.05.2026 № 18/2026.",
    "По договору от 01.05.2026г. №18-2026",
    "ДОГОВОР # 18 / 2026, обучение",
    "опл. по догов. 18/2026",
    "Оплата по Договору N 18/2026 за обучение",
    "Оплата обучения: договор №18/2026; Без НДС",
])
def test_the_ways_people_write_a_contract_number_name_it(purpose):
    assert contract_named(purpose, "18/2026")
    assert contract_named(purpose, "№ 18-2026")


@pytest.mark.parametrize("purpose", [
    "Оплата по договору №118/2026",
    "Оплата по договору №18/20261",
    "Оплата по договору №8/2026",
    "Оплата по счету 18/2026",  # no contract marker: a short number is not read anywhere
    "Договор-оферта, взнос 18",
    "Оплата за обучение",
])
def test_other_numbers_or_no_marker_do_not(purpose):
    assert not contract_named(purpose, "18/2026")


def test_a_date_after_the_marker_is_not_the_number():
    assert contract_mentions("по договору от 01.05.2026 № 7/26") == ("726",)


@given(number=st.integers(min_value=1, max_value=99_999), year=st.integers(min_value=2000, max_value=2099),
       marker=st.sampled_from(["дог.", "дог", "договор", "договору", "Договора", "ДОГ."]),
       sign=st.sampled_from(["", "№", "N", "N ", "№ ", "#"]), sep=st.sampled_from(["/", "-", " / "]),
       space=st.sampled_from(["", " "]), tail=st.sampled_from(["", ".", ",", ")", " от 01.05.2026", "; НДС=0"]))
def test_any_spelling_reads_back_the_same_contract_key(number, year, marker, sign, sep, space, tail):
    purpose = f"Оплата по {marker}{space}{sign}{number}{sep}{year}{tail}"
    assert contract_named(purpose, f"{number}/{year}")
    assert not contract_named(purpose, f"{number}/{year + 1}")
    assert not contract_named(purpose, f"1{number}/{year}")


def test_contract_key_ignores_signs_spaces_and_separators():
    assert contract_key("№ 18/2026") == contract_key("N18-2026") == contract_key("18 2026") == "182026"
    assert contract_key("Д-2026-000017") == "Д2026000017"


LINES = [OpenLine(deal_id=1, installment_id=11, remaining=Decimal("12500"), contract_number="18/2026",
                  client_inn="501200000042"),
         OpenLine(deal_id=2, installment_id=21, remaining=Decimal("12500"), contract_number="118/2026"),
         OpenLine(deal_id=3, installment_id=31, remaining=Decimal("500"), contract_number="5")]


@pytest.mark.parametrize("purpose", ["Платеж по графику (дог. N18/2026), взнос 2 из 6; НДС=0",
                                     "по дог.18/2026 от 01.05.2026", "договор №18/2026"])
def test_the_matcher_finds_the_deal_by_the_contract_in_any_spelling(purpose):
    match = match_credit(purpose=purpose, payer_inn="501200000042", amount=Decimal("12500"), lines=LINES)
    assert (match.deal_id, match.confidence) == (1, 95)
    assert match.reasons[0] == "contract_number"


def test_a_short_contract_number_is_not_read_out_of_other_numbers():
    match = match_credit(purpose="взнос 2 из 5", payer_inn="", amount=Decimal("500"), lines=LINES)
    assert match.deal_id is None
    named = match_credit(purpose="по договору № 5", payer_inn="", amount=Decimal("500"), lines=LINES)
    assert named.deal_id == 3
