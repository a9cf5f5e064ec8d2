"""Issuing, downloading and revoking a kubeconfig in Chromium, in English and Chinese (R3.5)."""
import pytest
from django.utils import translation

from clusters.models import KubeconfigToken
from tests.browser import browser_page
from tests.conftest import PASSWORD
from tests.factories import ClusterFactory


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_download_a_kubeconfig_once_and_confirm_before_revoking(live_server, tenant, language):
    cluster = ClusterFactory(account=tenant.account, name="idc-download")
    with translation.override(language):
        get, download, question = (translation.gettext("Get kubeconfig"), translation.gettext("Download"),
                                   translation.gettext("Revoke this kubeconfig? kubectl using it stops working at once."))
    with browser_page(live_server.url, tenant.viewer.username, PASSWORD, language) as page:
        page.goto(f"{live_server.url}/clusters/{cluster.pk}/access/?tab=connection")
        page.click(f"#get-kubeconfig:has-text('{get}')")
        page.wait_for_selector("#new-kubeconfig")
        with page.expect_download() as saved:
            page.click(f"#download-kubeconfig:has-text('{download}')")
        assert saved.value.suggested_filename == "idc-download.kubeconfig"
        with open(saved.value.path()) as file:
            assert f"/k8s/clusters/{cluster.pk}" in file.read()
        page.reload()  # a refresh shows the token no more and issues no other
        assert page.locator("#new-kubeconfig").count() == 0
        assert page.locator("#issued-kubeconfigs tbody tr").count() == 1

        asked = []
        page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
        page.click("#issued-kubeconfigs button.btn-outline-danger")
        assert asked == [question]
        page.reload()
        assert page.locator("#issued-kubeconfigs button.btn-outline-danger").count() == 1  # dismissed: kept
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("#issued-kubeconfigs button.btn-outline-danger")
        page.wait_for_selector("#issued-kubeconfigs button.btn-outline-danger", state="detached")
    assert KubeconfigToken.objects.get(user=tenant.viewer).revoked_at is not None  # the only one issued
