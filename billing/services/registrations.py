"""A client's sign-up from the account's registration form: recorded once per form submission, then the
CRM adapter makes the contact and lead (relay, `client_registered`), then the plan is built on that lead.

Settings (`account.settings["client_registration"]`):
  {"enabled": true, "consent_text": "...152-FZ text...",
   "templates": [{"key": "course", "title": "Курс «Косметология»", "total": "160000.00",
                  "installments_count": 6, "period": "month", "first_due_in_days": 0}]}
"""
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.domain.money import money
from billing.domain.schedule import PlanRequest
from billing.errors import ApplicationError, NotFound
from billing.events import CLIENT_REGISTERED, publish
from billing.models import Account, ClientRegistration, Deal
from billing.services.client_page import ContactInput, contact_validate
from billing.services.deals import deal_get_or_create, deal_lock
from billing.services.schedules import ScheduleOptions, plan_preview, schedule_replace
from billing.time import account_today

# The form's language (?lang) chooses it when the page is shown and when the consent is recorded.
DEFAULT_CONSENT_TEXT = gettext_lazy(
    "I consent to the processing of my personal data (name, phone number, email address) for concluding and "
    "performing the contract and for being informed about payments in accordance with Federal Law No. 152-FZ "
    "of 27.07.2006 “On Personal Data”. The consent is valid until withdrawn.")


@dataclass(frozen=True)
class PlanTemplate:
    key: str
    title: str
    total: Decimal
    installments_count: int
    period: str = "month"
    first_due_in_days: int = 0


@dataclass(frozen=True)
class RegistrationSettings:
    enabled: bool
    consent_text: str
    templates: list[PlanTemplate]


def registration_settings(account: Account) -> RegistrationSettings:
    """The account's form settings; a template that does not make a valid plan is left out, never shown."""
    stored = account.settings.get("client_registration") or {}
    templates = []
    for raw in stored.get("templates") or []:
        try:
            template = PlanTemplate(key=str(raw["key"])[:64], title=str(raw["title"])[:255],
                                    total=money(str(raw["total"])), installments_count=int(raw["installments_count"]),
                                    period=str(raw.get("period") or "month"),
                                    first_due_in_days=max(int(raw.get("first_due_in_days") or 0), 0))
            plan_preview(plan_request=_plan_request(template, date(2026, 1, 1)))
        except (KeyError, TypeError, ValueError, ApplicationError):
            continue
        templates.append(template)
    return RegistrationSettings(enabled=bool(stored.get("enabled")) and bool(templates),
                                consent_text=str(stored.get("consent_text") or "").strip() or DEFAULT_CONSENT_TEXT,
                                templates=templates)


def _plan_request(template: PlanTemplate, today: date) -> PlanRequest:
    return PlanRequest(plan="equal", total=template.total, installments_count=template.installments_count,
                       first_due_date=today + timedelta(days=template.first_due_in_days), period=template.period)


def registration_submit(*, account: Account, submission_key: str, contact: ContactInput, template_key: str,
                        consent_given: bool, ip_address: str | None) -> ClientRegistration:
    """Record the sign-up (a resubmitted form returns the first row) and ask the CRM adapter for the lead."""
    options = registration_settings(account)
    if not options.enabled:
        raise NotFound("registration_closed", _("Registration is not open."))
    errors: dict[str, list[str]] = {}
    try:
        contact = contact_validate(contact)
    except ApplicationError as exc:
        errors |= exc.fields
    template = next((item for item in options.templates if item.key == template_key), None)
    if template is None:
        errors["template"] = [_("Choose a programme.")]
    if not consent_given:
        errors["consent"] = [_("Consent to the processing of personal data is required.")]
    if not submission_key or len(submission_key) > 64:
        errors["form"] = [_("The form has expired: reload the page.")]
    if errors:
        raise ApplicationError("invalid_registration", _("Please check the form."), errors)
    known = ClientRegistration.objects.filter(account=account, submission_key=submission_key).first()
    if known is not None:
        return known
    try:
        with transaction.atomic():
            registration = ClientRegistration.objects.create(
                account=account, submission_key=submission_key, name=contact.name, phone=contact.phone,
                email=contact.email, template_key=template.key, consent_text=options.consent_text,
                consent_at=timezone.now(), ip_address=ip_address)
            publish(account=account, name=CLIENT_REGISTERED, payload={"registration_id": registration.pk})
    except IntegrityError:
        return ClientRegistration.objects.get(account=account, submission_key=submission_key)
    return registration


# A CRM that cannot take the sign-up now is asked again after 30 s, 1 min, 2 min... at most hourly, never given up.
CRM_RETRY_FIRST_SECONDS, CRM_RETRY_MAX_SECONDS = 30, 3600


def registration_crm_retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=min(CRM_RETRY_FIRST_SECONDS * 2 ** max(attempts - 1, 0), CRM_RETRY_MAX_SECONDS))


@transaction.atomic
def registration_crm_wait(*, registration_id: int, reason: str) -> ClientRegistration:
    """The CRM could not make the lead for a reason that passes (down, timing out, not connected): note why and
    when to try again. The sign-up stays pending and completes once the CRM is back."""
    registration = ClientRegistration.objects.select_for_update().get(pk=registration_id)
    if registration.status != ClientRegistration.Status.PENDING or registration.crm_external_id is not None:
        return registration
    registration.crm_attempts += 1
    registration.crm_retry_at = timezone.now() + registration_crm_retry_delay(registration.crm_attempts)
    registration.error = reason[:255]
    registration.save(update_fields=["crm_attempts", "crm_retry_at", "error"])
    return registration


@transaction.atomic
def registration_fail(*, registration_id: int, reason: str) -> ClientRegistration:
    """The CRM refused the sign-up for good: the client is told to get in touch (the page names how)."""
    registration = ClientRegistration.objects.select_for_update().get(pk=registration_id)
    if registration.status == ClientRegistration.Status.PENDING:
        registration.status, registration.error = ClientRegistration.Status.FAILED, reason[:255]
        registration.save(update_fields=["status", "error"])
    return registration


@transaction.atomic
def registration_lead_record(*, registration_id: int, contact_id: int | None, external_id: int) -> ClientRegistration:
    """Store the CRM ids the moment they are known: a re-run of the handler never makes a second lead."""
    registration = ClientRegistration.objects.select_for_update().get(pk=registration_id)
    if registration.crm_external_id is None:
        registration.crm_contact_id, registration.crm_external_id = contact_id, external_id
        registration.save(update_fields=["crm_contact_id", "crm_external_id"])
    return registration


@transaction.atomic
def registration_complete(*, registration_id: int) -> ClientRegistration:
    """The deal on the new lead, with the client's contact, the template's service name and its plan; once."""
    registration = ClientRegistration.objects.select_for_update().select_related("account").get(pk=registration_id)
    if registration.status == ClientRegistration.Status.DONE:
        return registration
    if registration.crm_external_id is None:
        raise ApplicationError("no_lead", _("The CRM lead is not made yet."))
    account = registration.account
    template = next((item for item in registration_settings(account).templates
                     if item.key == registration.template_key), None)
    if template is None:
        registration.status, registration.error = ClientRegistration.Status.FAILED, "the template is gone"
        registration.save(update_fields=["status", "error"])
        return registration
    deal = deal_lock(deal=deal_get_or_create(account=account, external_id=registration.crm_external_id))
    Deal.objects.filter(pk=deal.pk).update(contact_name=registration.name, contact_phone=registration.phone,
                                           contact_email=registration.email, service_name=template.title)
    today = account_today(account)
    schedule_replace(deal=deal, plan_request=_plan_request(template, today), options=ScheduleOptions(),
                     created_by=None, today=today)
    registration.status, registration.deal = ClientRegistration.Status.DONE, deal
    registration.save(update_fields=["status", "deal"])
    return registration
