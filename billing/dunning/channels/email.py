"""Client email through Django's email backend (SMTP in production, the SMTP sink in the demo)."""
import smtplib

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils.translation import gettext_noop

from billing.dunning.channels.base import (
    Delivery,
    OutgoingMessage,
    PermanentChannelError,
    TemporaryChannelError,
)


class EmailProvider:
    def __init__(self, *, from_email: str | None = None, reply_to: str = "") -> None:
        self.from_email = from_email or settings.DUNNING_EMAIL_FROM
        self.reply_to = [reply_to] if reply_to else []

    def send(self, message: OutgoingMessage) -> Delivery:
        email = EmailMessage(subject=message.subject, body=message.text, from_email=self.from_email,
                             to=[message.recipient], reply_to=self.reply_to,
                             headers={"X-PayPlan-Reminder": message.idempotency_key})
        try:
            email.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentChannelError(gettext_noop("The mail server refused the address %(address)s"),
                                        address=message.recipient) from exc
        except smtplib.SMTPResponseException as exc:
            text = f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"
            if 500 <= exc.smtp_code < 600:
                raise PermanentChannelError(text) from exc
            raise TemporaryChannelError(text) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise TemporaryChannelError(gettext_noop("The mail server is unavailable (%(error)s)"),
                                        error=type(exc).__name__) from exc
        return Delivery(provider_message_id=message.idempotency_key)
