"""Guards on transaction boundaries: a service that calls an outside system must not run inside one."""
from django.db import transaction


class OpenTransactionError(RuntimeError):
    """A programming error: an outside call was about to be made while a transaction (and its locks) is open."""


def in_open_transaction(using: str | None = None) -> bool:
    """True inside `transaction.atomic` — the atomics a test case wraps around each test do not count."""
    connection = transaction.get_connection(using)
    if not connection.in_atomic_block:
        return False
    return not all(getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def assert_no_transaction(using: str | None = None) -> None:
    """Refuse to go on inside an open transaction: a lock taken before would be held across the outside call,
    and a rollback after it answered would forget what the outside system now knows."""
    if in_open_transaction(using):
        raise OpenTransactionError(
            "This service calls an outside system and must run outside any transaction: "
            "commit what it needs first (lock, write, commit), then call it.")
