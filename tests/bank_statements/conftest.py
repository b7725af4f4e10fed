"""Two deals of the school with contract numbers and client INNs, one of another account; both know our account."""
import pytest

from billing.models import Deal

OUR = "40702810600000000001"
LEAD, OTHER_LEAD = 31337, 31338


@pytest.fixture
def deals(account, widget, other_widget, other_account, school_plan):
    account.settings = {**account.settings, "requisites": {"bank_account": OUR}}
    account.save(update_fields=["settings"])
    other_account.settings = {**other_account.settings, "requisites": {"bank_account": OUR}}
    other_account.save(update_fields=["settings"])
    for lead in (LEAD, OTHER_LEAD):
        assert widget.put(f"/api/v1/deals/{lead}/schedule", school_plan).status_code == 200
    assert other_widget.put(f"/api/v1/deals/{LEAD}/schedule", school_plan).status_code == 200
    Deal.objects.filter(account=account, external_id=LEAD).update(contract_number="Д-2026-000017",
                                                                  client_inn="5012000004")
    Deal.objects.filter(account=account, external_id=OTHER_LEAD).update(contract_number="Д-2026-000018",
                                                                     client_inn="501200000042")
    Deal.objects.filter(account=other_account).update(contract_number="Д-2026-000099", client_inn="7711111111")
    return Deal.objects.get(account=account, external_id=LEAD), Deal.objects.get(account=account,
                                                                                 external_id=OTHER_LEAD)
