"""The agent as the product deploys it: bare wss:// hub URL, health probes."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request

import pytest

from cceone.hub import HubThread, HubTLS

from .conftest import AGENT_TOKENS, WINDOW, AgentProcess, wait_until


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _probe(port: int, path: str) -> int:
    try:
        return urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2).status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return 0  # not listening (yet)


@pytest.mark.parametrize(
    "given, url",
    [
        ("wss://hub.example.com:9443", "wss://hub.example.com:9443/agent/connect"),
        ("wss://hub.example.com:9443/", "wss://hub.example.com:9443/agent/connect"),
        ("wss://hub.example.com:9443/agent/connect", "wss://hub.example.com:9443/agent/connect"),
        ("https://hub.example.com:9443", "wss://hub.example.com:9443/agent/connect"),
        ("http://127.0.0.1:8000/", "ws://127.0.0.1:8000/agent/connect"),
        ("hub.example.com:9443", "wss://hub.example.com:9443/agent/connect"),
        ("wss://proxy.example.com/cceone-hub/", "wss://proxy.example.com/cceone-hub/agent/connect"),
        ("wss://[::1]:9443", "wss://[::1]:9443/agent/connect"),
    ],
)
def test_hub_url_forms(given, url):
    from cceone_agent.tunnel import _connect_url

    assert _connect_url(given) == url


def test_hub_url_rejects_other_schemes():
    from cceone_agent.tunnel import _connect_url

    with pytest.raises(ValueError):
        _connect_url("ftp://hub.example.com")


def test_health_addr_parsing():
    from cceone_agent.health import parse_addr

    assert parse_addr(":8080") == (None, 8080)
    assert parse_addr("0.0.0.0:8080") == ("0.0.0.0", 8080)
    assert parse_addr("127.0.0.1:9") == ("127.0.0.1", 9)
    assert parse_addr("[::1]:8080") == ("::1", 8080)
    for bad in ("8080", "host:", "host:port", ":99999"):
        with pytest.raises(ValueError):
            parse_addr(bad)


def test_agent_process_bare_wss_url_and_health_probes(tmp_path, directory, kubeconfig, fake_api):
    tls = HubTLS.ensure(tmp_path / "hub")
    hub = HubThread(directory, heartbeat_window=WINDOW, tls=tls)
    health = _free_port()
    # Exactly what the product hands out: scheme, host and port, no path.
    bare = f"wss://127.0.0.1:{hub.public_port}"
    agent = AgentProcess(bare, AGENT_TOKENS["c1"], kubeconfig, tmp_path, "--ca-file", tls.ca_file, "--health-addr", f":{health}")
    new = None
    try:
        wait_until(lambda: _probe(health, "/healthz") == 200, 15, what="agent health endpoint")
        wait_until(lambda: _probe(health, "/readyz") == 200, 10, what="agent ready")
        directory.wait_for("connected", "c1", timeout=5)
        assert _probe(health, "/nope") == 404
        req = urllib.request.Request(
            f"{hub.internal_url}/clusters/c1/api/v1/namespaces/default/pods/seed-0", headers={"X-Hub-Secret": hub.secret}
        )
        assert json.loads(urllib.request.urlopen(req, timeout=5).read())["metadata"]["name"] == "seed-0"

        # Hub gone: still alive, no longer ready.
        ports = dict(public_port=hub.public_port, internal_port=hub.internal_port)
        hub.stop()
        wait_until(lambda: _probe(health, "/readyz") == 503, 5, what="agent not ready")
        assert _probe(health, "/healthz") == 200
        time.sleep(0.5)
        assert _probe(health, "/readyz") == 503  # stays so while reconnects fail
        assert agent.proc.poll() is None, agent.log()

        # Hub back: ready again.
        new = HubThread(directory, heartbeat_window=WINDOW, tls=tls, secret=hub.secret, **ports)
        wait_until(lambda: _probe(health, "/readyz") == 200, 10, what="agent ready after hub restart")
        log = agent.log()
        assert "health endpoints on *:" in log
        assert "Traceback" not in log, log
    finally:
        agent.stop()
        if new is not None:
            new.stop()
        hub.stop()


class FakeHub:
    """A scripted hub: `script(ws)` runs for each agent connection after SETTINGS."""

    def __init__(self, script, ping_interval: float = 15.0):
        import asyncio
        import threading

        from aiohttp import web

        from cceone_tunnel import protocol as p

        self.connects: list[float] = []
        self.loop = asyncio.new_event_loop()

        async def connect(request):
            ws = web.WebSocketResponse(protocols=(p.SUBPROTOCOL,), autoping=True)
            await ws.prepare(request)
            self.connects.append(time.monotonic())
            settings = {"protocol": 1, "cluster_id": "c1", "connection_id": "c1/x", "heartbeat_interval": 30.0,
                        "ping_interval": ping_interval}
            await ws.send_bytes(p.json_frame(p.SETTINGS, 0, settings))
            await script(ws)
            return ws

        async def start():
            app = web.Application()
            app.router.add_get("/agent/connect", connect)
            runner = web.AppRunner(app)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            return runner, runner.addresses[0][1]

        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.runner, port = asyncio.run_coroutine_threadsafe(start(), self.loop).result(10)
        self.url = f"ws://127.0.0.1:{port}"

    def stop(self) -> None:
        import asyncio

        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


def test_agent_reconnects_when_hub_goes_silent(kubeconfig, caplog):
    """Three missed pings (no frame at all) mean a dead path: reconnect."""
    import logging

    from .conftest import AgentThread

    caplog.set_level(logging.WARNING, logger="cceone_agent")

    async def silent(ws):
        async for _ in ws:  # read (heartbeats) but never send anything again
            pass

    hub = FakeHub(silent, ping_interval=0.2)
    agent = AgentThread(hub.url, AGENT_TOKENS["c1"], kubeconfig, heartbeat_interval=30.0)
    try:
        wait_until(lambda: len(hub.connects) >= 2, 8, what="reconnect after silence")
        idle = 3 * 0.2 + 1
        # Not before the idle timeout, and not much after it (watchdog
        # granularity is a quarter of it, plus reconnect backoff).
        gap = hub.connects[1] - hub.connects[0]
        assert idle - 0.05 <= gap <= idle + idle / 4 + 1.5, gap
        assert any("no traffic from hub for 1.6s" in r.getMessage() for r in caplog.records)
    finally:
        agent.stop()
        hub.stop()


def test_request_reset_before_its_task_runs(kubeconfig, fake_api):
    """REQUEST and RESET read in one batch: the upstream request the reader
    already sent is dropped, nothing leaks, the connection keeps serving."""
    import asyncio

    import aiohttp

    from cceone_tunnel import protocol as p

    from .conftest import AgentThread

    result = {}

    async def script(ws):
        async def frames():
            while True:
                msg = await ws.receive(timeout=10)
                if msg.type is not aiohttp.WSMsgType.BINARY:
                    return
                yield p.parse(msg.data)

        it = frames()
        async for ftype, _, _, _ in it:  # first heartbeat: the agent's pool now has idle connections
            if ftype == p.HEARTBEAT:
                break
        watch = p.head_frame(p.REQUEST, 1, {"method": "GET", "path": "/api/v1/namespaces/default/pods?watch=true", "headers": []}, end=True)
        # Both frames in one write, so the agent reads them in one batch.
        ws._writer.transport.write(_ws_frame(watch) + _ws_frame(p.reset_frame(1, p.RESET_CANCEL, "client went away")))
        await ws.send_bytes(p.head_frame(p.REQUEST, 3, {"method": "GET", "path": "/version", "headers": []}, end=True))
        async for ftype, _, sid, payload in it:
            if ftype == p.RESPONSE:
                head, body = p.parse_head(payload)
                result.setdefault("responses", []).append((sid, head["status"]))
                if sid == 3:
                    result["version"] = bytes(body)
                    await asyncio.sleep(0.5)  # nothing may follow for stream 1
                    return
            elif ftype == p.DATA:
                result.setdefault("data", []).append(sid)

    hub = FakeHub(script)
    agent = AgentThread(hub.url, AGENT_TOKENS["c1"], kubeconfig, heartbeat_interval=30.0)
    try:
        wait_until(lambda: "version" in result, 10, what="answer on stream 3")
        assert result["responses"] == [(3, 200)], result
        assert "data" not in result
        assert b"gitVersion" in result["version"]
        # The watch either never reached the API server or was closed there.
        wait_until(lambda: fake_api.api.watchers == [], 5, what="no watch left open upstream")
    finally:
        agent.stop()
        hub.stop()


def _ws_frame(payload: bytes) -> bytes:
    """An unmasked binary WebSocket frame (server to client)."""
    n = len(payload)
    if n < 126:
        return bytes([0x82, n]) + payload
    if n < 1 << 16:
        return bytes([0x82, 126]) + n.to_bytes(2, "big") + payload
    return bytes([0x82, 127]) + n.to_bytes(8, "big") + payload
