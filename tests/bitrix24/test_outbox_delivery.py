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
