"""Bitrix24-facing endpoints: the install URL, the event handler and the deal tab's frame. Bitrix24 (or
the browser, for frames) calls them cross-site, so each proves what Bitrix24 can prove, and nothing
else: app.info on the authorization server for tokens, the stored application token for events."""
import logging

from django.conf import settings
from django.db import transaction
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django.views.static import serve

from crm.bitrix24 import conf
from crm.bitrix24.errors import AuthRefused, InstallRefused, Transient
from crm.bitrix24.events import event_accept
from crm.bitrix24.frame import frame_verify
from crm.bitrix24.install import portal_install
from crm.bitrix24.panel import WIDGET_PARTS, panel_boot, panel_language
from crm.bitrix24.tasks import portal_setup_task
from crm.bitrix24.widget_token import frame_token_renew

logger = logging.getLogger(__name__)

FRAME_CSP = ("default-src 'self'; script-src 'self' https://api.bitrix24.com; style-src 'self'; "
             "img-src 'self' data:; frame-ancestors {ancestors}")
# A refusal is shown inside whatever frame asked (the asker is unproven): a plain message, nothing to steal.
REFUSAL_ANCESTORS = "*"
# The panel's page: the widget's Twig templates are compiled in the browser (twig.js builds functions) and
# its markup carries style attributes; still scripts only from our origin and Bitrix24's BX24.js.
PANEL_CSP = ("default-src 'self'; script-src 'self' 'unsafe-eval' https://api.bitrix24.com; "
             "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; "
             "base-uri 'none'; form-action 'self'; frame-ancestors {ancestors}")


def _form(request) -> dict:
    return {key: value for key, value in request.POST.items() if isinstance(value, str)}


@csrf_exempt
@xframe_options_exempt
@require_POST
def install(request):
    """The installer frame (HTML that calls BX24.installFinish) or ONAPPINSTALL (JSON)."""
    form, query = _form(request), request.GET.dict()
    api_only = form.get("event", "").upper() == "ONAPPINSTALL"
    language = panel_language(query.get("LANG"))
    try:
        portal, fresh = portal_install(form=form, query=query)
    except InstallRefused as exc:
        logger.warning("Bitrix24 install refused: %s", exc.message)
        if api_only:
            return JsonResponse({"ok": False, "error": "install_refused"}, status=403)
        return _page(request, "bitrix24/refused.html", 403, language, "'none'",
                     message=_("PayPlan could not confirm this installation with Bitrix24. Install the app again."))
    except Transient as exc:
        logger.warning("Bitrix24 install not checked now: %s", exc.message)
        if api_only:
            return JsonResponse({"ok": False, "error": "try_again"}, status=503)
        return _page(request, "bitrix24/refused.html", 503, language, "'none'",
                     message=_("Bitrix24 could not be reached. Open the app again in a minute."))
    if fresh:
        _setup_after_commit(portal.pk)
    if api_only:
        return JsonResponse({"ok": True})
    return _page(request, "bitrix24/installed.html", 200, language, _ancestors(portal.client_endpoint))


def _setup_after_commit(portal_id: int) -> None:
    transaction.on_commit(lambda: portal_setup_task.delay(portal_id), robust=True)


@csrf_exempt
@require_POST
def events(request):
    """Every bound event; answered at once (Bitrix24 throttles slow handlers and never retries)."""
    if len(request.body) > conf.get("BITRIX24_EVENT_MAX_BYTES"):
        return JsonResponse({"ok": False, "error": "too_large"}, status=413)
    try:
        outcome = event_accept(form=_form(request))
    except AuthRefused as exc:
        logger.warning("Bitrix24 event refused and ignored: %s", exc.message)
        return JsonResponse({"ok": False, "error": "not_verified"}, status=403)
    return JsonResponse({"ok": True, "action": outcome.action})


@csrf_exempt
@xframe_options_exempt
@require_POST
def frame(request):
    """The deal tab (CRM_DEAL_DETAIL_TAB) and the app's main page; forged or foreign POSTs get 401."""
    query = request.GET.dict()
    language = panel_language(query.get("LANG"))
    try:
        auth = frame_verify(form=_form(request), query=query)
    except AuthRefused as exc:
        logger.warning("Bitrix24 frame refused: %s", exc.message)
        return _page(request, "bitrix24/refused.html", 401, language, REFUSAL_ANCESTORS,
                     message=_("PayPlan could not confirm who opened it. Reopen the deal in Bitrix24."))
    except Transient as exc:
        logger.warning("Bitrix24 frame not checked now: %s", exc.message)
        return _page(request, "bitrix24/refused.html", 503, language, REFUSAL_ANCESTORS,
                     message=_("Bitrix24 could not be reached. Open the app again in a minute."))
    try:
        with translation.override(language):
            boot = panel_boot(auth=auth, language=language,
                              widget_path=request.build_absolute_uri("/bitrix24/widget"))
    except AuthRefused as exc:
        logger.warning("Bitrix24 frame of an unlinked portal: %s", exc.message)
        return _page(request, "bitrix24/refused.html", 403, language, REFUSAL_ANCESTORS,
                     message=_("PayPlan is not connected to an account for this Bitrix24 yet. Ask PayPlan support."))
    response = _page(request, "bitrix24/frame.html", 200, language, _ancestors(auth.portal.client_endpoint),
                     boot=boot)
    response["Content-Security-Policy"] = PANEL_CSP.format(ancestors=_ancestors(auth.portal.client_endpoint))
    return response


@csrf_exempt
@require_POST
def token_renew(request):
    """The open panel swaps its still-valid token for a fresh one (Authorization: Bearer …)."""
    raw = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    try:
        token = frame_token_renew(raw)
    except AuthRefused as exc:
        logger.info("Bitrix24 panel token not renewed: %s", exc.message)
        return JsonResponse({"ok": False, "error": "reopen"}, status=401)
    return JsonResponse({"ok": True, "token": token}, headers={"Cache-Control": "no-store"})


def widget_file(request, path: str):
    """The widget's own files (frontend_widget/), the same the amoCRM widget package carries."""
    if path.split("/", 1)[0] not in WIDGET_PARTS or ".." in path.split("/"):
        raise Http404("Not a widget file.")
    response = serve(request, path, document_root=settings.BASE_DIR / "frontend_widget")
    response["Cache-Control"] = "no-cache"
    return response


def _ancestors(client_endpoint: str) -> str:
    return client_endpoint.rsplit("/rest/", 1)[0] or "'none'"


def _page(request, template: str, status: int, language: str, ancestors: str, **context):
    with translation.override(language):
        response = render(request, template, {"language": language, **context}, status=status)
    response["Content-Security-Policy"] = FRAME_CSP.format(ancestors=ancestors)
    response["Cache-Control"] = "no-store"
    return response
