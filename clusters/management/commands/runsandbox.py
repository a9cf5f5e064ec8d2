"""Sandbox clusters for `make run`: three Kubernetes API emulators with realistic seed
objects, registered to the demo tenant, each reached through the access hub by a real
agent process — exactly the path a member cluster takes, minus the real cluster."""
import signal
import subprocess
import sys
import threading
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext_noop as N_  # status reasons: translated when shown

from cceone import crypto
from cceone.iam import mirror
from cceone.iam.models import Account, EnterpriseProject, Region
from clusters import connectivity
from clusters.models import RegisteredCluster
from clusters.transitions import change_status
from sandbox.kubesim.runner import EmulatorServer

SANDBOXES = [
    # name, type, provider, seed file
    ("sandbox-local", RegisteredCluster.Type.LOCAL, "On-premises (kubeadm)", "local-3node"),
    ("sandbox-thirdparty", RegisteredCluster.Type.THIRD_PARTY, "Alibaba Cloud ACK", "thirdparty-5node"),
    ("sandbox-cloud", RegisteredCluster.Type.CLOUD, "CCE managed", "cloud"),
]


class Command(BaseCommand):
    help = "Run the sandbox clusters (emulators + agents) for the demo tenant until stopped."

    def add_arguments(self, parser):
        parser.add_argument("--account-owner", default="demo")
        parser.add_argument("--hub", default=None, help="hub URL for the agents (default: the public URL)")

    def handle(self, *args, account_owner, hub, **options):
        account = Account.objects.filter(owner__username=account_owner).first()
        if account is None:
            raise CommandError(f"no account whose main user is {account_owner!r}: run seed_demo first")
        workdir = Path(settings.VAR_DIR) / "sandbox"
        workdir.mkdir(parents=True, exist_ok=True)
        hub_url = hub or settings.CCEONE_HUB_PUBLIC_URL
        ca_file = str(Path(settings.CCEONE_HUB_TLS_DIR) / "ca.crt")
        servers, agents = [], []
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        try:
            for name, cluster_type, provider, seed in SANDBOXES:
                server = EmulatorServer(seed_files=[seed], live_logs=5.0).start()
                servers.append(server)
                cluster, token = self._register(account, name, cluster_type, provider)
                token_file = workdir / f"{name}.token"
                token_file.write_text(token)
                token_file.chmod(0o600)
                kubeconfig = server.write_kubeconfig(workdir / f"{name}.kubeconfig")
                agents.append(subprocess.Popen(
                    [sys.executable, "-m", "cceone_agent", "--hub", hub_url, "--token-file", str(token_file),
                     "--ca-file", ca_file, "--kubeconfig", kubeconfig, "--log-level", "warning"],
                    env={"PYTHONPATH": str(settings.BASE_DIR / "agent"), "PATH": "/usr/bin:/bin"}))
                self.stdout.write(f"sandbox cluster {name} (#{cluster.pk}): emulator {server.url}, agent started")
            self.stdout.flush()
            while not stop.is_set():
                for process in agents:
                    if process.poll() is not None:
                        raise CommandError(f"a sandbox agent exited with {process.returncode}")
                stop.wait(1)
        finally:
            for process in agents:
                process.terminate()
            for process in agents:
                try:
                    process.wait(5)
                except subprocess.TimeoutExpired:
                    process.kill()
            for server in servers:
                server.stop()

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
