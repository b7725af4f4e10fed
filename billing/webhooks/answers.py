"""A neutral notification outcome as CloudPayments must hear it: the HTTP status and the `{"code": N}` body."""
from dataclasses import dataclass

from billing.gateway.cloudpayments_notifications import answer_code
from billing.gateway.notifications import NotificationOutcome, Outcome


@dataclass(frozen=True)
class WebhookAnswer:
    http_status: int
    body: dict


def _error(code: int, error_code: str, message: str, fields: dict | None = None) -> dict:
    return {"code": code, "error": {"code": error_code, "message": message, "fields": fields or {}}}


def webhook_answer(outcome: NotificationOutcome) -> WebhookAnswer:
    """A duplicate hears what the first delivery heard. Refused Checks and unmatched money are still a 200:
    the code tells CloudPayments what to do; the stored event tells operators why."""
    outcome = outcome.effective
    code = answer_code(outcome)
    match outcome.outcome:
        case Outcome.ACCEPTED | Outcome.UNMATCHED | Outcome.CHECK_REFUSED:
            return WebhookAnswer(200, {"code": code})
        case Outcome.INVALID:
            return WebhookAnswer(400, _error(code, "invalid_notification", outcome.message,
                                             {outcome.field: [outcome.message]}))
        case Outcome.NOT_CONNECTED:
            return WebhookAnswer(401, _error(code, "cloudpayments_not_connected", outcome.message))
        case Outcome.REJECTED_SIGNATURE:
            return WebhookAnswer(401, _error(code, "invalid_signature", outcome.message))
        case _:  # FAILED: stored; CloudPayments delivers it again
            return WebhookAnswer(503, _error(code, "processing_failed", outcome.message))
