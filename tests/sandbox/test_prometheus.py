"""The sandbox Prometheus behind kubesim's Service proxy: Prometheus's answers and errors, over HTTP."""
import time

import pytest
import requests

from sandbox.kubesim.prometheus import VERSION, quantity
from sandbox.kubesim.runner import EmulatorServer

BASE = "/api/v1/namespaces/monitoring/services/prometheus:9090/proxy"


@pytest.fixture(scope="module")
def server():
    with EmulatorServer(seed_files=["local-3node", "sandbox-prometheus"]) as running:
        yield running


def get(server, path, **params):
    return requests.get(server.url + path, params=params, headers={"Authorization": "Bearer admin-token"}, timeout=10)


def test_buildinfo_names_the_sandbox(server):
    assert get(server, BASE + "/api/v1/status/buildinfo").json()["data"]["version"] == VERSION


def test_query_range_follows_the_cluster(server):
    now = time.time()
    answer = get(server, BASE + "/api/v1/query_range", query='sum(kube_node_status_allocatable{resource="cpu"})',
                 start=now - 600, end=now, step="60s").json()
    assert answer["status"] == "success" and answer["data"]["resultType"] == "matrix"
    [series] = answer["data"]["result"]
    nodes = server.emulator.list_objects("v1", "Node")
    assert len(series["values"]) == 11
    assert {float(v) for _, v in series["values"]} == {sum(quantity(n["status"]["allocatable"]["cpu"]) for n in nodes)}
    by_pod = get(server, BASE + "/api/v1/query", query="sum by (namespace, pod) "
                 "(kube_pod_container_status_restarts_total)").json()["data"]["result"]
    assert {r["metric"]["pod"] for r in by_pod} == {p["metadata"]["name"]
                                                     for p in server.emulator.list_objects("v1", "Pod")}
    assert get(server, BASE + "/api/v1/query", query="no_such_metric").json()["data"]["result"] == []


def test_errors_are_prometheus_errors(server):
    too_many = get(server, BASE + "/api/v1/query_range", query="up", start=0, end=100000, step=1)
    assert too_many.status_code == 400 and too_many.json()["errorType"] == "bad_data"
    assert get(server, BASE + "/api/v1/query").json()["errorType"] == "bad_data"
    assert get(server, BASE + "/graph").status_code == 404


def test_other_services_have_no_endpoints_and_missing_ones_are_not_found(server):
    other = get(server, "/api/v1/namespaces/default/services/kubernetes:443/proxy/api/v1/query", query="up")
    assert other.status_code == 503 and 'no endpoints available for service "kubernetes"' in other.json()["message"]
    missing = get(server, "/api/v1/namespaces/monitoring/services/nope:9090/proxy/api/v1/query", query="up")
    assert missing.status_code == 404 and missing.json()["reason"] == "NotFound"
