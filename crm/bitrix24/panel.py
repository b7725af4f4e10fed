"""What the deal tab / main page needs to run the widget's UI core: a PayPlan token for the verified
frame and the host's facts (area, deal, language, user), as the page's boot JSON."""
from django.utils.translation import gettext as _

from crm.bitrix24.frame import FrameAuth
from crm.bitrix24.widget_token import frame_token_mint

# The parts of frontend_widget/ the browser loads (the same the amoCRM widget package carries).
WIDGET_PARTS = {"manifest.json", "script.js", "style.css", "i18n", "images", "templates", "vendor"}
WIDGET_CODE = "payplan"
DEAL_TAB = "CRM_DEAL_DETAIL_TAB"
# Bitrix24's interface languages whose users read Russian; every other LANG gets English.
RUSSIAN_READING = {"ru", "ua", "by", "kz"}


def panel_language(lang: str | None) -> str:
    """The portal user's LANG (frame query) → the panel's language: Russian first, English otherwise."""
    code = str(lang or "ru").strip().lower()[:2]
    return "ru" if code in RUSSIAN_READING else "en"


def panel_area(*, placement: str, deal_id: int | None) -> str:
    """The deal tab shows the deal's panel; the app's main page (DEFAULT) shows the analytics page."""
    return "lcard" if placement == DEAL_TAB and deal_id else "advanced_settings"


def panel_boot(*, auth: FrameAuth, language: str, widget_path: str) -> dict:
    """Texts in the active language. Raises AuthRefused when the portal is not linked to a PayPlan
    account (no token is minted then)."""
    token = frame_token_mint(auth=auth)
    portal, account = auth.portal, auth.portal.account
    user = {"id": auth.user_id, "title": "", "login": "", "is_admin": "Y" if auth.is_admin else "N"}
    return {
        "crm": "bitrix24", "token": token, "renew_url": "/bitrix24/token/", "widget_code": WIDGET_CODE,
        "widget_path": widget_path.rstrip("/"), "lang": language,
        "area": panel_area(placement=auth.placement, deal_id=auth.deal_id), "deal_id": auth.deal_id or 0,
        "account": {"id": account.pk, "subdomain": portal.domain, "name": account.name,
                    "currency": account.currency, "timezone": account.time_zone},
        "user": user, "managers": {str(auth.user_id): user} if auth.user_id else {},
        "texts": {"save": _("Save"), "saved": _("Saved")},
    }
