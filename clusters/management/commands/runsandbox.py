"""Sandbox clusters for `make run`: three Kubernetes API emulators with realistic seed
objects, registered to the demo tenant, each reached through the access hub by a real
agent process — exactly the path a member cluster takes, minus the real cluster."""
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext_noop as N_  # status reasons: translated when shown

from cceone import crypto
from cceone.iam import mirror
from cceone.iam.models import Account, EnterpriseProject, Region
from clusters import connectivity
from clusters.models import CloudProviderCluster, RegisteredCluster
from clusters.sandbox_agents import mark_alive, sandbox_dir, take_requests
from clusters.transitions import change_status
from sandbox.kubesim.emulator import DEFAULT_TOKEN
from sandbox.kubesim.runner import EmulatorServer

SANDBOXES = [
    # name, type, provider, seed file
    ("sandbox-local", RegisteredCluster.Type.LOCAL, "On-premises (kubeadm)", "local-3node"),
    ("sandbox-thirdparty", RegisteredCluster.Type.THIRD_PARTY, "Alibaba Cloud ACK", "thirdparty-5node"),
    ("sandbox-cloud", RegisteredCluster.Type.CLOUD, "CCE managed", "cloud"),
]


# A sandbox agent that exits is started again after this pause, unless a user stopped it
# on purpose (`manage.py sandbox stop-agent NAME`: a marker file beside its token).
RESTART_PAUSE = float(os.environ.get("CCEONE_SANDBOX_RESTART_SECONDS", "5"))


def stopped_marker(workdir: Path, name: str) -> Path:
    return workdir / f"{name}.stopped"


class SandboxAgent:
    """One sandbox cluster's agent process: started, restarted after a pause when it dies,
    held stopped while its marker file exists."""

    def __init__(self, name: str, command: list[str], env: dict, workdir: Path, out):
        self.name, self.command, self.env, self.workdir, self.out = name, command, env, workdir, out
        self.process: subprocess.Popen | None = None
        self.start_after = 0.0

    def start(self) -> None:
        self.process = subprocess.Popen(self.command, env=self.env)
        (self.workdir / f"{self.name}.pid").write_text(str(self.process.pid))

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None

    def tend(self) -> None:
        held = stopped_marker(self.workdir, self.name).exists()
        running = self.process is not None and self.process.poll() is None
        if held:
            if running:
                self.stop()
                self.out(f"sandbox agent of {self.name} stopped; `manage.py sandbox start-agent {self.name}` "
                         "starts it again")
            return
        if running:
            return
        now = time.monotonic()
        if self.process is not None:  # it died: try again after a pause
            self.out(f"sandbox agent of {self.name} exited with {self.process.returncode}; "
                     f"restarting in {RESTART_PAUSE:g} s")
            self.process, self.start_after = None, now + RESTART_PAUSE
        if now >= self.start_after:
            self.start()
            self.out(f"sandbox agent of {self.name} started")


class Command(BaseCommand):
    help = "Run the sandbox clusters (emulators + agents) for the demo tenant until stopped."

    def add_arguments(self, parser):
        parser.add_argument("--account-owner", default="demo")
        parser.add_argument("--hub", default=None, help="hub URL for the agents (default: the public URL)")
        parser.add_argument("--ca-file", default=None, help="the hub's CA (default: the hub's TLS folder)")
        parser.add_argument("--workdir", default=None, help="tokens, kubeconfigs and markers (default: var/sandbox)")

    def handle(self, *args, account_owner, hub, ca_file, workdir, **options):
        account = Account.objects.filter(owner__username=account_owner).first()
        if account is None:
            raise CommandError(f"no account whose main user is {account_owner!r}: run seed_demo first")
        workdir = Path(workdir) if workdir else sandbox_dir()
        workdir.mkdir(parents=True, exist_ok=True)
        for name, *_rest in SANDBOXES:  # a new run starts every agent
            stopped_marker(workdir, name).unlink(missing_ok=True)
        hub_url = hub or settings.CCEONE_HUB_PUBLIC_URL
        ca_file = ca_file or str(Path(settings.CCEONE_HUB_TLS_DIR) / "ca.crt")
        env = {"PYTHONPATH": str(settings.BASE_DIR / "agent"), "PATH": "/usr/bin:/bin"}
        if "CCEONE_HEARTBEAT_INTERVAL" in os.environ:
            env["CCEONE_HEARTBEAT_INTERVAL"] = os.environ["CCEONE_HEARTBEAT_INTERVAL"]
        servers, agents = [], []
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())

        def say(line):
            self.stdout.write(line)
            self.stdout.flush()

        try:
            for name, cluster_type, provider, seed in SANDBOXES:
                server = EmulatorServer(seed_files=[seed, "sandbox-prometheus"], live_logs=5.0).start()
                servers.append(server)
                cluster, token = self._register(account, name, cluster_type, provider)
                token_file = workdir / f"{name}.token"
                token_file.write_text(token)
                token_file.chmod(0o600)
                kubeconfig = server.write_kubeconfig(workdir / f"{name}.kubeconfig")
                agents.append(SandboxAgent(name, [
                    sys.executable, "-m", "cceone_agent", "--hub", hub_url, "--token-file", str(token_file),
                    "--ca-file", ca_file, "--kubeconfig", kubeconfig, "--log-level", "warning"], env, workdir, say))
                say(f"sandbox cluster {name} (#{cluster.pk}): emulator {server.url}")
            servers.append(self._cloud_inventory(account, say))
            # One agent dying (or stopped on purpose) is the sandbox's business, not a reason
            # to end: under honcho, this process ending would stop the whole console.
            while not stop.is_set():
                mark_alive(workdir)
                for pk in take_requests(workdir):
                    started = self._agent_for_ordered(account, pk, workdir, hub_url, ca_file, env, say)
                    if started:
                        servers.append(started[0])
                        agents.append(started[1])
                for agent in agents:
                    agent.tend()
                stop.wait(0.5)
        finally:
            for agent in agents:
                agent.stop()
            for server in servers:
                server.stop()

    def _cloud_inventory(self, account, say) -> EmulatorServer:
        """A cluster of the "cloud's container service" the demo tenant can order as a cloud
        registered cluster (reached directly, no agent): an emulator the inventory points at."""
        server = EmulatorServer(seed_files=["cloud", "sandbox-prometheus"], tls=True, live_logs=5.0).start()
        cloud, _created = CloudProviderCluster.objects.update_or_create(
            account=account, name="cce-sandbox-managed",
            defaults={"region": Region.default(), "edition": CloudProviderCluster.Edition.MANAGED,
                      "api_endpoint": server.url, "is_running": True,
                      "ca_data": server.certificates.ca_pem.decode()})
        cloud.token = DEFAULT_TOKEN
        cloud.save(update_fields=["credentials_encrypted"])
        say(f"cloud inventory: {cloud.name} (order it as a cloud registered cluster): emulator {server.url}")
        return server

    def _agent_for_ordered(self, account, pk, workdir, hub_url, ca_file, env, say):
        """An emulator and an agent for a cluster the user ordered, with its own agent token."""
        cluster = RegisteredCluster.objects.filter(pk=pk, account=account).first()
        if cluster is None or not cluster.agent_token_encrypted:
            return None
        name = f"cluster-{cluster.pk}"
        server = EmulatorServer(seed_files=["local-3node", "sandbox-prometheus"], live_logs=5.0).start()
        token_file = workdir / f"{name}.token"
        token_file.write_text(crypto.decrypt(cluster.agent_token_encrypted))
        token_file.chmod(0o600)
        kubeconfig = server.write_kubeconfig(workdir / f"{name}.kubeconfig")
        agent = SandboxAgent(name, [
            sys.executable, "-m", "cceone_agent", "--hub", hub_url, "--token-file", str(token_file),
            "--ca-file", ca_file, "--kubeconfig", kubeconfig, "--log-level", "warning"], env, workdir, say)
        say(f"sandbox agent for ordered cluster {cluster.name} (#{cluster.pk}): emulator {server.url}")
        return server, agent

    @transaction.atomic
    def _register(self, account, name, cluster_type, provider):
        cluster = RegisteredCluster.objects.filter(account=account, name=name).first()
        if cluster is None:
            cluster = RegisteredCluster.objects.create(
                account=account, name=name, cluster_type=cluster_type, provider=provider, is_sandbox=True,
                region=Region.default(), enterprise_project=EnterpriseProject.objects.filter(
                    account=account, name="default").first(),
                status=RegisteredCluster.Status.PENDING_ACCESS, creator=account.owner, deletion_protection=False,
                connection_mode=RegisteredCluster.ConnectionMode.AGENT,
            )
            mirror.sync_anchor(cluster)
        # The emulators start afresh every time (nothing of the last run is in them): so do
        # their agents' credentials, and the clusters wait for their agents again — the first
        # heartbeat brings them to running, which also writes the platform's RBAC into them.
        token = connectivity.issue_agent_token(cluster)
        cluster.agent_token_encrypted = crypto.encrypt(token)
        cluster.save(update_fields=["agent_token_encrypted"])
        change_status(cluster, RegisteredCluster.Status.PENDING_ACCESS, N_("sandbox restarted"), audit=False)
        return cluster, token
