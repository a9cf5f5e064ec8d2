"""Who may act as a cluster's agent, and what one connection's word is worth (issue 11):
agent tokens rotate with a grace period, refused connections do not flood the audit log,
a rogue connection cannot inflate billing, and losing IAM access cuts kubectl off at once.
Real hub, real agents, the emulator."""
import asyncio
import ssl
import threading
import time
from datetime import timedelta
from decimal import Decimal

import aiohttp
from django.utils import timezone

from cceone.audit.models import AuditEvent
from cceone_tunnel import protocol as p
from clusters import kubeconfigs, tasks
from clusters.models import ClusterHeartbeat, RegisteredCluster
from clusters.status import hub_status
from tests.clusters.test_connectivity import kubectl
from tests.conftest import client_for
from tests.live import cluster_status, grant, wait_until


def _ssl(live_hub):
    return ssl.create_default_context(cafile=live_hub.ca_file)


def _connect_status(live_hub, token: str) -> int:
    """Open an agent connection with `token` and close it; the HTTP status of the handshake."""

    async def attempt():
        async with aiohttp.ClientSession() as session:
            try:
                async with session.ws_connect(f"wss://127.0.0.1:{live_hub.public_port}/agent/connect",
                                              headers={"Authorization": f"Bearer {token}"},
                                              protocols=(p.SUBPROTOCOL,), ssl=_ssl(live_hub)):
                    return 101
            except aiohttp.WSServerHandshakeError as error:
                return error.status

    return asyncio.run(attempt())


class RogueAgent:
    """A connection holding a valid agent token that lies: it heartbeats whatever facts it
    is given and refuses every request routed to it."""

    def __init__(self, live_hub, token: str, facts: dict):
        self.facts = facts
        self.requests = 0
        self.connected = threading.Event()
        self._stop = None
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._run(live_hub, token),),
                                       daemon=True)
        self.thread.start()

    async def _run(self, live_hub, token):
        self._stop = asyncio.Event()
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(f"wss://127.0.0.1:{live_hub.public_port}/agent/connect",
                                          headers={"Authorization": f"Bearer {token}",
                                                   "X-CCEOne-Agent-Instance": "rogue"},
                                          protocols=(p.SUBPROTOCOL,), ssl=_ssl(live_hub)) as ws:
                await ws.receive()  # SETTINGS
                self.connected.set()

                async def beat():
                    while True:
                        await ws.send_bytes(p.json_frame(p.HEARTBEAT, 0, self.facts))
                        await asyncio.sleep(0.2)

                async def refuse():
                    async for message in ws:
                        ftype, _flags, sid, _payload = p.parse(message.data)
                        if ftype == p.REQUEST:
                            self.requests += 1
                            await ws.send_bytes(p.reset_frame(sid, p.RESET_REFUSED, "rogue"))

                tasks_ = [asyncio.ensure_future(beat()), asyncio.ensure_future(refuse())]
                await self._stop.wait()
                for t in tasks_:
                    t.cancel()

    def stop(self):
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self.thread.join(10)


def test_a_rogue_connection_cannot_inflate_the_billed_vcpu(connected_cluster, live_hub):
    cluster = connected_cluster
    honest = ClusterHeartbeat.objects.filter(cluster=cluster).first().vcpu
    assert honest > 0
    lie = {"kubernetes": {"gitVersion": "v1.31.4"}, "nodes": [
        {"name": f"fake-{i}", "ready": True, "labels": {},
         "capacity": {"cpu_millicores": 1_000_000}, "allocatable": {"cpu_millicores": 1_000_000}}
        for i in range(10)], "pod_requests": None, "errors": []}
    rogue = RogueAgent(live_hub, cluster.agent_token, lie)
    try:
        assert rogue.connected.wait(10)
        started = timezone.now()
        # The rogue's facts are recorded (the hub takes its heartbeats)...
        wait_until(lambda: len((RegisteredCluster.objects.get(pk=cluster.pk).facts or {}).get("nodes") or []) == 10,
                   what="the rogue's heartbeat to be recorded")
        wait_until(lambda: ClusterHeartbeat.objects.filter(cluster=cluster, time__gte=started, nodes_total=10).count()
                   >= 3, what="several heartbeats from the rogue")
    finally:
        rogue.stop()
    # The extra connection is in the audit log with its address and instance name...
    assert AuditEvent.objects.filter(action="clusters:agent-connected", target_id=str(cluster.pk),
                                     details__instance="rogue", details__connections__gte=2).exists()
    # ...and never billed above what the platform itself lists through the tunnel.
    billed = ClusterHeartbeat.objects.filter(cluster=cluster, time__gte=started).values_list("vcpu", flat=True)
    assert max(billed) <= honest, f"billed {max(billed)} vCPU on the rogue's word, the cluster has {honest}"
    assert Decimal(cluster.facts["platform_read"]["vcpu"]) == honest


def test_rotated_agent_token_works_for_a_grace_period_then_is_refused(connected_cluster, live_hub, start_agent,
                                                                     tenant, settings):
    cluster, hub = connected_cluster, live_hub
    old_token = cluster.agent_token
    settings.CCEONE_AGENT_TOKEN_GRACE_MINUTES = 10
    client = client_for(tenant.main)
    rotated = client.post(f"/api/v1/clusters/{cluster.pk}/rotate-agent-token/")
    assert rotated.status_code == 202  # accepted: the worker re-issues them
    assert AuditEvent.objects.filter(action="clusters:rotate-agent-token", target_id=str(cluster.pk),
                                     actor=tenant.main).exists()
    new_yaml = client.get(f"/api/v1/clusters/{cluster.pk}/agent-yaml/").content.decode()
    assert old_token not in new_yaml

    # Within the grace period the running agent and its token still work...
    assert _connect_status(hub, old_token) == 101
    new_token = new_yaml.split('token: "', 1)[1].split('"', 1)[0]
    new_agent = start_agent(new_token)
    wait_until(lambda: len((hub_status(cluster) or {}).get("connections") or []) >= 2,
               what="the new agent alongside the old one")

    # ...once it is over, the sweep cuts the old agent off and its token is refused.
    RegisteredCluster.objects.filter(pk=cluster.pk).update(
        previous_agent_token_expires_at=timezone.now() - timedelta(seconds=1))
    assert tasks.sweep_connectivity()["agent_tokens_expired"] == 1
    assert _connect_status(hub, old_token) == 401
    wait_until(lambda: "hub refused the agent: HTTP 401" in cluster.agent.log(), what="the old agent refused")
    # Only the old token's connections were closed: the new agent serves on, no status flap.
    assert "hub refused the agent" not in new_agent.log()
    assert (hub_status(cluster) or {}).get("connected")
    assert cluster_status(cluster) == "running"
    assert list(AuditEvent.objects.filter(action="clusters:status", target_id=str(cluster.pk))
                .values_list("details__to", flat=True)) == ["running"]


def test_junk_agent_tokens_are_rate_limited_and_audited_once_per_source_and_minute(live_hub, tenant):
    # The hub limits per source and minute of time.monotonic(); the directory folds the counts into
    # one row per wall-clock minute (the rest arrive on the hub's next tick, seconds later). Start
    # where the 100 attempts and that tick fit in one minute of both clocks, or they split.
    def left():
        return min(60 - time.monotonic() % 60, 60 - time.time() % 60)

    while left() < 20:
        time.sleep(left() + 0.1)
    statuses = [_connect_status(live_hub, f"cca_junk-{i}") for i in range(100)]
    assert statuses.count(401) == 20, "after 20 refusals a source is not even looked up"
    assert set(statuses[20:]) == {429}
    wait_until(lambda: AuditEvent.objects.filter(action="clusters:agent-refused").first() is not None
               and AuditEvent.objects.filter(action="clusters:agent-refused").first().details.get("count") == 100,
               what="all refusals counted")
    rows = AuditEvent.objects.filter(action="clusters:agent-refused")
    assert rows.count() == 1
    assert rows.get().details["remote_ip"] == "127.0.0.1" and rows.get().result == "denied"


def test_losing_iam_access_cuts_kubectl_off_without_waiting_for_rbac(connected_cluster, emulator, tenant, tmp_path,
                                                                     settings):
    from cceone.iam import services as iam_services

    settings.CCEONE_HUB_IAM_CACHE_SECONDS = 0.5
    grant(emulator, tenant.user, "view")  # the Kubernetes binding stays: only IAM changes
    _issued, config = kubeconfigs.issue(tenant.user, connected_cluster)
    assert kubectl(config, tmp_path, "get", "ns").returncode == 0
    iam_services.update_sub_account(tenant.main, tenant.user, email="", phone="", is_active=True, groups=[])

    def refused():
        result = kubectl(config, tmp_path, "get", "ns")
        return result if result.returncode != 0 else None

    result = wait_until(refused, timeout=5, what="kubectl refused within seconds")
    assert "no longer has access" in result.stderr and "Forbidden" in result.stderr
