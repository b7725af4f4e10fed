"""A client's sign-up turned into an amoCRM contact and lead (relay handler `widget_api.crm_registration`).

Idempotent: the lead id is stored the moment amoCRM answers, and a run after a lost answer (timeout, killed
worker) first looks for the lead by the marker in its name before creating one. Then billing builds the plan
on that lead and the lead gets a note with the consent and the client page link.

amoCRM down, timing out, blocking us or not connected: the sign-up waits (billing.services.registrations
.registration_crm_wait: backoff up to an hour, the delivery released, never dead-lettered) and completes once
amoCRM answers again; the client's waiting page says so. Only a refusal of the lead itself fails it.
"""
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from billing.client_links import client_page_url
from billing.events import CLIENT_REGISTERED, DeliveryNotYet, DeliveryRefused, register_handler
from billing.models import ClientRegistration, DomainEvent
from billing.services.registrations import (
    registration_complete,
    registration_crm_wait,
    registration_fail,
    registration_lead_record,
    registration_settings,
)
from billing.texts import in_account_language
from crm import texts
from crm.amocrm.client import AmoCrmClient
from crm.amocrm.delivery import contact_fields
from crm.amocrm.errors import CrmBlocked, CrmReinstallNeeded, CrmRejected, CrmTransient
from crm.models import CrmAction
from crm.outbox import crm_action_add


def _marker(registration: ClientRegistration) -> str:
    return f"[PP-R{registration.pk}]"


def _lead_found(client: AmoCrmClient, marker: str) -> tuple[int, int | None] | None:
    answer = client.get("/api/v4/leads", {"query": marker, "with": "contacts", "limit": 50}) or {}
    for lead in (answer.get("_embedded") or {}).get("leads") or []:
        if marker in str(lead.get("name") or ""):
            contacts = (lead.get("_embedded") or {}).get("contacts") or []
            return int(lead["id"]), int(contacts[0]["id"]) if contacts else None
    return None


def _lead_create(client: AmoCrmClient, registration: ClientRegistration) -> tuple[int, int | None]:
    templates = {item.key: item for item in registration_settings(registration.account).templates}
    template = templates.get(registration.template_key)
    title = template.title if template else registration.template_key
    with in_account_language(registration.account):
        name = texts.registration_lead_name(name=registration.name, template=title)
    answer = client.post("/api/v4/leads/complex", [{
        "name": f"{name} {_marker(registration)}"[:255], "price": int(template.total) if template else 0,
        "_embedded": {"contacts": [{"name": registration.name, "custom_fields_values": contact_fields(
            phone=registration.phone, email=registration.email)}]},
        "request_id": str(registration.pk)}])
    row = (answer or [None])[0] if isinstance(answer, list) else None
    if not row or not row.get("id"):  # maybe made after all: the next try looks it up by its marker first
        raise CrmTransient("amoCRM answered leads/complex without a lead id", maybe_applied=True)
    return int(row["id"]), int(row["contact_id"]) if row.get("contact_id") else None


def on_client_registered(event: DomainEvent) -> None:
    registration = ClientRegistration.objects.select_related("account").get(pk=event.payload["registration_id"])
    if registration.status != ClientRegistration.Status.PENDING:
        return
    if registration.crm_external_id is None:
        if registration.crm_retry_at is not None and timezone.now() < registration.crm_retry_at:
            raise DeliveryNotYet(f"the CRM is asked again at {registration.crm_retry_at.isoformat()}")
        try:
            client = AmoCrmClient.for_account(registration.account)
            found = _lead_found(client, _marker(registration)) or _lead_create(client, registration)
        except (CrmTransient, CrmBlocked, CrmReinstallNeeded) as exc:
            # Passing: the delivery waits (never dead-lettered) and completes once amoCRM answers again.
            registration_crm_wait(registration_id=registration.pk, reason=exc.message)
            raise DeliveryNotYet(exc.message) from exc
        except CrmRejected as exc:
            registration_fail(registration_id=registration.pk, reason=f"amoCRM refused the lead: {exc.message}")
            raise DeliveryRefused(exc.message) from exc
        registration = registration_lead_record(registration_id=registration.pk, contact_id=found[1],
                                                external_id=found[0])
    registration = registration_complete(registration_id=registration.pk)
    if registration.deal is not None:
        _note(event, registration)


@transaction.atomic
def _note(event: DomainEvent, registration: ClientRegistration) -> None:
    if CrmAction.objects.filter(event=event, kind=CrmAction.Kind.ADD_NOTE).exists():
        return
    deal = registration.deal
    local = registration.consent_at.astimezone(ZoneInfo(deal.account.time_zone))
    with in_account_language(deal.account):  # the manager's note in the account's language
        text = texts.note_text("client_registered", client_name=registration.name, phone=registration.phone,
                               email=registration.email, template=deal.service_name,
                               consent_at=f"{texts.date_text(local.date())} {local:%H:%M}",
                               client_page_url=client_page_url(deal))
    crm_action_add(deal=deal, kind=CrmAction.Kind.ADD_NOTE, source=event.name, event=event, payload={"text": text})


def register() -> None:
    register_handler(CLIENT_REGISTERED, "widget_api.crm_registration", on_client_registered)
