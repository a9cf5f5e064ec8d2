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
