"""Request ids carried console -> gateway -> hub -> agent -> API server and into the audit
log; the hub's Prometheus metrics scraped from its internal listener."""
import json
import logging

import requests

from cceone.kube.gateway import system_api_for
from cceone.logs import bind_request_id, json_formatter, unbind_request_id
from clusters.models import RegisteredCluster
from tests.factories import ClusterFactory

from .conftest import USER_TOKEN


def seen_request_ids(fake_api, path: str) -> list[str]:
    return [v for _m, p, headers in list(fake_api.api.requests) if p.startswith(path)
            for k, v in headers if k.lower() == "x-request-id"]


def test_the_console_request_id_reaches_the_api_server_through_the_gateway_hub_and_agent(
        db, settings, hub, directory, start_agent, fake_api, tenant):
    cluster = ClusterFactory(account=tenant.account, status=RegisteredCluster.Status.RUNNING)
    directory.add_cluster(str(cluster.pk), "agent-token-observed", tenant="t1")
    start_agent("agent-token-observed")
    settings.CCEONE_HUB_INTERNAL_URL = hub.internal_url
    settings.CCEONE_HUB_SECRET = hub.secret
    bound = bind_request_id("console-request-0001")
    try:
        # A plain request (no discovery: the fake API server answers nothing else), as the
        # gateway builds it for every console request.
        with system_api_for(cluster) as api:
            api.call_api("GET", api.configuration.host + "/api/v1/pods",
                         header_params=dict(api.default_headers)).read()
    finally:
        unbind_request_id(bound)
    assert seen_request_ids(fake_api, "/api/v1/pods") == ["console-request-0001"]


def test_a_kubeconfig_request_gets_an_id_and_the_hub_counts_it_in_metrics(hub, agent, fake_api):
    answer = requests.get(f"{hub.public_url}/k8s/clusters/c1/echo", headers={"Authorization": f"Bearer {USER_TOKEN}"},
                          timeout=10)
    assert answer.status_code == 200
    assert len(seen_request_ids(fake_api, "/echo")[0]) == 32  # one made by the hub
    refused = requests.get(f"{hub.public_url}/k8s/clusters/c1/echo", headers={"Authorization": "Bearer wrong"},
                           timeout=10)
    assert refused.status_code == 401
    scrape = requests.get(f"{hub.internal_url}/metrics", timeout=10)  # no secret, like /healthz
    assert scrape.status_code == 200
    text = scrape.text
    assert "cceone_hub_agent_connections 1.0" in text
    assert 'cceone_hub_requests_total{cluster="c1",listener="public"} 1.0' in text
    assert 'cceone_hub_auth_failures_total{listener="public",status="401"} 1.0' in text
    tunnel_in = [line for line in text.splitlines() if line.startswith('cceone_hub_tunnel_bytes_total{cluster="c1",direction="in"}')]
    assert tunnel_in and float(tunnel_in[0].split()[-1]) > 0
    assert "cceone_hub_frame_queue_bytes" in text and "cceone_hub_streams 0.0" in text


def test_json_logs_carry_the_request_id():
    formatter = json_formatter()
    record = logging.LogRecord("cceone.test", logging.WARNING, __file__, 1, "cluster %s slow", ("c1",), None)
    record.request_id = "console-request-0002"
    line = json.loads(formatter.format(record))
    assert line["event"] == "cluster c1 slow"
    assert line["level"] == "warning" and line["logger"] == "cceone.test"
    assert line["request_id"] == "console-request-0002"
    assert line["timestamp"].endswith("Z")
