"""Documents of an interest plan [J]: the schedule printout, the contract's appendix and the offer show the
interest of every line, the interest over the term and the rates, in Russian."""
from datetime import date
from decimal import Decimal

import pytest

from billing.domain.schedule import PlanRequest
from billing.services import ScheduleOptions, schedule_replace
from billing.services.deals import deal_get_or_create
from documents.kinds import DEAL_KINDS, Kind
from documents.safe_render import render_template
from documents.selectors import default_template_source, document_subject_get
from tests.documents.conftest import with_client
from tests.documents.test_russian_documents import _english, _visible_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def annuity_deal(school):
    deal = with_client(deal_get_or_create(account=school, external_id=6201))
    schedule_replace(deal=deal, plan_request=PlanRequest(
        plan="annuity", total=Decimal("100000"), installments_count=12, first_due_date=date(2027, 2, 1),
        annual_rate=Decimal("12"), day_count="30/360"), options=ScheduleOptions(), created_by=1,
        today=date(2026, 11, 24))
    deal.refresh_from_db()
    return deal


@pytest.mark.parametrize("kind", [kind.value for kind in DEAL_KINDS])
def test_deal_documents_show_the_interest_per_line_and_over_the_term(annuity_deal, kind):
    subject = document_subject_get(account=annuity_deal.account, kind=kind, object_id=annuity_deal.pk)
    variables = subject.variables["schedule"]
    assert variables["interest_total"] == Decimal("6618.53")
    assert variables["installments"][0]["interest"] == Decimal("1000.00")
    assert variables["installments"][0]["principal"] == Decimal("7884.88")
    text = _visible_text(render_template(default_template_source(kind), subject.variables))
    assert not _english(text), _english(text)
    assert "1 000,00" in text  # the first line's interest
    assert "6 618,53" in text  # the interest over the term
    assert "беспроцентную" not in text
    if kind == Kind.SCHEDULE:
        assert "Основной долг" in text
        assert "7 884,88" in text
        assert "12,00 % годовых" in text
        assert "эффективная ставка" in text
