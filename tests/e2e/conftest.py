"""Browser tests: Playwright drives Debian's Chromium (`make e2e-deps`) against live_server and the demo page.

One browser per test session; each test gets a fresh context (cookies, storage) and page.
"""
import os
from pathlib import Path

import pytest

# Playwright's sync API keeps an event loop in this thread; Django must still let tests touch the ORM.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# Generous: these are waits for the page to catch up on a shared two-core machine, not speed checks.
TIMEOUT_MS = 20_000


@pytest.fixture(scope="session", autouse=True)
def _patient_expectations():
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make e2e-deps` (Debian's chromium package).")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def demo(transactional_db, settings):
    """The demo account and its deals (a transactional test starts from an empty database), with demo
    mode on as `make run` turns it on: the /demo/ routes exist only then."""
    from billing.demo import demo_account_load

    settings.PAYPLAN_DEMO = True

    account, _ = demo_account_load()
    return account


@pytest.fixture
def page(browser, live_server, demo):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="ru-RU",
                                  timezone_id=demo.time_zone, accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    if os.environ.get("PAYPLAN_TEST_PRETEND_NOW"):  # the browser's day is the server's (tests/conftest.py)
        from datetime import UTC, datetime

        context.clock.set_system_time(datetime.now(UTC))
    # Nothing may leave the machine: the demo, the widget and the sandboxes are all on 127.0.0.1.
    context.route("**/*", lambda route: route.continue_() if _local(route.request.url) else route.abort())
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    in_flight = set()
    page.on("request", lambda request: in_flight.add(request))
    page.on("requestfinished", lambda request: in_flight.discard(request))
    page.on("requestfailed", lambda request: in_flight.discard(request))
    yield page
    # The open card polls its deal every few seconds: stop new calls and let those in flight finish, or the
    # live server would still be querying while the database is flushed for the next test (a deadlock).
    page.route("**/api/v1/**", lambda route: route.abort())
    for _ in range(100):
        if not in_flight:
            break
        page.wait_for_timeout(50)
    context.close()
    assert not page.errors, page.errors


def _local(url: str) -> bool:
    from urllib.parse import urlsplit

    return urlsplit(url).hostname in {"localhost", "127.0.0.1"} or url.startswith(("data:", "blob:"))


@pytest.fixture
def open_demo(page, live_server):
    """Open the demo host page on an area and wait until the widget has been loaded and run."""

    def open_(area: str = "lcard", lead: int | None = None, lang: str = "ru"):
        query = f"?area={area}&lang={lang}" + (f"&lead={lead}" if lead else "")
        page.goto(f"{live_server.url}/demo/{query}")
        page.wait_for_selector("body[data-widget-ready='true']")
        return page

    return open_


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
