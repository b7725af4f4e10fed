"""The portal's own pages, for the demo and browser tests: a deal card whose «PayPlan» tab is an iframe
the page fills by POSTing the frame form into it, as Bitrix24 does (contract §2.2, §4.2), and the app's
main page (PLACEMENT=DEFAULT). The form carries a fresh token of the viewing user.

    GET /                              the portal's deals, with links
    GET /crm/deal/details/{id}/        the deal card (?lang=en, ?user=7 for the manager; admin 1 by default)
    GET /marketplace/app/payplan/      the app's main page (analytics, settings)
"""
from __future__ import annotations

import re
from html import escape
from typing import TYPE_CHECKING

from .state import ADMIN_USER_ID, STAGES

if TYPE_CHECKING:
    from .core import Sandbox

DEAL_PAGE = re.compile(r"^/crm/deal/details/(?P<id>\d+)/?$")
APP_PAGE = "/marketplace/app/payplan"
TAB = "CRM_DEAL_DETAIL_TAB"
TEXTS = {
    "ru": {"deals": "Сделки", "general": "Общие", "amount": "Сумма", "stage": "Стадия", "pipeline": "Воронка",
           "not_installed": "Приложение PayPlan не установлено на портале.", "app": "Приложения",
           "sandbox": "Песочница Битрикс24 (демо PayPlan)", "user": "Пользователь", "lang": "EN"},
    "en": {"deals": "Deals", "general": "General", "amount": "Amount", "stage": "Stage", "pipeline": "Pipeline",
           "not_installed": "The PayPlan app is not installed on this portal.", "app": "Applications",
           "sandbox": "Bitrix24 sandbox (PayPlan demo)", "user": "User", "lang": "RU"},
}
STYLE = """body{margin:0;font:14px/1.4 Arial,sans-serif;background:#eef2f4;color:#333}
header{background:#2fc6f6;color:#fff;padding:10px 20px;display:flex;gap:20px;align-items:center}
header a{color:#fff}main{padding:16px 20px}h1{font-size:22px;margin:0 0 10px}
.tabs{display:flex;gap:4px;margin:10px 0 0}.tabs button{border:0;padding:8px 16px;background:#dfe6ea;cursor:pointer}
.tabs button[aria-selected=true]{background:#fff;font-weight:bold}.pane{background:#fff;padding:16px}
iframe{width:100%;height:1100px;border:0;background:#fff}dl{display:grid;grid-template-columns:160px 1fr}
ul{background:#fff;padding:16px 32px}"""


def page(sandbox: Sandbox, path: str, query: dict) -> str | None:
    """The HTML of a portal page, or None when `path` is not one."""
    lang = "en" if query.get("lang") == "en" else "ru"
    user_id = int(query["user"]) if str(query.get("user", "")).isdigit() else ADMIN_USER_ID
    portal = sandbox.portal(query.get("member_id") or None)
    texts = TEXTS[lang]
    match = DEAL_PAGE.match(path)
    if match and int(match["id"]) in portal.deals:
        deal = portal.deals[int(match["id"])]
        frame = _frame(sandbox, portal, user_id, lang, TAB, {"ID": deal["ID"]})
        stages = {code: name for code, name, _ in STAGES.get(deal["CATEGORY_ID"], [])}
        body = (f'<h1 data-deal-id="{escape(deal["ID"])}">{escape(deal["TITLE"])}</h1>'
                f'<div class="tabs" role="tablist"><button role="tab" data-tab="general" aria-selected="false">'
                f'{texts["general"]}</button><button role="tab" data-tab="payplan" aria-selected="true">PayPlan'
                f'</button></div><div class="pane" data-pane="general" hidden><dl><dt>{texts["stage"]}</dt>'
                f'<dd>{escape(stages.get(deal["STAGE_ID"], deal["STAGE_ID"]))}</dd><dt>{texts["amount"]}</dt>'
                f'<dd>{escape(deal["OPPORTUNITY"])} {escape(deal["CURRENCY_ID"])}</dd></dl></div>'
                f'<div class="pane" data-pane="payplan">{frame}</div>')
    elif path.rstrip("/") == APP_PAGE:
        body = _frame(sandbox, portal, user_id, lang, "DEFAULT", {})
    elif path == "/":
        rows = "".join(f'<li><a href="/crm/deal/details/{deal_id}/?lang={lang}">#{deal_id} '
                       f'{escape(deal["TITLE"])}</a></li>' for deal_id, deal in sorted(portal.deals.items()))
        body = f"<h1>{texts['deals']}</h1><ul>{rows}</ul>"
    else:
        return None
    other = "en" if lang == "ru" else "ru"
    return (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>Bitrix24</title>'
            f"<style>{STYLE}</style></head><body><header><b>{texts['sandbox']}</b>"
            f'<a href="/?lang={lang}">{texts["deals"]}</a><a href="{APP_PAGE}/?lang={lang}">{texts["app"]}: PayPlan</a>'
            f'<a href="?lang={other}&amp;user={user_id}">{texts["lang"]}</a><span>{texts["user"]} #{user_id}</span>'
            f"</header><main>{body}</main>{SCRIPT}</body></html>")


def _frame(sandbox: Sandbox, portal, user_id: int, lang: str, placement: str, options: dict) -> str:
    """The iframe and the form Bitrix24 POSTs into it (auto-submitted on load)."""
    handlers = [row["handler"] for row in portal.placements if row["placement"] == TAB]
    if not portal.install_finished or not handlers:
        return f"<p>{TEXTS[lang]['not_installed']}</p>"
    access, refresh = sandbox.issue_pair(portal.member_id, user_id)
    form = sandbox._frame_form(portal, access, refresh, placement, options)
    action = sandbox._frame_url(handlers[0], portal, {"LANG": lang})
    fields = "".join(f'<input type="hidden" name="{escape(name)}" value="{escape(str(value))}">'
                     for name, value in form.items())
    return (f'<iframe name="payplan-frame" title="PayPlan"></iframe><form id="frame-form" method="post" '
            f'target="payplan-frame" action="{escape(action)}" data-placement="{escape(placement)}">{fields}</form>')


SCRIPT = """<script>
document.querySelectorAll('[data-tab]').forEach(function (tab) {
  tab.addEventListener('click', function () {
    document.querySelectorAll('[data-tab]').forEach(function (t) { t.setAttribute('aria-selected', t === tab); });
    document.querySelectorAll('[data-pane]').forEach(function (p) { p.hidden = p.dataset.pane !== tab.dataset.tab; });
  });
});
var form = document.getElementById('frame-form');
if (form) { form.submit(); }
</script>"""
