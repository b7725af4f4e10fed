"""Our invoice PDF (data from PostgreSQL, restricted Jinja2, QR, WeasyPrint with the guarded fetcher, in a
forked child killed at the render limit) against bare WeasyPrint rendering the very same final HTML, and
against our own render done in process (no child), median of N, same run, interleaved.

Usage: .venv/bin/python bench/pdf.py [--runs 30]
Prints the medians and the ratios (goal ≤ 1.2×). Uses a database of its own (payplan_bench_pdf).
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/payplan_bench_pdf")


def prepare_invoice():
    """A fresh bench database with one account (full requisites), a 6-line plan and its first invoice."""
    from bench.database import fresh_database

    fresh_database()
    from datetime import date

    from billing.domain.schedule import PlanRequest
    from billing.models import Deal, Invoice
    from billing.services import ScheduleOptions, account_create, deal_get_or_create, schedule_replace
    from billing.services.invoicing import invoice_reserve
    from documents.samples import SAMPLE_REQUISITES

    account = account_create(crm_account_id=1, slug="bench")
    account.settings = {"requisites": dict(SAMPLE_REQUISITES)}
    account.save()
    deal = deal_get_or_create(account=account, external_id=17651)
    Deal.objects.filter(pk=deal.pk).update(name="Курс косметологии", contact_name="Иванова Мария Сергеевна",
                                           contact_email="maria@example.com", contact_phone="+7 900 000-00-00")
    schedule_replace(deal=deal, plan_request=PlanRequest(plan="equal", total=160000, installments_count=6,
                                                         first_due_date=date(2026, 12, 5), due_day=5),
                     options=ScheduleOptions(), request_data={}, created_by=None, today=date(2026, 11, 24))
    line = deal.schedules.get(is_active=True).installments.get(seq=1)
    invoice = invoice_reserve(installment_id=line.pk).invoice
    Invoice.objects.filter(pk=invoice.pk).update(status="issued", payment_url="https://pay.cloudpayments.ru/d/ord1")
    return account, invoice.pk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    account, invoice_id = prepare_invoice()

    from weasyprint import CSS, HTML

    from documents.pdf import BASE_STYLESHEET, BASE_URL, html_to_pdf
    from documents.rendering import document_fingerprint, document_pdf
    from documents.safe_render import render_template
    from documents.selectors import document_subject_get, template_source_get

    def ours() -> bytes:
        """What a worker does for an issued invoice, short of writing the file."""
        subject = document_subject_get(account=account, kind="invoice", object_id=invoice_id)
        source = template_source_get(account=account, kind="invoice").source
        document_fingerprint(kind="invoice", source=source, variables=subject.variables)
        return document_pdf(source=source, variables=subject.variables, title=subject.title).content

    def ours_in_process() -> bytes:
        """The same, rendered in this process as before renders were isolated: no fork, no hard limit."""
        subject = document_subject_get(account=account, kind="invoice", object_id=invoice_id)
        source = template_source_get(account=account, kind="invoice").source
        document_fingerprint(kind="invoice", source=source, variables=subject.variables)
        return html_to_pdf(render_template(source, subject.variables), title=subject.title).content

    subject = document_subject_get(account=account, kind="invoice", object_id=invoice_id)
    final_html = render_template(template_source_get(account=account, kind="invoice").source, subject.variables)

    def bare() -> bytes:
        """The same final HTML and stylesheet, WeasyPrint's defaults, nothing else."""
        return HTML(string=final_html, base_url=BASE_URL).write_pdf(stylesheets=[CSS(filename=str(BASE_STYLESHEET))])

    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    parsed = CSS(filename=str(BASE_STYLESHEET), font_config=fonts)

    def bare_parsed_once() -> bytes:
        """Stricter: bare WeasyPrint with the stylesheet and fonts parsed once, as we do per thread."""
        return HTML(string=final_html, base_url=BASE_URL).write_pdf(stylesheets=[parsed], font_config=fonts)

    contenders = [("ours", ours), ("bare", bare), ("bare_parsed_once", bare_parsed_once),
                  ("ours_in_process", ours_in_process)]
    samples: dict[str, list[float]] = {name: [] for name, _ in contenders}
    for run in range(args.runs + 3):
        shift = run % len(contenders)
        for name, function in contenders[shift:] + contenders[:shift]:
            started = time.perf_counter()
            pdf = function()
            elapsed = time.perf_counter() - started
            assert pdf.startswith(b"%PDF")
            if run >= 3:  # the first runs warm caches (fonts, compiled template, QR)
                samples[name].append(elapsed)
    ours_ms = statistics.median(samples["ours"]) * 1000
    bare_ms = statistics.median(samples["bare"]) * 1000
    strict_ms = statistics.median(samples["bare_parsed_once"]) * 1000
    in_process_ms = statistics.median(samples["ours_in_process"]) * 1000
    print(f"invoice PDF, median of {args.runs}: ours {ours_ms:.1f} ms, bare WeasyPrint {bare_ms:.1f} ms, "
          f"ratio {ours_ms / bare_ms:.2f}x (goal <= 1.2x); against bare with the stylesheet parsed once "
          f"{strict_ms:.1f} ms: {ours_ms / strict_ms:.2f}x; ours rendered in process (no child) "
          f"{in_process_ms:.1f} ms: the forked child costs {ours_ms / in_process_ms:.2f}x")


if __name__ == "__main__":
    main()
