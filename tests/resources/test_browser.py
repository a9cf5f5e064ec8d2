"""In Chromium, as a user would: create a Deployment from the form, scale it, open its
pods and a pod's logs (followed live), delete it — in English and in Chinese."""
import os

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.conftest import PASSWORD
from tests.live import wait_until

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture
def browser(live_server, settings):
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls
    # (fixtures, assertions) are synchronous and safe here.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    settings.CCEONE_LOG_FOLLOW_KEEPALIVE, settings.CCEONE_LOG_FOLLOW_MAX_SECONDS = 0.5, 30
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.mark.parametrize("language, lang_attr, overview, delete", [
    ("en", "en", "Overview", "Delete"),
    ("zh-hans", "zh-hans", "总览", "删除"),
])
def test_deployment_round_trip_in_the_browser(browser, live_server, cluster, tenant, emulator,
                                              language, lang_attr, overview, delete):
    name = f"shop-{language[:2]}"
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", tenant.main.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")

    page.goto(f"{live_server.url}/k8s/cluster/{cluster.pk}/deployments/")
    expect(page.locator("html")).to_have_attribute("lang", lang_attr)
    expect(page.locator("#cluster-tabs")).to_contain_text(overview)
    page.click("#create-button")
    page.fill("#id_name", name)
    page.fill("#id_namespace", "prod")
    page.fill("#id_image", "nginx:1.27")
    page.fill("#id_replicas", "2")
    page.click("#create-form button[type=submit]")
    expect(page.locator("#object-title")).to_contain_text(name)
    pods = page.locator("#related-1 td a")  # the Deployment's pods
    expect(pods).to_have_count(2)

    page.fill("#replicas-input", "3")
    page.click("#scale-button")
    expect(pods).to_have_count(3)
    assert emulator.emulator.get_object("apps/v1", "Deployment", name, "prod")["spec"]["replicas"] == 3

    pod_name = pods.first.inner_text()
    pods.first.click()
    expect(page.locator("#object-title")).to_contain_text(pod_name)
    page.click("#logs-button")
    expect(page.locator("#log-output")).to_contain_text("Configuration complete")
    page.check("#id_follow")
    page.click("#log-options button[type=submit]")
    expect(page.locator("#log-output")).to_contain_text("Configuration complete")
    emulator.emulator.append_log("prod", pod_name, name, f"GET /checkout from the {language} test")
    expect(page.locator("#log-output")).to_contain_text(f"GET /checkout from the {language} test")

    page.goto(f"{live_server.url}/k8s/cluster/{cluster.pk}/deployments/prod/{name}/")
    page.click("#delete-button")
    expect(page.locator("#confirm-delete")).to_have_text(delete)
    page.click("#confirm-delete")
    expect(page.locator("#list-title")).to_be_visible()
    expect(page.locator("#resource-table")).not_to_contain_text(name)
    assert emulator.emulator.get_object("apps/v1", "Deployment", name, "prod") is None
    wait_until(lambda: not emulator.emulator.list_objects("v1", "Pod", "prod", label_selector=f"app={name}"),
               what="the pods to go")
    context.close()


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_clusters_pages_fit_1280_px_without_scrolling_sideways(live_server, cluster, tenant, emulator, language):
    """A cluster's header offers every section (monitoring, add-ons, operations, backup …): at
    1280 px the tabs wrap inside the content; a long label wraps inside its column."""
    from django.urls import reverse

    from tests.browser import browser_page
    from tests.resources.conftest import page as resource_page

    web = emulator.emulator.get_object("apps/v1", "Deployment", "web", "prod")
    web["metadata"]["labels"]["propagationpolicy.karmada.io/permanent-id"] = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
    emulator.emulator.put_object(web)
    deployment = resource_page(cluster, "deployments", "prod", "web")
    with browser_page(live_server.url, tenant.main.username, PASSWORD, language) as page:
        for url in (reverse("clusters:overview", args=[cluster.pk]),
                    reverse("clusters:access", args=[cluster.pk]) + "?tab=connection", deployment):
            page.goto(live_server.url + url)
            page.wait_for_selector("#cluster-tabs")
            tabs = page.eval_on_selector("#cluster-tabs", "e => e.getBoundingClientRect().right")
            assert tabs <= page.evaluate("document.documentElement.clientWidth"), url
            assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth"), url
        label = page.eval_on_selector("#object-labels .k8s-label:last-child", "e => e.getBoundingClientRect().right")
        column = page.eval_on_selector("#object-labels", "e => e.getBoundingClientRect().right")
        assert label <= column + 1
