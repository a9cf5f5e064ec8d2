"""Chromium for browser tests: Debian's build, driven by Playwright (no browser download)."""
import contextlib

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


@contextlib.contextmanager
def browser_page(base_url: str, username: str, password: str, language: str = "en"):
    """A signed-in page at 1280 px, in the given console language."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale=language)
        context.add_cookies([{"name": "django_language", "value": language, "url": base_url}])
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{base_url}/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base_url}/")
        try:
            yield page
        finally:
            browser.close()
