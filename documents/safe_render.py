"""Accounts' own document templates, rendered by a restricted Jinja2 environment with a budget.

The restricted environment keeps templates away from Python internals (no `_` attributes, no mutation of the data);
StrictUndefined makes any variable that is not documented an error rather than an empty string; and
the budget stops templates that would eat a web worker: a wall-clock deadline checked at every
attribute access, call and loop step, caps on the size of strings and lists a template can build and
on the HTML it can emit. Everything a template may call is listed here.
"""
import functools
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import translation
from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from documents import formatting
from documents.qr import qr_data_uri

TEMPLATE_FILENAME = "<template>"
MAX_TEMPLATE_CHARS = 200_000
MAX_VALUE_SIZE = 1_000_000  # characters of one string, items of one list a template builds
MAX_INT_ARGUMENT = 10_000  # no call takes a width or count larger than this (center, ljust, batch, range)
MAX_OUTPUT_CHARS = 40_000_000  # a 10 000-line schedule is ~6 MB of HTML
MAX_STEPS = 1_000_000  # attribute reads, calls and loop steps of one render
DEFAULT_SECONDS = 5.0
REFUSED_METHODS = frozenset({"format", "format_map", "strftime"})


class RenderLimitExceeded(SecurityError):
    """The template asked for more time or memory than one document may take."""


@dataclass
class _Budget:
    deadline: float
    steps: int = 0
    output: int = 0
    refused_urls: list[str] = field(default_factory=list)

    def tick(self, weight: int = 1) -> None:
        self.steps += weight
        if self.steps > MAX_STEPS:
            raise RenderLimitExceeded("The template takes too many steps to render.")
        if self.steps & 0xFF == 0 and time.monotonic() > self.deadline:
            raise RenderLimitExceeded("The template takes too long to render.")


_budget: ContextVar[_Budget | None] = ContextVar("documents_template_budget", default=None)


def _tick(weight: int = 1) -> None:
    budget = _budget.get()
    if budget is not None:
        budget.tick(weight)


def _check_size(value):
    if isinstance(value, str | list | tuple | dict) and len(value) > MAX_VALUE_SIZE:
        raise RenderLimitExceeded("The template builds a value that is too large.")
    return value


def _check_arguments(args: tuple, kwargs: Mapping) -> None:
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT_ARGUMENT:
            raise RenderLimitExceeded(f"A number argument larger than {MAX_INT_ARGUMENT} is not allowed here.")


def _guarded(function: Callable, *, is_filter: bool = True) -> Callable:
    """A filter or global that counts against the budget and cannot build huge values. A filter's value
    (and the context Jinja passes before it) may be any size; its own arguments may not."""
    skip = (2 if hasattr(function, "jinja_pass_arg") else 1) if is_filter else 0

    @functools.wraps(function)  # keeps jinja_pass_arg, so pass_eval_ctx filters still get their context
    def call(*args, **kwargs):
        _tick()
        _check_arguments(args[skip:], kwargs)
        return _check_size(function(*args, **kwargs))

    return call


def _bounded_range(*args: int) -> Iterator[int]:
    _check_arguments(args, {})
    for number in range(*args):
        _tick()
        yield number


def _replace(value, old, new, count=None):
    """str.replace can multiply a string's size by len(new); refuse that before allocating it."""
    value, old, new = str(value), str(old), str(new)
    worst = (len(value) // max(len(old), 1) + 1) * len(new) + len(value)
    if worst > MAX_VALUE_SIZE:
        raise RenderLimitExceeded("The replacement would build a value that is too large.")
    return value.replace(old, new) if count is None else value.replace(old, new, count)


def _required(value):
    """A value the document needs, or a visible red "не указано" where the account left it blank."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return Markup('<span class="missing">%s</span>') % translation.gettext("not specified")
    return value


# A template's own text given to _() is a %-format its variables fill: a width or precision
# ("%(x)999999999s") would build a huge string, so only plain %(name)s / %(name)d and %% are allowed.
_FORMAT_DIRECTIVE = re.compile(r"%(?:%|\((?P<name>\w+)\)(?P<spec>[^a-zA-Z%]*)[a-zA-Z])")


def _plain_format(*messages: str) -> None:
    for message in messages:
        for directive in _FORMAT_DIRECTIVE.finditer(str(message)):
            if directive.group("spec"):
                raise SecurityError("Widths and precisions are not available in translated texts.")


def _gettext(message: str) -> str:
    _plain_format(message)
    translated = translation.gettext(message)
    _plain_format(translated)
    return translated


def _ngettext(singular: str, plural: str, number: int) -> str:
    _plain_format(singular, plural)
    translated = translation.ngettext(singular, plural, number)
    _plain_format(translated)
    return translated


def _pgettext(context: str, message: str) -> str:
    _plain_format(message)
    translated = translation.pgettext(context, message)
    _plain_format(translated)
    return translated


def _npgettext(context: str, singular: str, plural: str, number: int) -> str:
    _plain_format(singular, plural)
    translated = translation.npgettext(context, singular, plural, number)
    _plain_format(translated)
    return translated


SAFE_FILTERS = ("abs", "attr", "batch", "capitalize", "count", "d", "default", "dictsort", "e", "escape",
                "first", "groupby", "int", "items", "join", "last", "length", "list", "lower", "map", "max",
                "min", "reject", "rejectattr", "reverse", "safe", "select", "selectattr", "slice", "sort",
                "string", "striptags", "sum", "title", "trim", "truncate", "unique", "upper", "urlencode",
                "wordcount")


class _GuardedCodeGenerator(CodeGenerator):
    """`a ~ b` compiles to a plain join the restricted environment never sees; route it through the size check."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.guarded_concat(")
        super().visit_Concat(node, frame)
        self.write(")")


class DocumentEnvironment(ImmutableSandboxedEnvironment):
    code_generator_class = _GuardedCodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self) -> None:
        super().__init__(autoescape=True, undefined=StrictUndefined, auto_reload=False, cache_size=0,
                         extensions=["jinja2.ext.i18n"])
        builtin = self.filters
        self.filters = {name: _guarded(builtin[name]) for name in SAFE_FILTERS}
        self.filters["replace"] = _guarded(_replace)
        self.filters |= {
            "money": _guarded(formatting.money_ru),
            "amount_words": _guarded(formatting.amount_in_words),
            "date_long": _guarded(formatting.date_long),
            "date_short": _guarded(formatting.date_short),
            "currency_sign": _guarded(formatting.currency_sign),
            "required": _guarded(_required),
            "plural": _guarded(lambda number, one, few, many: formatting.plural(int(number), (one, few, many))),
        }
        self.tests = {name: self.tests[name] for name in (
            "defined", "undefined", "none", "number", "string", "sequence", "mapping", "even", "odd",
            "divisibleby", "eq", "ne", "lt", "le", "gt", "ge", "in", "true", "false", "boolean")}
        # No namespace(), dict(), cycler() or lipsum(): nothing that carries state across loop steps.
        # `_` is the i18n extension's alias of gettext (installed below).
        self.globals = {"_": self.globals["_"], "range": _bounded_range,
                        "qr_code": _guarded(qr_data_uri, is_filter=False)}
        # The fixed words of a document come from the documents catalogue in the active language (the
        # account's: documents.services renders inside billing.texts.in_account_language):
        # {{ _("Invoice No. %(number)s", number=invoice.number) }}, {% trans %}…{% endtrans %}, ngettext.
        self.install_gettext_callables(gettext=_gettext, ngettext=_ngettext, pgettext=_pgettext,
                                       npgettext=_npgettext, newstyle=True)

    def guarded_concat(self, value):
        return _check_size(value)

    def getattr(self, obj, attribute):
        _tick()
        return super().getattr(obj, attribute)

    def getitem(self, obj, argument):
        _tick()
        return super().getitem(obj, argument)

    def call(self, context, function, /, *args, **kwargs):
        _tick()
        _check_arguments(args, kwargs)
        name = getattr(function, "__name__", "")
        if name in REFUSED_METHODS:
            raise SecurityError(f"{name}() is not available in templates; use the documented filters.")
        if name == "replace" and isinstance(getattr(function, "__self__", None), str):
            return _check_size(_replace(function.__self__, *args, **kwargs))
        return _check_size(super().call(context, function, *args, **kwargs))

    def call_binop(self, context, operator: str, left, right):
        _tick()
        if operator == "*":
            sequence, times = (left, right) if isinstance(right, int) else (right, left)
            if (isinstance(sequence, str | list | tuple) and isinstance(times, int)
                    and len(sequence) * times > MAX_VALUE_SIZE):
                raise RenderLimitExceeded("The template builds a value that is too large.")
        if operator == "**" and isinstance(right, int | Decimal) and abs(right) > 64:
            raise RenderLimitExceeded("Exponents above 64 are not allowed in templates.")
        if operator == "%" and isinstance(left, str):
            raise SecurityError("String formatting with % is not available in templates; use the filters.")
        return _check_size(super().call_binop(context, operator, left, right))


_environment = DocumentEnvironment()


class TemplateProblem(Exception):
    """Why a template cannot be used, and on which line: the API answers 422 with it."""

    def __init__(self, code: str, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.line = code, message, line

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


@functools.lru_cache(maxsize=128)
def _compile(source: str):
    return _environment.from_string(source)


def precompile(source: str) -> None:
    """Compile a trusted template (one of ours) into the cache that forked render children share."""
    _compile(source)


def template_check_syntax(source: str) -> None:
    if len(source) > MAX_TEMPLATE_CHARS:
        raise TemplateProblem("template_too_large", f"A template may be at most {MAX_TEMPLATE_CHARS} characters.")
    try:
        _compile(source)
    except TemplateSyntaxError as exc:
        raise TemplateProblem("template_syntax_error", exc.message or "Syntax error.", exc.lineno) from exc
    except SecurityError as exc:
        raise TemplateProblem("template_forbidden", str(exc)) from exc
    except RecursionError as exc:
        raise TemplateProblem("template_syntax_error", "The template is nested too deeply.") from exc
    except MemoryError as exc:
        raise TemplateProblem("template_too_heavy", "The template is too large to compile.") from exc


def render_template(source: str, variables: Mapping, *, seconds: float = DEFAULT_SECONDS) -> str:
    """The template's HTML for `variables`, or TemplateProblem naming the line that failed."""
    template_check_syntax(source)
    template = _compile(source)
    budget = _Budget(deadline=time.monotonic() + seconds)
    token = _budget.set(budget)
    try:
        chunks = []
        for chunk in template.generate(dict(variables)):
            budget.output += len(chunk)
            if budget.output > MAX_OUTPUT_CHARS:
                raise RenderLimitExceeded("The template makes a document that is too large.")
            chunks.append(chunk)
        return "".join(chunks)
    except RenderLimitExceeded as exc:
        raise TemplateProblem("template_too_heavy", str(exc), _template_line(exc)) from exc
    except MemoryError as exc:
        raise TemplateProblem("template_too_heavy", "The template needs more memory than a document may take.",
                              _template_line(exc)) from exc
    except RecursionError as exc:
        raise TemplateProblem("template_error", "The template calls itself too deeply (a recursive macro or loop).",
                              _template_line(exc)) from exc
    except SecurityError as exc:
        raise TemplateProblem("template_forbidden", f"Not allowed: {exc}", _template_line(exc)) from exc
    except UndefinedError as exc:
        raise TemplateProblem("template_undefined", f"Not a documented variable: {exc.message}",
                              _template_line(exc)) from exc
    except TemplateError as exc:
        raise TemplateProblem("template_error", exc.message or type(exc).__name__, _template_line(exc)) from exc
    except (ArithmeticError, TypeError, ValueError, LookupError, AttributeError) as exc:
        raise TemplateProblem("template_error", f"{type(exc).__name__}: {exc}", _template_line(exc)) from exc
    finally:
        _budget.reset(token)


def _template_line(exc: BaseException) -> int | None:
    """Jinja rewrites tracebacks so a template's frames carry its own line numbers."""
    line = None
    traceback = exc.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == TEMPLATE_FILENAME:
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line
