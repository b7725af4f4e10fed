"""What can go wrong talking to Bitrix24, sorted by what the caller (the outbox) must do about it.

Same families as the amoCRM adapter's, so the outbox maps both the same way:
Transient → retry with backoff; NotSent → try again, no attempt spent; RateLimited → retry after
`retry_after`; Blocked → pause the portal; Rejected → dead; ReinstallNeeded / PortalUninstalled → park.
"""


class Bitrix24Error(Exception):
    """Base: `message` is safe to store and show (no tokens, no secrets); `code` is Bitrix24's error code."""

    def __init__(self, message: str, *, status: int | None = None, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


class Transient(Bitrix24Error):
    """Worth retrying later: 5xx, timeouts, connection errors. `maybe_applied` when the request may have
    been acted on (so a create must be looked up before it is sent again)."""

    def __init__(self, message: str, *, retry_after: float | None = None, maybe_applied: bool = False,
                 **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
        self.maybe_applied = maybe_applied


class NotSent(Transient):
    """Nothing went out (the portal's bucket or its refresh was busy beyond our wait)."""


class RateLimited(Transient):
    """503 QUERY_LIMIT_EXCEEDED beyond what the client's own backoff absorbs, or 429 OPERATION_TIME_LIMIT
    (that method only, until `retry_after`)."""


class Blocked(Bitrix24Error):
    """503 OVERLOAD_LIMIT (manual block) or PAYMENT_REQUIRED: stop the portal's traffic for a while."""

    def __init__(self, message: str, *, pause_seconds: float = 600, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.pause_seconds = pause_seconds


class Rejected(Bitrix24Error):
    """A permanent refusal of this request (400 / 403 / 404, `Not found`, `ACCESS_DENIED`, scope missing).
    `command_errors` maps the key of each refused command of a batch to its message."""

    def __init__(self, message: str, *, command_errors: dict[str, str] | None = None, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.command_errors = command_errors or {}


class ReinstallNeeded(Bitrix24Error):
    """The tokens are dead (`invalid_grant`, a refreshed token refused): a user must open the app or an
    admin must install it again. The portal's actions wait."""


class PortalUninstalled(ReinstallNeeded):
    """The app was removed from the portal (ONAPPUNINSTALL): actions are parked until a reinstall."""


class InstallRefused(Bitrix24Error):
    """An install request that cannot be proven to come from Bitrix24 for our app: nothing is stored."""


class AuthRefused(Bitrix24Error):
    """A frame POST or event that does not prove it comes from the portal it names."""
