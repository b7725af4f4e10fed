"""What can go wrong talking to amoCRM, sorted by what the caller must do about it."""


class CrmError(Exception):
    """Base: `message` is safe to store and show (no tokens, no secrets)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class CrmTransient(CrmError):
    """Worth retrying later: 429, 5xx, timeouts, connection errors. `maybe_applied` when the request
    may have reached amoCRM (so a create must be looked up before it is sent again)."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None,
                 maybe_applied: bool = False) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after
        self.maybe_applied = maybe_applied


class CrmNotSent(CrmTransient):
    """Nothing went out (the account's budget or refresh lock was busy): try again, it cost no attempt."""


class CrmRateLimited(CrmTransient):
    """429: our budget and amoCRM's disagree; everyone for this account backs off."""


class CrmBlocked(CrmError):
    """403 HTML (IP block) or 402 (account unpaid): stop all traffic of the account for a while."""

    def __init__(self, message: str, *, status: int | None = None, pause_seconds: float = 600) -> None:
        super().__init__(message, status=status)
        self.pause_seconds = pause_seconds


class CrmRejected(CrmError):
    """A permanent refusal of this request: 400 validation errors, 403 rights, 404 route.

    `item_errors` maps the `request_id` of each refused item of a batch to its message.
    """

    def __init__(self, message: str, *, status: int | None = None,
                 item_errors: dict[str, str] | None = None) -> None:
        super().__init__(message, status=status)
        self.item_errors = item_errors or {}


class CrmReinstallNeeded(CrmError):
    """The tokens are dead (revoked, expired refresh token, disconnected): an admin must install again."""


class InstallError(CrmError):
    """The OAuth callback cannot connect the account; the message is shown on the error page, with
    `user_message` (Russian, for the admin) above it when there is one."""

    def __init__(self, message: str, *, user_message: str = "", **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.user_message = user_message
