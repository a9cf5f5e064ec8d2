"""Framing, malformed input, and the agent's pure helpers."""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
import urllib.request
from pathlib import Path

import aiohttp
import pytest

from cceone_tunnel import protocol as p

from .conftest import AGENT_TOKENS


def test_frame_round_trip():
    f = p.head_frame(p.REQUEST, 7, {"method": "GET", "path": "/x"}, b"body", end=True)
    ftype, flags, sid, payload = p.parse(f)
    assert (ftype, flags, sid) == (p.REQUEST, p.FLAG_END, 7)
    head, body = p.parse_head(payload)
    assert head == {"method": "GET", "path": "/x"} and bytes(body) == b"body"
    assert p.parse_window(p.parse(p.window_frame(3, 65536))[3]) == 65536
    for bad in (b"", b"\x01\x00", p.frame(p.WINDOW, 1, b"\x00\x00\x00\x00")):
        with pytest.raises(p.ProtocolError):
            ftype, _, _, payload = p.parse(bad)
            p.parse_window(payload)
    with pytest.raises(p.ProtocolError):
        p.parse_head(memoryview(b"\x00\x00\x00\xff{}"))
    with pytest.raises(p.ProtocolError):
        p.parse_headers([["a", "b\r\nInjected: 1"]])


def test_strip_hop_by_hop():
    h = [("Connection", "close, X-Private"), ("X-Private", "1"), ("Transfer-Encoding", "chunked"), ("Accept", "a"), ("Host", "h")]
    assert p.strip_hop_by_hop(h) == [("Accept", "a")]


async def _raw_agent(url: str, token: str, send) -> tuple[aiohttp.WSMsgType, int | None]:
    async with aiohttp.ClientSession() as s:
        async with s.ws_connect(url + "/agent/connect", headers={"Authorization": f"Bearer {token}"}, protocols=(p.SUBPROTOCOL,)) as ws:
            msg = await ws.receive(timeout=5)
            assert p.parse(msg.data)[0] == p.SETTINGS
            await send(ws)
            while True:
                msg = await ws.receive(timeout=5)
                if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                    return msg.type, ws.close_code


def _bin(data: bytes):
    async def send(ws):
        await ws.send_bytes(data)

    return send


async def _text(ws):
    await ws.send_str("hello")


async def _overrun_window(ws):
    # Ask nothing, but pretend to answer stream 1 with far more than its window.
    for _ in range(6):
        await ws.send_bytes(p.frame(p.DATA, 1, b"x" * 60000))


MALFORMED = {
    "short frame": _bin(b"\x07\x00"),
    "unknown type": _bin(p.frame(0x55, 0, b"??")),
    "heartbeat not JSON": _bin(p.frame(p.HEARTBEAT, 0, b"{not json")),
    "heartbeat not an object": _bin(p.frame(p.HEARTBEAT, 0, b"[1,2]")),
    "response without status": _bin(p.head_frame(p.RESPONSE, 1, {"headers": []})),
    "request from agent": _bin(p.head_frame(p.REQUEST, 1, {"method": "GET", "path": "/"})),
    "window of zero": _bin(p.frame(p.WINDOW, 1, b"\x00\x00\x00\x00")),
    "text frame": _text,
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_frame_closes_only_that_connection(agent, hub, case):
    ok_before = _get_seed(hub)
    kind, code = asyncio.run(_raw_agent(hub.agent_url, AGENT_TOKENS["c2"], MALFORMED[case]))
    assert code in (1002, 1003), (kind, code)
    # The other cluster's agent is untouched and the hub still serves it.
    assert ok_before == _get_seed(hub) == "seed-0"
    health = json.loads(urllib.request.urlopen(hub.internal_url + "/healthz", timeout=5).read())
    assert health["connections"] == 1


def test_flow_control_violation_closes_connection(hub, directory):
    """An agent ignoring its window would make the hub buffer without bound."""
    import socket

    async def scenario():
        async with aiohttp.ClientSession() as s:
            async with s.ws_connect(hub.agent_url + "/agent/connect", headers={"Authorization": f"Bearer {AGENT_TOKENS['c2']}"}, protocols=(p.SUBPROTOCOL,)) as ws:
                await ws.receive(timeout=5)  # SETTINGS
                # A client that never reads, so the hub cannot grant much credit.
                host, port = hub.internal_url.split("//")[1].split(":")
                sock = socket.socket()
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                sock.connect((host, int(port)))
                sock.sendall(f"GET /clusters/c2/stream HTTP/1.1\r\nHost: x\r\nX-Hub-Secret: {hub.secret}\r\n\r\n".encode())
                msg = await ws.receive(timeout=5)
                ftype, _, sid, _ = p.parse(msg.data)
                assert ftype == p.REQUEST
                await ws.send_bytes(p.head_frame(p.RESPONSE, sid, {"status": 200, "headers": []}))
                try:
                    for _ in range(170):  # ~10 MB, far beyond window + what the hub could pass on
                        await ws.send_bytes(p.frame(p.DATA, sid, b"x" * 60000))
                except ConnectionError:
                    pass
                while True:
                    msg = await ws.receive(timeout=5)
                    if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                        break
                sock.close()
                return ws.close_code

    assert asyncio.run(scenario()) == 1002


def test_ignorable_unknown_frame_is_skipped(hub, directory):
    async def scenario():
        async with aiohttp.ClientSession() as s:
            async with s.ws_connect(hub.agent_url + "/agent/connect", headers={"Authorization": f"Bearer {AGENT_TOKENS['c2']}"}, protocols=(p.SUBPROTOCOL,)) as ws:
                await ws.receive(timeout=5)
                await ws.send_bytes(p.frame(0x60, 0, b"future", p.FLAG_IGNORABLE))
                await ws.send_bytes(p.json_frame(p.HEARTBEAT, 0, {"agent_version": "x", "kubernetes": None, "nodes": [], "pod_requests": None, "errors": []}))
                ev = await asyncio.get_running_loop().run_in_executor(None, lambda: directory.wait_for("heartbeat", "c2", timeout=5))
                return ev, ws.closed

    ev, closed = asyncio.run(scenario())
    assert ev.data["agent_version"] == "x" and closed is False


def _get(hub, cluster: str, path: str):
    req = urllib.request.Request(f"{hub.internal_url}/clusters/{cluster}{path}", headers={"X-Hub-Secret": hub.secret})
    return json.loads(urllib.request.urlopen(req, timeout=10).read())


def _get_seed(hub) -> str:
    return _get(hub, "c1", "/api/v1/namespaces/default/pods/seed-0")["metadata"]["name"]


# -- agent helpers ---------------------------------------------------------------------

# The agent normalises quantities with its own parser (it carries no Kubernetes
# client); the console reads them with kubernetes.utils: both must agree.
@pytest.mark.parametrize("module", ["cceone_tunnel.quantity", "clusters.quantity"])
def test_quantities(module):
    import importlib

    q = importlib.import_module(module)
    cpu_millicores, memory_bytes = q.cpu_millicores, q.memory_bytes

    assert cpu_millicores("100m") == 100
    assert cpu_millicores("2") == 2000
    assert cpu_millicores("0.25") == 250
    assert cpu_millicores("1e3") == 1_000_000
    assert cpu_millicores("250u") == 1  # rounded up like the scheduler
    assert memory_bytes("128Mi") == 128 * 2**20
    assert memory_bytes("1G") == 10**9
    assert memory_bytes("1.5Gi") == 3 * 2**29
    assert memory_bytes("12e6") == 12_000_000
    with pytest.raises(ValueError):
        memory_bytes("12XB")


def test_pod_requests_follow_scheduler_rules():
    from cceone_agent.heartbeat import pod_requests, summarize_pods

    def c(cpu, mem, **kw):
        return {"name": "x", "resources": {"requests": {"cpu": cpu, "memory": mem}}, **kw}

    pod = {
        "spec": {
            "nodeName": "n1",
            "containers": [c("100m", "100Mi"), c("200m", "50Mi")],
            "initContainers": [c("1", "10Mi"), c("50m", "20Mi", restartPolicy="Always")],
            "overhead": {"cpu": "10m", "memory": "1Mi"},
        },
        "status": {"phase": "Running"},
    }
    # cpu: max(300+50 sidecar, 1000 init) + 10 overhead; mem: max(150+20, 10) + 1
    assert pod_requests(pod) == (1010, 171 * 2**20)
    done = {"spec": {"nodeName": "n1", "containers": [c("8", "8Gi")]}, "status": {"phase": "Failed"}}
    pending = {"spec": {"containers": [c("1", "1Gi")]}, "status": {"phase": "Pending"}}
    s = summarize_pods([pod, done, pending])
    assert s["total"] == {"cpu_millicores": 2010, "memory_bytes": 171 * 2**20 + 2**30, "pods": 2}
    assert s["per_node"] == {"n1": {"cpu_millicores": 1010, "memory_bytes": 171 * 2**20, "pods": 1}}
    assert s["unscheduled"]["pods"] == 1
    assert s["per_namespace"] == {"": {"cpu_millicores": 2010, "memory_bytes": 171 * 2**20 + 2**30, "pods": 2}}


def test_kubeconfig_loading(tmp_path):
    from cceone.hub import HubTLS
    from cceone_agent.kubeconfig import KubeConfigError, load_incluster, load_kubeconfig

    tls = HubTLS.ensure(tmp_path / "pki")
    ca_b64 = base64.b64encode(Path(tls.ca_file).read_bytes()).decode()
    (tmp_path / "tok").write_text("file-token\n")
    cfg = {
        "apiVersion": "v1",
        "current-context": "a",
        "clusters": [
            {"name": "ca", "cluster": {"server": "https://k8s.example:6443", "certificate-authority-data": ca_b64}},
            {"name": "insecure", "cluster": {"server": "https://10.0.0.1:6443/prefix/", "insecure-skip-tls-verify": True}},
        ],
        "users": [
            {"name": "tok", "user": {"token": "static-token"}},
            {"name": "file", "user": {"tokenFile": "tok"}},
            {"name": "cert", "user": {"client-certificate": tls.cert_file, "client-key": tls.key_file}},
            {"name": "exec", "user": {"exec": {"command": "aws"}}},
        ],
        "contexts": [
            {"name": "a", "context": {"cluster": "ca", "user": "tok"}},
            {"name": "b", "context": {"cluster": "insecure", "user": "file"}},
            {"name": "c", "context": {"cluster": "ca", "user": "cert"}},
            {"name": "d", "context": {"cluster": "ca", "user": "exec"}},
        ],
    }
    path = tmp_path / "kubeconfig"
    path.write_text(json.dumps(cfg))
    a = load_kubeconfig(path)
    assert a.server == "https://k8s.example:6443" and isinstance(a.ssl, ssl.SSLContext)
    assert a.auth_header() == "Bearer static-token"
    b = load_kubeconfig(path, "b")
    assert b.ssl is False and b.auth_header() == "Bearer file-token"
    assert b.server == "https://10.0.0.1:6443/prefix/"  # the prefix: test_tunnel_http.py
    c = load_kubeconfig(path, "c")
    assert isinstance(c.ssl, ssl.SSLContext) and c.auth_header() is None
    with pytest.raises(KubeConfigError, match="exec"):
        load_kubeconfig(path, "d")
    with pytest.raises(KubeConfigError, match="not found"):
        load_kubeconfig(path, "zzz")


def test_incluster_config(tmp_path, monkeypatch):
    from cceone.hub import HubTLS
    from cceone_agent.kubeconfig import KubeConfigError, load_incluster

    tls = HubTLS.ensure(tmp_path / "pki")
    sa = tmp_path / "sa"
    sa.mkdir()
    (sa / "ca.crt").write_bytes(Path(tls.ca_file).read_bytes())
    (sa / "token").write_text("sa-token-1")
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(KubeConfigError):
        load_incluster(sa)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "fd00::1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    t = load_incluster(sa)
    assert t.server == "https://[fd00::1]:443"
    assert t.auth_header() == "Bearer sa-token-1"
    import os
    (sa / "token").write_text("sa-token-2")  # kubelet rotates the projected token
    os.utime(sa / "token", (1, 1))
    assert t.auth_header() == "Bearer sa-token-2"
