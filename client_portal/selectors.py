"""What the client page shows: the plan in the client's words, totals, pay buttons, documents, proposals."""
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.utils import timezone

from billing.domain.plan_request import plan_request_from_dict
from billing.models import Deal, Invoice, Payment, ScheduleProposal
from billing.names import deal_service_name
from billing.selectors import deal_figures_get
from billing.selectors.deals import deal_state_get
from billing.selectors.schedule_changes import ScheduleChanges, proposal_changes_get
from billing.services.proposals import options_from_request, proposal_state
from billing.services.schedules import plan_preview
from billing.time import account_today
from client_portal.autopay import SavedCard, autopay_card_get

# The client reads three words: paid, due, overdue (a partial payment is still due, with what is paid shown).
CLIENT_STATUS = {"paid": "paid", "overdue": "overdue", "partially_paid": "due", "invoiced": "due",
                 "planned": "due", "cancelled": "cancelled"}


@dataclass(frozen=True)
class PageLine:
    seq: int
    due_date: date
    amount: Decimal
    paid: Decimal
    status: str  # paid | due | overdue
    is_next: bool
    interest: Decimal = Decimal("0.00")  # interest plans: the part of `amount` that is interest


@dataclass(frozen=True)
class PageDocument:
    kind: str  # invoice | receipt | contract | schedule
    object_id: int
    number: str
    amount: Decimal | None
    day: date | None


@dataclass(frozen=True)
class PageProposal:
    id: int
    kind: str
    state: str  # pending | expired | superseded
    expires_at: object
    changes: ScheduleChanges | None


@dataclass(frozen=True)
class ClientPage:
    deal_id: int
    service_name: str
    company_name: str
    client_name: str
    contact_phone: str
    contact_email: str
    currency: str
    status: str
    has_plan: bool
    version: int | None
    total: Decimal
    paid: Decimal
    debt: Decimal
    overdue_amount: Decimal
    next_line: PageLine | None
    lines: list[PageLine] = field(default_factory=list)
    documents: list[PageDocument] = field(default_factory=list)
    proposal: PageProposal | None = None
    saved_card: SavedCard | None = None
    interest_total: Decimal = Decimal("0.00")  # interest plans: the interest over the term
    effective_rate: Decimal | None = None  # interest plans: percent a year


def client_page_get(*, deal: Deal, today: date | None = None) -> ClientPage:
    today = today or account_today(deal.account)
    state = deal_state_get(deal=deal, today=today)
    figures = deal_figures_get(deal=deal, today=today)
    rows = state.schedule.installments if state.schedule else []
    next_seq = next((row.seq for row in sorted(rows, key=lambda row: (row.due_date, row.seq))
                     if row.paid < row.amount), None)
    lines = [PageLine(seq=row.seq, due_date=row.due_date, amount=row.amount, paid=row.paid,
                      status=CLIENT_STATUS.get(row.status, "due"), is_next=row.seq == next_seq, interest=row.interest)
             for row in rows]
    company = (deal.account.settings.get("requisites") or {}).get("company_name") or deal.account.name
    return ClientPage(
        deal_id=deal.pk, service_name=deal_service_name(deal), company_name=company or "",
        client_name=deal.contact_name, contact_phone=deal.contact_phone, contact_email=deal.contact_email,
        currency=deal.account.currency, status=figures.status, has_plan=state.schedule is not None,
        version=state.schedule.version if state.schedule else None, total=figures.total, paid=figures.paid,
        debt=max(figures.debt, Decimal("0.00")), overdue_amount=figures.overdue_amount,
        next_line=next((line for line in lines if line.is_next), None), lines=lines,
        documents=_documents(deal), proposal=_proposal(deal), saved_card=autopay_card_get(deal=deal),
        interest_total=state.schedule.interest_total if state.schedule else Decimal("0.00"),
        effective_rate=state.schedule.effective_rate if state.schedule else None,
    )


def _documents(deal: Deal) -> list[PageDocument]:
    documents = [PageDocument("invoice", invoice.pk, invoice.number, invoice.amount, invoice.created_at.date())
                 for invoice in Invoice.objects.filter(deal=deal).exclude(status__in=[
                     Invoice.Status.CREATING, Invoice.Status.FAILED]).order_by("-id")[:50]]
    documents += [PageDocument("receipt", payment.pk, str(payment.pk), payment.amount, payment.paid_at)
                  for payment in Payment.objects.filter(deal=deal, amount__gt=0).exclude(
                      method=Payment.Method.OPENING_BALANCE).order_by("-paid_at", "-id")[:50]]
    if deal.schedules.exists():
        documents += [PageDocument("contract", deal.pk, deal.contract_number, None, None),
                      PageDocument("schedule", deal.pk, "", None, None)]
    return documents


def client_document_allowed(*, deal: Deal, kind: str, object_id: int) -> bool:
    """A document the page may hand out: only this deal's own invoices, receipts, contract and schedule."""
    if kind == "invoice":
        return Invoice.objects.filter(deal=deal, pk=object_id).exclude(status__in=[
            Invoice.Status.CREATING, Invoice.Status.FAILED]).exists()
    if kind == "receipt":
        return Payment.objects.filter(deal=deal, pk=object_id, amount__gt=0).exclude(
            method=Payment.Method.OPENING_BALANCE).exists()
    if kind in ("contract", "schedule"):
        return object_id == deal.pk and deal.schedules.exists()
    return False


def _proposal(deal: Deal) -> PageProposal | None:
    """The newest proposal still waiting for the client (or one that lapsed unanswered, so they learn why)."""
    proposal = (ScheduleProposal.objects.filter(deal=deal, status=ScheduleProposal.Status.PENDING)
                .order_by("-id").first())
    if proposal is None:
        return None
    state = proposal_state(proposal, timezone.now())
    changes = None
    if state == "pending":
        plan = plan_preview(plan_request=plan_request_from_dict(proposal.request))
        changes = proposal_changes_get(deal=deal, plan=plan, options=options_from_request(proposal.request))
    return PageProposal(id=proposal.pk, kind=proposal.kind, state=state, expires_at=proposal.expires_at,
                        changes=changes)
