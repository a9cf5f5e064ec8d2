"""Fixtures: a fake API server, a hub on free ports, agents (thread or process).

Everything talks over real loopback sockets; heartbeat windows are shortened
to 0.5 s so liveness tests finish quickly.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
AGENT_DIR = ROOT / "agent"
# The agent is its own package (agent/); make it importable without installing.
if str(AGENT_DIR) not in sys.path:
    sys.path.insert(0, str(AGENT_DIR))

from cceone.hub import HubThread, InMemoryDirectory  # noqa: E402
from cceone_agent.kubeconfig import load_kubeconfig  # noqa: E402
from cceone_agent.tunnel import Agent  # noqa: E402

from .fakeapi import FakeAPIThread  # noqa: E402

WINDOW = 1.0

AGENT_TOKENS = {"c1": "agent-token-c1", "c2": "agent-token-c2", "c3": "agent-token-c3"}
USER_TOKEN = "user-token-alice"  # tenant t1: clusters c1, c2
OTHER_TENANT_CLUSTER = "c3"


def make_directory() -> InMemoryDirectory:
    d = InMemoryDirectory()
    d.add_cluster("c1", AGENT_TOKENS["c1"], tenant="t1")
    d.add_cluster("c2", AGENT_TOKENS["c2"], tenant="t1")
    d.add_cluster("c3", AGENT_TOKENS["c3"], tenant="t2")
    d.add_user_token(USER_TOKEN, "alice@example.com", groups=("team-a", "viewers"), tenant="t1")
    d.add_user_token("user-token-revoked", "mallory@example.com", tenant="t1")
    d.revoke_user_token("user-token-revoked")
    d.add_user_token("user-token-expired", "old@example.com", tenant="t1", ttl=-1)
    return d


def wait_until(pred, timeout: float = 5.0, interval: float = 0.02, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class AgentThread:
    """The real agent code on its own loop in a thread (fast to start)."""

    def __init__(self, hub_url: str, token: str, kubeconfig: str, **kwargs):
        kwargs.setdefault("heartbeat_interval", WINDOW)
        kwargs.setdefault("backoff_cap", 1.0)
        kwargs.setdefault("backoff_base", 0.1)
        kwargs.setdefault("shutdown_grace", 0.5)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="agent", daemon=True)
        self._thread.start()
        self.agent = Agent(hub_url, token, load_kubeconfig(kubeconfig), **kwargs)
        self.future = asyncio.run_coroutine_threadsafe(self.agent.run(), self.loop)

    def wait_connected(self, n: int = 1, timeout: float = 5.0) -> None:
        wait_until(lambda: self.agent.connections >= n and self.agent.connected and self.agent.connected.is_set(), timeout, what="agent connection")

    def stop(self) -> None:
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.agent.stop)
        try:
            self.future.result(10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(5)
            self.loop.close()


class AgentProcess:
    """The agent CLI as a separate process, for kill/restart scenarios."""

    def __init__(self, hub_url: str, token: str, kubeconfig: str, workdir: Path, *extra: str):
        workdir.mkdir(parents=True, exist_ok=True)
        self.token_file = workdir / f"token-{id(self)}"
        self.token_file.write_text(token + "\n")
        self.log_path = workdir / f"agent-{id(self)}.log"
        self._log = open(self.log_path, "wb")
        pythonpath = os.pathsep.join(filter(None, [str(AGENT_DIR), os.environ.get("PYTHONPATH")]))
        env = dict(os.environ, PYTHONPATH=pythonpath, PYTHONUNBUFFERED="1")
        cmd = [
            sys.executable, "-m", "cceone_agent",
            "--hub", hub_url,
            "--token-file", str(self.token_file),
            "--kubeconfig", kubeconfig,
            "--heartbeat-interval", str(WINDOW),
            "--backoff-base", "0.2",
            "--backoff-cap", "2",
            "--shutdown-grace", "1",
            "--log-level", "debug",
            *extra,
        ]
        self.proc = subprocess.Popen(cmd, env=env, stdout=self._log, stderr=subprocess.STDOUT, cwd=str(ROOT))

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._log.close()


@pytest.fixture
def fake_api():
    api = FakeAPIThread()
    yield api
    api.stop()


@pytest.fixture
def directory():
    return make_directory()


@pytest.fixture
def hub(directory):
    h = HubThread(directory, heartbeat_window=WINDOW)
    yield h
    h.stop()


@pytest.fixture
def kubeconfig(fake_api, tmp_path):
    return fake_api.kubeconfig(tmp_path / "agent-kubeconfig.json", token="agent-sa-token")


@pytest.fixture
def start_agent(hub, kubeconfig):
    started: list[AgentThread] = []

    def start(cluster: str = "c1", kubeconfig_path: str | None = None, wait: bool = True, **kwargs) -> AgentThread:
        a = AgentThread(hub.agent_url, AGENT_TOKENS.get(cluster, cluster), kubeconfig_path or kubeconfig, **kwargs)
        started.append(a)
        if wait:
            a.wait_connected()
        return a

    yield start
    for a in started:
        a.stop()


@pytest.fixture
def agent(start_agent):
    return start_agent("c1")


@pytest.fixture
def spawn_agent(hub, kubeconfig, tmp_path):
    procs: list[AgentProcess] = []

    def spawn(cluster: str = "c1", hub_url: str | None = None, *extra: str) -> AgentProcess:
        a = AgentProcess(hub_url or hub.agent_url, AGENT_TOKENS[cluster], kubeconfig, tmp_path, *extra)
        procs.append(a)
        return a

    yield spawn
    for a in procs:
        a.stop()


def kube_api(base_url: str, *, secret: str | None = None, token: str | None = None, ca_file: str | None = None, pool: int = 4):
    """The official client, pointed at the hub exactly as the console would."""
    from kubernetes import client

    cfg = client.Configuration()
    cfg.host = base_url
    cfg.connection_pool_maxsize = pool
    if token is not None:
        cfg.api_key = {"authorization": token}
        cfg.api_key_prefix = {"authorization": "Bearer"}
    if ca_file is not None:
        cfg.ssl_ca_cert = ca_file
    if secret is not None:
        api_client = client.ApiClient(cfg, header_name="X-Hub-Secret", header_value=secret)
    else:
        api_client = client.ApiClient(cfg)
    return client.CoreV1Api(api_client)


@pytest.fixture
def core(hub):
    """CoreV1Api for cluster c1 through the hub's internal listener."""
    return kube_api(f"{hub.internal_url}/clusters/c1", secret=hub.secret)
