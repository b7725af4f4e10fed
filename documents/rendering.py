"""Template + variables → HTML (sandboxed Jinja2) → PDF (WeasyPrint, no network)."""
import hashlib
import json
from collections.abc import Mapping

from django.core.serializers.json import DjangoJSONEncoder

from documents.pdf import RenderedPdf, html_to_pdf
from documents.sandbox import TemplateProblem, render_template

# Bump when the renderer, the base stylesheet or the fonts change in a way that alters stored PDFs.
RENDERER_VERSION = "1"


def document_fingerprint(*, kind: str, source: str, variables: Mapping) -> str:
    """Same template and same data → same PDF; any change in either → a new fingerprint."""
    data = json.dumps(variables, cls=DjangoJSONEncoder, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(f"{RENDERER_VERSION}\n{kind}\n{source}\n{data}".encode()).hexdigest()


def document_pdf(*, source: str, variables: Mapping, title: str = "", strict_urls: bool = False) -> RenderedPdf:
    """The PDF of `source` for `variables`. With `strict_urls`, a template that asks for any URL outside
    our assets is a TemplateProblem (saving and previewing a template); delivery just leaves it out."""
    rendered = html_to_pdf(render_template(source, variables), title=title)
    if strict_urls and rendered.refused_urls:
        raise TemplateProblem("template_external_url",
                              f"Templates may not load anything from outside: {rendered.refused_urls[0]} was refused. "
                              "Use data: URIs for images.", _line_of(source, rendered.refused_urls[0]))
    return rendered


def _line_of(source: str, url: str) -> int | None:
    for number, line in enumerate(source.splitlines(), start=1):
        if url in line:
            return number
    return None
