"""Template + variables → HTML (restricted Jinja2) → PDF (WeasyPrint, no network), in a child process
that is killed at a hard wall-clock limit (documents/isolation.py)."""
import hashlib
import json
import logging
import signal
from collections.abc import Mapping
from dataclasses import replace

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.translation import gettext

from documents.isolation import ChildFailed, ChildLimits, fork_lock, run_in_child
from documents.kinds import Kind
from documents.pdf import RenderedPdf, base_stylesheet, html_to_pdf
from documents.safe_render import MAX_TEMPLATE_CHARS, TemplateProblem, precompile, render_template

logger = logging.getLogger(__name__)

# Bump when the renderer, the base stylesheet or the fonts change in a way that alters stored PDFs.
RENDERER_VERSION = "1"
MB = 1024 * 1024
COOPERATIVE_SHARE = 0.9  # the restricted renderer's own budget stops a slow template first, naming its line


def document_fingerprint(*, kind: str, source: str, variables: Mapping) -> str:
    """Same template and same data → same PDF; any change in either → a new fingerprint."""
    data = json.dumps(variables, cls=DjangoJSONEncoder, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(f"{RENDERER_VERSION}\n{kind}\n{source}\n{data}".encode()).hexdigest()


def request_limits() -> ChildLimits:
    """What one render may take inside a web request (previews, saves, invoice and receipt PDFs)."""
    return ChildLimits(seconds=settings.DOCUMENTS_RENDER_SECONDS,
                       memory_bytes=settings.DOCUMENTS_RENDER_MEMORY_MB * MB,
                       output_bytes=settings.DOCUMENTS_RENDER_MAX_PDF_MB * MB)


def worker_limits() -> ChildLimits:
    """What one render may take in a Celery worker (big printouts): longer, still hard."""
    return ChildLimits(seconds=settings.DOCUMENTS_WORKER_RENDER_SECONDS,
                       memory_bytes=settings.DOCUMENTS_WORKER_RENDER_MEMORY_MB * MB,
                       output_bytes=settings.DOCUMENTS_RENDER_MAX_PDF_MB * MB)


def document_pdf(*, source: str, variables: Mapping, title: str = "", strict_urls: bool = False,
                 limits: ChildLimits | None = None) -> RenderedPdf:
    """The PDF of `source` for `variables`. With `strict_urls`, a template that asks for any URL outside
    our assets is a TemplateProblem (saving and previewing a template); delivery just leaves it out.
    `variables` must be plain data: the child renders from its copy and never touches the database."""
    rendered = render_isolated(source=source, variables=variables, title=title, limits=limits or request_limits())
    if strict_urls and rendered.refused_urls:
        raise TemplateProblem("template_external_url", gettext(
            "Templates may not load anything from outside: %(url)s was refused. Use data: URIs for images.")
            % {"url": rendered.refused_urls[0]}, _line_of(source, rendered.refused_urls[0]))
    return rendered


def render_isolated(*, source: str, variables: Mapping, title: str, limits: ChildLimits) -> RenderedPdf:
    """Render in a forked child under `limits`; TemplateProblem for anything the template did wrong,
    `template_too_heavy` when the child had to be killed."""
    if len(source) > MAX_TEMPLATE_CHARS:
        raise TemplateProblem("template_too_large", f"A template may be at most {MAX_TEMPLATE_CHARS} characters.")
    if _warm_parent(source):
        # Ours, not an account's: only load can make it slow, and the client must still get a document.
        limits = replace(limits, seconds=max(limits.seconds, settings.DOCUMENTS_DEFAULT_TEMPLATE_RENDER_SECONDS))

    def render() -> bytes:
        return _encode_answer(source, variables, title, limits.seconds * COOPERATIVE_SHARE)

    try:
        answer = run_in_child(render, limits=limits)
    except ChildFailed as failure:
        logger.warning("a template render was stopped: %s", failure)
        raise _child_problem(failure) from failure
    return _decode_answer(answer)


def _warm_parent(source: str) -> bool:
    """What every child would otherwise redo: this thread's fonts and base stylesheet, and the compiled
    default templates (ours, so safe to compile here; an account's own template compiles in the child).
    True when `source` is one of our default templates."""
    is_default = source in _default_sources()
    with fork_lock:
        base_stylesheet()
        if is_default:
            precompile(source)
    return is_default


def _default_sources() -> frozenset[str]:
    from documents.selectors import default_template_source

    return frozenset(default_template_source(kind) for kind in Kind)


def _encode_answer(source: str, variables: Mapping, title: str, seconds: float) -> bytes:
    """Runs in the child: one JSON header line, then the PDF. Every failure becomes an answer."""
    try:
        rendered = html_to_pdf(render_template(source, variables, seconds=seconds), title=title)
    except TemplateProblem as exc:
        return _frame({"problem": [exc.code, exc.message, exc.line]})
    except MemoryError:
        return _frame({"problem": ["template_too_heavy", _too_much_memory(), None]})
    except RecursionError:
        return _frame({"problem": ["template_error", "The template calls itself too deeply.", None]})
    except Exception as exc:  # WeasyPrint choking on a template's HTML is the template's problem
        return _frame({"problem": ["template_error", f"{type(exc).__name__}: {exc}"[:500], None]})
    return _frame({"pages": rendered.pages, "refused_urls": list(rendered.refused_urls)}, rendered.content)


def _frame(header: dict, content: bytes = b"") -> bytes:
    head = json.dumps(header, ensure_ascii=False).encode()
    return b"%d\n" % len(content) + head + b"\n" + content


def _decode_answer(answer: bytes) -> RenderedPdf:
    try:
        length, rest = answer.split(b"\n", 1)
        head, content = rest.split(b"\n", 1)
        header = json.loads(head)
        if len(content) != int(length):
            raise ValueError("truncated")
    except ValueError as exc:
        logger.error("a render child sent a malformed answer (%d bytes)", len(answer))
        raise TemplateProblem("template_error", gettext("The document could not be rendered.")) from exc
    if "problem" in header:
        code, message, line = header["problem"]
        raise TemplateProblem(code, message, line)
    return RenderedPdf(content, int(header["pages"]), tuple(header["refused_urls"]))


def _child_problem(failure: ChildFailed) -> TemplateProblem:
    if failure.reason == "deadline":
        return TemplateProblem("template_too_heavy", gettext(
            "The template takes longer than %(seconds)s s to render; it was stopped.")
            % {"seconds": f"{failure.limits.seconds:g}"})
    if failure.reason == "output":
        return TemplateProblem("template_too_heavy", gettext("The document is larger than %(mb)s MB.")
                               % {"mb": failure.limits.output_bytes // MB})
    if failure.out_of_memory:
        return TemplateProblem("template_too_heavy", _too_much_memory())
    if failure.signal in (signal.SIGXCPU, signal.SIGKILL):
        return TemplateProblem("template_too_heavy", gettext("The template takes too long to render; it was stopped."))
    return TemplateProblem("template_error", gettext("The document could not be rendered."))


def _too_much_memory() -> str:
    return gettext("The template needs more memory than a document may take.")


def _line_of(source: str, url: str) -> int | None:
    for number, line in enumerate(source.splitlines(), start=1):
        if url in line:
            return number
    return None
