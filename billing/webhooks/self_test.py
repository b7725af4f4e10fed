"""The CloudPayments self-test: a Check signed with the stored secret, run through the very receive path."""
from dataclasses import dataclass

from django.db import transaction

from billing.gateway.cloudpayments_notifications import notification_receive, self_test_check
from billing.models import Account
from billing.services.webhooks import gateway_notification_receive
from billing.webhooks.answers import WebhookAnswer, webhook_answer

SELF_TEST_INVOICE = "PAYPLAN-SELF-TEST"


@dataclass(frozen=True)
class SelfTestResult:
    verified: bool
    http_status: int
    answer_code: int | None
    error_code: str | None


class _Discard(Exception):  # a control-flow signal that rolls the self-test back
    def __init__(self, answer: WebhookAnswer) -> None:
        super().__init__("self-test rolled back")
        self.answer = answer


def gateway_notification_self_test(*, account: Account) -> SelfTestResult:
    """Sign a test Check with the stored secret and run it through the very receive/verify path and the
    view's answer, in this process, then roll everything back: it leaves no event and never records money."""
    account = Account.objects.get(pk=account.pk)
    secret = account.cloudpayments_api_secret
    body, signature = self_test_check(secret=secret, currency=account.currency, invoice_number=SELF_TEST_INVOICE)
    try:
        with transaction.atomic():
            received = notification_receive(secret=secret, kind="check", raw_body=body,
                                            content_type="application/x-www-form-urlencoded",
                                            content_hmac=signature, x_content_hmac=None)
            raise _Discard(webhook_answer(gateway_notification_receive(account=account, received=received)))
    except _Discard as discard:
        answer = discard.answer
    error = answer.body.get("error")
    return SelfTestResult(verified=answer.http_status == 200, http_status=answer.http_status,
                          answer_code=answer.body.get("code"), error_code=error["code"] if error else None)
