"""The client's pages: the plan (/p/<token>) and the registration form (/register/<token>). Server-rendered,
no script; the signed token is the capability (no login, no CSRF cookie: GET never changes anything).

Every bad token (forged, expired, revoked by «Новая ссылка», or a deal/account that is gone) gets the same
friendly 404 page, so nothing about other deals can be learnt from the answers."""
import secrets
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect, requires_csrf_token
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from billing.client_links import client_page_deal, client_page_path, registration_account_id
from billing.domain.plan_autostart import payoff_mode_read
from billing.errors import ApplicationError
from billing.models import Account, ClientRegistration, Deal
from billing.selectors.schedule_changes import schedule_changes_get
from billing.services.autopay import autopay_disable, autopay_enable
from billing.services.client_page import ContactInput, client_contact_update, client_invoice_all, client_invoice_next
from billing.services.proposals import early_payoff_apply, early_payoff_build, proposal_decide
from billing.services.registrations import registration_settings, registration_submit
from billing.services.sbp import invoice_sbp_link, sbp_available
from billing.services.schedules import plan_preview
from billing.time import account_today
from client_portal.autopay import autopay_consent_text, autopay_saved_card, consent_digest
from client_portal.client_ip import client_ip
from client_portal.selectors import client_document_allowed, client_page_get
from client_portal.throttle import registration_allowed
from documents.services import DocumentFile, document_pdf_fetch

DOCUMENT_KINDS = ("invoice", "receipt", "contract", "schedule")


LANGUAGES = ("ru", "en")
# The client's last explicit choice (?lang=en / ?lang=ru): the way back from the payment page, and the links of
# emails, carry no language of their own, and the client must not land in another one.
LANG_COOKIE, LANG_COOKIE_AGE = "payplan_lang", 365 * 86400


def _chosen_lang(request) -> str | None:
    chosen = request.GET.get("lang") or request.POST.get("lang")
    return chosen if chosen in LANGUAGES else None


def _lang(request) -> str:
    remembered = request.COOKIES.get(LANG_COOKIE)
    return _chosen_lang(request) or (remembered if remembered in LANGUAGES else "ru")


def _with_lang(path: str, lang: str, anchor: str = "", **query) -> str:
    params = {**query, **({"lang": "en"} if lang == "en" else {})}
    tail = "&".join(f"{key}={value}" for key, value in params.items())
    return path + (f"?{tail}" if tail else "") + (f"#{anchor}" if anchor else "")


def _not_found(request, lang: str) -> HttpResponse:
    with translation.override(lang):
        response = render(request, "client_portal/not_found.html", {"lang": lang}, status=404)
    response["X-Robots-Tag"] = "noindex"
    return response


def _render(request, template: str, context: dict, lang: str, status: int = 200) -> HttpResponse:
    with translation.override(lang):
        response = render(request, template, {"lang": lang, **context}, status=status)
    response["X-Robots-Tag"] = "noindex"
    response["Cache-Control"] = "private, no-store"
    # The token is in the path: never hand it to another site. "same-origin" (not "no-referrer") so that the
    # page's own form posts carry their Origin, which the CSRF check of the autopay switch compares.
    response["Referrer-Policy"] = "same-origin"
    if _chosen_lang(request) == lang:
        response.set_cookie(LANG_COOKIE, lang, max_age=LANG_COOKIE_AGE, samesite="Lax", httponly=True,
                            secure=request.is_secure())
    return response


def _plan_context(deal: Deal, token: str, lang: str, **extra) -> dict:
    with translation.override(lang):  # the page's own words (the autopay consent text) in the client's language
        page = client_page_get(deal=deal)
    return {"page": page, "token": token, "base": f"/p/{token}", "sbp": sbp_available(deal.account),
            "switch_lang": f"/p/{token}?lang={'ru' if lang == 'en' else 'en'}",
            "payoff_mode": payoff_mode_read(deal.account.settings), **extra}


def _contact_input(request) -> ContactInput:
    return ContactInput(name=request.POST.get("name", ""), phone=request.POST.get("phone", ""),
                        email=request.POST.get("email", ""))


@csrf_protect  # sets the CSRF cookie the autopay switch's form needs
@require_GET
def plan_page(request, token: str):
    lang = _lang(request)
    deal = client_page_deal(token)
    if deal is None:
        return _not_found(request, lang)
    return _render(request, "client_portal/plan.html",
                   _plan_context(deal, token, lang, flash=request.GET.get("done", "")), lang)


@csrf_exempt
@requires_csrf_token  # a re-rendered page's autopay form gets a token matching the cookie
@require_POST
def pay(request, token: str, what: str):
    """«Оплатить следующий платёж» / «Оплатить всё»: the invoice (reused while open), then its payment page."""
    lang = _lang(request)
    deal = client_page_deal(token)
    if deal is None:
        return _not_found(request, lang)
    try:
        with translation.override(lang):
            issued = (client_invoice_all if what == "all" else client_invoice_next)(deal=deal)
    except ApplicationError as exc:
        return _render(request, "client_portal/plan.html", _plan_context(deal, token, lang, error=exc.message),
                       lang, status=exc.status)
    if not issued.invoice.payment_url:
        message = _("The payment system is not answering right now. Please try again in a few minutes.")
        return _render(request, "client_portal/plan.html", _plan_context(deal, token, lang, error=message),
                       lang, status=503)
    # Not a redirect: the page's CSP (form-action 'self') forbids a form post from landing on another site.
    # A link (and a meta refresh) to the payment page is a plain navigation.
    return _render(request, "client_portal/to_payment.html", {
        "payment_url": issued.invoice.payment_url, "amount": issued.invoice.amount,
        "currency": deal.account.currency, "number": issued.invoice.number, "refresh_url": issued.invoice.payment_url,
        "back": _with_lang(f"/p/{token}", lang)}, lang)


@csrf_exempt
@requires_csrf_token  # a re-rendered page's autopay form gets a token matching the cookie
@require_POST
def pay_sbp(request, token: str):
    """«Оплатить через СБП»: the next line's invoice (reused while open), then its SBP payment's QR page."""
    lang = _lang(request)
    deal = client_page_deal(token)
    if deal is None:
        return _not_found(request, lang)
    try:
        with translation.override(lang):
            issued = client_invoice_next(deal=deal)
            invoice = invoice_sbp_link(invoice_id=issued.invoice.pk)
    except ApplicationError as exc:
        return _render(request, "client_portal/plan.html", _plan_context(deal, token, lang, error=exc.message),
                       lang, status=exc.status)
    return _render(request, "client_portal/to_payment.html", {
        "payment_url": invoice.sbp_url, "amount": invoice.amount - invoice.paid_amount,
        "currency": deal.account.currency, "number": invoice.number, "refresh_url": invoice.sbp_url,
        "back": _with_lang(f"/p/{token}", lang)}, lang)


@require_GET
def invoice_sbp(request, token: str, invoice_id: int):
    """[K] The SBP QR printed on an invoice PDF: this invoice's SBP payment (made once, the same one on every
    scan: a deterministic Idempotence-Key), then its QR/bank page."""
    lang = _lang(request)
    deal = client_page_deal(token)
    if deal is None or not deal.invoices.filter(pk=invoice_id).exists():
        return _not_found(request, lang)
    try:
        with translation.override(lang):
            invoice = invoice_sbp_link(invoice_id=invoice_id)
    except ApplicationError as exc:
        return _render(request, "client_portal/plan.html", _plan_context(deal, token, lang, error=exc.message),
                       lang, status=exc.status)
    return _render(request, "client_portal/to_payment.html", {
        "payment_url": invoice.sbp_url, "amount": invoice.amount - invoice.paid_amount,
        "currency": deal.account.currency, "number": invoice.number, "refresh_url": invoice.sbp_url,
        "back": _with_lang(f"/p/{token}", lang)}, lang)


@csrf_exempt
@requires_csrf_token  # a re-rendered page's autopay form gets a token matching the cookie
@require_POST
def contact(request, token: str):
    lang = _lang(request)
    deal = client_page_deal(token)
    if deal is None:
        return _not_found(request, lang)
    try:
        with translation.override(lang):
            client_contact_update(deal=deal, contact=_contact_input(request))
    except ApplicationError as exc:
        return _render(request, "client_portal/plan.html", _plan_context(
            deal, token, lang, contact_errors=exc.fields, contact_values=request.POST, error=exc.message),
            lang, status=exc.status)
    return HttpResponseRedirect(_with_lang(f"/p/{token}", lang, "contact", done="contact"), status=303)


@csrf_exempt
@requires_csrf_token  # a re-rendered page's autopay form gets a token matching the cookie
@require_http_methods(["GET", "POST"])
def payoff(request, token: str):
    """Pay off early: GET previews «было → стало» for an amount and a mode; POST accepts that very preview."""
    lang = _lang(request)
    deal = client_page_deal(token)
    if deal is None:
        return _not_found(request, lang)
    data = request.POST if request.method == "POST" else request.GET
    amount_text, mode = (data.get("amount") or "").replace(" ", "").replace("\u00a0", "").replace(",", "."), \
        data.get("mode") or ""
    context = {"amount": data.get("amount") or "", "mode": mode or payoff_mode_read(deal.account.settings)}
    today = account_today(deal.account)
    with translation.override(lang):
        try:
            amount = Decimal(amount_text)
            if not amount.is_finite():
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            message = _("Enter the amount in roubles, e.g. 30000.")
            return _render(request, "client_portal/payoff.html", _plan_context(
                deal, token, lang, **context, error=message, field_errors={"amount": [message]}), lang, status=422)
        try:
            if request.method == "POST":
                version = data.get("version")
                early_payoff_apply(deal=deal, amount=amount, mode=mode, today=today, created_by=None,
                                   expected_version=int(version) if (version or "").isdigit() else -1)
                return HttpResponseRedirect(_with_lang(f"/p/{token}", lang, "plan", done="payoff"), status=303)
            built = early_payoff_build(deal=deal, amount=amount, mode=mode, today=today)
        except ApplicationError as exc:
            return _render(request, "client_portal/payoff.html", _plan_context(
                deal, token, lang, **context, error=exc.message, field_errors=exc.fields), lang, status=exc.status)
        plan = plan_preview(plan_request=built.plan_request)
        changes = schedule_changes_get(deal=deal, plan=plan, options=built.options)
    return _render(request, "client_portal/payoff.html", _plan_context(
        deal, token, lang, **context, changes=changes, payoff=built.payoff, amount_value=str(amount)), lang)


@csrf_exempt
@requires_csrf_token  # a re-rendered page's autopay form gets a token matching the cookie
@require_POST
def proposal_answer(request, token: str, proposal_id: int, answer: str):
    lang = _lang(request)
    deal = client_page_deal(token)
    if deal is None:
        return _not_found(request, lang)
    who = (deal.contact_name or "").strip() or _("the client")
    try:
        with translation.override(lang):
            proposal_decide(deal=deal, proposal_id=proposal_id, approve=answer == "approve",
                            decided_by=f"{who} (client page)", today=account_today(deal.account))
    except ApplicationError as exc:
        return _render(request, "client_portal/plan.html", _plan_context(deal, token, lang, error=exc.message),
                       lang, status=exc.status)
    done = "approved" if answer == "approve" else "declined"
    return HttpResponseRedirect(_with_lang(f"/p/{token}", lang, "plan", done=done), status=303)


def _autopay_error(exc: ApplicationError) -> str:
    """The client reads a Russian sentence (English with ?lang=en), never the service's English message."""
    messages = {
        "card_expired": _("Your saved card has expired. Pay the next payment with the button above: the new "
                          "card is saved and autopay can be switched on with it."),
        "card_revoked": _("The bank does not allow repeat charges of this card. Pay the next payment with the "
                          "button above to save another card."),
        "autopay_not_offered": _("Autopay is not available for this plan. Please ask your manager."),
        "deal_cancelled": _("This plan is closed: autopay cannot be switched on."),
        "no_plan": _("There is no payment plan yet: autopay cannot be switched on."),
    }
    return messages.get(exc.code, _("Autopay could not be switched. Please try again or ask your manager."))


@csrf_protect
@require_POST
def autopay_switch(request, token: str, turn: str):
    """«Включить автоплатёж» (with the consent box ticked: the very text shown is recorded, with the time and
    the client's address) and «Отключить автоплатёж». Only ever the token's own deal."""
    lang = _lang(request)
    deal = client_page_deal(token)
    if deal is None:
        return _not_found(request, lang)
    with translation.override(lang):
        try:
            if turn == "off":
                autopay_disable(deal=deal, by="client", reason="switched off on the client page")
            else:
                card = autopay_saved_card(deal=deal)
                text = autopay_consent_text(deal=deal, card=card) if card is not None else ""
                if card is None or not text:
                    raise ApplicationError("card_token_unknown", "No saved card.")
                if request.POST.get("consent") != "yes":
                    return _render(request, "client_portal/plan.html", _plan_context(
                        deal, token, lang, autopay_error=_("Tick the box to agree, then switch autopay on.")),
                        lang, status=422)
                if request.POST.get("terms") != consent_digest(text):
                    return _render(request, "client_portal/plan.html", _plan_context(
                        deal, token, lang, autopay_error=_("The terms have changed since the page was opened. "
                                                           "Please read them again.")), lang, status=409)
                autopay_enable(deal=deal, token=card.token, consent_text=text, consented_at=timezone.now(),
                               source="client_page", ip_address=client_ip(request))
        except ApplicationError as exc:
            return _render(request, "client_portal/plan.html", _plan_context(
                deal, token, lang, autopay_error=_autopay_error(exc)), lang, status=exc.status)
    done = "autopay_on" if turn == "on" else "autopay_off"
    return HttpResponseRedirect(_with_lang(f"/p/{token}", lang, "autopay", done=done), status=303)


@require_GET
def document(request, token: str, kind: str, object_id: int):
    """A PDF of this deal only: the token's deal must own the invoice, payment or contract asked for."""
    lang = _lang(request)
    deal = client_page_deal(token)
    if deal is None or kind not in DOCUMENT_KINDS or not client_document_allowed(deal=deal, kind=kind,
                                                                                  object_id=object_id):
        return _not_found(request, lang)
    try:
        fetched = document_pdf_fetch(account=deal.account, kind=kind, object_id=object_id, fallback_to_default=True)
    except ApplicationError:
        return _not_found(request, lang)
    if not isinstance(fetched, DocumentFile):
        response = _render(request, "client_portal/message.html", {
            "title": _("The document is being prepared"), "refresh": fetched.retry_after,
            "text": _("A large document is still being made: this page reloads by itself in a few seconds.")},
            lang, status=202)
        response["Refresh"] = str(fetched.retry_after)
        return response
    response = HttpResponse(fetched.content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{fetched.file_name}"'
    response["Cache-Control"] = "private, no-cache"
    response["X-Robots-Tag"] = "noindex"
    return response


# --- registration -------------------------------------------------------------------------------------
def _embeddable(response: HttpResponse, account: Account) -> HttpResponse:
    """The sign-up form may sit in an iframe on the account's own site: `client_registration.embed_origins`
    (e.g. ["https://school.example"]), by default any https site. Only this form; the plan page never."""
    origins = (account.settings.get("client_registration") or {}).get("embed_origins") or ["https:"]
    ancestors = " ".join(str(origin) for origin in origins if str(origin).startswith("https:")) or "'none'"
    policy = settings.PAYPLAN_CONTENT_SECURITY_POLICY.replace("frame-ancestors 'none'", f"frame-ancestors {ancestors}")
    response["Content-Security-Policy"] = policy
    response.xframe_options_exempt = True
    return response


def _throttle_key(request) -> str:
    return client_ip(request) or "unknown"


def _registration_account(token: str) -> Account | None:
    account_id = registration_account_id(token)
    account = Account.objects.filter(pk=account_id, is_active=True).first() if account_id else None
    return account if account is not None and registration_settings(account).enabled else None


@csrf_exempt
@require_http_methods(["GET", "POST"])
def register(request, token: str):
    lang = _lang(request)
    account = _registration_account(token)
    if account is None:
        return _not_found(request, lang)
    options = registration_settings(account)
    context = {"options": options, "token": token, "values": {}, "errors": {},
               "submission_key": secrets.token_urlsafe(24),
               "switch_lang": f"/register/{token}?lang={'ru' if lang == 'en' else 'en'}"}
    if request.method == "GET":
        context["values"] = {"template": options.templates[0].key}
        return _embeddable(_render(request, "client_portal/register.html", context, lang), account)
    context["values"] = request.POST
    context["submission_key"] = request.POST.get("submission_key") or context["submission_key"]
    with translation.override(lang):
        if request.POST.get("website"):  # the honeypot: people never see this field, bots fill it in
            return _render(request, "client_portal/message.html", {
                "title": _("Thank you!"), "text": _("We have received your application.")}, lang)
        if not registration_allowed(account_id=account.pk, ip_address=_throttle_key(request)):
            context["error"] = _("Too many applications from here. Please try again in a few minutes.")
            response = _render(request, "client_portal/register.html", context, lang, status=429)
            response["Retry-After"] = "600"
            return _embeddable(response, account)
        try:
            registration = registration_submit(
                account=account, submission_key=context["submission_key"], contact=_contact_input(request),
                template_key=request.POST.get("template", ""), consent_given=request.POST.get("consent") == "yes",
                ip_address=client_ip(request))
        except ApplicationError as exc:
            context["error"], context["errors"] = exc.message, exc.fields
            return _embeddable(_render(request, "client_portal/register.html", context, lang, status=exc.status),
                               account)
    return HttpResponseRedirect(_with_lang(f"/register/{token}/wait/{registration.submission_key}", lang), status=303)


@require_GET
def register_wait(request, token: str, key: str):
    """Waits (reloading itself: no script) until the CRM lead and the plan exist, then opens the plan page."""
    lang = _lang(request)
    account = _registration_account(token)
    registration = (ClientRegistration.objects.select_related("deal").filter(account=account, submission_key=key)
                    .first() if account else None)
    if registration is None:
        return _not_found(request, lang)
    if registration.status == ClientRegistration.Status.DONE and registration.deal is not None:
        return HttpResponseRedirect(_with_lang(client_page_path(registration.deal), lang), status=303)
    failed = registration.status == ClientRegistration.Status.FAILED
    delayed = not failed and registration.crm_attempts > 0  # the CRM is not answering: it is retried
    refresh = 0 if failed else (WAIT_DELAYED_REFRESH_SECONDS if delayed else 2)
    with translation.override(lang):
        if failed:
            context = {"title": _("Something went wrong"), "text": _(
                "Your application is saved, but we could not prepare your plan automatically. Please get in "
                "touch with us so that we can finish it.") + _contacts_text(account)}
        elif delayed:
            context = {"title": _("Your application is saved"), "text": _(
                "Preparing your payment plan takes longer than usual: our CRM is not answering right now. Nothing "
                "is lost: the plan is prepared as soon as it answers, and this page opens it by itself. You can "
                "also close it and open this address again later.")}
        else:
            context = {"title": _("Thank you!"),
                       "text": _("We are preparing your payment plan: this page opens it in a moment.")}
        context["refresh"] = refresh
    response = _render(request, "client_portal/message.html", context, lang, status=200)
    if refresh:
        response["Refresh"] = str(refresh)
    return response


WAIT_DELAYED_REFRESH_SECONDS = 30


def _contacts_text(account: Account) -> str:
    """« Телефон: …, почта: …» from the account's requisites, when it has them."""
    requisites = account.settings.get("requisites") or {}
    phone, email = str(requisites.get("phone") or "").strip(), str(requisites.get("email") or "").strip()
    parts = ([_("Phone: %(phone)s") % {"phone": phone}] if phone else []) + (
        [_("email: %(email)s") % {"email": email}] if email else [])
    return (" " + ", ".join(parts) + ".") if parts else ""
