"""Monitoring (R3.9) against the sandbox Prometheus of an emulated cluster, reached through the
access hub and the cluster's agent (the API server's service proxy over the tunnel): the
preset panels, "test connection", and the messages a wrong endpoint gives."""
import contextlib
import http.server
import re
import socket
import threading

import pytest
from django.urls import reverse

from cceone.audit.models import AuditEvent
from monitoring.models import PrometheusEndpoint
from sandbox.kubesim.prometheus import VERSION, quantity
from tests.conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)
IN_CLUSTER = {"mode": "in_cluster", "namespace": "monitoring", "service": "prometheus", "port": "9090",
              "scheme": "http", "path_prefix": ""}


@pytest.fixture
def prometheus_cluster(connected_cluster, emulator):
    """The tenant's running cluster, with the sandbox's Prometheus service."""
    emulator.emulator.load_seed("sandbox-prometheus")
    return connected_cluster


def _save(client, cluster, **values):
    return client.post(reverse("monitoring:configure", args=[cluster.pk]), {**IN_CLUSTER, **values, "action": "save"})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_panels_draw_the_clusters_series_through_hub_and_agent(prometheus_cluster, emulator, tenant):
    client = client_for(tenant.main)
    page = client.get(reverse("monitoring:cluster", args=[prometheus_cluster.pk]))
    assert page.status_code == 200 and "No Prometheus endpoint is configured" in page.content.decode()

    response = _save(client, prometheus_cluster)
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert AuditEvent.objects.filter(action="monitoring:configure", target_id=str(prometheus_cluster.pk)).exists()

    html = client.get(reverse("monitoring:cluster", args=[prometheus_cluster.pk]) + "?range=6h").content.decode()
    for key in ("cpu", "memory", "nodes", "workloads", "restarts"):
        assert f'id="panel-{key}"' in html
    nodes = sorted(n["metadata"]["name"] for n in emulator.emulator.list_objects("v1", "Node"))
    # The nodes panel: one line per node of the cluster, each named in the chart and its table.
    nodes_panel = html.split('id="panel-nodes"')[1].split('id="panel-workloads"')[0]
    assert sorted(re.findall(r'class="ts-line" data-series="([^"]+)"', nodes_panel)) == nodes
    assert '<title id="chart-nodes-title">' in nodes_panel and "<table" in nodes_panel
    assert 'aria-current="true">6 hours' in html  # the range picker shows the chosen range

    # The API twin returns the same series: the allocatable CPU equals the nodes' allocatable.
    api = client.get(f"/api/v1/monitoring/clusters/{prometheus_cluster.pk}/panels/?range=1h").json()
    panels = {p["key"]: p for p in api["panels"]}
    assert all(not p["error"] for p in panels.values())
    allocatable = sum(quantity(n["status"]["allocatable"]["cpu"]) for n in emulator.emulator.list_objects("v1", "Node"))
    cpu = {s["name"]: s for s in panels["cpu"]["series"]}
    assert {point[1] for point in cpu["allocatable"]["points"]} == {allocatable}
    assert 0 < max(p[1] for p in cpu["used"]["points"]) < allocatable
    assert sorted(s["name"] for s in panels["nodes"]["series"]) == nodes
    pods = {f'{p["metadata"]["namespace"]}/{p["metadata"]["name"]}'
            for p in emulator.emulator.list_objects("v1", "Pod")}
    assert panels["workloads"]["series"] and {s["name"] for s in panels["workloads"]["series"]} <= pods
    assert len(panels["workloads"]["series"]) <= 5
    step = api["step"]
    assert all(b[0] - a[0] == step for a, b in zip(cpu["used"]["points"], cpu["used"]["points"][1:]))


def test_test_connection_reports_the_sandbox_prometheus(prometheus_cluster, tenant):
    client = client_for(tenant.main)
    _save(client, prometheus_cluster)
    response = client.post(reverse("monitoring:test", args=[prometheus_cluster.pk]), follow=True)
    html = response.content.decode()
    assert f"Connected to Prometheus {VERSION}" in html
    endpoint = PrometheusEndpoint.objects.get(cluster=prometheus_cluster)
    assert endpoint.check_ok is True and endpoint.checked_at
    api = client.post(f"/api/v1/monitoring/clusters/{prometheus_cluster.pk}/test/", {}, content_type="application/json")
    assert api.status_code == 200 and api.json()["ok"] is True


@pytest.mark.parametrize("values, message", [
    ({"service": "prom"}, "There is no Service prom in namespace monitoring of this cluster."),
    ({"namespace": "default", "service": "kubernetes", "port": "443"},
     "The Service default/kubernetes has no ready endpoints: is Prometheus running?"),
    ({"path_prefix": "/prometheus"}, "answered 404 Not Found for /api/v1/query: check that it is Prometheus"),
])
def test_a_wrong_service_gives_a_clear_message(prometheus_cluster, tenant, values, message):
    client = client_for(tenant.main)
    response = client.post(reverse("monitoring:configure", args=[prometheus_cluster.pk]),
                           {**IN_CLUSTER, **values, "action": "test"})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not PrometheusEndpoint.objects.filter(cluster=prometheus_cluster).exists()  # a test saves nothing


def test_a_wrong_external_url_gives_a_clear_message(prometheus_cluster, emulator, tenant, settings):
    client = client_for(tenant.main)
    url = f"http://127.0.0.1:{_free_port()}"
    refused = client.post(reverse("monitoring:configure", args=[prometheus_cluster.pk]),
                          {"mode": "external", "url": url, "scheme": "http", "action": "test"}).content.decode()
    assert "127.0.0.1 is a private or local address, which the console does not fetch." in refused

    settings.CCEONE_MONITORING_ALLOW_PRIVATE_URLS = True
    closed = client.post(reverse("monitoring:configure", args=[prometheus_cluster.pk]),
                         {"mode": "external", "url": url, "scheme": "http", "action": "test"}).content.decode()
    assert f"Could not connect to {url}" in closed
    # Something that answers, but not as Prometheus: a web page.
    with _web_page() as page_url:
        not_prometheus = client.post(reverse("monitoring:configure", args=[prometheus_cluster.pk]),
                                     {"mode": "external", "url": page_url, "scheme": "http",
                                      "action": "test"}).content.decode()
    assert f"{page_url} did not answer as the Prometheus API does: check the address and the path prefix." \
        in not_prometheus


@contextlib.contextmanager
def _web_page():
    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"<html><body>Welcome</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_an_external_prometheus_over_https_with_a_token(prometheus_cluster, tls_emulator, tenant, settings):
    """An external URL: here another API server's service proxy, which wants a bearer token."""
    settings.CCEONE_MONITORING_ALLOW_PRIVATE_URLS = True
    tls_emulator.emulator.load_seed("sandbox-prometheus")
    url = tls_emulator.url + "/api/v1/namespaces/monitoring/services/prometheus:9090/proxy"
    client = client_for(tenant.main)
    body = {"mode": "external", "url": url, "verify_tls": "", "scheme": "http"}
    denied = client.post(reverse("monitoring:configure", args=[prometheus_cluster.pk]), {**body, "action": "test"})
    assert "refused the request (HTTP 401): check the credentials." in denied.content.decode()
    response = client.put(f"/api/v1/monitoring/clusters/{prometheus_cluster.pk}/",
                          {**body, "verify_tls": False, "token": "admin-token"}, content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["has_token"] is True and "token" not in response.json()
    assert PrometheusEndpoint.objects.get(cluster=prometheus_cluster).token_encrypted != "admin-token"
    panels = client.get(f"/api/v1/monitoring/clusters/{prometheus_cluster.pk}/panels/").json()["panels"]
    assert all(not p["error"] for p in panels) and panels[2]["series"]


def test_the_form_says_what_is_missing(prometheus_cluster, tenant):
    client = client_for(tenant.main)
    response = client.post(reverse("monitoring:configure", args=[prometheus_cluster.pk]),
                           {"mode": "in_cluster", "namespace": "", "service": "", "scheme": "http", "action": "save"})
    html = response.content.decode()
    assert "Enter the namespace of the Prometheus service." in html
    assert "Enter the name of the Prometheus service." in html
    api = client.put(f"/api/v1/monitoring/clusters/{prometheus_cluster.pk}/",
                     {"mode": "external", "url": "http://prometheus.example.com", "token": "secret"},
                     content_type="application/json")
    assert api.status_code == 400 and api.json()["url"] == ["A bearer token is sent only over https://."]


def test_the_guide_shows_servicemonitor_and_podmonitor(tenant, db):
    html = client_for(tenant.user).get(reverse("monitoring:guide")).content.decode()
    assert "kind: ServiceMonitor" in html and "kind: PodMonitor" in html


def test_a_sandbox_cluster_is_offered_its_emulated_prometheus(prometheus_cluster, tenant):
    type(prometheus_cluster).objects.filter(pk=prometheus_cluster.pk).update(is_sandbox=True)
    client = client_for(tenant.main)
    form = client.get(reverse("monitoring:configure", args=[prometheus_cluster.pk])).content.decode()
    assert 'name="service" value="prometheus"' in form and 'name="namespace" value="monitoring"' in form
    _save(client, prometheus_cluster)
    html = client.get(reverse("monitoring:cluster", args=[prometheus_cluster.pk])).content.decode()
    assert 'id="sandbox-note"' in html and "This sandbox cluster's Prometheus is emulated" in html
    listed = client.get("/api/v1/monitoring/clusters/").json()["results"]
    assert [(c["id"], c["endpoint"]["service"]) for c in listed] == [(prometheus_cluster.pk, "prometheus")]
