"""The Pay hot path [I]: a signed CloudPayments Pay (or Confirm) paying an issued invoice of a plan, in five
statements after the view's account look-up, with no ORM query building.

The same rows and the same guarantees as the general path (`gateway_notification_receive` → `process_pay` →
`payment_record_from_gateway` → `deal_reallocate` / `deal_recompute` / `publish`), in the same lock order:

1. the raw event, `INSERT … ON CONFLICT DO NOTHING` on its unique (account, kind, transaction): a replay or a
   concurrent duplicate (it waits on the index) returns nothing and goes to the general path's `_duplicate`;
2. the invoice and its deal, the deal locked (`FOR NO KEY UPDATE`, as `deal_lock`);
3. under that lock, in a fresh snapshot: the active plan's lines locked (`FOR NO KEY UPDATE`, as
   `deal_reallocate`) with, in the same row, the payment already recorded under this TransactionId (idempotency),
   whether a later payment exists (then the deal is re-allocated as a whole: general path), the sum of the
   deal's payments, its other live invoices and the saved card of the token;
4. the payment (`INSERT … RETURNING id`; the unique (account, transaction_id) stays the last word);
5. one statement of data-modifying CTEs: the allocation rows, the lines' `paid` (`UPDATE … FROM (VALUES …)`),
   the deal's totals and status, the invoice's paid amount (from the row's own values), the saved card, the
   event's status, the domain events and their relay deliveries (`billing.events`: the outbox).

Anything off that road (an unknown invoice, a token charge, a hold, test money on a live terminal, a currency
or AccountId mismatch, a payment already recorded, a later payment, a recurring plan, another live invoice the
money would close, an unknown in-transaction subscriber) rolls back what was written and answers None: the
caller runs the general path, which knows every case. So does a unique violation from a concurrent writer.
"""
import hashlib
import json
import logging
from decimal import Decimal
from zoneinfo import ZoneInfo

import psycopg
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from django.utils import timezone

from billing import events
from billing.domain.allocation import InstallmentDue, PaymentFact, allocate
from billing.domain.money import MAX_AMOUNT, ZERO
from billing.domain.status import PlanLine, deal_figures
from billing.encryption import encrypt
from billing.gateway import cloudpayments_notifications as cloudpayments
from billing.gateway.notifications import ACCEPTED, GatewayNotification, NotificationOutcome, ReceivedNotification
from billing.models import Account, Deal, Direction, Invoice, Payment, Schedule
from billing.services.autopay import token_digest
from billing.services.receipts import receipt_settings
from billing.texts import gateway_payment_comment, in_account_language

logger = logging.getLogger(__name__)

# The deal's CRM id column, named in raw SQL here and nowhere else in this module.
DEAL_CRM_ID_COLUMN = "external_id"

KINDS = ("pay", "confirm")
LIVE = tuple(str(status) for status in Invoice.LIVE_STATUSES)

# The in-transaction subscribers whose effect the hot path writes itself (by qualified name). Any other
# subscriber of these events sends the notification down the general path, which calls every subscriber.
KNOWN_SUBSCRIBERS = {
    events.PAYMENT_RECORDED: {"billing.services.receipts._mark_pending",
                              "billing.services.invoice_sync.on_payment_recorded",
                              "billing.services.recurring._on_payment_recorded"},
    events.DEAL_PAID: set(),
}


class _PreparedCursor(CursorWrapper):
    """Django's cursor wrapper (execute wrappers, error translation) over a server-side-binding psycopg cursor
    whose statements are prepared: PostgreSQL parses and plans each hot-path statement once per connection,
    and Python sends the parameters apart instead of quoting them into the text."""

    def _execute(self, sql, params, *ignored_wrapper_args):
        self.db.validate_no_broken_transaction()
        with self.db.wrap_database_errors:
            return self.cursor.execute(sql, params, prepare=True)


class _PreparedDebugCursor(CursorDebugWrapper, _PreparedCursor):
    """The same, logged where Django logs queries (DEBUG, CaptureQueriesContext), with the parameters
    quoted into the logged text as a client-side cursor would have sent it (EXPLAIN-able)."""

    def execute(self, sql, params=None):
        with self.debug_sql(self.db.ops.compose_sql(sql, params), params):
            return _PreparedCursor.execute(self, sql, params)


def _prepared_cursor() -> CursorWrapper:
    connection.ensure_connection()
    wrapper = _PreparedDebugCursor if connection.queries_logged else _PreparedCursor
    return wrapper(psycopg.Cursor(connection.connection), connection)


class _General(Exception):
    """Not the common road: roll back and let the general path handle it."""


def account_by_webhook_key(account_key: str) -> Account | None:
    """The active account of a webhook key (unique), read by a prepared statement into a model instance with
    the fields' own converters (decrypted secrets, parsed settings): no ORM query building per notification."""
    if connection.vendor != "postgresql":  # `make run`'s zero-config SQLite has no prepared statements
        return Account.objects.filter(webhook_key=account_key, is_active=True).first()
    fields = Account._meta.concrete_fields
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    with _prepared_cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM billing_account WHERE webhook_key = %s AND is_active",  # noqa: S608
                       [account_key])
        row = cursor.fetchone()
    if row is None:
        return None
    values = [field.from_db_value(value, None, connection) if hasattr(field, "from_db_value") else value
              for field, value in zip(fields, row, strict=True)]
    return Account.from_db(connection.alias, [field.attname for field in fields], values)


def pay_hot_path_enabled() -> bool:
    """Its SQL is PostgreSQL's (prepared statements, UPDATE … FROM VALUES): elsewhere (`make run`'s SQLite)
    every Pay takes the general path."""
    return getattr(settings, "PAYPLAN_PAY_HOT_PATH", True) and connection.vendor == "postgresql"


def _subscribers_known() -> bool:
    for name, known in KNOWN_SUBSCRIBERS.items():
        names = {f"{func.__module__}.{func.__qualname__}" for func in events._in_transaction_subscribers[name]}
        if not names <= known:
            return False
    return True


def pay_hot_path_receive(*, account: Account, received: ReceivedNotification) -> NotificationOutcome | None:
    """Record a common signed Pay in one short transaction; None when the general path must handle it
    (nothing of this attempt is kept then)."""
    note = received.notification
    if not (pay_hot_path_enabled() and received.kind in KINDS and isinstance(note, GatewayNotification)
            and received.signature_valid and received.transaction_id and note.transaction_id
            and note.invoice_number and note.amount is not None and ZERO < note.amount <= MAX_AMOUNT
            and note.status != "Authorized" and (not note.currency or note.currency == account.currency)
            and (not note.test_mode or account.cloudpayments_test_mode) and _subscribers_known()):
        return None
    try:
        with transaction.atomic():
            return _record(account, received, note)
    except (_General, IntegrityError):
        return None
    except Exception:  # a bug of the shortcut must not cost the payment: the general path knows every case
        logger.exception("Pay %s for %s: hot path failed, the general path takes it", received.transaction_id,
                         account.pk)
        return None


def _record(account: Account, received: ReceivedNotification, note: GatewayNotification) -> NotificationOutcome:
    now = timezone.now()
    with _prepared_cursor() as cursor:
        event_id = _event_store(cursor, account, received, now)
        invoice_id, deal_id, external_id, deal_direction, cancelled_at, deal_status = _invoice_and_deal_lock(
            cursor, account, note)
        if note.account_id is not None and note.account_id != str(external_id):
            raise _General  # someone else's lead: the general path records it as unmatched
        paid_at = (note.occurred_at or now).astimezone(ZoneInfo(account.time_zone)).date()
        digest = token_digest(note.token) if note.token and deal_direction == Direction.INCOMING else None
        rows = _plan_read(cursor, account=account, deal_id=deal_id, invoice_id=invoice_id, note=note,
                          paid_at=paid_at, digest=digest)
        if not rows:
            raise _General  # no plan
        (_, _, _, _, _, _, plan_total, plan, plan_direction, existing, later, payments_sum, other_live,
         card) = rows[0]
        if existing is not None or later or plan == Schedule.Plan.RECURRING:
            raise _General
        amount = note.amount
        result = allocate([InstallmentDue(row[0], row[4] - row[5])
                           for row in sorted(rows, key=lambda row: (row[3], row[1]))], [PaymentFact(0, amount)])
        added = result.paid_by_installment()
        new_paid = {row[0]: row[5] + added.get(row[0], ZERO) for row in rows}
        for _other, installment_id, covers_remainder in other_live or ():
            line_amount = next((row[4] for row in rows if row[0] == installment_id), None)
            if covers_remainder or (line_amount is not None and new_paid[installment_id] >= line_amount):
                raise _General  # another live invoice to cancel: the subscriber's work
        figures = deal_figures(
            lines=[PlanLine(row[1], row[2], row[3], row[4], new_paid[row[0]]) for row in rows], has_plan=True,
            plan_total=plan_total, payments_total=payments_sum + amount, cancelled=cancelled_at is not None,
            today=now.astimezone(ZoneInfo(account.time_zone)).date())
        outgoing = Direction.OUTGOING in (deal_direction, plan_direction)
        receipt_status = "pending" if receipt_settings(account).enabled and not outgoing else ""
        payment_id = _payment_insert(cursor, account=account, deal_id=deal_id, invoice_id=invoice_id, note=note,
                                     paid_at=paid_at, receipt_status=receipt_status, now=now)
        published = []  # in the general path's order: deal_recompute announces deal_paid before payment_recorded
        if figures.status == Deal.Status.PAID and deal_status != Deal.Status.PAID:
            published.append((events.DEAL_PAID, {"deal_id": deal_id, "external_id": external_id,
                                                 "total": str(figures.total)}))
        published.append((events.PAYMENT_RECORDED, {
            "payment_id": payment_id, "deal_id": deal_id, "external_id": external_id, "amount": str(amount),
            "method": Payment.Method.CLOUDPAYMENTS.value, "debt": str(figures.debt), "status": figures.status,
            "invoice_id": invoice_id}))
        event_ids = _writes(
            cursor, account=account, deal_id=deal_id, external_id=external_id, invoice_id=invoice_id, event_id=event_id,
            payment_id=payment_id, note=note, now=now, figures=figures, published=published,
            slices=[(piece.installment_id, piece.amount) for piece in result.slices],
            lines=[(line_id, paid) for line_id, paid in new_paid.items() if line_id in added],
            card=card if digest else None, digest=digest)
    for delivered in event_ids:
        events.relay_nudge_after_commit(event_id=delivered)
    return ACCEPTED


def _event_store(cursor, account: Account, received: ReceivedNotification, now) -> int:
    raw_body = received.raw_body
    cursor.execute(
        "INSERT INTO billing_gatewayevent (account_id, gateway, kind, transaction_id, signature_valid, content_type,"
        " raw_body, body_sha256, body_size, headers, status, answer_code, error, payment_id, received_at,"
        " processed_at, replays) VALUES (%s, 'cloudpayments', %s, %s, true, %s, %s, %s, %s, %s::jsonb, 'received',"
        " NULL, '', NULL, %s, NULL, 0) ON CONFLICT (account_id, kind, transaction_id) WHERE (signature_valid AND"
        " NOT (transaction_id = '') AND NOT (kind = 'check')) DO NOTHING RETURNING id",
        [account.pk, received.kind, received.transaction_id, received.content_type[:100], raw_body,
         hashlib.sha256(raw_body).hexdigest(), len(raw_body), json.dumps(received.headers), now])
    row = cursor.fetchone()
    if row is None:
        raise _General  # a replay: the general path answers it from the stored event
    return row[0]


def _invoice_and_deal_lock(cursor, account: Account, note: GatewayNotification) -> tuple:
    cursor.execute(
        f"SELECT i.id, d.id, d.{DEAL_CRM_ID_COLUMN}, d.direction, d.cancelled_at, d.status"  # noqa: S608
        " FROM billing_invoice i JOIN billing_deal d ON d.id = i.deal_id"
        " WHERE i.account_id = %s AND i.number = %s FOR NO KEY UPDATE OF d",
        [account.pk, note.invoice_number])
    row = cursor.fetchone()
    if row is None:
        raise _General  # not an invoice of ours (or a token charge's reference)
    return row


def _plan_read(cursor, *, account: Account, deal_id: int, invoice_id: int, note: GatewayNotification, paid_at,
               digest: str | None) -> list[tuple]:
    cursor.execute(
        "SELECT l.id, l.seq, l.kind, l.due_date, l.amount, l.paid, s.total, s.plan, s.direction,"
        " (SELECT p.id FROM billing_payment p WHERE p.account_id = %(account)s AND p.transaction_id = %(tx)s),"
        " EXISTS (SELECT 1 FROM billing_payment p WHERE p.deal_id = %(deal)s AND p.paid_at > %(paid_at)s"
        "   AND NOT (p.method = 'opening_balance')),"
        " (SELECT COALESCE(SUM(p.amount), 0) FROM billing_payment p WHERE p.deal_id = %(deal)s),"
        " (SELECT json_agg(json_build_array(o.id, o.installment_id, o.covers_remainder)) FROM billing_invoice o"
        "   WHERE o.deal_id = %(deal)s AND o.status = ANY(%(live)s) AND o.id <> %(invoice)s),"
        " (SELECT json_build_array(c.id, c.deal_id) FROM billing_savedcard c"
        "   WHERE c.account_id = %(account)s AND c.token_digest = %(digest)s)"
        " FROM billing_schedule s JOIN billing_installment l ON l.schedule_id = s.id"
        " WHERE s.deal_id = %(deal)s AND s.is_active ORDER BY l.seq FOR NO KEY UPDATE OF l",
        {"account": account.pk, "tx": note.transaction_id, "deal": deal_id, "paid_at": paid_at, "live": list(LIVE),
         "invoice": invoice_id, "digest": digest or ""})
    return cursor.fetchall()


def _payment_insert(cursor, *, account: Account, deal_id: int, invoice_id: int, note: GatewayNotification,
                    paid_at, receipt_status: str, now) -> int:
    with in_account_language(account):
        comment = gateway_payment_comment(number=note.invoice_number, card_last_four=note.card_last_four or "",
                                          test_mode=note.test_mode)
    cursor.execute(
        "INSERT INTO billing_payment (account_id, deal_id, amount, method, paid_at, transaction_id, idempotency_key,"
        " refund_of_id, reversal_of_id, correction_reason, invoice_id, card_token, comment, recorded_by,"
        " recorded_at, receipt_status, receipt_id, receipt_attempts, receipt_error) VALUES (%s, %s, %s, %s, %s,"
        " %s, NULL, NULL, NULL, '', %s, %s, %s, NULL, %s, %s, '', 0, '') RETURNING id",
        [account.pk, deal_id, note.amount, Payment.Method.CLOUDPAYMENTS.value, paid_at, note.transaction_id,
         invoice_id, encrypt(note.token) if note.token else "", comment, now, receipt_status])
    return cursor.fetchone()[0]


def _writes(cursor, *, account: Account, deal_id: int, external_id: int, invoice_id: int, event_id: int,
            payment_id: int, note: GatewayNotification, now, figures, published: list[tuple[str, dict]],
            slices: list[tuple[int, Decimal]], lines: list[tuple[int, Decimal]], card: list | None,
            digest: str | None) -> list[int]:
    """Everything after the payment in one statement; returns the ids of the domain events with deliveries."""
    ctes, params = [], []
    if slices:
        ctes.append("alloc AS (INSERT INTO billing_allocation (payment_id, installment_id, amount) VALUES "  # noqa: S608
                    + ", ".join(["(%s, %s, %s)"] * len(slices)) + ")")
        for installment_id, amount in slices:
            params += [payment_id, installment_id, amount]
    if lines:
        ctes.append("lines AS (UPDATE billing_installment l SET paid = v.paid FROM (VALUES "  # noqa: S608
                    + ", ".join(["(%s::bigint, %s::numeric)"] * len(lines)) + ") v(id, paid) WHERE l.id = v.id)")
        for line_id, paid in lines:
            params += [line_id, paid]
    ctes.append("deal AS (UPDATE billing_deal SET total = %s, paid = %s, debt = %s, status = %s, updated_at = %s"
                " WHERE id = %s)")
    params += [figures.total, figures.paid, figures.debt, figures.status, now, deal_id]
    paid_now = "(paid_amount >= amount - %s AND NOT (status = 'paid'))"
    ctes.append(f"inv AS (UPDATE billing_invoice SET paid_amount = paid_amount + %s, status = CASE WHEN {paid_now}"  # noqa: S608
                f" THEN 'paid' ELSE status END, paid_at = CASE WHEN {paid_now} THEN %s ELSE paid_at END"
                " WHERE id = %s)")
    params += [note.amount, note.amount, note.amount, note.occurred_at or now, invoice_id]
    details = [note.card_first_six or "", note.card_last_four or "", note.card_exp or "", note.card_type or ""]
    if digest and card is None:
        ctes.append(
            "card AS (INSERT INTO billing_savedcard (account_id, deal_id, gateway, token, token_digest, public_id,"
            " gateway_account_id, card_first_six, card_last_four, card_exp, card_type, status, source_payment_id,"
            " consent_text, consented_at, consent_source, consent_ip, disabled_at, disabled_by, status_reason,"
            " created_at) VALUES (%s, %s, 'cloudpayments', %s, %s, %s, %s, %s, %s, %s, %s, 'offered', %s, '', NULL,"
            " '', NULL, NULL, '', '', %s))")
        params += [account.pk, deal_id, encrypt(note.token), digest, account.cloudpayments_public_id,
                   note.account_id or str(external_id), *details, payment_id, now]
    elif digest and card[1] == deal_id and any(details):
        ctes.append("card AS (UPDATE billing_savedcard SET card_first_six = COALESCE(NULLIF(%s, ''), card_first_six),"
                    " card_last_four = COALESCE(NULLIF(%s, ''), card_last_four),"
                    " card_exp = COALESCE(NULLIF(%s, ''), card_exp), card_type = COALESCE(NULLIF(%s, ''), card_type)"
                    " WHERE id = %s)")
        params += [*details, card[0]]
    ctes.append("gev AS (UPDATE billing_gatewayevent SET status = 'processed', answer_code = %s, error = '',"
                " payment_id = %s, processed_at = %s WHERE id = %s)")
    params += [cloudpayments.answer_code(ACCEPTED), payment_id, now, event_id]
    ctes.append("ev AS (INSERT INTO billing_domainevent (account_id, name, payload, created_at) SELECT %s, v.name,"  # noqa: S608
                " v.payload::jsonb, %s FROM (VALUES " + ", ".join(["(%s, %s, %s)"] * len(published))
                + ") v(n, name, payload) ORDER BY v.n RETURNING id, name)")
    params += [account.pk, now]
    for order, (name, payload) in enumerate(published):
        params += [order, name, json.dumps(payload)]
    handlers = [(name, handler.key, f"deal:{deal_id}" if handler.ordered else "")
                for name, _ in published for handler in events._handlers_by_event[name].values()]
    if handlers:
        ctes.append(
            "deliveries AS (INSERT INTO billing_eventdelivery (event_id, handler, ordering_key, state, attempts,"  # noqa: S608
            " next_attempt_at, lease_expires_at, last_error, created_at, done_at) SELECT ev.id, h.handler,"
            " h.ordering_key, 'pending', 0, %s, NULL, '', %s, NULL FROM ev JOIN (VALUES "
            + ", ".join(["(%s, %s, %s)"] * len(handlers)) + ") h(name, handler, ordering_key) ON h.name = ev.name"
            " ORDER BY ev.id)")
        params += [now, now]
        for row in handlers:
            params += list(row)
    with_handlers = sorted({name for name, _, _ in handlers})
    cursor.execute("WITH " + ", ".join(ctes) + " SELECT id FROM ev WHERE name = ANY(%s) ORDER BY id",  # noqa: S608
                   [*params, with_handlers])
    return [row[0] for row in cursor.fetchall()]
