"""Upgraded connections (exec, attach, port-forward) through hub and agent against kubesim:
megabytes both ways within the tunnel's credit, the hub's idle limit, a client that hangs up,
and the session reported to the directory."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from cceone.hub import HubThread
from sandbox.kubesim import EmulatorServer

from .conftest import WINDOW, AgentThread, wait_until

EXEC = "/clusters/c1/api/v1/namespaces/prod/pods/postgres-0/exec"


@pytest.fixture
def sim():
    with EmulatorServer(seed_files=["local-3node"]) as srv:
        yield srv


def _hub_and_agent(directory, sim, tmp_path, **hub_kwargs):
    hub = HubThread(directory, heartbeat_window=WINDOW, **hub_kwargs)
    agent = AgentThread(hub.agent_url, "agent-token-c1", sim.write_kubeconfig(tmp_path / "sim.kubeconfig"))
    agent.wait_connected()
    return hub, agent


@pytest.fixture
def tunnel(directory, sim, tmp_path):
    hub, agent = _hub_and_agent(directory, sim, tmp_path, session_idle_timeout=1.5)
    yield hub
    agent.stop()
    hub.stop()


def _exec(hub, session, command, stdin=True):
    query = "&".join([f"command={c}" for c in command] + ["stdout=true", "stderr=true"] + (["stdin=true"] if stdin else []))
    return session.ws_connect(f"{hub.internal_url}{EXEC}?{query}", protocols=("v5.channel.k8s.io",),
                              headers={"X-Hub-Secret": hub.secret, "Impersonate-User": "dba"}, max_msg_size=0)


async def _collect(ws) -> tuple[bytes, dict | None]:
    out, status = bytearray(), None
    async for msg in ws:
        if msg.type == aiohttp.WSMsgType.BINARY:
            if msg.data[0] == 1:
                out += msg.data[1:]
            elif msg.data[0] == 3:
                status = json.loads(msg.data[1:])
    return bytes(out), status


def test_megabytes_both_ways_within_the_credit(tunnel, directory, sim):
    """5 MB up the stdin channel and back from `cat`: 20 windows each way, nothing lost."""
    sim.emulator.put_object({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                             "metadata": {"name": "dba-edit"},
                             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
                             "subjects": [{"kind": "User", "name": "dba", "apiGroup": "rbac.authorization.k8s.io"}]})
    payload = bytes(range(256)) * 20_000  # 5,120,000 bytes

    async def run():
        async with aiohttp.ClientSession() as session, _exec(tunnel, session, ["cat"]) as ws:
            for i in range(0, len(payload), 100_000):
                await ws.send_bytes(b"\x00" + payload[i:i + 100_000])
            await ws.send_bytes(b"\xff\x00")  # v5: the client closed stdin
            return await _collect(ws)

    out, status = asyncio.run(asyncio.wait_for(run(), 60))
    assert out == payload and status["status"] == "Success"
    event = directory.wait_for("session", "c1", timeout=10)
    record = event.data
    assert record["kind"] == "exec" and record["pod"] == "postgres-0" and record["command"] == ["cat"]
    assert record["user"] == "dba" and record["status"] == 101
    assert record["bytes_in"] > len(payload) and record["bytes_out"] > len(payload)
    assert record["ended"] >= record["started"]


def test_rbac_refusal_is_an_answer_and_a_reported_session(tunnel, directory):
    async def run():
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                async with _exec(tunnel, session, ["ls"], stdin=False):
                    pass
            return refused.value.status

    assert asyncio.run(run()) == 403
    record = directory.wait_for("session", "c1", timeout=10).data
    assert record["status"] == 403 and record["bytes_in"] == 0


def test_an_idle_session_is_closed_by_the_hub(tunnel, directory, sim):
    sim.emulator.put_object({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                             "metadata": {"name": "dba-edit"},
                             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
                             "subjects": [{"kind": "User", "name": "dba", "apiGroup": "rbac.authorization.k8s.io"}]})

    async def run():
        async with aiohttp.ClientSession() as session, _exec(tunnel, session, ["cat"]) as ws:
            loop = asyncio.get_running_loop()
            started = loop.time()
            msg = await ws.receive(timeout=15)  # nothing to read until the hub gives up
            return msg.type, loop.time() - started

    kind, waited = asyncio.run(run())
    assert kind in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
    assert 1.4 < waited < 10
    record = directory.wait_for("session", "c1", timeout=10).data
    assert record["outcome"] == "idle timeout"
    conn = next(iter(tunnel.hub.connections))
    wait_until(lambda: not conn.streams, what="the stream to be released")


def test_a_client_hanging_up_ends_the_session_at_the_agent(tunnel, directory, sim):
    sim.emulator.put_object({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                             "metadata": {"name": "dba-edit"},
                             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
                             "subjects": [{"kind": "User", "name": "dba", "apiGroup": "rbac.authorization.k8s.io"}]})

    async def run():
        async with aiohttp.ClientSession() as session:
            ws = await _exec(tunnel, session, ["cat"])
            await ws.send_bytes(b"\x00half a line")
            await asyncio.sleep(0.2)
            await ws.close()

    asyncio.run(run())
    record = directory.wait_for("session", "c1", timeout=10).data
    assert record["outcome"] in ("closed", "closed by the client") and record["bytes_in"] > 10
    conn = next(iter(tunnel.hub.connections))
    wait_until(lambda: not conn.streams, what="the stream to be released")
