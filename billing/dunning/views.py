"""Client answer pages (/r/<token>/paid|postpone) and the Telegram bot webhook: thin, server-rendered."""
import functools
import hmac
import json
from datetime import date

from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from billing.domain.account_settings import LANGUAGES
from billing.dunning.links import answer_token_read
from billing.dunning.models import ChannelSettings
from billing.dunning.selectors import answer_line_get
from billing.dunning.services import client_paid_claim, client_postpone_request, telegram_update_receive
from billing.errors import ApplicationError
from billing.models import Account
from billing.texts import account_language, date_text


def _not_found(request) -> HttpResponse:
    return render(request, "dunning/not_found.html", status=404)


def _language(request, account_id: int | None) -> str:
    """?lang=en|ru as the client page takes it (the form posts back to the same address, query included);
    else the account's language (Russian by default), never whatever the browser says."""
    asked = request.GET.get("lang") or request.POST.get("lang") or ""
    if asked in LANGUAGES:
        return asked
    account = Account.objects.filter(pk=account_id).first() if account_id else None
    return account_language(account)


def answer_page(view):
    """Reads the token, then runs the page in its language with the line it names (None: not found)."""

    @functools.wraps(view)
    def page(request, token: str):
        target = answer_token_read(token)
        with translation.override(_language(request, target.account_id if target else None)):
            line = answer_line_get(account_id=target.account_id, line_id=target.line_id) if target else None
            if line is None:
                return _not_found(request)
            return view(request, line)

    return page


@csrf_exempt  # the signed token is the capability; GET never changes anything (mail scanners open links)
@require_http_methods(["GET", "POST"])
@answer_page
def answer_paid(request, line):
    if request.method == "POST":
        client_paid_claim(account_id=line.account_id, line_id=line.line_id, now=timezone.now())
        return render(request, "dunning/done.html", {"line": line, "paid": True})
    return render(request, "dunning/paid.html", {"line": line})


@csrf_exempt
@require_http_methods(["GET", "POST"])
@answer_page
def answer_postpone(request, line):
    context = {"line": line, "error": "", "value": ""}
    if request.method == "POST":
        context["value"] = request.POST.get("date", "")
        try:
            requested = date.fromisoformat(context["value"])
        except ValueError:
            context["error"] = gettext("Choose the date in the calendar.")
            return render(request, "dunning/postpone.html", context, status=422)
        try:
            result = client_postpone_request(account_id=line.account_id, line_id=line.line_id, requested=requested,
                                             now=timezone.now())
        except ApplicationError as exc:
            context["error"] = exc.message
            return render(request, "dunning/postpone.html", context, status=exc.status)
        return render(request, "dunning/done.html", {"line": line, "paid": False, "result": result,
                                                     "requested": date_text(result.requested)})
    return render(request, "dunning/postpone.html", context)


@csrf_exempt
@require_POST
def telegram_webhook(request, account_key: str):
    """Telegram calls this with the secret set by setWebhook; no secret stored means nothing is accepted."""
    account = Account.objects.filter(webhook_key=account_key, is_active=True).first()
    bot = ChannelSettings.objects.filter(account=account, channel="telegram").first() if account else None
    expected = str((bot.options or {}).get("webhook_secret") or "") if bot else ""
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if not expected or not hmac.compare_digest(expected, given):
        return JsonResponse({"error": {"code": "not_found", "message": "Unknown bot.", "fields": {}}}, status=404)
    try:
        update = json.loads(request.body)
    except ValueError:
        update = {}
    telegram_update_receive(account=account, update=update if isinstance(update, dict) else {})
    return JsonResponse({"ok": True})
