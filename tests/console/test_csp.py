"""Content-Security-Policy: every page says scripts and styles come from the console's own
files only, and the pages (Swagger UI included) work under it in Chromium."""
import os

import pytest
from playwright.sync_api import expect

from tests.browser import browser_page
from tests.conftest import PASSWORD, client_for


def test_pages_carry_a_strict_content_security_policy(tenant):
    response = client_for(tenant.main).get("/")
    policy = response.headers["Content-Security-Policy"]
    directives = dict((d.strip().split(" ", 1) + [""])[:2] for d in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


PAGES = ["/", "/clusters/", "/clusters/order/local/", "/clusters/{pk}/", "/clusters/{pk}/access/?tab=connection",
         "/clusters/{pk}/operations/", "/fleets/", "/iam/users/", "/iam/policies/add/", "/iam/api-tokens/",
         "/billing/", "/permissions/", "/permissions/associations/add/", "/audit/"]

# Recorded before any page script runs, so nothing the page does escapes it.
COLLECT_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
"""


@pytest.fixture
def async_unsafe():
    # Playwright's sync API runs an event loop in this thread; the ORM calls here are synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def test_console_pages_and_swagger_ui_run_without_csp_violations(live_server, tenant, async_unsafe):
    from tests.factories import ClusterFactory, make_inventory

    make_inventory()
    cluster = ClusterFactory(account=tenant.account)
    with browser_page(live_server.url, tenant.main.username, PASSWORD) as page:
        page.add_init_script(COLLECT_VIOLATIONS)
        messages = []
        page.on("console", lambda m: messages.append(m.text) if "Content Security Policy" in m.text else None)
        for path in PAGES:
            response = page.goto(live_server.url + path.format(pk=cluster.pk))
            assert response.ok, (path, response.status)
            page.wait_for_load_state("networkidle")
            assert page.evaluate("window.__csp") == [], path
        page.goto(live_server.url + "/api/docs/")
        # Swagger UI is up when it has rendered the schema's operations.
        expect(page.locator(".opblock").first).to_be_visible()
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__csp") == []
    assert messages == []
