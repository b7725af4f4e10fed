"""The tick's invoices, a chunk of an account's due lines at a time [I].

The same three steps as `invoice_issue`, set-based: one transaction reserves a chunk (its deals and lines
locked, numbers taken from the counter in one step, the rows written `creating` with their X-Request-ID in
one insert) and commits; the gateway orders are created from a bounded thread pool with no transaction or
lock held; one transaction records the answers (one update, the events in one insert). The statements per
chunk do not depend on its size, so the statements per invoice fall as the chunk grows.

A crash anywhere leaves what committed: a row `creating` keeps its number and request id, and the next
tick's retry gets the same order back from the gateway (one order, one invoice). Lines are read by keyset
(due date, id), a chunk at a time, so memory does not grow with the account's book.
"""
import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from billing.domain.account_settings import invoicing_read
from billing.errors import ApplicationError
from billing.events import INVOICE_ISSUED, publish_many
from billing.gateway.errors import GatewayError, GatewayUnavailable
from billing.gateway.interface import Gateway, OrderCreated
from billing.models import Account, Deal, Direction, Installment, Invoice, InvoiceCounter
from billing.services import invoicing
from billing.services.autopay import installments_autopay_managed
from billing.services.gateways import gateway_name_for
from billing.transactions import assert_no_transaction

logger = logging.getLogger(__name__)

BLOCKING = [*Invoice.LIVE_STATUSES, Invoice.Status.PAID, Invoice.Status.FAILED]


@dataclass
class ChunkReport:
    issued: list[str] = field(default_factory=list)
    pending: int = 0  # left `creating`: the gateway did not answer, the next tick retries
    refused: list[str] = field(default_factory=list)


def due_line_chunks(*, account: Account, today: date, size: int) -> Iterator[list[tuple[int, int]]]:
    """(installment id, deal id) of the lines `installments_due_for_invoice` names, `size` at a time by
    keyset on (deal, line): each chunk is one query that walks the account's deals from where the last one
    stopped, so its cost does not grow with the account's book (a deal's lines in their order)."""
    lead_days = invoicing_read(account.settings).lead_days
    due = (
        Installment.objects.filter(
            schedule__deal__account=account, schedule__is_active=True, schedule__direction=Direction.INCOMING,
            schedule__deal__cancelled_at__isnull=True, due_date__lte=today + timedelta(days=lead_days),
            paid__lt=F("amount"),
        )
        .exclude(invoices__status__in=BLOCKING)
        .exclude(installments_autopay_managed())
        .order_by("schedule__deal_id", "pk")
    )
    after: tuple[int, int] | None = None
    while True:
        page = due if after is None else due.filter(
            Q(schedule__deal_id__gt=after[0]) | Q(schedule__deal_id=after[0], pk__gt=after[1]))
        rows = list(page.values_list("pk", "schedule__deal_id")[:size])
        if not rows:
            return
        yield rows
        if len(rows) < size:
            return
        after = (rows[-1][1], rows[-1][0])


def _numbers_take(*, account: Account, year: int, count: int) -> list[tuple[int, str]]:
    """`count` consecutive numbers of the account's year under the counter's row lock (gapless: a rolled
    back chunk gives them all back)."""
    try:
        with transaction.atomic():
            InvoiceCounter.objects.get_or_create(account=account, year=year)
    except IntegrityError:
        pass  # another transaction created the counter first; the lock below waits for it
    counter = InvoiceCounter.objects.select_for_update(no_key=True).get(account=account, year=year)
    first = counter.last_number + 1
    InvoiceCounter.objects.filter(pk=counter.pk).update(last_number=counter.last_number + count)
    return [(sequence, f"{year}-{sequence:06d}") for sequence in range(first, first + count)]


@transaction.atomic
def invoices_reserve_chunk(*, account: Account, lines: list[tuple[int, int]], today: date,
                           report: ChunkReport) -> list[Invoice]:
    """Write the `creating` rows of a chunk of due lines (deals, then lines, locked in id order, as every
    writer does); a line that got an invoice or stopped being billable meanwhile is skipped."""
    deals = {deal.pk: deal for deal in Deal.objects.select_for_update(no_key=True, of=("self",))
             .filter(pk__in=sorted({deal_id for _, deal_id in lines})).order_by("pk")}
    for deal in deals.values():
        deal.account = account
    installments = {line.pk: line for line in Installment.objects.select_for_update(no_key=True, of=("self",))
                    .select_related("schedule").filter(pk__in=[pk for pk, _ in lines]).order_by("pk")}
    taken = set(Invoice.objects.filter(installment_id__in=list(installments), status__in=BLOCKING)
                .values_list("installment_id", flat=True))
    billable = []
    for installment_id, _ in lines:
        installment = installments.get(installment_id)
        if installment is None or installment.pk in taken:
            continue
        deal = deals[installment.schedule.deal_id]
        try:
            invoicing._check_invoiceable(deal, installment)
        except ApplicationError as exc:
            report.refused.append(f"{account.slug}/{installment_id}: {exc.message}")
            continue
        billable.append((deal, installment))
    if not billable:
        return []
    year = today.year
    gateway = gateway_name_for(account)
    numbers = _numbers_take(account=account, year=year, count=len(billable))
    return Invoice.objects.bulk_create([
        Invoice(account=account, deal=deal, installment=installment, year=year, sequence=sequence, number=number,
                amount=installment.amount - installment.paid, status=Invoice.Status.CREATING,
                gateway_request_id=f"order:{account.pk}:{number}:1", gateway=gateway)
        for (deal, installment), (sequence, number) in zip(billable, numbers, strict=True)
    ])


@dataclass
class _Answer:
    invoice: Invoice
    order: OrderCreated | None = None
    refused: str = ""  # the gateway said no (or has no keys): the invoice fails
    unavailable: str = ""  # no answer: left `creating`, the same request id next time


def _call(gateway: Gateway, invoice: Invoice, order) -> _Answer:
    try:
        return _Answer(invoice, order=gateway.create_order(order, request_id=invoice.gateway_request_id))
    except GatewayUnavailable as exc:
        return _Answer(invoice, unavailable=exc.message)
    except GatewayError as exc:
        return _Answer(invoice, refused=exc.message)
    except Exception as exc:  # a bug or an unforeseen transport error: maybe sent, so retried with the same id
        logger.exception("invoice %s: the gateway call failed", invoice.number)
        return _Answer(invoice, unavailable=f"{type(exc).__name__}: {exc}")


def invoices_orders_create(*, invoices: list[Invoice], gateway: Gateway | None = None) -> list[_Answer]:
    """The gateway orders of `creating` invoices, from at most PAYPLAN_TICK_GATEWAY_THREADS threads at once.
    No transaction may be open (locks would be held across the calls); the threads touch no database."""
    assert_no_transaction()
    gateways: dict[str, Gateway | ApplicationError] = {}
    answers: list[_Answer] = []
    calls = []
    for invoice in invoices:
        chosen = gateway
        if chosen is None:
            if invoice.gateway not in gateways:
                try:
                    gateways[invoice.gateway] = invoicing._gateway_of(invoice)
                except ApplicationError as exc:  # its gateway lost its keys meanwhile: refused, kept for a retry
                    gateways[invoice.gateway] = exc
            chosen = gateways[invoice.gateway]
        if isinstance(chosen, ApplicationError):
            answers.append(_Answer(invoice, refused=chosen.message))
            continue
        calls.append((chosen, invoice, invoicing._order_for(invoice)))
    threads = max(1, min(settings.PAYPLAN_TICK_GATEWAY_THREADS, len(calls)))
    if threads == 1:
        answers += [_call(*call) for call in calls]
    else:
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="tick-gateway") as pool:
            answers += list(pool.map(lambda call: _call(*call), calls))
    return answers


@transaction.atomic
def invoices_orders_record(*, account: Account, answers: list[_Answer], report: ChunkReport) -> None:
    """Store a chunk's answers in one transaction: orders on the rows (cancelled meanwhile: the new order
    is cancelled too), refusals as failures, one bulk insert of the `invoice_issued` events."""
    decided = [answer for answer in answers if not answer.unavailable]
    report.pending += len(answers) - len(decided)
    if not decided:
        return
    rows = {row.pk: row for row in Invoice.objects.select_for_update(no_key=True, of=("self",))
            .filter(pk__in=[answer.invoice.pk for answer in decided]).order_by("pk")}
    now = timezone.now()
    changed, events, cancelled = [], [], []
    for answer in decided:
        row, invoice = rows[answer.invoice.pk], answer.invoice
        row.account = account
        if answer.order is None:
            if row.status == Invoice.Status.CREATING:
                row.status, row.last_failure_reason = Invoice.Status.FAILED, answer.refused[:255]
                changed.append(row)
                logger.error("invoice %s: the gateway refused the order: %s", row.number, answer.refused)
            continue
        row.gateway_order_id, row.payment_url = answer.order.order_id, answer.order.url
        changed.append(row)
        if row.status != Invoice.Status.CREATING:
            row.gateway_cancel_pending = True  # cancelled while the order was being made
            cancelled.append(row)
            continue
        row.status, row.issued_at = Invoice.Status.ISSUED, now
        report.issued.append(row.number)
        events.append((INVOICE_ISSUED, {
            "invoice_id": row.pk, "number": row.number, "deal_id": row.deal_id,
            "external_id": invoice.deal.external_id, "amount": str(row.amount), "payment_url": row.payment_url,
            "due_date": invoice.installment.due_date.isoformat(),
        }))
    _rows_update(changed)
    publish_many(account=account, events=events)
    for row in cancelled:  # rare (a plan rebuilt during the call): one event each, as invoice_issue does
        invoicing._gateway_cancels_publish([row])


def _rows_update(rows: list[Invoice]) -> None:
    """One UPDATE … FROM unnest(arrays) for the chunk's rows (bulk_update's CASE per column grows with the
    square of the chunk in PostgreSQL's work)."""
    if not rows:
        return
    if connection.vendor != "postgresql":  # `make run`'s zero-config SQLite: the plain ORM way
        Invoice.objects.bulk_update(rows, ["status", "issued_at", "gateway_order_id", "payment_url",
                                           "gateway_cancel_pending", "last_failure_reason"])
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Invoice._meta.db_table} AS i SET status = v.status, issued_at = v.issued_at, "  # noqa: S608
            "gateway_order_id = v.order_id, payment_url = v.url, gateway_cancel_pending = v.cancel_pending, "
            "last_failure_reason = v.reason "
            "FROM unnest(%s::bigint[], %s::text[], %s::timestamptz[], %s::text[], %s::text[], %s::boolean[], "
            "%s::text[]) AS v(id, status, issued_at, order_id, url, cancel_pending, reason) WHERE i.id = v.id",
            [[row.pk for row in rows], [row.status for row in rows], [row.issued_at for row in rows],
             [row.gateway_order_id for row in rows], [row.payment_url for row in rows],
             [row.gateway_cancel_pending for row in rows], [row.last_failure_reason for row in rows]])


def invoices_issue_due(*, account: Account, today: date, gateway: Gateway | None = None) -> ChunkReport:
    """Every due line of the account gets its invoice: reserve a chunk (commit), call, record (commit)."""
    assert_no_transaction()
    report = ChunkReport()
    for lines in due_line_chunks(account=account, today=today, size=settings.PAYPLAN_TICK_CHUNK_LINES):
        invoices = invoices_reserve_chunk(account=account, lines=lines, today=today, report=report)
        if invoices:
            invoices_orders_record(account=account, report=report,
                                   answers=invoices_orders_create(invoices=invoices, gateway=gateway))
    return report


def invoices_retry_creating_chunked(*, account: Account, gateway: Gateway | None = None) -> ChunkReport:
    """`creating` rows still inside the gateway's request-id memory, a chunk at a time: the same
    X-Request-ID, so the order a crashed tick made is the one recorded."""
    assert_no_transaction()
    cutoff = timezone.now() - timedelta(minutes=settings.CLOUDPAYMENTS_REQUEST_ID_TTL_MINUTES)
    pending = (Invoice.objects.filter(account=account, status=Invoice.Status.CREATING, created_at__gte=cutoff)
               .select_related("deal", "installment__schedule").order_by("pk"))
    report, after = ChunkReport(), 0
    while True:
        invoices = list(pending.filter(pk__gt=after)[:settings.PAYPLAN_TICK_CHUNK_LINES])
        if not invoices:
            return report
        for invoice in invoices:
            invoice.account = invoice.deal.account = account
        after = invoices[-1].pk
        invoices_orders_record(account=account, report=report,
                               answers=invoices_orders_create(invoices=invoices, gateway=gateway))
