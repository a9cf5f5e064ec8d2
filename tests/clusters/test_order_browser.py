"""The order wizard in Chromium: the HTMX steps as a user clicks through them."""
import pytest

from clusters.models import RegisteredCluster
from tests.browser import browser_page
from tests.conftest import PASSWORD
from tests.factories import FleetFactory, make_inventory, ready_to_order


def test_order_a_local_cluster_in_the_browser(live_server, tenant, django_capture_on_commit_callbacks):
    from clusters.models import Vpc

    inventory = make_inventory()
    Vpc.objects.create(region=inventory["vpc"].region, name="vpc-other", cidr="10.1.0.0/16")  # a VPC to choose
    ready_to_order(tenant.account)
    with browser_page(live_server.url, "acme", PASSWORD) as page:
        page.goto(f"{live_server.url}/clusters/")
        page.click("#order-cluster")
        page.click("text=Local cluster")
        page.fill("input[name=name]", "browser-idc-01")
        page.fill("input[name=provider]", "k3s")
        page.select_option("select[name=vpc]", str(inventory["vpc"].pk))
        # Choosing the VPC reloads the form with its subnets.
        page.wait_for_selector(f"select[name=subnet] option[value='{inventory['subnet'].pk}']", state="attached")
        page.select_option("select[name=subnet]", str(inventory["subnet"].pk))
        page.click("button[value=configure]")
        page.wait_for_selector("#confirm-price")
        assert "0.1668" in page.inner_text("#confirm-price")
        assert "browser-idc-01" in page.inner_text("#confirm-name")
        page.click("#check-quota button")  # re-check one dependency check
        page.wait_for_selector("#check-quota .badge")
        page.click("#submit-order")
        assert "Read and accept the service agreement" in page.inner_text("#order-errors")
        page.check("#agreed")
        page.click("#submit-order")
        page.wait_for_url(f"{live_server.url}/clusters/")
        assert "browser-idc-01" in page.inner_text("#object-table")
    cluster = RegisteredCluster.objects.get(name="browser-idc-01")
    assert cluster.status == RegisteredCluster.Status.PENDING_ACCESS and cluster.creator == tenant.main


@pytest.mark.parametrize("language, fleet_label, agreement_heading", [
    ("en", "Fleet", "1. The service"),
    ("zh-hans", "容器舰队", "一、服务内容"),
])
def test_order_a_cluster_into_a_fleet_in_the_browser(live_server, tenant, language, fleet_label, agreement_heading):
    inventory = make_inventory()
    ready_to_order(tenant.account)
    fleet = FleetFactory(account=tenant.account, name="browser-fleet")
    with browser_page(live_server.url, "acme", PASSWORD, language) as page:
        page.goto(f"{live_server.url}/clusters/order/local/")
        assert page.inner_text("label[for=id_fleet]").strip() == fleet_label
        page.fill("input[name=name]", "fleet-idc-01")
        page.fill("input[name=provider]", "k3s")
        page.select_option("select[name=fleet]", str(fleet.pk))
        assert page.input_value("select[name=vpc]") == str(inventory["vpc"].pk)
        assert page.input_value("select[name=subnet]") == str(inventory["subnet"].pk)
        # The VPC reload keeps the chosen fleet.
        assert page.input_value("select[name=fleet]") == str(fleet.pk)
        page.click("button[value=configure]")
        page.wait_for_selector("#confirm-price")
        assert page.inner_text("#confirm-extra-1") == "browser-fleet"
        # The agreement opens in a tab of its own; the order stays.
        with page.context.expect_page() as opened:
            page.click("#agreement-service")
        agreement = opened.value
        agreement.wait_for_load_state()
        assert agreement.inner_text("#agreement h2 >> nth=0") == agreement_heading
        agreement.close()
        page.check("#agreed")
        page.click("#submit-order")
        page.wait_for_url(f"{live_server.url}/clusters/")
    assert RegisteredCluster.objects.get(name="fleet-idc-01").fleet == fleet
