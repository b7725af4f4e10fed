"""«Оплатить через СБП»: an SBP payment for a live invoice, on the account's SBP gateway (YooKassa,
`payment_method_data: {type: "sbp"}`), whichever gateway made the invoice's card link. Made once per invoice
(a deterministic Idempotence-Key, the id kept on the invoice) and recorded by the same notification path:
its metadata names the invoice."""
import dataclasses

from django.db import transaction
from django.utils.translation import gettext as _

from billing.errors import ApplicationError, NotFound
from billing.gateway.errors import GatewayError, GatewayUnavailable
from billing.gateway.interface import Gateway
from billing.models import Invoice
from billing.services.gateways import YOOKASSA, gateway_name_for, gateway_named
from billing.services.invoicing import _order_for, invoice_receipt
from billing.transactions import assert_no_transaction


def sbp_available(account) -> bool:
    return gateway_name_for(account, purpose="sbp") == YOOKASSA and account.yookassa_connected


def invoice_sbp_link(*, invoice_id: int, gateway: Gateway | None = None) -> Invoice:
    """The invoice with its SBP payment page (`sbp_url`): made now, or the one made before."""
    assert_no_transaction()
    invoice = Invoice.objects.select_related("account", "deal", "installment__schedule").filter(pk=invoice_id).first()
    if invoice is None:
        raise NotFound("invoice_not_found", _("No such invoice."))
    if invoice.sbp_url:
        return invoice
    if not sbp_available(invoice.account):
        raise ApplicationError("sbp_not_offered", _("Payment through SBP is not offered by this company."))
    if invoice.status != Invoice.Status.ISSUED or invoice.amount - invoice.paid_amount <= 0:
        raise ApplicationError("invoice_not_payable", _("This invoice cannot be paid now."))
    gateway = gateway or gateway_named(invoice.account, YOOKASSA)
    order = dataclasses.replace(
        _order_for(invoice), amount=invoice.amount - invoice.paid_amount, payment_method="sbp",
        save_payment_method=False, receipt=invoice_receipt(invoice) if invoice.paid_amount == 0 else None)
    try:
        created = gateway.create_order(order, request_id=f"sbp:{invoice.account_id}:{invoice.number}:1")
    except GatewayUnavailable as exc:
        raise ApplicationError("gateway_unavailable", _("The payment system is not answering right now. Please "
                                                        "try again in a few minutes."), status=503) from exc
    except GatewayError as exc:
        raise ApplicationError("sbp_refused", _("YooKassa refused the SBP payment: %(reason)s")
                               % {"reason": exc.message}) from exc
    return _sbp_record(invoice_id=invoice.pk, order_id=created.order_id, url=created.url)


@transaction.atomic
def _sbp_record(*, invoice_id: int, order_id: str, url: str) -> Invoice:
    invoice = Invoice.objects.select_for_update(no_key=True).get(pk=invoice_id)
    if not invoice.sbp_order_id:  # a racing twin got the same payment (same key): either write is the same
        invoice.sbp_order_id, invoice.sbp_url = order_id, url
        invoice.save(update_fields=["sbp_order_id", "sbp_url"])
    return invoice
