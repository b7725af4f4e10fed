"""Templates cannot hold a web thread: every render runs in a forked child that the parent SIGKILLs at a
hard limit (DOCUMENTS_RENDER_SECONDS, in the worker DOCUMENTS_WORKER_RENDER_SECONDS), whatever the
template does; the answer is the contract's 422 (template_too_heavy, or template_error naming the line).

No test here times anything: they set the limit low and check the code, the limit the child ran under
and that the child was killed by SIGKILL and is gone."""
import os
import signal

import pytest
from django.db import connection

from documents import isolation, rendering
from documents.isolation import ChildFailed, ChildLimits, run_in_child
from documents.models import DocumentTemplate, StoredDocument
from documents.pdf import html_to_pdf
from documents.safe_render import TemplateProblem, render_template
from documents.samples import sample_variables
from documents.selectors import default_template_source
from documents.services import document_render
from tests.conftest import assert_error

INVOICE = "/api/v1/account/templates/invoice"
MB = 1024 * 1024
SHORT = ChildLimits(seconds=1, memory_bytes=256 * MB, output_bytes=MB)
HOISTED_LOOPS = "{% set s = 'x' * 999999 %}{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}"

# Each of these got past the sandbox's cooperative budget, or raised a 500, before renders were isolated.
# Recursion ends as a template error when the stack runs out first, or is stopped as too heavy when the
# limit comes first (a loaded machine): either is a clear 422, never a 500 or a held thread.
RECURSION = {"template_error", "template_too_heavy"}
HOSTILE = [
    pytest.param(HOISTED_LOOPS, {"template_too_heavy"}, id="nested-loops-over-a-hoisted-string"),
    pytest.param("{% set s = 'x' * 999999 %}{% for a in s %}{% for b in s %}{{ b }}{% endfor %}{% endfor %}",
                 {"template_too_heavy"}, id="nested-loops-printing"),
    pytest.param("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", RECURSION,
                 id="recursive-macro"),
    pytest.param("{% for x in [[1]] recursive %}{{ loop([[x]]) }}{% endfor %}", RECURSION,
                 id="recursive-loop"),
    pytest.param("{% macro f(n) %}{% if n %}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(5000) }}",
                 RECURSION, id="deep-recursion"),
    pytest.param("{% for i in range(10**9) %}{% endfor %}", {"template_too_heavy"}, id="huge-range"),
    pytest.param("{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}",
                 {"template_too_heavy"}, id="nested-ranges"),
    pytest.param("{{ 'x' * 10**9 }}", {"template_too_heavy"}, id="string-times-a-billion"),
    pytest.param("{{ 'x'.center(10**9) }}", {"template_too_heavy"}, id="center-a-billion"),
    pytest.param("{{ range(10000)|join('x' * 99999) }}", {"template_too_heavy"}, id="join-of-a-range"),
    pytest.param("{% set s = 'x' * 999999 %}{{ s|join(s) }}", {"template_too_heavy"}, id="join-blowup"),
    pytest.param("{% set s = 'x' * 999999 %}{{ s|list|join(s) }}", {"template_too_heavy"}, id="list-join-blowup"),
    pytest.param("{{ '{:>999999999}'.format(1) }}", {"template_forbidden"}, id="format"),
    pytest.param("{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}", {"template_syntax_error", "template_error"},
                 id="deeply-nested-expression"),
]


@pytest.fixture
def short_limit(settings):
    settings.DOCUMENTS_RENDER_SECONDS = 1
    settings.DOCUMENTS_WORKER_RENDER_SECONDS = 1.5
    return settings


@pytest.fixture
def stopped_children(monkeypatch):
    """Every child the renderer gave up on, as the ChildFailed it saw (its pid, limits and wait status)."""
    failures: list[ChildFailed] = []

    def recording(work, *, limits):
        try:
            return run_in_child(work, limits=limits)
        except ChildFailed as failure:
            failures.append(failure)
            raise

    monkeypatch.setattr(rendering, "run_in_child", recording)
    return failures


def assert_killed(failure: ChildFailed) -> None:
    assert failure.reason in ("deadline", "output"), failure
    assert failure.signal == signal.SIGKILL, failure
    with pytest.raises(ProcessLookupError):  # killed and reaped: no process, not even a zombie
        os.kill(failure.pid, 0)


def spin() -> bytes:
    while True:
        pass


# --- the guard itself -------------------------------------------------------------------------------

def test_a_child_running_past_the_deadline_is_killed_and_reaped():
    with pytest.raises(ChildFailed) as failure:
        run_in_child(spin, limits=SHORT)
    assert failure.value.reason == "deadline"
    assert failure.value.limits.seconds == 1
    assert_killed(failure.value)


def test_a_child_whose_answer_outgrows_the_cap_is_killed():
    with pytest.raises(ChildFailed) as failure:
        run_in_child(lambda: b"%" * (2 * MB), limits=SHORT)
    assert failure.value.reason == "output"
    assert_killed(failure.value)


def test_a_child_cannot_take_more_memory_than_its_cap():
    with pytest.raises(ChildFailed) as failure:
        run_in_child(lambda: bytes(bytearray(512 * MB)), limits=SHORT)
    assert failure.value.reason == "died"
    assert failure.value.out_of_memory


def test_an_exception_in_the_child_never_runs_on_in_the_parent():
    def fail() -> bytes:
        raise RuntimeError("in the child")

    with pytest.raises(ChildFailed) as failure:
        run_in_child(fail, limits=SHORT)
    assert failure.value.exit_code == isolation.EXIT_FAILED


@pytest.mark.django_db
def test_the_child_holds_none_of_the_parents_sockets_and_the_parents_connection_survives():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    answer = run_in_child(lambda: " ".join(sorted(os.listdir("/proc/self/fd"))).encode(), limits=SHORT)
    descriptors = set(answer.decode().split())
    assert len(descriptors) <= 5, descriptors  # stdin, stdout, stderr, its pipe, the listdir's own
    for _ in range(3):
        with pytest.raises(ChildFailed):
            run_in_child(spin, limits=ChildLimits(seconds=0.2, memory_bytes=64 * MB, output_bytes=MB))
    with connection.cursor() as cursor:
        cursor.execute("SELECT 2")
        assert cursor.fetchone() == (2,)


# --- hostile templates through the API and the PDF routes ---------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize(("source", "codes"), HOSTILE)
def test_a_hostile_template_is_a_422_from_the_preview(admin, short_limit, stopped_children, source, codes):
    error = assert_error(admin.post(f"{INVOICE}/preview", {"source": source}), 422)
    assert error["code"] in codes, error
    for failure in stopped_children:
        assert failure.limits.seconds == 1
        assert_killed(failure)


@pytest.mark.django_db
def test_hoisted_loops_are_stopped_by_killing_the_child_at_the_settings_limit(admin, short_limit, stopped_children):
    error = assert_error(admin.post(f"{INVOICE}/preview", {"source": HOISTED_LOOPS}), 422, "template_too_heavy")
    assert " 1 " in error["message"]  # the limit it ran under, in either language
    assert len(stopped_children) == 1
    assert stopped_children[0].limits.seconds == 1
    assert_killed(stopped_children[0])
    assert_error(admin.put(INVOICE, {"source": HOISTED_LOOPS}), 422, "template_too_heavy", "source")
    assert not DocumentTemplate.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("source", "codes"), [HOSTILE[0], HOSTILE[2], HOSTILE[10]])
def test_a_stored_hostile_template_makes_the_invoice_pdf_a_422(issue_invoice, widget, school, short_limit,
                                                               stopped_children, source, codes):
    invoice = issue_invoice()
    DocumentTemplate.objects.create(account=school, kind="invoice", source=source)  # saved before the guard
    response = widget.get(f"/api/v1/invoices/{invoice.pk}/pdf")
    assert_error(response, 422)
    assert response.json()["error"]["code"] in codes
    for failure in stopped_children:
        assert_killed(failure)


@pytest.mark.django_db
def test_the_worker_render_is_hard_limited_too_and_falls_back_to_the_default(
        issue_invoice, school, short_limit, stopped_children):
    invoice = issue_invoice()
    before = StoredDocument.objects.get(kind="invoice", object_id=invoice.pk).fingerprint
    DocumentTemplate.objects.create(account=school, kind="invoice", source=HOISTED_LOOPS)
    stored = document_render(account=school, kind="invoice", object_id=invoice.pk)
    assert [failure.limits.seconds for failure in stopped_children] == [1.5]  # the worker's setting
    assert_killed(stopped_children[0])
    assert stored.fingerprint != before
    assert stored.pages == 1


# --- normal templates ------------------------------------------------------------------------------

@pytest.mark.django_db
def test_a_normal_template_renders_the_same_pdf_in_the_child_as_in_process(school):
    variables = sample_variables(account=school, kind="invoice")
    source = default_template_source("invoice")
    in_process = html_to_pdf(render_template(source, variables), title="Счёт")
    isolated = rendering.document_pdf(source=source, variables=variables, title="Счёт")
    assert isolated.pages == in_process.pages == 1
    assert isolated.content == in_process.content


def test_a_template_problem_keeps_its_code_and_line_across_the_process_boundary():
    with pytest.raises(TemplateProblem) as problem:
        rendering.document_pdf(source="<p>ok</p>\n{{ company.__class__ }}", variables={"company": {}})
    assert (problem.value.code, problem.value.line) == ("template_forbidden", 2)
