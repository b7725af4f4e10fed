"""Allocation: oldest installments first, refunds take back the newest, nothing appears or vanishes."""
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from billing.domain.allocation import InstallmentDue, PaymentFact, allocate

D = Decimal


def test_payment_fills_the_oldest_installment_first():
    result = allocate([InstallmentDue(1, D("100")), InstallmentDue(2, D("100"))], [PaymentFact(10, D("150"))])
    assert result.paid_by_installment() == {1: D("100"), 2: D("50")}
    assert result.credit == 0


def test_overpayment_is_kept_as_credit():
    result = allocate([InstallmentDue(1, D("100"))], [PaymentFact(10, D("130"))])
    assert result.paid_by_installment() == {1: D("100")}
    assert result.credit == D("30")


def test_refund_takes_back_from_the_most_recently_filled_installment():
    result = allocate([InstallmentDue(1, D("100")), InstallmentDue(2, D("100"))],
                      [PaymentFact(10, D("150")), PaymentFact(11, D("-70"))])
    assert result.paid_by_installment() == {1: D("80")}
    assert result.credit == 0


def test_refund_consumes_credit_before_installments():
    result = allocate([InstallmentDue(1, D("100"))], [PaymentFact(10, D("130")), PaymentFact(11, D("-20"))])
    assert result.paid_by_installment() == {1: D("100")}
    assert result.credit == D("10")


amounts = st.integers(min_value=1, max_value=10**8).map(lambda k: D(k) / 100)


@given(st.lists(amounts, min_size=1, max_size=20),
       st.lists(st.tuples(amounts, st.booleans()), max_size=30))
def test_allocations_never_exceed_installments_and_conserve_money(dues, movements):
    installments = [InstallmentDue(index, amount) for index, amount in enumerate(dues)]
    payments = [PaymentFact(100 + index, -amount if is_refund else amount)
                for index, (amount, is_refund) in enumerate(movements)]
    result = allocate(installments, payments)
    paid = result.paid_by_installment()
    assert all(piece.amount > 0 for piece in result.slices)
    assert all(paid.get(line.installment_id, 0) <= line.amount for line in installments)
    assert sum(paid.values(), D(0)) + result.credit == sum((p.amount for p in payments), D(0))
    filled = [paid.get(line.installment_id, 0) == line.amount for line in installments]
    started = [paid.get(line.installment_id, 0) > 0 for line in installments]
    # Oldest first: an installment has money only if every older one is fully paid.
    for index in range(1, len(installments)):
        if started[index]:
            assert all(filled[:index])


@given(st.lists(amounts, min_size=1, max_size=15),
       st.lists(st.tuples(amounts, st.booleans()), max_size=20), amounts)
def test_allocating_only_a_new_last_payment_equals_allocating_everything_again(dues, earlier, new_amount):
    """Why the services may allocate a new payment incrementally instead of recomputing the deal."""
    installments = [InstallmentDue(index, amount) for index, amount in enumerate(dues)]
    payments = [PaymentFact(100 + index, -amount if is_refund else amount)
                for index, (amount, is_refund) in enumerate(earlier)]
    before = allocate(installments, payments)
    paid_before = before.paid_by_installment()
    remaining = [InstallmentDue(line.installment_id, line.amount - paid_before.get(line.installment_id, 0))
                 for line in installments]
    step = allocate(remaining, [PaymentFact(999, new_amount)])
    full = allocate(installments, [*payments, PaymentFact(999, new_amount)])
    incremental = {key: paid_before.get(key, 0) + step.paid_by_installment().get(key, 0)
                   for key in {line.installment_id for line in installments}}
    assert {key: value for key, value in incremental.items() if value} == full.paid_by_installment()
    if before.credit >= 0:
        assert before.credit + step.credit == full.credit
