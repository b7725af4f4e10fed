"""Reads about invoices."""
from django.db.models import F
from django.utils.translation import gettext

from billing.errors import ApplicationError
from billing.models import Deal, Installment


def installment_for_invoice(*, deal: Deal, seq: int | None) -> Installment | None:
    """The active plan's line `seq`, or the oldest unpaid line when no seq is given."""
    lines = Installment.objects.filter(schedule__deal=deal, schedule__is_active=True)
    if seq is None:
        return lines.filter(paid__lt=F("amount")).order_by("due_date", "seq").first()
    line = lines.filter(seq=seq).first()
    if line is None:
        raise ApplicationError("installment_not_found", gettext("The active plan has no payment No. "
            "%(seq)s.") % {"seq": seq},
                               {"installment_seq": [gettext("No such payment.")]})
    return line
