"""Requests through hub + agent + API server, driven by the official client."""

from __future__ import annotations

import hashlib
import json
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from .conftest import kube_api, wait_until


def _pod_body(name: str) -> client.V1Pod:
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels={"app": "demo"}),
        spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="nginx")]),
    )


def _raw(url: str, secret: str | None, method: str = "GET", data: bytes | None = None, headers: dict | None = None, timeout: float = 10):
    h = dict(headers or {})
    if secret is not None:
        h["X-Hub-Secret"] = secret
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    return urllib.request.urlopen(req, timeout=timeout)


def test_list_get_create_patch_delete(agent, core, fake_api):
    pods = core.list_namespaced_pod("default")
    assert {p.metadata.name for p in pods.items} >= {"seed-0", "seed-1", "seed-2"}

    created = core.create_namespaced_pod("default", _pod_body("web-1"))
    assert created.metadata.name == "web-1" and created.metadata.uid

    got = core.read_namespaced_pod("web-1", "default")
    assert got.spec.containers[0].image == "nginx"

    patched = core.patch_namespaced_pod("web-1", "default", {"metadata": {"labels": {"tier": "frontend"}}})
    assert patched.metadata.labels == {"app": "demo", "tier": "frontend"}
    assert fake_api.api.pods[("default", "web-1")]["metadata"]["labels"]["tier"] == "frontend"

    core.delete_namespaced_pod("web-1", "default")
    with pytest.raises(ApiException) as exc:
        core.read_namespaced_pod("web-1", "default")
    assert exc.value.status == 404
    assert json.loads(exc.value.body)["reason"] == "NotFound"


def test_watch_receives_events(agent, core, hub, fake_api):
    events = []
    ready = threading.Event()

    def run():
        w = watch.Watch()
        ready.set()
        for ev in w.stream(core.list_namespaced_pod, "default", timeout_seconds=10):
            events.append((ev["type"], ev["object"].metadata.name))
            if len(events) == 3:
                w.stop()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    ready.wait()
    # The watch must be open at the API server before we change anything.
    creator = kube_api(f"{hub.internal_url}/clusters/c1", secret=hub.secret)
    wait_until(lambda: len(fake_api.api.watchers) == 1, 5, what="watch registered")
    creator.create_namespaced_pod("default", _pod_body("w-1"))
    creator.patch_namespaced_pod("w-1", "default", {"metadata": {"labels": {"x": "y"}}})
    creator.delete_namespaced_pod("w-1", "default")
    t.join(10)
    assert events == [("ADDED", "w-1"), ("MODIFIED", "w-1"), ("DELETED", "w-1")]


def test_watch_client_disconnect_cancels_upstream(agent, hub, fake_api):
    url = f"{hub.internal_url}/clusters/c1/api/v1/namespaces/default/pods?watch=true&timeoutSeconds=30"
    resp = _raw(url, hub.secret)
    wait_until(lambda: len(fake_api.api.watchers) == 1, what="watch open at the API server")
    fake_api.run(fake_api.api._event, "ADDED", {"metadata": {"name": "x", "namespace": "default"}})
    line = resp.readline()
    assert json.loads(line)["type"] == "ADDED"
    resp.close()  # the client hangs up ...
    # ... and the agent's upstream request is cancelled, long before its 30 s timeout.
    wait_until(lambda: fake_api.api.watch_closed == 1, 5, what="upstream watch closed")
    assert fake_api.api.watchers == []


def test_log_follow_streams(agent, core, fake_api):
    resp = core.read_namespaced_pod_log("seed-0", "default", follow=True, _preload_content=False)
    wait_until(lambda: fake_api.api.log_lines is not None, what="log stream open")
    got = []
    for i in range(3):
        fake_api.run(fake_api.api.log_lines.put_nowait, f"line {i}\n")
        # Each line must arrive on its own, while the stream stays open.
        data = resp.read(7)
        got.append(data.decode())
    assert got == ["line 0\n", "line 1\n", "line 2\n"]
    fake_api.run(fake_api.api.log_lines.put_nowait, None)
    assert resp.read() == b""
    resp.release_conn()


def test_large_list_intact(agent, core, fake_api, hub):
    cms = core.list_namespaced_config_map("big")
    assert len(cms.items) == 1000
    for i in (0, 517, 999):
        assert cms.items[i].data["blob"] == f"{i:08d}" * 750
    direct = urllib.request.urlopen(fake_api.url + "/api/v1/namespaces/big/configmaps").read()
    tunnelled = _raw(f"{hub.internal_url}/clusters/c1/api/v1/namespaces/big/configmaps", hub.secret).read()
    assert len(tunnelled) >= 5 * 1024 * 1024
    assert hashlib.sha256(tunnelled).hexdigest() == hashlib.sha256(direct).hexdigest()


def test_back_to_back_large_responses(agent, hub, fake_api):
    """Backpressure pauses the agent's upstream connection; a pooled
    connection must come back unpaused, or the next request would hang."""
    url = f"{hub.internal_url}/clusters/c1/api/v1/namespaces/big/configmaps"
    sizes = {len(_raw(url, hub.secret, timeout=5).read()) for _ in range(4)}
    assert len(sizes) == 1 and sizes.pop() >= 5 * 1024 * 1024


def test_large_request_body_streamed_intact(agent, hub):
    body = bytes(range(256)) * (6 * 4096 + 7)  # ~6 MB, not a multiple of any frame size
    # A generator forces chunked transfer: no Content-Length, streamed end to end.
    def gen():
        for i in range(0, len(body), 100_000):
            yield body[i : i + 100_000]

    import http.client

    host, port = hub.internal_url.split("//")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=20)
    conn.request("POST", "/clusters/c1/upload", body=gen(), headers={"X-Hub-Secret": hub.secret}, encode_chunked=True)
    out = json.loads(conn.getresponse().read())
    assert out == {"len": len(body), "sha256": hashlib.sha256(body).hexdigest()}
    # And with a Content-Length.
    out = json.loads(_raw(f"{hub.internal_url}/clusters/c1/upload", hub.secret, "POST", body).read())
    assert out == {"len": len(body), "sha256": hashlib.sha256(body).hexdigest()}


def test_50_concurrent_requests_over_one_connection(agent, hub, fake_api):
    core = kube_api(f"{hub.internal_url}/clusters/c1", secret=hub.secret, pool=50)
    barrier = threading.Barrier(50, timeout=10)

    def one(i):
        barrier.wait()
        return core.read_namespaced_pod(f"seed-{i % 3}", "default").metadata.name

    with ThreadPoolExecutor(50) as ex:
        names = list(ex.map(one, range(50)))
    assert names == [f"seed-{i % 3}" for i in range(50)]
    status = json.loads(_raw(f"{hub.internal_url}/clusters/c1/_status", hub.secret).read())
    assert len(status["connections"]) == 1


def test_concurrent_slow_requests_are_multiplexed(agent, hub, fake_api):
    """Requests overlap inside the tunnel: 20 x 1 s sleeps finish in ~1 s."""
    fake_api.run(setattr, fake_api.api, "sleep_for", 1.0)
    url = f"{hub.internal_url}/clusters/c1/sleep"
    t0 = time.monotonic()
    with ThreadPoolExecutor(20) as ex:
        codes = list(ex.map(lambda _: _raw(url, hub.secret, timeout=10).status, range(20)))
    assert codes == [200] * 20
    assert time.monotonic() - t0 < 5


def test_slow_client_is_backpressured_and_does_not_block_others(agent, hub, fake_api):
    import socket

    # A raw socket we never read from: the stream must stall, not buffer.
    host, port = hub.internal_url.split("//")[1].split(":")
    s = socket.create_connection((host, int(port)))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    s.sendall(
        f"GET /clusters/c1/api/v1/namespaces/default/pods/seed-0/log?follow=true HTTP/1.1\r\n"
        f"Host: x\r\nX-Hub-Secret: {hub.secret}\r\n\r\n".encode()
    )
    wait_until(lambda: fake_api.api.log_lines is not None, what="log stream open")
    total = 64 * 1024 * 1024
    chunk = "x" * (1024 * 1024 - 1) + "\n"
    for _ in range(total // len(chunk)):
        fake_api.run(fake_api.api.log_lines.put_nowait, chunk)
    time.sleep(1.0)
    # Other requests on the same agent connection still flow.
    core = kube_api(f"{hub.internal_url}/clusters/c1", secret=hub.secret)
    for _ in range(5):
        assert core.read_namespaced_pod("seed-1", "default").metadata.name == "seed-1"
    # The producer is held back: most of the 64 MB is still queued at the API server.
    queued = fake_api.call(_qsize(fake_api.api.log_lines))
    assert queued > 32, f"only {queued} MB left queued: the tunnel buffered the rest"
    # The hub holds at most one window for the stream.
    bufs = hub.call(_hub_buffered(hub.hub))
    assert bufs and max(bufs) <= hub.hub.window
    # Now drain: every byte arrives intact.
    fake_api.run(fake_api.api.log_lines.put_nowait, None)
    s.settimeout(20)
    received = bytearray()
    while True:
        data = s.recv(1 << 20)
        if not data:
            break
        received += data
        if received.endswith(b"0\r\n\r\n"):
            break
    s.close()
    body = received.split(b"\r\n\r\n", 1)[1]
    # de-chunk
    out, i = bytearray(), 0
    while True:
        j = body.index(b"\r\n", i)
        n = int(body[i:j], 16)
        if n == 0:
            break
        out += body[j + 2 : j + 2 + n]
        i = j + 2 + n + 2
    assert len(out) == (total // len(chunk)) * len(chunk)
    assert out.count(b"\n") == total // len(chunk)


async def _qsize(q):
    return q.qsize()


async def _hub_buffered(hub):
    return [st.buffered for c in hub.connections for st in c.streams.values()]


def test_cluster_without_agent_is_503(hub):
    with pytest.raises(urllib.error.HTTPError) as exc:
        _raw(f"{hub.internal_url}/clusters/c2/api/v1/namespaces", hub.secret)
    assert exc.value.code == 503
    status = json.loads(exc.value.read())
    assert status["kind"] == "Status"
    assert status["message"] == "cluster c2 is disconnected (no agent connected)"


def test_kubernetes_client_sees_503_status(hub):
    core = kube_api(f"{hub.internal_url}/clusters/c2", secret=hub.secret)
    with pytest.raises(ApiException) as exc:
        core.list_namespace()
    assert exc.value.status == 503
    assert "cluster c2 is disconnected" in exc.value.body


def test_dropped_connection_fails_in_flight_request_fast(hub, fake_api, spawn_agent, directory):
    proc = spawn_agent("c1")
    directory.wait_for("connected", "c1", timeout=10)
    result = {}

    def call():
        t0 = time.monotonic()
        try:
            _raw(f"{hub.internal_url}/clusters/c1/slow", hub.secret, timeout=20)
        except urllib.error.HTTPError as e:
            result["code"], result["body"] = e.code, json.loads(e.read())
        result["elapsed"] = time.monotonic() - t0

    t = threading.Thread(target=call)
    t.start()
    wait_until(lambda: fake_api.api.slow_started.is_set(), 10, what="request reached the API server")
    proc.kill()
    t.join(10)
    assert result["code"] == 502
    assert result["body"]["message"] == "cluster c1: agent connection lost"
    assert result["elapsed"] < 5  # not the 30 s the upstream would take


def test_hop_by_hop_and_query_encoding(agent, hub, fake_api):
    import http.client

    host, port = hub.internal_url.split("//")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    headers = {
        "X-Hub-Secret": hub.secret,
        "Connection": "keep-alive, X-Drop-Me",
        "X-Drop-Me": "1",
        "Keep-Alive": "timeout=5",
        "X-Keep": "yes",
        "Authorization": "Bearer not-for-upstream",
    }
    conn.request("GET", "/clusters/c1/echo?labelSelector=app%3Dweb%2Ctier%21%3Ddb&x=%2F", headers=headers)
    resp = conn.getresponse()
    assert resp.status == 200
    out = json.loads(resp.read())
    assert out["path_qs"] == "/echo?labelSelector=app%3Dweb%2Ctier%21%3Ddb&x=%2F"
    names = {k.lower(): v for k, v in out["headers"]}
    assert names["x-keep"] == "yes"
    assert "x-drop-me" not in names and "keep-alive" not in names and "x-hub-secret" not in names
    assert names["authorization"] == "Bearer agent-sa-token"  # the agent's own credentials


def test_api_server_unreachable_from_agent_is_502(hub, start_agent, tmp_path):
    import socket as _socket

    with _socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    kc = tmp_path / "dead.json"
    kc.write_text(json.dumps({
        "apiVersion": "v1", "current-context": "x",
        "clusters": [{"name": "x", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
        "users": [{"name": "x", "user": {"token": "t"}}],
        "contexts": [{"name": "x", "context": {"cluster": "x", "user": "x"}}],
    }))
    start_agent("c1", kubeconfig_path=str(kc))
    with pytest.raises(urllib.error.HTTPError) as exc:
        _raw(f"{hub.internal_url}/clusters/c1/api/v1/namespaces", hub.secret)
    assert exc.value.code == 502
    status = json.loads(exc.value.read())
    assert status["kind"] == "Status"
    assert status["message"].startswith("agent cannot reach the Kubernetes API server: cannot connect to 127.0.0.1:")
