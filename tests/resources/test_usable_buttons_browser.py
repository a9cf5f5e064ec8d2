"""In Chromium, in English and in Chinese: a read-only user's deployment page offers no
writes, a cluster admin's offers them all (#13 item 20)."""
import os

import pytest
from playwright.sync_api import expect

from tests.browser import browser_page
from tests.conftest import PASSWORD
from tests.live import grant
from tests.resources.conftest import page as k8s_page


@pytest.fixture(autouse=True)
def _sync_orm_in_playwright():
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's loop runs in this thread
    yield
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.mark.parametrize("language, edit, delete", [("en", "Edit YAML", "Delete"), ("zh-hans", "编辑 YAML", "删除")])
def test_only_usable_buttons_in_the_browser(live_server, cluster, emulator, tenant, language, edit, delete):
    grant(emulator, tenant.viewer, "view")
    url = live_server.url + k8s_page(cluster, "deployments", "prod", "web")
    with browser_page(live_server.url, tenant.main.username, PASSWORD, language) as page:
        page.goto(url)
        actions = page.locator("#object-actions")
        expect(actions.get_by_role("link", name=edit)).to_be_visible()
        expect(actions.get_by_role("link", name=delete)).to_be_visible()
        expect(page.locator("#scale-button")).to_be_visible()
    with browser_page(live_server.url, tenant.viewer.username, PASSWORD, language) as page:
        page.goto(url)
        expect(page.locator("#object-title")).to_be_visible()
        actions = page.locator("#object-actions")
        expect(actions.get_by_role("link", name=edit)).to_have_count(0)
        expect(actions.get_by_role("link", name=delete)).to_have_count(0)
        expect(page.locator("#scale-button")).to_have_count(0)
        expect(page.locator("#restart-button")).to_have_count(0)
