"""In Chromium, in English and in Chinese, against a sandbox Karmada with three kubesim members:
promote a member's workload and see its pods' UIDs unchanged, then migrate another application
from member1 to member2 in two steps (50:50, then 0:100), each step offered once member2's
replicas are ready, the page following the replicas live."""
import pytest
from django.urls import reverse
from kubernetes import client

from tests.browser import browser_page
from tests.conftest import PASSWORD
from tests.live import grant

from .karmada_world import eventually, federation_on, member_deployment


def deploy(members, ns, name, replicas):
    labels = {"app": name}
    client.AppsV1Api(members["member1"].api_client()).create_namespaced_deployment(ns, {
        "metadata": {"name": name, "labels": labels},
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}})


def pods(members, ns, app) -> dict[str, str]:
    return {p.metadata.name: p.metadata.uid for p in client.CoreV1Api(members["member1"].api_client())
            .list_namespaced_pod(ns, label_selector=f"app={app}").items}


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_promote_then_migrate_in_two_steps_in_the_browser(live_server, tenant, sandbox_karmada, members, language):
    grant(sandbox_karmada, tenant.main, "cluster-admin")
    federation = federation_on(sandbox_karmada, tenant.account, name="fed-migrate-browser")
    ns = f"move-{language}"
    for name in ("member1", "member2"):
        client.CoreV1Api(members[name].api_client()).create_namespace({"metadata": {"name": ns}})
    with sandbox_karmada.api_client() as api:
        client.CoreV1Api(api).create_namespace({"metadata": {"name": ns}})
    deploy(members, ns, "legacy", 2)
    deploy(members, ns, "shop", 2)
    eventually(lambda: len(pods(members, ns, "legacy")) == 2 and len(pods(members, ns, "shop")) == 2 or None)
    before = pods(members, ns, "legacy")
    with browser_page(live_server.url, "acme", PASSWORD, language) as page:
        page.set_default_timeout(40_000)
        # Promote one workload: the page lists its pods, none restarted.
        page.goto(live_server.url + reverse("federation:detail", args=[federation.pk]))
        assert page.get_attribute("html", "lang").lower() == language
        page.click("#promote-tab")
        page.select_option("select[name=member]", "member1")
        page.fill("input[name=namespace]", ns)
        page.check("input[name=kinds][value=deployments]")
        page.fill("input[name=name]", "legacy")
        page.click("#promote-submit")
        page.wait_for_selector("#promote-results tr[data-name=legacy][data-outcome=promoted]")
        page.wait_for_selector("#pods-unchanged")
        for name, uid in before.items():
            row = f"#promote-pods tr[data-pod='{name}']"
            assert page.get_attribute(row, "data-state") == "unchanged"
            assert uid in page.inner_text(row)
        # Migrate the shop to member2 in two steps.
        page.click("#migrations-tab")
        page.wait_for_selector("#migrations-empty")
        page.select_option("select[name=source]", "member1")
        page.select_option("select[name=target]", "member2")
        page.fill("input[name=namespace]", ns)
        page.fill("input[name=label_selector]", "app=shop")
        page.fill("input[name=steps]", "100:0 50:50 0:100")
        page.click("#migration-submit")
        page.wait_for_selector("#migration-promotion tr[data-name=shop][data-outcome=promoted]")
        page.click("#migration-next")  # offered once the first step is reached (the page polls)
        page.wait_for_selector("#migration-body[data-step='2'][data-state=ready]")
        page.wait_for_selector("#migration-replicas td[data-member=member2][data-ready='1']")
        assert page.get_attribute("#migration-replicas td[data-member=member1]", "data-ready") == "1"
        page.click("#migration-next")
        page.wait_for_selector("#migration-completed")
        page.wait_for_selector("#migration-replicas td[data-member=member2][data-ready='2']")
        assert page.query_selector("#migration-next") is None
        assert page.query_selector("#migration-rollback") is not None
        page.goto(live_server.url + reverse("federation:migrations", args=[federation.pk]))
        assert page.get_attribute("#migration-list tr[data-migration]", "data-state") == "completed"
    assert pods(members, ns, "legacy") == before
    eventually(lambda: member_deployment(members, "member1", ns, "shop") is None or None)
    assert member_deployment(members, "member2", ns, "shop").status.ready_replicas == 2
