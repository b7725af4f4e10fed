"""A Bitrix24 account's outbox rows go out through crm.bitrix24 (the drain picks the adapter by the
account's CRM kind): a timeline comment, the move to the won stage."""
from billing.models import Account, Deal
from crm.drain import outbox_drain_account
from crm.models import CrmAction


def test_a_bitrix24_accounts_actions_are_delivered_through_the_bitrix24_adapter(direct_portal, sandbox):
    account = Account.objects.create(crm_kind="bitrix24", crm_account_id=990001, slug="b24-portal",
                                     host="b24.example.ru", name="Портал")
    direct_portal.account = account
    direct_portal.save(update_fields=["account"])
    deal = Deal.objects.create(account=account, crm_kind="bitrix24", external_id=8061)
    note = CrmAction.objects.create(account=account, deal=deal, external_id=8061, kind="add_note",
                                    payload={"text": "Платёж 40 000,00 ₽ получен"})
    won = CrmAction.objects.create(account=account, deal=deal, external_id=8061, kind="move_to_completed",
                                   payload={})

    report = outbox_drain_account(account_id=account.pk, budget_seconds=10)

    assert not report.stopped or report.stopped == ""
    note.refresh_from_db()
    won.refresh_from_db()
    assert (note.state, won.state) == ("done", "done"), (note.last_error, won.last_error)
    comments = [row["COMMENT"] for row in sandbox.snapshot()["comments"]]
    assert "Платёж 40 000,00 ₽ получен" in comments


def test_a_stage_move_of_the_feed_goes_out_in_bitrix24_terms(direct_portal, sandbox):
    """The feed writes the stage the account's settings name (`status_id`): a Bitrix24 code is sent as the
    deal's STAGE_ID; an amoCRM number is no Bitrix24 stage and is left out (the responsible user still goes)."""
    account = direct_portal.account
    deal = Deal.objects.create(account=account, crm_kind="bitrix24", external_id=8061)
    moved = CrmAction.objects.create(account=account, deal=deal, external_id=8061, kind="update_lead",
                                     payload={"status_id": "C1:NEW", "pipeline_id": None})
    numeric = CrmAction.objects.create(account=account, deal=deal, external_id=8061, kind="update_lead",
                                       payload={"status_id": 142, "responsible_user_id": 1})

    outbox_drain_account(account_id=account.pk, budget_seconds=10)

    assert set(CrmAction.objects.filter(pk__in=[moved.pk, numeric.pk]).values_list("state", flat=True)) == {"done"}
    row = sandbox.snapshot()["deals"]["8061"]
    assert (row["STAGE_ID"], str(row["ASSIGNED_BY_ID"])) == ("C1:NEW", "1")


def test_deal_figures_go_to_the_user_fields_without_any_mapping(direct_portal, sandbox):
    """amoCRM sends only the lead fields an admin mapped; Bitrix24's own user fields are made on install,
    so the feed queues the figures for a Bitrix24 deal whatever the account's mapping."""
    from crm import port

    assert port.fields_always_sent("bitrix24")
    assert not port.fields_always_sent("amocrm")
