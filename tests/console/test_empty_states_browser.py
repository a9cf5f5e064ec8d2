"""In Chromium, in English and in Chinese: an empty region's cluster list leads to the other
regions, and a sub-account without a policy reads whom to ask (#13 item 19)."""
import os

import pytest
from playwright.sync_api import expect

from cceone.iam.models import Region
from tests.browser import browser_page
from tests.conftest import PASSWORD
from tests.factories import ClusterFactory


@pytest.fixture(autouse=True)
def _sync_orm_in_playwright():
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's loop runs in this thread
    yield
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.mark.parametrize("language, show_all, nopolicy_text", [
    ("en", "Show all regions", "Ask your administrator"),
    ("zh-hans", "展示所有资源池", "请联系管理员"),
])
def test_empty_states_in_the_browser(live_server, tenant, language, show_all, nopolicy_text):
    ClusterFactory(account=tenant.account, name="far-away",
                   region=Region.objects.exclude(pk=Region.default().pk).first())
    with browser_page(live_server.url, tenant.main.username, PASSWORD, language) as page:
        page.goto(f"{live_server.url}/clusters/")
        empty = page.locator("#empty-state")
        expect(empty).to_be_visible()
        expect(page.locator("text=far-away")).to_have_count(0)
        empty.get_by_role("link", name=show_all).click()
        expect(page.locator("#object-table")).to_contain_text("far-away")
        expect(page.locator("#empty-state")).to_have_count(0)
    with browser_page(live_server.url, tenant.nopolicy.username, PASSWORD, language) as page:
        expect(page.locator("#no-policy")).to_contain_text(nopolicy_text)
