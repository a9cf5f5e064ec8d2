"""Three hub replicas (real `manage.py runhub` processes on the test's database) behind one
load-balanced address, with one Redis as their routing directory; real agent processes dial
the balancer. Requests go to every replica; one replica is drained with SIGTERM, another
killed with SIGKILL."""
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import redis
import requests
import yaml
from django.db import connection

from cceone.hub.certs import HubTLS
from clusters import connectivity, kubeconfigs
from clusters.models import RegisteredCluster
from sandbox.balancer import BalancerThread
from tests.clusters.test_pod_sessions import POD
from tests.factories import ClusterFactory
from tests.live import AgentProcess, cluster_status, grant, wait_until

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("CCEONE_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
# Heartbeat window of the replicas: agents beat every 0.5 s (tests/live.py) and hear a ping
# every second; on this shared machine a shorter window drops agents that are fine.
WINDOW = 2.0
DRAIN_SECONDS = 4.0
CLUSTERS = 6


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Replica:
    """`manage.py runhub` as one replica of several (own ports, shared TLS, secret and Redis)."""

    def __init__(self, name: str, workdir: Path, env: dict, prefix: str):
        self.name = name
        self.ca_file = str(Path(env["CCEONE_HUB_TLS_DIR"]) / "ca.crt")
        self.public_port, self.internal_port = free_port(), free_port()
        self.log_path = workdir / f"hub-{name}.log"
        self._log = open(self.log_path, "wb")
        # The replica's own platform reads (billing's node check) go through its own internal
        # listener, which forwards to whichever replica holds the cluster.
        env = dict(env, CCEONE_HUB_INTERNAL_URL=self.internal_url)
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "runhub", "--public", f"127.0.0.1:{self.public_port}",
             "--internal", f"127.0.0.1:{self.internal_port}", "--heartbeat-window", str(WINDOW),
             "--redis-url", REDIS_URL, "--redis-prefix", prefix, "--replica-id", name,
             "--drain-seconds", str(DRAIN_SECONDS)],
            cwd=str(ROOT), env=env, stdout=self._log, stderr=subprocess.STDOUT)

    @property
    def public_url(self) -> str:
        return f"https://127.0.0.1:{self.public_port}"

    @property
    def internal_url(self) -> str:
        return f"http://127.0.0.1:{self.internal_port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self):
        wait_until(lambda: "routing directory" in self.log() or self.proc.poll() is not None, timeout=60,
                   what=f"hub replica {self.name} to start")
        assert self.proc.poll() is None, self.log()

    def connections(self) -> int:
        return requests.get(f"{self.internal_url}/healthz", timeout=5).json()["connections"]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._log.close()


@pytest.fixture
def replicas(transactional_db, settings, tmp_path, emulator):
    prefix = f"cceone:test:{uuid.uuid4().hex[:8]}:"
    tls_dir = tmp_path / "hub-tls"
    tls = HubTLS.ensure(tls_dir, hostnames=["localhost", "127.0.0.1"])
    secret = "replica-secret-" + uuid.uuid4().hex
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="cceone.settings_test", PYTHONUNBUFFERED="1",
               CCEONE_TEST_WORKER_DB=str(connection.settings_dict["NAME"]), CCEONE_HUB_TLS_DIR=str(tls_dir),
               CCEONE_HUB_SECRET=secret, CCEONE_HUB_HEARTBEAT_WINDOW=str(WINDOW))
    hubs = [Replica(name, tmp_path, env, prefix) for name in ("hub-a", "hub-b", "hub-c")]
    public = internal = None
    try:
        for hub in hubs:
            hub.wait_ready()
        ready = [f"{h.public_url}/readyz" for h in hubs]
        public = BalancerThread([("127.0.0.1", h.public_port) for h in hubs], ready)
        internal = BalancerThread([("127.0.0.1", h.internal_port) for h in hubs], ready)
        settings.CCEONE_HUB_TLS_DIR = str(tls_dir)
        settings.CCEONE_HUB_SECRET = secret
        settings.CCEONE_HUB_INTERNAL_URL = f"http://127.0.0.1:{internal.port}"
        settings.CCEONE_HUB_PUBLIC_URL = settings.CCEONE_HUB_PRIVATE_URL = f"wss://127.0.0.1:{public.port}"
        settings.CCEONE_HUB_KUBECONFIG_URL = f"https://127.0.0.1:{public.port}"
        settings.CCEONE_HUB_HEARTBEAT_WINDOW = WINDOW
        yield {"hubs": hubs, "public": public, "ca": tls.ca_file, "prefix": prefix,
               "redis": redis.Redis.from_url(REDIS_URL)}
    finally:
        for balancer in (public, internal):
            if balancer is not None:
                balancer.stop()
        for hub in hubs:
            hub.stop()
        r = redis.Redis.from_url(REDIS_URL)
        for key in r.scan_iter(f"{prefix}*"):
            r.delete(key)


def route_of(ctx, cluster) -> tuple[int, str]:
    value = ctx["redis"].get(f"{ctx['prefix']}route:{cluster.pk}")
    if value is None:
        return 0, ""
    epoch, replica, _address = value.decode().split("|", 2)
    return int(epoch), replica


def get(hub, cluster, token, path="/api/v1/namespaces", **kwargs):
    return requests.get(f"{hub.public_url}/k8s/clusters/{cluster.pk}{path}", headers={"Authorization": f"Bearer {token}"},
                        verify=hub.ca_file, timeout=kwargs.pop("timeout", 10), **kwargs)


def test_three_replicas_route_every_cluster_drain_and_survive_a_kill(replicas, tenant, emulator, tmp_path):
    hubs = replicas["hubs"]
    kubeconfig = emulator.write_kubeconfig(tmp_path / "agent-kubeconfig.yaml")
    grant(emulator, tenant.main, "view")
    clusters, agents = [], []
    for i in range(CLUSTERS):
        cluster = ClusterFactory(account=tenant.account, status=RegisteredCluster.Status.PENDING_ACCESS,
                                 name=f"edge-{i:02d}")
        token = connectivity.issue_agent_token(cluster)
        agents.append(AgentProcess(f"wss://127.0.0.1:{replicas['public'].port}", token, replicas["ca"], kubeconfig,
                                   tmp_path / f"agent-{i}"))
        clusters.append(cluster)
    try:
        for cluster in clusters:
            wait_until(lambda: cluster_status(cluster) == "running", timeout=30, what=f"{cluster.name} to run")
        # Agents spread over the replicas: each holds some, the routing directory says which.
        wait_until(lambda: all(route_of(replicas, c)[0] for c in clusters), what="every route")
        holders = {c.pk: route_of(replicas, c)[1] for c in clusters}
        assert set(holders.values()) == {"hub-a", "hub-b", "hub-c"}, holders
        assert [h.connections() for h in hubs] == [list(holders.values()).count(h.name) for h in hubs]

        # Every cluster answers through every replica (forwarded one hop where not held).
        tokens = {}
        for cluster in clusters:
            issued, config = kubeconfigs.issue(tenant.main, cluster)
            tokens[cluster.pk] = yaml.safe_load(config)["users"][0]["user"]["token"]
            if cluster is clusters[0]:
                issued_first, token = issued, tokens[cluster.pk]
        for cluster in clusters:
            for hub in hubs:
                response = get(hub, cluster, tokens[cluster.pk])
                assert response.status_code == 200, (hub.name, holders[cluster.pk], response.text)
                assert any(ns["metadata"]["name"] == "default" for ns in response.json()["items"])
        # Each replica's /metrics: its agents, and the requests it forwarded to the holders.
        forwarded = 0
        for hub in hubs:
            text = requests.get(f"{hub.internal_url}/metrics", timeout=5).text
            assert f"cceone_hub_agent_connections {float(list(holders.values()).count(hub.name))}" in text
            assert f'cceone_hub_replica_info{{replica="{hub.name}"}} 1.0' in text
            forwarded += float(re.search(r"^cceone_hub_forwarded_requests_total (\S+)", text, re.M).group(1))
        assert forwarded == len(clusters) * 2  # each cluster asked once through each of the two others
        # ... and through the gateway, as the console reaches it (the internal address).
        from cceone.kube.gateway import client_for

        for cluster in clusters:
            names = [n.metadata.name for n in client_for(cluster, tenant.main).resources.get(
                api_version="v1", kind="Namespace").get().items]
            assert "default" in names

        # kubectl exec through every replica: the upgraded connection is spliced to the holder.
        emulator.emulator.put_object({"apiVersion": "v1", "kind": "ConfigMap",
                                      "metadata": {"name": "web-config", "namespace": "default"},
                                      "data": {"MODE": "demo", "app.conf": "listen 8080\n"}})
        emulator.emulator.put_object(POD)
        grant(emulator, tenant.main, "edit", namespace="default")
        _issued, config = kubeconfigs.issue(tenant.main, clusters[1])
        for hub in hubs:
            document = yaml.safe_load(config)
            document["clusters"][0]["cluster"]["server"] = f"{hub.public_url}/k8s/clusters/{clusters[1].pk}"
            path = tmp_path / f"exec-{hub.name}.yaml"
            path.write_text(yaml.safe_dump(document))
            ran = subprocess.run(["kubectl", "--kubeconfig", str(path), "--request-timeout", "20s", "exec", "web",
                                  "--", "sh", "-c", "echo $GREETING from $MODE"],
                                 capture_output=True, text=True, timeout=60, env={**os.environ, "HOME": str(tmp_path)})
            assert ran.returncode == 0 and ran.stdout.strip() == "hello from demo", (hub.name, ran.stderr)

        # A revoked kubeconfig is refused on every replica.
        kubeconfigs.revoke(tenant.main, issued_first)
        for hub in hubs:
            assert get(hub, clusters[0], token).status_code == 401, hub.name

        # A disconnect sent to one replica reaches the one holding the tunnel: the agent
        # reconnects (its token is still good) and takes its route over with a higher epoch.
        target = next(c for c in clusters if holders[c.pk] != "hub-a")
        epoch_before = route_of(replicas, target)[0]
        closed = requests.post(f"{hubs[0].internal_url}/clusters/{target.pk}/_disconnect",
                               headers={"X-Hub-Secret": requests_secret()}, timeout=10).json()["closed"]
        assert closed == 1
        wait_until(lambda: route_of(replicas, target)[0] > epoch_before, what="the agent to come back")

        # SIGTERM drain of hub-b: requests keep succeeding through the balancer, a request in
        # flight on hub-b finishes, an open watch ends cleanly, its agents move elsewhere.
        holders = {c.pk: route_of(replicas, c)[1] for c in clusters}
        drained = hubs[1]
        on_b = [c for c in clusters if holders[c.pk] == "hub-b"] or [clusters[1]]
        failures, done = [], threading.Event()
        balancer_url = f"https://127.0.0.1:{replicas['public'].port}"

        def load():
            i = 0
            while not done.is_set():
                cluster = clusters[1 + i % (len(clusters) - 1)]
                i += 1
                try:
                    r = requests.get(f"{balancer_url}/k8s/clusters/{cluster.pk}/api/v1/namespaces",
                                     headers={"Authorization": f"Bearer {tokens[cluster.pk]}"}, verify=replicas["ca"],
                                     timeout=10)
                    if r.status_code != 200:
                        failures.append((cluster.name, r.status_code, r.text[:200]))
                except requests.RequestException as exc:
                    failures.append((cluster.name, "error", str(exc)))
                time.sleep(0.02)

        loaders = [threading.Thread(target=load) for _ in range(2)]
        for t in loaders:
            t.start()
        # A watch that ends on its own within the deadline, and one that outlives it.
        short = get(drained, on_b[0], tokens[on_b[0].pk], "/api/v1/namespaces?watch=1&timeoutSeconds=2",
                    stream=True, timeout=30)
        long = get(drained, on_b[0], tokens[on_b[0].pk], "/api/v1/namespaces?watch=1", stream=True, timeout=30)
        assert short.status_code == long.status_code == 200
        time.sleep(0.5)
        started = time.monotonic()
        drained.proc.send_signal(signal.SIGTERM)
        short_body = short.raw.read()  # a clean end: no exception
        assert b"ADDED" in short_body
        long_body = long.raw.read()
        ended_after = time.monotonic() - started
        assert b"ADDED" in long_body
        assert ended_after >= DRAIN_SECONDS - 1, ended_after
        drained.proc.wait(30)
        assert drained.proc.returncode == 0, drained.log()[-3000:]
        assert "hub replica draining" in "".join(a.log() for a in agents)
        for cluster in clusters:
            wait_until(lambda: route_of(replicas, cluster)[1] in ("hub-a", "hub-c"), what="routes off hub-b")
        time.sleep(1)
        done.set()
        for t in loaders:
            t.join(30)
        assert not failures, failures[:10]

        # SIGKILL hub-a: its agents reconnect to hub-c within 10 s and every cluster answers.
        killed = hubs[0]
        os.kill(killed.proc.pid, signal.SIGKILL)
        killed.proc.wait(10)
        killed_at = time.monotonic()
        survivor = hubs[2]
        waiting = []

        def all_answer():
            ok = True
            for cluster in clusters[1:]:
                r = get(survivor, cluster, tokens[cluster.pk])
                if r.status_code != 200:
                    waiting.append((r.status_code, r.headers.get("Retry-After")))
                    ok = False
            return ok

        wait_until(all_answer, timeout=10, what="every cluster through the surviving replica")
        assert time.monotonic() - killed_at < 10
        # While an agent was reconnecting the answer said when to retry, never an error.
        assert all(status == 503 and retry for status, retry in waiting), waiting
        assert all(route_of(replicas, c)[1] == "hub-c" for c in clusters[1:])
        assert all(cluster_status(c) == "running" for c in clusters)
    finally:
        for agent in agents:
            agent.kill()


def requests_secret() -> str:
    from django.conf import settings

    return settings.CCEONE_HUB_SECRET
