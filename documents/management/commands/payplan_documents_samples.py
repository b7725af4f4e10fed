"""Render one of each document with sample data, to look at them (PDF, and PNG pages with --png)."""
import shutil
import subprocess
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from billing.models import Account
from documents.kinds import Kind
from documents.rendering import document_pdf
from documents.samples import SAMPLE_REQUISITES, sample_variables
from documents.selectors import default_template_source, template_source_get


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--out", default="var/documents-samples")
        parser.add_argument("--account", help="subdomain: its templates and requisites (default: a sample company)")
        parser.add_argument("--png", action="store_true", help="also PNG pages (needs pdftoppm, poppler-utils)")

    def handle(self, *args, out: str, account: str | None, png: bool, **options):
        if account:
            tenant = Account.objects.filter(slug=account).first()
            if tenant is None:
                raise CommandError(f"No account {account!r}.")
        else:  # never saved: the sample needs no database
            tenant = Account(pk=0, slug="sample", time_zone="Europe/Moscow", currency="RUB",
                             settings={"requisites": SAMPLE_REQUISITES})
        pdftoppm = shutil.which("pdftoppm")
        if png and pdftoppm is None:
            raise CommandError("pdftoppm is missing: apt-get install -y poppler-utils")
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        for kind in Kind:
            source = template_source_get(account=tenant, kind=kind).source if account else None
            rendered = document_pdf(source=source or default_template_source(kind),
                                    variables=sample_variables(account=tenant, kind=kind), title=kind.label)
            path = folder / f"{kind.value}.pdf"
            path.write_bytes(rendered.content)
            if png:
                # A fixed argument list, no shell: only our own file names go in.
                subprocess.run([pdftoppm, "-r", "110", "-png", str(path), str(folder / kind.value)], check=True)  # noqa: S603
            self.stdout.write(f"{path} ({rendered.pages} p.)")
