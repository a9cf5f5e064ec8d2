"""List pages: Kubernetes pagination (limit/continue), label-selector search, the
namespace filter with "all namespaces", HTMX refresh, events with warnings first."""
import re

from tests.conftest import client_for
from tests.resources.conftest import page


def _pod(namespace, name, labels):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": {"containers": [{"name": "main", "image": "nginx"}], "nodeName": "worker-1"},
            "status": {"phase": "Running"}}


def _names(response) -> list[str]:
    table = response.content.decode().split('id="resource-table"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<a href="/k8s/[^"]+/">([^<]+)</a>', table)


def _headers(response) -> list[str]:
    table = response.content.decode().split('id="resource-table"', 1)[1].split("</thead>", 1)[0]
    return re.findall(r"<th[^>]*>\s*(.*?)\s*</th>", table, re.S)


def _next(response) -> str | None:
    found = re.search(r'<a href="([^"]+)" id="next-page"', response.content.decode())
    return found.group(1).replace("&amp;", "&") if found else None


def test_a_thousand_pods_are_paged_through_with_continue_tokens(cluster, tenant, emulator):
    emulator.emulator.put_objects(_pod("bulk", f"pod-{i:04d}", {"app": "bulk"}) for i in range(1000))
    client = client_for(tenant.main)
    url, seen, pages = page(cluster, "pods") + "?namespace=bulk&limit=200", [], 0
    while url:
        response = client.get(url)
        assert response.status_code == 200
        names = _names(response)
        assert len(names) == 200
        seen += names
        pages += 1
        if pages == 1:
            assert "continue=" not in url
            assert "800 more after this page" in response.content.decode()
        url = _next(response)
        if url:
            assert "continue=" in url and f"page={pages + 1}" in url
    assert pages == 5
    assert seen == [f"pod-{i:04d}" for i in range(1000)]


def test_the_default_page_holds_a_hundred_rows(cluster, tenant, emulator):
    emulator.emulator.put_objects(_pod("bulk", f"pod-{i:04d}", {"app": "bulk"}) for i in range(150))
    response = client_for(tenant.main).get(page(cluster, "pods") + "?namespace=bulk")
    assert len(_names(response)) == 100
    second = client_for(tenant.main).get(_next(response))
    assert _names(second) == [f"pod-{i:04d}" for i in range(100, 150)] and _next(second) is None
    assert 'id="first-page"' in second.content.decode()


def test_label_selector_search(cluster, tenant, emulator):
    emulator.emulator.put_objects([_pod("shop", "cart-1", {"app": "cart", "tier": "front"}),
                                   _pod("shop", "cart-2", {"app": "cart", "tier": "back"}),
                                   _pod("shop", "pay-1", {"app": "pay", "tier": "back"})])
    client = client_for(tenant.main)
    assert _names(client.get(page(cluster, "pods") + "?namespace=shop&labelSelector=app%3Dcart")) == ["cart-1", "cart-2"]
    assert _names(client.get(page(cluster, "pods") + "?namespace=shop&labelSelector=tier%3Dback,app!%3Dcart")) == ["pay-1"]
    assert _names(client.get(page(cluster, "pods") + "?namespace=shop&labelSelector=app+in+(pay)")) == ["pay-1"]
    bad = client.get(page(cluster, "pods") + "?namespace=shop&labelSelector=app%3D%3D%3D")
    assert bad.status_code == 400
    assert 'id="resource-error"' in bad.content.decode()


def test_all_namespaces_or_one_and_the_choice_is_remembered(cluster, tenant):
    client = client_for(tenant.main)
    everywhere = client.get(page(cluster, "deployments") + "?namespace=")
    text = everywhere.content.decode()
    assert {"coredns", "web", "api", "worker"} <= set(_names(everywhere))
    assert "Namespace" in _headers(everywhere)  # the namespace column shows when several are listed
    assert '<option value="prod" ' in text and "All namespaces" in text
    prod = client.get(page(cluster, "deployments") + "?namespace=prod")
    assert _names(prod) == ["api", "web"] and "Namespace" not in _headers(prod)
    # The choice sticks when moving to another kind of the same cluster.
    assert set(_names(client.get(page(cluster, "services")))) == {"api", "postgres", "web"}


def test_cluster_scoped_kinds_have_no_namespace_filter(cluster, tenant):
    response = client_for(tenant.main).get(page(cluster, "nodes"))
    assert _names(response) == ["cp-1", "worker-1", "worker-2"]
    assert 'id="namespace-filter"' not in response.content.decode()


def test_htmx_refresh_returns_only_the_list(cluster, tenant, emulator):
    client = client_for(tenant.main)
    url = page(cluster, "pods") + "?namespace=staging"
    before = client.get(url, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="resource-list")
    assert before.content.decode().startswith('<div id="resource-list">')
    assert "<html" not in before.content.decode()
    emulator.emulator.put_object(_pod("staging", "fresh-pod", {"app": "fresh"}))
    after = client.get(url, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="resource-list")
    assert "fresh-pod" in _names(after) and "fresh-pod" not in _names(before)


def test_events_list_warnings_first(cluster, tenant):
    response = client_for(tenant.main).get(page(cluster, "events") + "?namespace=")
    text = response.content.decode().split('id="resource-table"', 1)[1]
    types = re.findall(r'k8s-status k8s-(?:warn|muted)">(Warning|Normal)<', text)
    assert types == ["Warning"] * 4 + ["Normal"] * 4
    warnings_only = client_for(tenant.main).get(page(cluster, "events") + "?namespace=&type=Warning")
    assert "Normal</span>" not in warnings_only.content.decode().split('id="resource-table"', 1)[1]


def test_events_page_through_warnings_then_the_rest(cluster, tenant, emulator):
    for i in range(30):
        emulator.emulator.put_object({"apiVersion": "v1", "kind": "Event", "type": "Warning" if i % 3 == 0 else "Normal",
                                      "metadata": {"name": f"e-{i:02d}", "namespace": "noisy"}, "reason": "Test",
                                      "involvedObject": {"kind": "Pod", "name": "p", "namespace": "noisy"}})
    client = client_for(tenant.main)
    url, seen = page(cluster, "events") + "?namespace=noisy&limit=20", []
    while url:
        response = client.get(url)
        seen += re.findall(r'>(Warning|Normal)</span>', response.content.decode().split('id="resource-table"', 1)[1])
        url = _next(response)
    assert seen == ["Warning"] * 10 + ["Normal"] * 20
