"""The loopback SMTP sink: records the mail the demo and the tests send (`python -m sandboxes.smtp`)."""
from sandboxes.smtp.server import ReceivedMail, SmtpSink

__all__ = ["ReceivedMail", "SmtpSink"]
