"""Untrusted work (an account's template rendered to a PDF) in a forked child that the parent kills.

the restricted renderer's own budget is cooperative: it only stops a template that passes one of its checkpoints.
This is the hard limit around it, enforced from outside: the parent forks (cheap: the child shares the
already imported Jinja2, WeasyPrint, fonts and stylesheet), reads the child's answer from a pipe until a
wall-clock deadline, and SIGKILLs the child when the deadline passes or the answer grows past its cap.
The child gets an address-space cap (RLIMIT_AS) on top of what it inherits, a CPU-time cap and a
parent-death signal, so it dies with the request that wanted it even if that request's process dies.

The child never touches what the parent owns: it renders from plain data the parent prepared, closes
every inherited descriptor but its pipe (database and Redis sockets, the client's connection), freezes
the inherited heap so its garbage collector finalises nothing of the parent's, and leaves with
os._exit(), so no atexit hook, pool or connection of the parent's runs in it. No threads, no pickling,
no helper processes to manage: it works the same in gunicorn (sync or threaded workers), Celery's
prefork pool and pytest-xdist.
"""
import contextlib
import ctypes
import errno
import gc
import logging
import math
import os
import resource
import select
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILED = 70  # the work raised: it should have turned its own errors into an answer
EXIT_OUT_OF_MEMORY = 71
REAPED_ELSEWHERE = -1  # a process that ignores SIGCHLD has its children reaped by the kernel
REAP_GRACE_SECONDS = 10.0  # SIGKILL is at once, tearing a big child down on a busy box is not
_PR_SET_PDEATHSIG = 1
_READ_CHUNK = 1 << 20

# Held while forking, and by callers while they warm shared caches (fonts, stylesheet, compiled default
# templates), so no child is ever forked while another thread is half-way through filling one.
fork_lock = threading.Lock()


@dataclass(frozen=True)
class ChildLimits:
    seconds: float  # wall clock from fork to the last byte of the answer
    memory_bytes: int  # address space the child may add to what it inherits
    output_bytes: int  # the longest answer the child may send


class ChildFailed(Exception):
    """The child gave no answer: killed at the deadline or for an oversized answer, or dead of its limits."""

    def __init__(self, reason: str, *, pid: int, limits: ChildLimits, status: int | None) -> None:
        super().__init__(f"render child {pid}: {reason} (wait status {status})")
        self.reason, self.pid, self.limits, self.status = reason, pid, limits, status

    @property
    def signal(self) -> int | None:
        """The signal that ended the child (SIGKILL when we killed it), if it was reaped."""
        if self.status in (None, REAPED_ELSEWHERE) or not os.WIFSIGNALED(self.status):
            return None
        return os.WTERMSIG(self.status)

    @property
    def exit_code(self) -> int | None:
        if self.status in (None, REAPED_ELSEWHERE) or not os.WIFEXITED(self.status):
            return None
        return os.WEXITSTATUS(self.status)

    @property
    def out_of_memory(self) -> bool:
        return self.exit_code == EXIT_OUT_OF_MEMORY or self.signal in (signal.SIGABRT, signal.SIGSEGV)


def run_in_child(work: Callable[[], bytes], *, limits: ChildLimits) -> bytes:
    """What `work()` returns, computed in a forked child under `limits`; ChildFailed when it gives none."""
    deadline = time.monotonic() + limits.seconds
    read_end, write_end = os.pipe()
    with fork_lock:
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child; coverage and the test runner never see it return
        _child_main(work, read_end, write_end, limits)
    os.close(write_end)
    try:
        answer = _read_answer(read_end, deadline, limits.output_bytes)
    except _Overrun as overrun:
        status = _kill_and_reap(pid)
        raise ChildFailed(overrun.reason, pid=pid, limits=limits, status=status) from None
    finally:
        os.close(read_end)
    status = _reap(pid, deadline)
    if status is None:  # it closed its pipe but lingers past the deadline
        raise ChildFailed("deadline", pid=pid, limits=limits, status=_kill_and_reap(pid))
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == EXIT_OK:
        return answer
    if status == REAPED_ELSEWHERE:  # its exit code is lost: the caller checks that the answer is complete
        return answer
    raise ChildFailed("died", pid=pid, limits=limits, status=status)


class _Overrun(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _read_answer(read_end: int, deadline: float, output_bytes: int) -> bytes:
    poller = select.poll()
    poller.register(read_end, select.POLLIN | select.POLLHUP | select.POLLERR)
    chunks, size = [], 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _Overrun("deadline")
        if not poller.poll(math.ceil(remaining * 1000)):
            continue
        chunk = os.read(read_end, _READ_CHUNK)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > output_bytes:
            raise _Overrun("output")
        chunks.append(chunk)


def _kill_and_reap(pid: int) -> int | None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    status = _reap(pid, time.monotonic() + REAP_GRACE_SECONDS)
    if status is None:
        logger.error("render child %s survived SIGKILL for %s s", pid, REAP_GRACE_SECONDS)
    return status


def _reap(pid: int, deadline: float) -> int | None:
    """The child's wait status once it has exited; None if it still runs at `deadline`."""
    pause = 0.0005
    while True:
        try:
            reaped, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return REAPED_ELSEWHERE
        except InterruptedError:  # pragma: no cover - PEP 475 retries, kept for clarity
            continue
        if reaped == pid:
            return status
        if time.monotonic() >= deadline:
            return None
        time.sleep(pause)
        pause = min(pause * 2, 0.01)


def _child_main(work: Callable[[], bytes], read_end: int, write_end: int,
                limits: ChildLimits) -> None:  # pragma: no cover - runs in the child
    code = EXIT_FAILED
    try:
        os.close(read_end)
        _child_confine(write_end, limits)
        answer = work()
        view = memoryview(answer)
        while view:
            view = view[os.write(write_end, view):]
        code = EXIT_OK
    except MemoryError:
        code = EXIT_OUT_OF_MEMORY
    except BaseException:  # nothing may escape into the parent's stack frames
        code = EXIT_FAILED
    finally:
        os._exit(code)


def _child_confine(write_end: int, limits: ChildLimits) -> None:  # pragma: no cover - runs in the child
    parent = os.getppid()
    gc.freeze()  # the inherited heap is the parent's: never collect or finalise any of it here
    for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
                   signal.SIGUSR2, signal.SIGCHLD, signal.SIGALRM):
        signal.signal(number, signal.SIG_DFL)
    signal.setitimer(signal.ITIMER_REAL, 0)
    _close_inherited_descriptors(keep=write_end)
    _die_with_parent(parent)
    _cap(resource.RLIMIT_AS, _address_space() + limits.memory_bytes)
    cpu = math.ceil(limits.seconds) + 1
    _cap(resource.RLIMIT_CPU, cpu, hard=cpu + 1)
    _cap(resource.RLIMIT_NPROC, 0)
    _cap(resource.RLIMIT_CORE, 0)


def _close_inherited_descriptors(*, keep: int) -> None:  # pragma: no cover - runs in the child
    highest = os.sysconf("SC_OPEN_MAX") if hasattr(os, "sysconf") else 4096
    os.closerange(3, keep)
    os.closerange(keep + 1, highest)


def _die_with_parent(parent: int) -> None:  # pragma: no cover - runs in the child
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the CPU cap still ends an orphan
        pass
    if os.getppid() != parent:  # the parent died before the death signal was armed
        os._exit(EXIT_FAILED)


def _address_space() -> int:  # pragma: no cover - runs in the child
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _cap(limit: int, soft: int, *, hard: int | None = None) -> None:  # pragma: no cover - runs in the child
    _, current_hard = resource.getrlimit(limit)
    hard = soft if hard is None else hard
    if current_hard != resource.RLIM_INFINITY:
        soft, hard = min(soft, current_hard), min(hard, current_hard)
    try:
        resource.setrlimit(limit, (soft, hard))
    except (ValueError, OSError) as exc:
        if getattr(exc, "errno", None) not in (None, errno.EPERM, errno.EINVAL):
            raise
