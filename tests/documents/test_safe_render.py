"""User templates reach only their documented variables: no internals, no unbounded work, the line named."""
from decimal import Decimal

import pytest

from documents.safe_render import TemplateProblem, render_template

VARIABLES = {"company": {"name": "ООО «Школа»"}, "items": [1, 2, 3], "amount": Decimal("160000.50")}


@pytest.mark.parametrize(("source", "code"), [
    ("{{ ''.__class__.__mro__ }}", "template_forbidden"),
    ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "template_forbidden"),
    ("{{ qr_code.__globals__ }}", "template_forbidden"),
    ("{{ company.__class__ }}", "template_forbidden"),
    ("{{ company.update({'name': 'x'}) }}", "template_forbidden"),
    ("{{ items.append(4) }}", "template_forbidden"),
    ("{{ '{0.__class__}'.format(company) }}", "template_forbidden"),
    ("{{ '%s' % company }}", "template_forbidden"),
    ("{{ settings.SECRET_KEY }}", "template_undefined"),
    ("{{ config }}", "template_undefined"),
    ("{{ request }}", "template_undefined"),
    ("{{ cycler.__init__.__globals__ }}", "template_forbidden"),
    ("{% set ns = namespace(a=1) %}", "template_undefined"),
    ("{% include '/etc/passwd' %}", "template_error"),
    ("{% import 'os' as os %}", "template_error"),
])
def test_templates_cannot_reach_python_internals_settings_or_files(source, code):
    with pytest.raises(TemplateProblem) as problem:
        render_template(source, VARIABLES)
    assert problem.value.code == code, problem.value


def test_a_forbidden_attribute_names_its_line():
    with pytest.raises(TemplateProblem) as problem:
        render_template("<p>Счёт</p>\n<p>{{ company.name }}</p>\n{{ ''.__class__.__mro__ }}\n", VARIABLES)
    assert (problem.value.code, problem.value.line) == ("template_forbidden", 3)


def test_a_syntax_error_names_its_line():
    with pytest.raises(TemplateProblem) as problem:
        render_template("<p>ok</p>\n\n{% for x in items %}\n{{ x }}\n", VARIABLES)
    assert problem.value.code == "template_syntax_error"
    assert problem.value.line == 4


def test_an_undocumented_variable_is_an_error_with_its_line_not_an_empty_string():
    with pytest.raises(TemplateProblem) as problem:
        render_template("{{ company.name }}\n{{ company.password }}", VARIABLES)
    assert (problem.value.code, problem.value.line) == ("template_undefined", 2)


@pytest.mark.parametrize("source", [
    "{{ 'x' * 10**9 }}",
    "{{ 'x'.center(10**9) }}",
    "{{ 'x'|truncate(10**9) }}",
    "{% set a = 'x' * 900000 %}{% set b = a ~ a %}{{ b|length }}",
    "{% set a = 'x' * 900000 %}{{ (a + a)|length }}",
    "{{ ('x' * 1000)|replace('', 'y' * 10000) }}",
    "{{ 2 ** 100000 }}",
    "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}",
    "{% for i in range(10000) %}{% for j in range(10000) %}{{ j }}{% endfor %}{% endfor %}",
])
def test_templates_that_would_exhaust_memory_or_time_stop_at_the_sandboxs_own_budget(source):
    """The cooperative budget, in process; the hard limit around it is test_render_isolation's."""
    with pytest.raises(TemplateProblem) as problem:
        render_template(source, VARIABLES)
    assert problem.value.code == "template_too_heavy", problem.value


def test_documented_variables_and_helpers_work():
    html = render_template(
        "{{ company.name }}|{{ amount|money }}|{{ 2|plural('платёж', 'платежа', 'платежей') }}|"
        "{{ items|sum }}|{{ ''|required }}|{% for i in range(2) %}{{ i }}{% endfor %}|{{ qr_code('x')[:22] }}",
        VARIABLES)
    assert html == ("ООО «Школа»|160\u00a0000,50|платежа|6|<span class=\"missing\">не указано</span>|01|"
                    "data:image/svg+xml;bas")


@pytest.mark.parametrize("source", [
    "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}\n{{ f(0) }}",
    "{% for x in [[1]] recursive %}\n{{ loop([[x]]) }}{% endfor %}",
])
def test_recursion_is_a_template_error_naming_its_line_not_a_crash(source):
    with pytest.raises(TemplateProblem) as problem:
        render_template(source, VARIABLES)
    assert problem.value.code == "template_error"
    assert problem.value.line in (1, 2)


def test_a_float_never_becomes_money():
    with pytest.raises(TemplateProblem, match="not floats"):
        render_template("{{ 1.5|money }}", VARIABLES)


def test_values_are_escaped_so_data_cannot_inject_markup():
    html = render_template("{{ company.name }}", {"company": {"name": "<img src='http://127.0.0.1:1/x'>"}})
    assert "<img" not in html
