"""DRF authentication of widget calls; the account always comes from the token: amoCRM's disposable token
(X-Auth-Token) or, in a Bitrix24 frame, PayPlan's own frame token (Authorization: Bearer)."""
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import SAFE_METHODS, BasePermission

from billing.models import Account
from crm.bitrix24.errors import AuthRefused
from crm.bitrix24.widget_token import frame_token_verify
from widget_api.tokens import TokenInvalid, token_verify

AMOCRM_KIND = "amocrm"  # crm.amocrm.adapter.KIND (the disposable token is amoCRM's)


@dataclass(frozen=True)
class WidgetUser:
    """The amoCRM user behind a widget call, bound to one account."""

    account: Account
    user_id: int
    is_admin: bool

    is_authenticated = True


class AccountNotInstalled(exceptions.PermissionDenied):
    default_detail = gettext_lazy("PayPlan is not installed for this amoCRM account.")
    default_code = "account_not_installed"


class AmoDisposableTokenAuthentication(BaseAuthentication):
    header = "HTTP_X_AUTH_TOKEN"

    def authenticate(self, request):
        raw = request.META.get(self.header, "").strip()
        if not raw and _bearer(request):
            return None  # a Bitrix24 frame's call: Bitrix24FrameTokenAuthentication decides
        if not raw:
            raise exceptions.NotAuthenticated(_("The X-Auth-Token header is missing."))
        try:
            claims = token_verify(raw)
        except TokenInvalid as exc:
            raise exceptions.AuthenticationFailed(_(str(exc))) from exc
        # An amoCRM token names an amoCRM account id: never a Bitrix24 account that has the same number.
        account = Account.objects.filter(crm_kind=AMOCRM_KIND, crm_account_id=claims.account_id,
                                         is_active=True).first()
        if account is None or account.slug != claims.subdomain:
            raise AccountNotInstalled()
        return WidgetUser(account=account, user_id=claims.user_id, is_admin=claims.is_admin), claims

    def authenticate_header(self, request) -> str:
        return "X-Auth-Token"


def _bearer(request) -> str:
    scheme, _, raw = request.META.get("HTTP_AUTHORIZATION", "").strip().partition(" ")
    return raw.strip() if scheme.lower() == "bearer" else ""


class Bitrix24FrameTokenAuthentication(BaseAuthentication):
    """The token minted for a verified Bitrix24 frame POST: the account is the one the portal is linked
    to, checked again on every call (uninstalled, reinstalled or relinked portal → 401). Fail closed."""

    def authenticate(self, request):
        raw = _bearer(request)
        if not raw:
            return None
        try:
            claims, portal = frame_token_verify(raw)
        except AuthRefused as exc:
            raise exceptions.AuthenticationFailed(_("The token is not valid.")) from exc
        return WidgetUser(account=portal.account, user_id=claims.user_id, is_admin=claims.is_admin), claims

    def authenticate_header(self, request) -> str:
        return "Bearer"


class IsWidgetUser(BasePermission):
    def has_permission(self, request, view) -> bool:
        return isinstance(request.user, WidgetUser)


class AdminRequired(exceptions.PermissionDenied):
    default_detail = gettext_lazy("Only a CRM administrator can change this.")
    default_code = "admin_required"


class WritesByAdmins(BasePermission):
    """Anyone of the account may read; only its CRM administrators (amoCRM or Bitrix24) may write."""

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS or request.user.is_admin:
            return True
        raise AdminRequired()


class AmoTokenScheme(OpenApiAuthenticationExtension):
    target_class = AmoDisposableTokenAuthentication
    name = "amoDisposableToken"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "X-Auth-Token"}


class Bitrix24TokenScheme(OpenApiAuthenticationExtension):
    target_class = Bitrix24FrameTokenAuthentication
    name = "bitrix24FrameToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer"}
