"""Back up and restore in Chromium, in English and Chinese: from the cluster's console, create
a backup of a namespace, dry-run its restore into another cluster under a new namespace with
the image registry replaced, restore it with the dry run's settings and see the result."""
import pytest
from django.utils import translation

from backups.models import Restore
from tests.browser import browser_page
from tests.conftest import PASSWORD


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_back_up_dry_run_and_restore_in_the_browser(live_server, tenant, source, target, location, target_server,
                                                     language):
    with translation.override(language):
        dry_run, restore_label, completed = (translation.gettext("Dry run"), translation.gettext("Restore"),
                                             translation.gettext("Completed"))
    base = live_server.url
    with browser_page(base, tenant.user.username, PASSWORD, language) as page:
        # The cluster's console leads to its backups; Create backup starts with the cluster chosen.
        page.goto(f"{base}/clusters/{source.pk}/")
        page.click("#cluster-backups-tab")
        page.wait_for_url(f"{base}/backups/clusters/{source.pk}/")
        page.click("#create-button")
        assert page.input_value("#id_cluster") == str(source.pk)
        page.fill("#id_name", "shop-1")
        page.select_option("#id_location", str(location.pk))
        page.fill("#id_namespaces", "shop")
        page.fill("#id_excluded_kinds", "Widget")
        page.click("form.form-narrow button[type=submit]")
        page.wait_for_selector("#backup-phase [data-phase=completed]")
        assert page.inner_text("#backup-phase").strip() == completed
        assert page.locator("#contents tbody tr").count() > 5

        page.click(f"a.btn-primary:has-text('{restore_label}')")
        page.select_option("#id_target", str(target.pk))
        page.fill("#id_namespace_mapping", "shop=shop-cloud")
        page.fill("#id_rule0_kinds", "Deployment")
        page.fill("#id_rule0_attribute", "image")
        page.fill("#id_rule0_old", "harbor.old")
        page.fill("#id_rule0_new", "harbor.new")
        page.click("button[value=dry-run]")
        page.wait_for_selector("#restore-phase [data-phase=completed]")
        assert page.inner_text("h1").startswith(dry_run)
        assert "shop-cloud" in page.inner_text("#preflight-namespaces_to_create")
        assert page.locator("#restore-results tr[data-result=new]").count() > 5
        assert target_server.emulator.get_object("v1", "Namespace", "shop-cloud") is None  # nothing written

        with page.expect_navigation():
            page.click("form[action$='/apply/'] button[type=submit]")
        page.wait_for_selector("#restore-phase [data-phase=completed]")
        assert page.inner_text("h1").startswith(restore_label)
        deployment = page.locator("#restore-results tr[data-result=created]", has_text="Deployment")
        assert deployment.count() == 1 and "harbor.new/shop/web:1.2" in deployment.inner_text()
    assert Restore.objects.get(dry_run=False).phase == "completed"
    image = target_server.emulator.get_object("apps/v1", "Deployment", "web", "shop-cloud")["spec"]["template"][
        "spec"]["containers"][0]["image"]
    assert image == "harbor.new/shop/web:1.2"
