"""POST /clusters/<id>/_disconnect: the product revokes a cluster's agents."""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request

import pytest

from .conftest import AGENT_TOKENS, wait_until


def _call(hub, cluster: str, op: str, method: str = "GET", secret: str | None = "default"):
    headers = {} if secret is None else {"X-Hub-Secret": hub.secret if secret == "default" else secret}
    req = urllib.request.Request(f"{hub.internal_url}/clusters/{cluster}/{op}", method=method, headers=headers, data=b"" if method == "POST" else None)
    return urllib.request.urlopen(req, timeout=10)


def _status(hub, cluster: str) -> dict:
    return json.loads(_call(hub, cluster, "_status").read())


def test_disconnect_closes_all_connections_and_revoked_token_stays_out(hub, directory, start_agent, fake_api, caplog):
    caplog.set_level(logging.INFO, logger="cceone_agent")
    a1 = start_agent("c1")
    a2 = start_agent("c1")
    wait_until(lambda: len(_status(hub, "c1")["connections"]) == 2, what="two connections")
    directory.wait_for("connected", "c1")

    # A request in flight (the API server would take 30 s) must fail at once.
    result = {}

    def slow():
        t0 = time.monotonic()
        try:
            _call(hub, "c1", "slow")
        except urllib.error.HTTPError as e:
            result["code"], result["body"] = e.code, json.loads(e.read())
        result["elapsed"] = time.monotonic() - t0

    t = threading.Thread(target=slow)
    t.start()
    wait_until(lambda: fake_api.api.slow_started.is_set(), 10, what="request reached the API server")

    # The product revokes the token (unsubscribe), then asks the hub to cut the agents off.
    directory.revoke_agent_token(AGENT_TOKENS["c1"])
    since = time.monotonic()
    t0 = time.monotonic()
    out = json.loads(_call(hub, "c1", "_disconnect", method="POST").read())
    assert out == {"closed": 2}
    assert time.monotonic() - t0 < 2

    t.join(10)
    assert result["code"] == 502
    assert "cluster access revoked" in result["body"]["message"]
    assert result["elapsed"] < 5

    # Both agents saw the hub close them with 4003, and cannot come back.
    wait_until(lambda: not a1.agent.connected.is_set() and not a2.agent.connected.is_set(), what="agents disconnected")
    wait_until(lambda: sum("hub closed the connection (code 4003)" in r.getMessage() for r in caplog.records) >= 2,
               what="close code 4003 seen by both agents")
    ev = directory.wait_for("refused", since=since, timeout=10)
    assert ev.data == "invalid agent token"
    directory.wait_for("lost", "c1", since=since, timeout=5)  # at once, not after two windows
    time.sleep(0.5)
    assert a1.agent.connections == 1 and a2.agent.connections == 1
    st = _status(hub, "c1")
    assert st["connections"] == [] and st["connected"] is False
    with pytest.raises(urllib.error.HTTPError) as exc:
        _call(hub, "c1", "api/v1/namespaces")
    assert exc.value.code == 503

    # Idempotent: nothing left to close.
    assert json.loads(_call(hub, "c1", "_disconnect", method="POST").read()) == {"closed": 0}


def test_disconnect_leaves_other_clusters_alone(hub, start_agent):
    start_agent("c1")
    start_agent("c2")
    assert json.loads(_call(hub, "c2", "_disconnect", method="POST").read()) == {"closed": 1}
    assert len(_status(hub, "c1")["connections"]) == 1
    assert json.loads(_call(hub, "nope", "_disconnect", method="POST").read()) == {"closed": 0}


def test_disconnect_needs_secret_and_post(hub, start_agent):
    start_agent("c1")
    for secret in (None, "wrong"):
        with pytest.raises(urllib.error.HTTPError) as exc:
            _call(hub, "c1", "_disconnect", method="POST", secret=secret)
        assert exc.value.code == 401
    with pytest.raises(urllib.error.HTTPError) as exc:
        _call(hub, "c1", "_disconnect", method="GET")
    assert exc.value.code == 405
    assert len(_status(hub, "c1")["connections"]) == 1
