"""Two tenants racing for the same CRM lead ids on real PostgreSQL: each gets a deal of its own."""
from collections import Counter

import pytest
from django.db import IntegrityError, transaction

from billing.models import Deal
from billing.services import deal_get_or_create
from crm.models import CrmAction
from tests.conftest import WidgetClient
from tests.threads import run_together

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]
LEADS = [424201, 424202, 424203]


def test_two_tenants_racing_for_the_same_lead_ids_both_get_their_own_deals(account, other_account):
    calls = [lambda tenant=tenant, lead=lead: WidgetClient(tenant).get(f"/api/v1/deals/{lead}")
             for lead in LEADS for tenant in (account, other_account) for _ in range(2)]

    responses = run_together(calls)

    assert Counter(response.status_code for response in responses) == {200: len(calls)}
    assert {response.json()["lead_id"] for response in responses} == set(LEADS)
    for tenant in (account, other_account):
        assert sorted(Deal.objects.filter(account=tenant).values_list("external_id", flat=True)) == LEADS
    assert Deal.objects.count() == 2 * len(LEADS)


def test_a_service_race_across_tenants_returns_each_tenant_its_own_row(account, other_account):
    deals = run_together([lambda tenant=tenant: deal_get_or_create(account=tenant, external_id=LEADS[0])
                          for tenant in (account, other_account, account, other_account)])

    assert [deal.account_id for deal in deals] == [account.pk, other_account.pk, account.pk, other_account.pk]
    assert deals[0].pk == deals[2].pk != deals[1].pk == deals[3].pk


def test_an_outbox_row_cannot_name_another_account_or_lead_than_its_deal(account, other_account):
    deal = deal_get_or_create(account=account, external_id=LEADS[0])
    for wrong in ({"account": other_account, "external_id": deal.external_id},
                  {"account": account, "external_id": LEADS[1]}):
        with pytest.raises(IntegrityError), transaction.atomic():
            CrmAction.objects.create(deal=deal, kind="add_note", payload={"text": "x"}, **wrong)
    CrmAction.objects.create(deal=deal, account=account, external_id=deal.external_id, kind="add_note")
