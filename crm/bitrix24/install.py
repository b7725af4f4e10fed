"""Installing PayPlan into a Bitrix24 portal (contract §2.1) and setting it up.

Two shapes reach the install URL: the installer frame (`AUTH_ID`, `REFRESH_ID`, `member_id`, `DOMAIN`,
`APPLICATION_TOKEN`, `PLACEMENT=DEFAULT`) and the server-to-server `event=ONAPPINSTALL` with `auth[...]`.
Neither is trusted as sent: the access token is shown to the authorization server (`app.info`), which
must name our client_id and the same member_id and domain; anything else stores nothing (fail closed).
The setup (user fields, event and placement bindings) runs after the commit; Bitrix24 wipes bindings
on every install, so it runs on every one.
"""
import logging
from dataclasses import dataclass

from django.conf import settings

from billing.jobs import job_enqueue
from crm.bitrix24 import adapter, oauth
from crm.bitrix24.client import Bitrix24Client
from crm.bitrix24.errors import AuthRefused, InstallRefused
from crm.bitrix24.models import Portal
from crm.bitrix24.portals import portal_install_store, portal_setup_store
from crm.outbox import DRAIN_JOB

logger = logging.getLogger(__name__)

EVENTS = ["ONCRMDEALUPDATE", "ONCRMDEALADD", "ONCRMDEALDELETE", "ONAPPUNINSTALL"]
PLACEMENT = "CRM_DEAL_DETAIL_TAB"
ALREADY_BOUND = "already bind"  # "Handler already binded": a repeat bind, i.e. success


@dataclass(frozen=True)
class InstallPayload:
    member_id: str
    domain: str
    access_token: str
    refresh_token: str
    expires_in: int
    application_token: str
    scope: str
    plan_status: str
    server_endpoint: str
    user_id: int | None


def install_payload(form: dict, query: dict) -> InstallPayload:
    """Either shape, as plain strings; InstallRefused when a part we need is missing."""
    if form.get("event", "").upper() == "ONAPPINSTALL":
        def auth(name: str) -> str:
            return str(form.get(f"auth[{name}]") or "").strip()
        fields = {"member_id": auth("member_id"), "domain": auth("domain"), "access_token": auth("access_token"),
                  "refresh_token": auth("refresh_token"), "expires_in": auth("expires_in"),
                  "application_token": auth("application_token"), "scope": auth("scope"),
                  "plan_status": auth("status"), "server_endpoint": auth("server_endpoint"),
                  "user_id": auth("user_id")}
    else:
        def get(name: str) -> str:
            return str(form.get(name) or query.get(name) or "").strip()
        fields = {"member_id": get("member_id"), "domain": get("DOMAIN"), "access_token": get("AUTH_ID"),
                  "refresh_token": get("REFRESH_ID"), "expires_in": get("AUTH_EXPIRES"),
                  # Never APP_SID: it changes on every render (the CRest sample's mistake).
                  "application_token": get("APPLICATION_TOKEN"), "scope": get("APPLICATION_SCOPE"),
                  "plan_status": get("status"), "server_endpoint": get("SERVER_ENDPOINT"), "user_id": ""}
    missing = [name for name in ("member_id", "domain", "access_token", "refresh_token", "application_token")
               if not fields[name]]
    if missing:
        raise InstallRefused(f"the install request lacks {', '.join(missing)}")
    if len(fields["member_id"]) > 64 or not fields["member_id"].isalnum():
        raise InstallRefused("the member_id is not one Bitrix24 makes")
    expires = fields["expires_in"]
    user_id = fields["user_id"]
    return InstallPayload(**{**fields, "expires_in": int(expires) if expires.isdigit() else 3600,
                             "user_id": int(user_id) if user_id.isdigit() else None,
                             "domain": oauth.host_normalize(fields["domain"])})


def portal_install(*, form: dict, query: dict) -> tuple[Portal, bool]:
    """Verify and store an installation; (portal, True) for a new install, whose setup is then queued.
    Raises InstallRefused (nothing stored) or Transient (the authorization server could not be asked)."""
    payload = install_payload(form, query)
    try:
        origin = oauth.portal_origin(payload.domain)
        info = oauth.token_verify(payload.access_token, member_id=payload.member_id, domain=payload.domain)
    except AuthRefused as exc:
        raise InstallRefused(f"install refused: {exc.message}") from exc
    user_id = payload.user_id or oauth.int_or_none((info.get("install") or {}).get("user_id"))
    portal, fresh = portal_install_store(
        member_id=payload.member_id, domain=payload.domain, client_endpoint=f"{origin}/rest/",
        server_endpoint=payload.server_endpoint[:255],
        tokens=oauth.TokenPair(payload.access_token, payload.refresh_token, payload.expires_in),
        application_token=payload.application_token, scope=payload.scope, plan_status=payload.plan_status,
        installer_user_id=user_id)
    logger.info("Bitrix24 portal %s (%s) %s", portal.member_id, portal.domain,
                "installed" if fresh else "install repeated: nothing changed")
    return portal, fresh


def public_url(path: str) -> str:
    return f"{settings.PAYPLAN_PUBLIC_ORIGIN.rstrip('/')}{path}"


def portal_setup(*, portal_id: int) -> dict:
    """User fields (looked up first, so a reinstall adds none twice), the deal events and the deal tab.
    Stored per install generation; a refused binding is logged and the rest goes on."""
    portal = Portal.objects.get(pk=portal_id)
    generation = portal.install_generation
    client = Bitrix24Client(portal)
    fields = user_fields_ensure(client)
    handler = public_url("/bitrix24/events/")
    tab = public_url("/bitrix24/frame/")
    commands = {f"e{name}": ("event.bind", {"event": name, "handler": handler}) for name in EVENTS}
    commands["placements"] = ("placement.get", {})
    outcome = client.batch(commands)
    events = [name for name in EVENTS if f"e{name}" in outcome.results
              or ALREADY_BOUND in outcome.errors.get(f"e{name}", ("", ""))[1].lower()]
    for name in EVENTS:
        if name not in events:
            logger.warning("portal %s refused event %s: %s", portal.member_id, name, outcome.errors.get(f"e{name}"))
    stale = [row.get("handler") for row in outcome.results.get("placements") or []
             if isinstance(row, dict) and row.get("placement") == PLACEMENT and row.get("handler") != tab]
    placement_commands = {f"u{index}": ("placement.unbind", {"PLACEMENT": PLACEMENT, "HANDLER": url})
                          for index, url in enumerate(stale)}
    placement_commands["bind"] = ("placement.bind", {
        "PLACEMENT": PLACEMENT, "HANDLER": tab, "TITLE": "PayPlan",
        "LANG_ALL": {"ru": {"TITLE": "PayPlan: рассрочка"}, "en": {"TITLE": "PayPlan: instalments"}}})
    placed = client.batch(placement_commands)
    bind_error = placed.errors.get("bind", ("", ""))
    placement = tab if "bind" in placed.results or ALREADY_BOUND in bind_error[1].lower() else ""
    if not placement:
        logger.warning("portal %s refused the deal tab: %s", portal.member_id, bind_error)
    setup = {"fields": fields, "events": events, "placement": placement}
    if portal_setup_store(portal_id=portal_id, install_generation=generation, setup=setup) and portal.account_id:
        job_enqueue(DRAIN_JOB, account_id=portal.account_id)  # field updates held back for the setup go out
    return setup


def user_fields_ensure(client: Bitrix24Client) -> dict[str, str]:
    """PayPlan's deal user fields, added where missing: {snapshot key: UF_CRM_… name}."""
    existing = client.call("crm.deal.userfield.list", {"filter": {"%FIELD_NAME": "UF_CRM_PAYPLAN_"}}) or []
    names = {str(row.get("FIELD_NAME")) for row in existing if isinstance(row, dict)}
    commands = {}
    for key, (code, kind, labels) in adapter.USER_FIELDS.items():
        if adapter.user_field_name(key) in names:
            continue
        commands[key] = ("crm.deal.userfield.add", {"fields": {
            "FIELD_NAME": code, "USER_TYPE_ID": kind, "XML_ID": code, "MULTIPLE": "N", "MANDATORY": "N",
            "EDIT_FORM_LABEL": labels, "LIST_COLUMN_LABEL": labels, "LABEL": labels["ru"]}})
    outcome = client.batch(commands) if commands else None
    mapping = {}
    for key in adapter.USER_FIELDS:
        name = adapter.user_field_name(key)
        if name in names or (outcome and key in outcome.results):
            mapping[key] = name
        elif outcome and key in outcome.errors:
            logger.warning("portal %s refused user field %s: %s", client.portal.member_id, name, outcome.errors[key])
    return mapping
