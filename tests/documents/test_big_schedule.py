"""A 10 000-line schedule: the request never waits for it (202, a worker renders it), and the worker's
PDF is paged with the table header repeated on every page."""
import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest

import documents.services
from billing.models import Deal, Installment, Schedule
from documents.models import StoredDocument
from documents.services import document_render
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db
LINES = 10_000


@pytest.fixture
def huge_deal(school):
    deal = Deal.objects.create(account=school, external_id=9100, name="Аренда оборудования",
                               contact_name="ООО «Клиент»",
                               total=Decimal(LINES * 100), debt=Decimal(LINES * 100))
    schedule = Schedule.objects.create(deal=deal, version=1, plan="custom", total=Decimal(LINES * 100),
                                       debt=Decimal(LINES * 100))
    Installment.objects.bulk_create(
        Installment(schedule=schedule, seq=seq, kind="regular", due_date=date(2027, 1, 1) + timedelta(days=seq),
                    amount=Decimal("100.00")) for seq in range(1, LINES + 1))
    return deal


def test_a_huge_schedule_is_queued_for_a_worker_and_the_request_answers_at_once(
        huge_deal, widget, django_capture_on_commit_callbacks, monkeypatch):
    queued = []
    monkeypatch.setattr("documents.tasks.render_document.delay", lambda *args: queued.append(args))
    # The claim lives in Redis, which outlives the test database: a key of this test's own, kept long
    # enough that a slow machine's second request still finds it (5 s was a stopwatch that load beat).
    claim_key, run = documents.services.render_claim_key, uuid.uuid4().hex
    monkeypatch.setattr("documents.services.render_claim_key", lambda *args: f"{claim_key(*args)}:{run}")
    monkeypatch.setattr("documents.services.RENDER_CLAIM_SECONDS", 120)
    url = f"/api/v1/deals/{huge_deal.external_id}/documents/schedule.pdf"
    with django_capture_on_commit_callbacks(execute=True):
        response = widget.get(url)
        again = widget.get(url)
    assert again.status_code == 202
    assert response.status_code == 202
    assert response.json()["status"] == "rendering"
    assert int(response["Retry-After"]) >= 5
    assert queued == [(huge_deal.account_id, "schedule", huge_deal.pk)]


@pytest.mark.slow  # minutes of WeasyPrint on two cores: `make test-slow`, not `make test`
def test_the_worker_renders_all_10000_lines_paged_and_the_next_request_gets_the_pdf(huge_deal, widget):
    stored = document_render(account=huge_deal.account, kind="schedule", object_id=huge_deal.pk)
    assert stored.pages > 250  # ~37 lines an A4 page
    response = widget.get(f"/api/v1/deals/{huge_deal.external_id}/documents/schedule.pdf")
    assert response.status_code == 200
    assert len(response.content) == stored.size
    assert StoredDocument.objects.count() == 1


def test_a_huge_deal_of_another_account_is_still_a_404(huge_deal, other_widget):
    assert_error(other_widget.get(f"/api/v1/deals/{huge_deal.external_id}/documents/schedule.pdf"), 404)
