"""Bitrix24-facing endpoints: the install URL, the event handler and the deal tab's frame. Bitrix24 (or
the browser, for frames) calls them cross-site, so each proves what Bitrix24 can prove, and nothing
else: app.info on the authorization server for tokens, the stored application token for events."""
import logging

from django.db import transaction
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from crm.bitrix24 import conf
from crm.bitrix24.errors import AuthRefused, InstallRefused, Transient
from crm.bitrix24.events import event_accept
from crm.bitrix24.frame import frame_verify
from crm.bitrix24.install import portal_install
from crm.bitrix24.tasks import portal_setup_task

logger = logging.getLogger(__name__)

FRAME_CSP = ("default-src 'self'; script-src 'self' https://api.bitrix24.com; style-src 'self'; "
             "img-src 'self' data:; frame-ancestors {ancestors}")


def _form(request) -> dict:
    return {key: value for key, value in request.POST.items() if isinstance(value, str)}


@csrf_exempt
@xframe_options_exempt
@require_POST
def install(request):
    """The installer frame (HTML that calls BX24.installFinish) or ONAPPINSTALL (JSON)."""
    form, query = _form(request), request.GET.dict()
    api_only = form.get("event", "").upper() == "ONAPPINSTALL"
    language = "en" if query.get("LANG") == "en" else "ru"
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
    language = "en" if query.get("LANG") == "en" else "ru"
    try:
        auth = frame_verify(form=_form(request), query=query)
    except AuthRefused as exc:
        logger.warning("Bitrix24 frame refused: %s", exc.message)
        return _page(request, "bitrix24/refused.html", 401, language, "'none'",
                     message=_("PayPlan could not confirm who opened it. Reopen the deal in Bitrix24."))
    except Transient as exc:
        logger.warning("Bitrix24 frame not checked now: %s", exc.message)
        return _page(request, "bitrix24/refused.html", 503, language, "'none'",
                     message=_("Bitrix24 could not be reached. Open the app again in a minute."))
    return _page(request, "bitrix24/frame.html", 200, language, _ancestors(auth.portal.client_endpoint),
                 member_id=auth.portal.member_id, deal_id=auth.deal_id, placement=auth.placement)


def _ancestors(client_endpoint: str) -> str:
    return client_endpoint.rsplit("/rest/", 1)[0] or "'none'"


def _page(request, template: str, status: int, language: str, ancestors: str, **context):
    with translation.override(language):
        response = render(request, template, {"language": language, **context}, status=status)
    response["Content-Security-Policy"] = FRAME_CSP.format(ancestors=ancestors)
    response["Cache-Control"] = "no-store"
    return response
