"""In Chromium, in English and in Chinese: a federated Deployment split 1:2 with an image override
in one member — the division preview follows the weights as they are typed, the submit creates the
workload and its policies, and the placement page shows the ResourceBinding's result next to the
preview and the members' status, against a sandbox Karmada with three members."""
import pytest
from django.urls import reverse

from tests.browser import browser_page
from tests.conftest import PASSWORD
from tests.live import grant

from .karmada_world import federation_on, member_deployment, namespace


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_create_a_federated_deployment_split_1_to_2_in_the_browser(live_server, tenant, sandbox_karmada, members,
                                                                   language):
    grant(sandbox_karmada, tenant.main, "cluster-admin")
    federation = federation_on(sandbox_karmada, tenant.account, name="fed-browser")
    ns = namespace(sandbox_karmada)
    with browser_page(live_server.url, "acme", PASSWORD, language) as page:
        page.goto(live_server.url + reverse("federation:detail", args=[federation.pk]))
        assert page.get_attribute("html", "lang").lower() == language
        page.wait_for_selector("#members-table tr[data-member=member2]")
        page.click("#federated-workload-tab")
        page.fill("input[name=name]", "shop")
        page.fill("input[name=namespace]", ns)
        page.fill("input[name=replicas]", "3")
        page.select_option("select[name=replica_scheduling]", "divided")
        page.fill("input[name=cluster_names]", "member1 member2")
        page.fill("textarea[name=weights]", "member1=1\nmember2=1")
        # Equal weights and an odd count: the preview says the UID decides the tie.
        page.wait_for_selector("#uid-tie")
        page.fill("textarea[name=weights]", "member1=1\nmember2=2")
        page.wait_for_selector("#preview-table tr[data-member=member2][data-replicas='2']")
        assert page.get_attribute("#preview-table tr[data-member=member1]", "data-replicas") == "1"
        assert page.get_attribute("#preview-table tr[data-member=member3]", "data-replicas") == "0"
        assert page.query_selector("#uid-tie") is None
        page.click("details[data-member=member2] summary")
        page.fill("input[name='override-member2-image_registry']", "mirror.example.com")
        page.click("#submit-workload")
        page.wait_for_url(live_server.url + reverse("federation:placement",
                                                    args=[federation.pk, "deployments", ns, "shop"]))
        page.wait_for_selector("#placement-table tr[data-member=member2][data-scheduled='2']", timeout=30_000)
        assert page.get_attribute("#placement-table tr[data-member=member1]", "data-scheduled") == "1"
        assert page.get_attribute("#placement-table tr[data-member=member1]", "data-preview") == "1"
        page.wait_for_selector("#placement-table tr[data-member=member2] td[data-health=Healthy]", timeout=30_000)
    assert member_deployment(members, "member2", ns, "shop").spec.template.spec.containers[0].image == \
        "mirror.example.com/nginx:1.27"
    assert member_deployment(members, "member1", ns, "shop").spec.replicas == 1


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_federation_pages_fit_1280_px_without_scrolling_sideways(live_server, tenant, sandbox_karmada, members,
                                                                     language):
    """A running federation's header has every tab (its Karmada kinds, failover, deploy, promote,
    migrations, access): at 1280 px they wrap inside the content instead of widening the page."""
    grant(sandbox_karmada, tenant.main, "cluster-admin")
    federation = federation_on(sandbox_karmada, tenant.account, name="fed-wide")
    with browser_page(live_server.url, "acme", PASSWORD, language) as page:
        for route in ("federation:detail", "federation:promote", "federation:access"):
            page.goto(live_server.url + reverse(route, args=[federation.pk]))
            page.wait_for_selector("#federation-access")
            tabs = page.eval_on_selector("#federation-tabs", "e => e.getBoundingClientRect().right")
            content = page.eval_on_selector(".page-header", "e => e.getBoundingClientRect().right")
            assert tabs <= content + 1, route
            assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth"), \
                route
