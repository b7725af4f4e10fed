"""Guards on transaction boundaries: a service that calls an outside system must not run inside one."""
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import transaction


class OpenTransactionError(RuntimeError):
    """A programming error: an outside call was about to be made while a transaction (and its locks) is open."""


def in_open_transaction(using: str | None = None) -> bool:
    """True inside `transaction.atomic` — the atomics a test case wraps around each test do not count."""
    connection = transaction.get_connection(using)
    if not connection.in_atomic_block:
        return False
    return not all(_is_test_isolation(block) for block in connection.atomic_blocks)


def _is_test_isolation(block) -> bool:
    return getattr(block, "_from_testcase", False) or getattr(block, "_payplan_test_isolation", False)


@contextmanager
def handler_isolation() -> Iterator[None]:
    """Run an after-commit handler: at the top level (a worker) as it is; inside a test case's transaction
    (eager tasks in tests) in a savepoint that keeps a failing handler from poisoning it and that, like
    the test case's own blocks, does not count as an open transaction for `assert_no_transaction`."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        yield
        return
    savepoint = transaction.atomic()
    savepoint._payplan_test_isolation = not in_open_transaction()
    with savepoint:
        yield


def assert_no_transaction(using: str | None = None) -> None:
    """Refuse to go on inside an open transaction: a lock taken before would be held across the outside call,
    and a rollback after it answered would forget what the outside system now knows."""
    if in_open_transaction(using):
        raise OpenTransactionError(
            "This service calls an outside system and must run outside any transaction: "
            "commit what it needs first (lock, write, commit), then call it.")
