"""amoCRM-facing endpoints: the OAuth callback, the install link, the access-revoked hook, lead hooks.
No widget token here: amoCRM calls them, so each checks what amoCRM can prove (code, signature, key)."""
import logging

from django.conf import settings
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from billing.models import Account
from billing.untrusted import UntrustedInputError, json_loads_untrusted
from crm.amocrm import oauth
from crm.amocrm.errors import InstallError
from crm.amocrm.hooks import HookRefused, hook_form_parse, lead_hooks_accept
from crm.amocrm.install import crm_install, crm_uninstall
from widget_api.errors import error_body, payload_too_large

logger = logging.getLogger(__name__)


@require_GET
def oauth_callback(request):
    params = request.GET
    try:
        account = crm_install(code=params.get("code", ""), referer=params.get("referer", ""),
                              state=params.get("state"), from_widget=bool(params.get("from_widget")))
    except InstallError as exc:
        logger.warning("amoCRM installation refused%s: %s", " (from the widget)" if params.get("from_widget") else "",
                       exc.message)
        return render(request, "amocrm/install_failed.html",
                      {"reason": exc.message, "explanation": exc.user_message}, status=400)
    return render(request, "amocrm/installed.html", {"account": account})


@require_GET
def install_start(request):
    """The "install" button: off to amoCRM's consent screen with a state we can check on return."""
    return HttpResponseRedirect(oauth.install_url())


@csrf_exempt
@require_http_methods(["GET", "POST"])
def access_revoked(request):
    params = _hook_params(request)
    if not crm_uninstall(account_id=params.get("account_id", ""), client_uuid=params.get("client_uuid", ""),
                         signature=params.get("signature", "")):
        return JsonResponse(error_body("bad_signature", "The hook is not signed by amoCRM."), status=403)
    return JsonResponse({"ok": True})


@csrf_exempt
@require_POST
def lead_hooks(request, account_key: str):
    account = Account.objects.filter(webhook_key=account_key).first()
    if account is None:
        raise Http404
    limit = settings.PAYPLAN_HOOK_MAX_BYTES
    raw_body = request.read(limit + 1)
    if len(raw_body) > limit:
        return payload_too_large(limit)
    try:
        queued = lead_hooks_accept(account=account, form=hook_form_parse(raw_body))
    except HookRefused as exc:
        return JsonResponse(error_body(exc.code, str(exc)), status=400)
    return JsonResponse({"ok": True, "queued": queued})


def _hook_params(request) -> dict:
    """The revoke hook's fields, sent (by accounts seen so far) as a query, a form or JSON. Its fields are
    ids, a UUID and a hex signature: anything not printable ASCII is dropped, as if it were not sent."""
    if request.method == "GET":
        params = request.GET.dict()
    elif "json" in request.content_type:
        try:
            body = json_loads_untrusted((request.body or b"{}").decode("utf-8"))
        except (UntrustedInputError, UnicodeDecodeError):
            body = {}
        params = {str(key): str(value) for key, value in body.items()} if isinstance(body, dict) else {}
    else:
        params = request.POST.dict()
    return {key: value for key, value in params.items() if value.isascii() and value.isprintable()}
