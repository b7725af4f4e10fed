"""HTML to PDF with WeasyPrint, fetching nothing from the network.

The url_fetcher serves data: URIs and files under documents/assets/ (fonts, the base stylesheet);
every other URL (http, https, ftp, file outside the assets, ...) is refused and recorded, never
opened. The base stylesheet and its fonts are parsed once per thread: WeasyPrint objects are not
shared between threads.
"""
import mimetypes
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

ASSETS_DIR = (Path(__file__).resolve().parent / "assets").resolve()
BASE_URL = ASSETS_DIR.as_uri() + "/"
BASE_STYLESHEET = ASSETS_DIR / "base.css"
MAX_DATA_URI_BYTES = 5_000_000


class RefusedURL(ValueError):
    """A document asked for a resource outside our assets."""


class AssetsOnlyFetcher(URLFetcher):
    """data: URIs and our own asset files; nothing else is ever opened."""

    def __init__(self) -> None:
        super().__init__(timeout=1, allowed_protocols=("data", "file"), allow_redirects=False)
        self.refused: list[str] = []

    def fetch(self, url: str, headers=None) -> URLFetcherResponse:
        scheme = url.split(":", 1)[0].lower() if ":" in url else ""
        if scheme == "data":
            if len(url) > MAX_DATA_URI_BYTES:
                return self._refuse(url)
            return super().fetch(url, headers)
        if scheme == "file":
            path = self._asset_path(url)
            if path is not None:
                content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                return URLFetcherResponse(path.as_uri(), path.read_bytes(), {"Content-Type": content_type})
        return self._refuse(url)

    def _refuse(self, url: str) -> URLFetcherResponse:
        self.refused.append(url[:200])
        raise RefusedURL(f"Refused to fetch {url[:200]!r}: documents may only use data: URIs and their own assets.")

    @staticmethod
    def _asset_path(url: str) -> Path | None:
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            return None
        path = Path(unquote(parts.path)).resolve()
        if path.is_relative_to(ASSETS_DIR) and path.is_file():
            return path
        return None


@dataclass(frozen=True)
class RenderedPdf:
    content: bytes
    pages: int
    refused_urls: tuple[str, ...]


class _ThreadFonts(threading.local):
    font_config: FontConfiguration | None = None
    stylesheet: CSS | None = None


_fonts = _ThreadFonts()


def base_stylesheet() -> tuple[CSS, FontConfiguration]:
    """Page size, margins and the bundled Cyrillic fonts every document gets, parsed once per thread."""
    if _fonts.stylesheet is None:
        font_config = FontConfiguration()
        _fonts.stylesheet = CSS(filename=str(BASE_STYLESHEET), base_url=BASE_URL, font_config=font_config,
                                url_fetcher=AssetsOnlyFetcher())
        _fonts.font_config = font_config
    return _fonts.stylesheet, _fonts.font_config


def html_to_pdf(html: str, *, title: str = "") -> RenderedPdf:
    fetcher = AssetsOnlyFetcher()
    stylesheet, font_config = base_stylesheet()
    document = HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher).render(
        stylesheets=[stylesheet], font_config=font_config)
    if title and not document.metadata.title:
        document.metadata.title = title
    return RenderedPdf(document.write_pdf(), len(document.pages), tuple(fetcher.refused))
