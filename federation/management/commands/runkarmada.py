"""`manage.py runkarmada` (a `make run` process): two sandbox Karmada control planes
(sandbox/karmadasim, HTTPS, controllers), recorded as sandbox control planes; the first serves
the demo federation over the demo fleet of the sandbox clusters, the second is free for a
user's order. Serves until SIGTERM/SIGINT.

Each run starts the control planes empty (nothing of the last run is in them): their endpoints
and admin tokens are recorded afresh, and every member of a federation on them joins again
(with new platform tokens) as soon as its cluster's agent is back.
"""
import secrets
import signal
import threading
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext_noop as N_

from cceone.iam import mirror
from cceone.iam.models import Account, EnterpriseProject, Region
from clusters.models import RegisteredCluster
from federation.models import Federation, FederationMember, KarmadaControlPlane
from federation.transitions import change_status
from fleets.models import Fleet
from sandbox.karmadasim import KarmadaServer, Settings
from sandbox.kubesim import User

Source = KarmadaControlPlane.Source
PLANES = ("sandbox-karmada-1", "sandbox-karmada-2")
DEMO_FLEET, DEMO_FEDERATION = "sandbox-fleet", "sandbox-federation"
# The clusters `manage.py runsandbox` registers for the demo tenant.
DEMO_CLUSTERS = ("sandbox-local", "sandbox-thirdparty", "sandbox-cloud")


class Command(BaseCommand):
    help = "Serve two sandbox Karmada control planes and the demo federation over the sandbox clusters."

    def add_arguments(self, parser):
        parser.add_argument("--account-owner", default="demo")
        parser.add_argument("--status-interval", type=float, default=2.0,
                            help="how often Karmada probes each member (seconds)")

    def handle(self, *args, account_owner, status_interval, **options):
        account = Account.objects.filter(owner__username=account_owner).first()
        if account is None:
            raise CommandError(f"no account whose main user is {account_owner!r}: run seed_demo first")
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        servers = []
        try:
            for name in PLANES:
                token = secrets.token_urlsafe(24)
                server = KarmadaServer(tls=True, tokens={token: User("admin", ("system:masters",))},
                                       settings=Settings(cluster_status_interval=status_interval)).start()
                servers.append(server)
                plane = record_plane(name, server, token)
                self.stdout.write(f"sandbox Karmada {name}: {server.url}")
                rejoin_members(plane)
            federation = self.demo_federation(account, stop)
            if federation is not None:
                self.stdout.write(f"sandbox federation {federation.name} (#{federation.pk}) over fleet {DEMO_FLEET}")
            self.stdout.flush()
            stop.wait()
        finally:
            for server in servers:
                server.stop()

    def demo_federation(self, account, stop) -> Federation | None:
        """The demo fleet of the sandbox clusters and the sandbox federation over it, once (a
        user may change them afterwards: they are then left as they are)."""
        if Federation.objects.filter(account=account, name=DEMO_FEDERATION).exists():
            return None
        while not stop.is_set():  # runsandbox registers the clusters as it starts
            clusters = list(RegisteredCluster.objects.filter(account=account, name__in=DEMO_CLUSTERS))
            if len(clusters) == len(DEMO_CLUSTERS):
                break
            time.sleep(1)
        else:
            return None
        return seed_demo_federation(account, clusters)


def record_plane(name: str, server: KarmadaServer, token: str) -> KarmadaControlPlane:
    plane = KarmadaControlPlane.objects.filter(source=Source.SANDBOX, name=name).first() or \
        KarmadaControlPlane(source=Source.SANDBOX, name=name)
    plane.api_endpoint = server.url
    plane.ca_data = server.server.certificates.ca_pem.decode()
    plane.token = token
    plane.save()
    return plane


def rejoin_members(plane: KarmadaControlPlane) -> None:
    """A fresh control plane knows no member: the federation on it joins them all again."""
    FederationMember.objects.filter(federation__control_plane=plane).update(
        status=FederationMember.Status.JOINING, reason="", registered_at=None)


@transaction.atomic
def seed_demo_federation(account, clusters) -> Federation:
    project = EnterpriseProject.objects.filter(account=account, name="default").first()
    fleet = Fleet.objects.filter(account=account, name=DEMO_FLEET).first()
    if fleet is None:
        fleet = Fleet.objects.create(account=account, name=DEMO_FLEET, enterprise_project=project,
                                     creator=account.owner)
        mirror.sync_anchor(fleet)
    free = [c.pk for c in clusters if c.fleet_id is None]
    RegisteredCluster.objects.filter(pk__in=free).update(fleet=fleet)
    plane = KarmadaControlPlane.objects.get(source=Source.SANDBOX, name=PLANES[0])
    federation = Federation.objects.create(
        account=account, name=DEMO_FEDERATION, region=Region.default(), enterprise_project=project,
        status=Federation.Status.CREATING, is_sandbox=True, creator=account.owner, deletion_protection=False,
        fleet=fleet, provisioner="sandbox", control_plane=plane)
    mirror.sync_anchor(federation)
    # Running: its members join (now, or as their agents come up) and its RBAC is written.
    change_status(federation, Federation.Status.RUNNING, N_("sandbox federation created"))
    return federation
