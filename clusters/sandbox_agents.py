""""Start a sandbox agent for this cluster" in `make run`: a cluster ordered in the sandbox
is connected without leaving the console. The page leaves a request file; the sandbox
process (`manage.py runsandbox`) starts an emulator and an agent with the cluster's own
agent token for it. Offered only while that process is alive (it touches `alive`)."""
import time
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from cceone.audit.services import record
from cceone.iam.access import require

from .models import RegisteredCluster

Status = RegisteredCluster.Status
CONNECTABLE = {Status.PENDING_ACCESS, Status.ACCESS_TIMEOUT, Status.DISCONNECTED}


def sandbox_dir() -> Path:
    return Path(settings.CCEONE_SANDBOX_DIR)


def requests_dir(workdir: Path | None = None) -> Path:
    return (workdir or sandbox_dir()) / "requests"


def mark_alive(workdir: Path) -> None:
    (workdir / "alive").touch()


def sandbox_running() -> bool:
    try:
        return (sandbox_dir() / "alive").stat().st_mtime > time.time() - 10
    except FileNotFoundError:
        return False


def can_offer(cluster: RegisteredCluster) -> bool:
    return (cluster.connection_mode == RegisteredCluster.ConnectionMode.AGENT and not cluster.is_sandbox
            and cluster.status in CONNECTABLE and bool(cluster.agent_token_encrypted) and sandbox_running())


def request_agent(actor, cluster: RegisteredCluster) -> None:
    require(actor, "clusters:update", cluster)  # the agent acts with the cluster's credentials
    if not can_offer(cluster):
        raise ValidationError(_("A sandbox agent can be started only for a cluster waiting for its agent, "
                                "while the sandbox of make run is running."))
    folder = requests_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / str(cluster.pk)).touch()
    record(actor, "clusters:update", cluster, details={"sandbox_agent": "requested"})


def take_requests(workdir: Path) -> list[int]:
    """The clusters the console asked agents for since the last look (the files removed)."""
    folder = requests_dir(workdir)
    if not folder.is_dir():
        return []
    taken = []
    for path in folder.iterdir():
        path.unlink(missing_ok=True)
        if path.name.isdigit():
            taken.append(int(path.name))
    return taken
