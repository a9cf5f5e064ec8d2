"""Connections, heartbeats, loss and reconnection (agents as real processes)."""

from __future__ import annotations

import json
import signal
import time
import urllib.request

from cceone.hub import HubThread

from .conftest import WINDOW, wait_until


def _status(hub, cluster: str) -> dict:
    req = urllib.request.Request(f"{hub.internal_url}/clusters/{cluster}/_status", headers={"X-Hub-Secret": hub.secret})
    return json.loads(urllib.request.urlopen(req, timeout=5).read())


def test_heartbeat_facts_reach_directory(agent, directory, fake_api):
    directory.wait_for("connected", "c1")
    ev = directory.wait_for("heartbeat", "c1")
    facts = ev.data
    assert facts["kubernetes"]["gitVersion"] == "v1.31.0-fake"
    assert facts["errors"] == []
    nodes = {n["name"]: n for n in facts["nodes"]}
    assert set(nodes) == {"node-a", "node-b"}
    a = nodes["node-a"]
    assert a["ready"] is True
    assert a["capacity"] == {"cpu_millicores": 4000, "memory_bytes": 16 * 2**30, "pods": 110}
    assert a["allocatable"] == {"cpu_millicores": 3800, "memory_bytes": 15 * 2**30, "pods": 110}
    assert a["labels"] == {"kubernetes.io/hostname": "node-a"}
    assert nodes["node-b"]["taints"] == [{"key": "dedicated", "value": "infra", "effect": "NoSchedule"}]
    # 3 running seed pods at 100m/64Mi; the Succeeded pod (4 CPUs) is excluded.
    pr = facts["pod_requests"]
    assert pr["total"] == {"cpu_millicores": 300, "memory_bytes": 3 * 64 * 2**20, "pods": 3}
    assert pr["per_node"]["node-a"] == {"cpu_millicores": 200, "memory_bytes": 2 * 64 * 2**20, "pods": 2}
    assert pr["per_node"]["node-b"]["cpu_millicores"] == 100
    # Per namespace too, what showback weighs a cluster-hour's charge by.
    assert pr["per_namespace"] == {"default": {"cpu_millicores": 300, "memory_bytes": 3 * 64 * 2**20, "pods": 3}}
    # The agent asked the API server to filter server-side.
    assert any(
        "fieldSelector=status.phase%21%3DSucceeded%2Cstatus.phase%21%3DFailed" in path for _, path, _ in fake_api.api.requests
    )


def test_heartbeat_collection_falls_back_without_field_selector_support(agent, directory, fake_api):
    # The fake rejects any selector it does not know with 400; make it reject ours.
    fake_api.run(setattr, fake_api.api, "reject_selectors", True)
    since = time.monotonic()
    ev = directory.wait_for("heartbeat", "c1", since=since + 0.05)
    ev = directory.wait_for("heartbeat", "c1", since=ev.at + 0.001)
    assert ev.data["pod_requests"]["total"]["pods"] == 3  # filtered client-side
    assert ev.data["errors"] == []


def test_status_endpoint_reports_connection(agent, hub):
    wait_until(lambda: _status(hub, "c1")["rtt_ms"] is not None, 5, what="first ping round trip")
    st = _status(hub, "c1")
    assert st["connected"] is True
    assert len(st["connections"]) == 1
    c = st["connections"][0]
    assert c["agent_version"] == "0.1.0"
    assert c["last_heartbeat"] is not None and st["last_heartbeat"] is not None
    assert 0 <= c["rtt_ms"] < 1000
    assert _status(hub, "c2") == {"cluster": "c2", "connected": False, "connections": [], "last_heartbeat": None, "rtt_ms": None}


def test_two_agent_connections_used_in_turn(hub, start_agent, fake_api, tmp_path):
    kc_a = fake_api.kubeconfig(tmp_path / "a.json", token="sa-token-A")
    kc_b = fake_api.kubeconfig(tmp_path / "b.json", token="sa-token-B")
    start_agent("c1", kubeconfig_path=kc_a)
    start_agent("c1", kubeconfig_path=kc_b)
    assert len(_status(hub, "c1")["connections"]) == 2
    before = len(fake_api.api.requests)
    for _ in range(10):
        req = urllib.request.Request(f"{hub.internal_url}/clusters/c1/echo", headers={"X-Hub-Secret": hub.secret})
        urllib.request.urlopen(req, timeout=5).read()
    used = [dict((k.lower(), v) for k, v in h)["authorization"] for m, path, h in fake_api.api.requests[before:] if path == "/echo"]
    assert len(used) == 10
    # Strict alternation: round robin, not random.
    assert all(used[i] != used[i + 1] for i in range(9)), used
    assert set(used) == {"Bearer sa-token-A", "Bearer sa-token-B"}


def test_agent_killed_then_lost_then_back(hub, directory, spawn_agent):
    proc = spawn_agent("c1")
    directory.wait_for("connected", "c1", timeout=10)
    directory.wait_for("heartbeat", "c1", timeout=5)
    # Alive and heartbeating: no loss over several windows.
    time.sleep(4 * WINDOW)
    assert directory.find("lost", "c1") == []
    assert proc.proc.poll() is None, proc.log()
    killed = time.monotonic()
    proc.kill()
    lost = directory.wait_for("lost", "c1", timeout=5)
    # Last heartbeat was at most one window before the kill; two windows of
    # silence (+ one reaper tick of slack) declare it lost.
    assert lost.at - killed <= 2 * WINDOW + 0.3, lost.at - killed
    assert directory.state["c1"] == "disconnected"
    # Back again.
    since = time.monotonic()
    spawn_agent("c1")
    directory.wait_for("connected", "c1", since=since, timeout=10)
    directory.wait_for("heartbeat", "c1", since=since, timeout=5)
    assert directory.state["c1"] == "running"


def test_hub_restart_agents_reconnect(hub, directory, spawn_agent, fake_api):
    procs = [spawn_agent("c1"), spawn_agent("c2")]
    for c in ("c1", "c2"):
        directory.wait_for("connected", c, timeout=10)
    ports = dict(public_port=hub.public_port, internal_port=hub.internal_port)
    hub.stop()
    time.sleep(0.5)
    restarted = time.monotonic()
    new = HubThread(directory, heartbeat_window=WINDOW, secret=hub.secret, **ports)
    try:
        for c in ("c1", "c2"):
            ev = directory.wait_for("connected", c, since=restarted, timeout=10)
            assert ev.at - restarted < 10
        req = urllib.request.Request(f"{new.internal_url}/clusters/c2/api/v1/namespaces/default/pods/seed-0", headers={"X-Hub-Secret": new.secret})
        assert json.loads(urllib.request.urlopen(req, timeout=5).read())["metadata"]["name"] == "seed-0"
    finally:
        new.stop()
    for p in procs:
        assert p.proc.poll() is None, p.log()


def test_agent_sigterm_closes_cleanly(hub, directory, spawn_agent, fake_api):
    proc = spawn_agent("c1")
    directory.wait_for("connected", "c1", timeout=10)
    # A follow stream in flight: SIGTERM must not hang on it forever.
    resp = urllib.request.urlopen(
        urllib.request.Request(
            f"{hub.internal_url}/clusters/c1/api/v1/namespaces/default/pods/seed-0/log?follow=true",
            headers={"X-Hub-Secret": hub.secret},
        ),
        timeout=10,
    )
    wait_until(lambda: fake_api.api.log_lines is not None, what="log stream open")
    t0 = time.monotonic()
    proc.proc.send_signal(signal.SIGTERM)
    assert proc.proc.wait(10) == 0
    assert time.monotonic() - t0 < 1 + 3  # grace (1 s) plus shutdown work
    log = proc.log()
    assert "shutting down: draining 1 stream(s)" in log
    # The client's stream ended (aborted, since it cannot finish cleanly).
    try:
        resp.read()
    except Exception:
        pass
    # The hub saw a normal close and no longer routes to the agent.
    wait_until(lambda: _status(hub, "c1")["connections"] == [], 5, what="connection gone")
    assert "Traceback" not in log, log
