"""Client answer pages (/r/<token>/paid|postpone) and the Telegram bot webhook: thin, server-rendered."""
import hmac
import json
from datetime import date

from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from billing.dunning.links import answer_token_read
from billing.dunning.models import ChannelSettings
from billing.dunning.selectors import answer_line_get
from billing.dunning.services import client_paid_claim, client_postpone_request, telegram_update_receive
from billing.errors import ApplicationError
from billing.models import Account


def _not_found(request) -> HttpResponse:
    return render(request, "dunning/not_found.html", status=404)


def _line(token: str):
    target = answer_token_read(token)
    return answer_line_get(account_id=target.account_id, line_id=target.line_id) if target else None


@csrf_exempt  # the signed token is the capability; GET never changes anything (mail scanners open links)
@require_http_methods(["GET", "POST"])
def answer_paid(request, token: str):
    line = _line(token)
    if line is None:
        return _not_found(request)
    if request.method == "POST":
        client_paid_claim(account_id=line.account_id, line_id=line.line_id, now=timezone.now())
        return render(request, "dunning/done.html", {"line": line, "paid": True})
    return render(request, "dunning/paid.html", {"line": line})


@csrf_exempt
@require_http_methods(["GET", "POST"])
def answer_postpone(request, token: str):
    line = _line(token)
    if line is None:
        return _not_found(request)
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
        return render(request, "dunning/done.html", {"line": line, "paid": False, "result": result})
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
