"""Who may connect and whom requests act as."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request

import aiohttp
import pytest
from kubernetes.client.rest import ApiException

from cceone_tunnel import protocol as p

from .conftest import OTHER_TENANT_CLUSTER, USER_TOKEN, AgentThread, kube_api, wait_until


def _headers_of_last(fake_api, path: str) -> list[tuple[str, str]]:
    for method, path_qs, headers in reversed(fake_api.api.requests):
        if path_qs.split("?")[0] == path:
            return headers
    raise AssertionError(f"{path} never reached the API server")


def _values(headers, name):
    return [v for k, v in headers if k.lower() == name.lower()]


def test_bad_agent_token_refused_and_audited(hub, directory, kubeconfig):
    a = AgentThread(hub.agent_url, "not-a-real-token", kubeconfig)
    try:
        ev = directory.wait_for("refused", timeout=5)
        assert ev.key == "127.0.0.1"
        assert ev.data == "invalid agent token"
        time.sleep(0.3)
        assert a.agent.connections == 0
        assert directory.find("connected") == []
    finally:
        a.stop()


def test_agent_without_token_or_with_wrong_protocol_refused(hub, directory):
    async def attempt(headers, protocols):
        async with aiohttp.ClientSession() as s:
            try:
                async with s.ws_connect(hub.agent_url + "/agent/connect", headers=headers, protocols=protocols):
                    return 101
            except aiohttp.WSServerHandshakeError as exc:
                return exc.status

    assert asyncio.run(attempt({}, (p.SUBPROTOCOL,))) == 401
    assert directory.wait_for("refused").data == "missing agent token"
    assert asyncio.run(attempt({"Authorization": "Bearer agent-token-c1"}, ("cceone.tunnel.v0",))) == 400
    wait_until(lambda: any("unsupported tunnel protocol" in e.data for e in directory.find("refused")), what="refusal audit")
    assert directory.find("connected") == []


def test_junk_agent_tokens_are_reported_as_counts_and_rate_limited(hub, directory):
    """100 junk connections from one source: the directory hears of the first at once and of
    the rest as counts (not 100 calls); past 20 the source gets 429 without a token lookup."""
    looked_up = []
    authenticate = directory.authenticate_agent

    async def counting(token):
        looked_up.append(token)
        return await authenticate(token)

    directory.authenticate_agent = counting

    async def attempt(token):
        async with aiohttp.ClientSession() as s:
            try:
                async with s.ws_connect(hub.agent_url + "/agent/connect", headers={"Authorization": f"Bearer {token}"},
                                        protocols=(p.SUBPROTOCOL,)):
                    return 101
            except aiohttp.WSServerHandshakeError as exc:
                return exc.status

    async def flood():
        return [await attempt(f"junk-{i}") for i in range(100)]

    statuses = asyncio.run(flood())
    assert statuses[:20] == [401] * 20 and set(statuses[20:]) == {429}
    assert len(looked_up) == 20
    wait_until(lambda: directory.refused_counts.get("127.0.0.1") == 100, what="every refusal counted")
    assert len(directory.find("refused")) < 10
    # A good token from the same source is turned away too until the minute is over: the
    # limiter cannot tell it from the junk, and the agent retries with backoff.
    assert asyncio.run(attempt("agent-token-c1")) == 429


def test_kubeconfig_proxy_impersonates_directory_identity(agent, hub, fake_api):
    core = kube_api(f"{hub.public_url}/k8s/clusters/c1", token=USER_TOKEN)
    pods = core.list_namespaced_pod("default")
    assert {x.metadata.name for x in pods.items} >= {"seed-0"}
    h = _headers_of_last(fake_api, "/api/v1/namespaces/default/pods")
    assert _values(h, "Impersonate-User") == ["alice@example.com"]
    assert _values(h, "Impersonate-Group") == ["team-a", "viewers"]
    # The user's kubeconfig token never reaches the cluster; the agent's does.
    assert _values(h, "Authorization") == ["Bearer agent-sa-token"]


@pytest.mark.parametrize("header, value", [("Impersonate-User", "bob@example.com"),
                                           ("Impersonate-Group", "system:masters"),
                                           ("Impersonate-Extra-Scopes", "everything")])
def test_kubectl_as_is_refused_with_a_clear_message_not_run_as_the_caller(agent, hub, fake_api, header, value):
    """`kubectl --as=bob` must not silently act as the caller: 403 with a Status saying why."""
    core = kube_api(f"{hub.public_url}/k8s/clusters/c1", token=USER_TOKEN)
    core.api_client.set_default_header(header, value)
    before = len(fake_api.api.requests)
    with pytest.raises(ApiException) as refused:
        core.list_namespaced_pod("default")
    assert refused.value.status == 403
    status = json.loads(refused.value.body)
    assert status["kind"] == "Status" and status["reason"] == "Forbidden"
    assert "impersonation" in status["message"] and "--as" in status["message"]
    # Nothing of the refused request reached the cluster (the agent's own reads may have).
    assert not [r for r in fake_api.api.requests[before:] if r[1].startswith("/api/v1/namespaces/default/pods")]


def test_internal_listener_passes_gateway_impersonation(agent, hub, fake_api):
    core = kube_api(f"{hub.internal_url}/clusters/c1", secret=hub.secret)
    core.api_client.set_default_header("Impersonate-User", "bob@example.com")
    core.api_client.set_default_header("Impersonate-Group", "ops")
    core.read_namespaced_pod("seed-0", "default")
    h = _headers_of_last(fake_api, "/api/v1/namespaces/default/pods/seed-0")
    assert _values(h, "Impersonate-User") == ["bob@example.com"]
    assert _values(h, "Impersonate-Group") == ["ops"]
    assert _values(h, "X-Hub-Secret") == []


@pytest.mark.parametrize("token", ["no-such-token", "user-token-revoked", "user-token-expired", None])
def test_kubeconfig_proxy_401(agent, hub, token):
    core = kube_api(f"{hub.public_url}/k8s/clusters/c1", token=token)
    with pytest.raises(ApiException) as exc:
        core.list_namespaced_pod("default")
    assert exc.value.status == 401
    body = json.loads(exc.value.body)
    assert body["kind"] == "Status" and body["reason"] == "Unauthorized"


def test_kubeconfig_token_revoked_while_in_use(agent, hub, directory):
    directory.add_user_token("user-token-temp", "temp@example.com", tenant="t1")
    core = kube_api(f"{hub.public_url}/k8s/clusters/c1", token="user-token-temp")
    core.list_namespaced_pod("default")
    directory.revoke_user_token("user-token-temp")
    with pytest.raises(ApiException) as exc:
        core.list_namespaced_pod("default")
    assert exc.value.status == 401


@pytest.mark.parametrize("cluster", [OTHER_TENANT_CLUSTER, "does-not-exist"])
def test_kubeconfig_proxy_404_for_other_cluster(agent, hub, cluster):
    core = kube_api(f"{hub.public_url}/k8s/clusters/{cluster}", token=USER_TOKEN)
    with pytest.raises(ApiException) as exc:
        core.list_namespaced_pod("default")
    assert exc.value.status == 404
    body = json.loads(exc.value.body)
    assert body["reason"] == "NotFound" and body["message"] == f'clusters "{cluster}" not found'


def test_frozen_cluster_refused_on_kubeconfig_proxy(agent, hub, directory):
    directory.frozen.add("c1")
    core = kube_api(f"{hub.public_url}/k8s/clusters/c1", token=USER_TOKEN)
    with pytest.raises(ApiException) as exc:
        core.list_namespaced_pod("default")
    assert exc.value.status == 403
    assert "frozen" in json.loads(exc.value.body)["message"]


def test_internal_listener_requires_secret(agent, hub):
    url = f"{hub.internal_url}/clusters/c1/api/v1/namespaces/default/pods"
    for headers in ({}, {"X-Hub-Secret": "wrong"}, {"Authorization": "Bearer wrong"}):
        with pytest.raises(urllib.error.HTTPError) as exc:
            urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5)
        assert exc.value.code == 401
        assert json.loads(exc.value.read())["message"] == "missing or wrong hub secret"
    for path in ("/clusters/c1/_status",):
        with pytest.raises(urllib.error.HTTPError) as exc:
            urllib.request.urlopen(hub.internal_url + path, timeout=5)
        assert exc.value.code == 401
    # Either form of the secret works; a stock client can use a bearer token.
    core = kube_api(f"{hub.internal_url}/clusters/c1", token=hub.secret)
    assert core.read_namespaced_pod("seed-0", "default").metadata.name == "seed-0"
    health = json.loads(urllib.request.urlopen(hub.internal_url + "/healthz", timeout=5).read())
    assert health["status"] == "ok" and health["connections"] == 1
