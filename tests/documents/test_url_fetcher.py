"""WeasyPrint fetches nothing but data: URIs and our own assets: every other URL is refused, not opened."""
import pytest

from documents.pdf import AssetsOnlyFetcher, RefusedURL, html_to_pdf
from documents.qr import qr_data_uri


def test_images_stylesheets_and_fonts_on_a_loopback_server_are_never_requested(recorder):
    html = f"""<html><head>
      <link rel="stylesheet" href="{recorder.url}/style.css">
      <style>@import url("{recorder.url}/import.css");
        @font-face {{ font-family: X; src: url("{recorder.url}/font.ttf"); }}
        body {{ background: url("{recorder.url}/bg.png"); font-family: X; }}</style></head>
      <body><img src="{recorder.url}/pixel.png"><object data="{recorder.url}/object.svg"></object>
      <embed src="{recorder.url}/embed.svg"><a rel="attachment" href="{recorder.url}/attach.bin">a</a>
      <img src="data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg'><image href='{recorder.url}/s.png'/></svg>">
      Текст</body></html>"""
    rendered = html_to_pdf(html)
    assert rendered.content.startswith(b"%PDF")
    assert recorder.requests == []
    assert any(url.endswith("/pixel.png") for url in rendered.refused_urls)
    assert any(url.endswith("/style.css") for url in rendered.refused_urls)


@pytest.mark.parametrize("url", [
    "file:///etc/passwd", "file:///work/main/config/settings/base.py", "../../config/settings/base.py",
    "fonts/../../settings.py", "ftp://127.0.0.1/x", "https://127.0.0.1/x", "file://127.0.0.1/etc/passwd",
])
def test_files_outside_the_assets_and_other_schemes_are_refused(url):
    from weasyprint.urls import url_join

    from documents.pdf import BASE_URL

    absolute = url_join(BASE_URL, url, allow_relative=False, context="test") or url
    with pytest.raises(RefusedURL):
        AssetsOnlyFetcher().fetch(absolute)


def test_our_fonts_and_data_uris_are_served():
    from documents.pdf import BASE_URL

    fetcher = AssetsOnlyFetcher()
    font = fetcher.fetch(BASE_URL + "fonts/DejaVuSansCondensed.ttf")
    assert font.read(4) == b"\x00\x01\x00\x00"
    assert fetcher.fetch(qr_data_uri("https://pay.test/1")).read().startswith(b"<svg")
    assert fetcher.refused == []
