"""The one family of business errors; the API layer turns them into the contract's error body."""


class ApplicationError(Exception):
    status = 422

    def __init__(self, code: str, message: str, fields: dict[str, list[str]] | None = None,
                 status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = fields or {}
        if status is not None:
            self.status = status


class NotFound(ApplicationError):
    status = 404


class Conflict(ApplicationError):
    status = 409
