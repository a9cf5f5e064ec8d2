"""The sandbox of `make run` keeps its clusters alive on its own (#13 item 15): a dead agent
is started again after a pause, and `manage.py sandbox stop-agent|start-agent` lets a user
see a cluster go disconnected and come back — without the console stopping."""
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from clusters.models import RegisteredCluster
from tests.live import WINDOW, cluster_status, wait_until

REPO = Path(__file__).resolve().parents[2]

Status = RegisteredCluster.Status


def _runsandbox(tenant, live_hub, tmp_path) -> subprocess.Popen:
    """`manage.py runsandbox` for the tenant, on the test's database and hub, output in sandbox.log."""
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="cceone.settings_test", PYTHONUNBUFFERED="1",
               CCEONE_TEST_WORKER_DB=str(connection.settings_dict["NAME"]),
               CCEONE_HEARTBEAT_INTERVAL=str(WINDOW / 2), CCEONE_SANDBOX_RESTART_SECONDS="0.5")
    with open(tmp_path / "sandbox.log", "wb") as log:
        return subprocess.Popen(
            [sys.executable, "manage.py", "runsandbox", "--account-owner", tenant.main.username,
             "--hub", f"wss://127.0.0.1:{live_hub.public_port}", "--ca-file", live_hub.ca_file,
             "--workdir", str(tmp_path)], cwd=str(REPO), env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)


def test_sandbox_agents_restart_and_can_be_stopped_on_purpose(tenant, live_hub, tmp_path):
    sandbox = _runsandbox(tenant, live_hub, tmp_path)
    try:
        local = wait_until(lambda: RegisteredCluster.objects.filter(account=tenant.account, name="sandbox-local")
                           .first(), timeout=60, what="the sandbox clusters registered")
        wait_until(lambda: cluster_status(local) == Status.RUNNING, timeout=60, what="sandbox-local running")

        # An agent killed outright comes back by itself, and the console did not stop.
        os.kill(int((tmp_path / "sandbox-local.pid").read_text()), signal.SIGKILL)
        wait_until(lambda: "sandbox agent of sandbox-local exited" in (tmp_path / "sandbox.log").read_text(),
                   timeout=10, what="the sandbox to notice the dead agent")
        wait_until(lambda: cluster_status(local) == Status.RUNNING, timeout=30, what="running again")
        assert sandbox.poll() is None

        # Stopped on purpose: the cluster shows disconnected, until the agent is started again.
        call_command("sandbox", "stop-agent", "sandbox-local", "--workdir", str(tmp_path))
        wait_until(lambda: cluster_status(local) == Status.DISCONNECTED, timeout=30, what="disconnected")
        call_command("sandbox", "start-agent", "sandbox-local", "--workdir", str(tmp_path))
        wait_until(lambda: cluster_status(local) == Status.RUNNING, timeout=30, what="reconnected")
        assert sandbox.poll() is None
    finally:
        os.killpg(sandbox.pid, signal.SIGTERM)
        sandbox.wait(15)


def test_an_ordered_cluster_is_connected_by_a_sandbox_agent_from_its_access_page(tenant, live_hub, tmp_path,
                                                                                  settings):
    """#13 item 16: in make run, a new user connects an ordered cluster without reading the
    source: the access page offers a sandbox agent while the sandbox runs."""
    from django.urls import reverse

    from tests.clusters.test_lifecycle import order_local
    from tests.conftest import client_for

    settings.CCEONE_SANDBOX_DIR = str(tmp_path)
    cluster = order_local(tenant, name="my-first-cluster")
    access = reverse("clusters:access", args=[cluster.pk]) + "?tab=access"
    client = client_for(tenant.main, "zh-hans")
    assert 'id="start-sandbox-agent"' not in client.get(access).content.decode()  # no sandbox running
    sandbox = _runsandbox(tenant, live_hub, tmp_path)
    try:
        wait_until(lambda: (tmp_path / "alive").exists(), timeout=60, what="the sandbox up")
        page = client.get(access).content.decode()
        assert 'id="start-sandbox-agent"' in page and "为该集群启动沙箱 Agent" in page
        assert 'id="start-sandbox-agent"' not in client_for(tenant.viewer).get(access).content.decode()
        assert client_for(tenant.viewer).post(reverse("clusters:access-action",
                                                      args=[cluster.pk, "sandbox-agent"])).status_code == 403
        client.post(reverse("clusters:access-action", args=[cluster.pk, "sandbox-agent"]))
        wait_until(lambda: cluster_status(cluster) == Status.RUNNING, timeout=60, what="the ordered cluster running")
        assert 'id="start-sandbox-agent"' not in client.get(access).content.decode()  # connected: no offer

        # The sandbox's cloud inventory: a cloud cluster to order, reached directly.
        from cceone.iam.models import EnterpriseProject
        from clusters.models import CloudProviderCluster

        cloud = wait_until(lambda: CloudProviderCluster.objects.filter(account=tenant.account).first(),
                           what="the sandbox's cloud inventory")
        order = reverse("clusters:order", args=["cloud"])
        assert cloud.name in client.get(order).content.decode()
        project = EnterpriseProject.objects.get(account=tenant.account, name="default").pk
        client.post(order, {"cloud_cluster": cloud.pk, "enterprise_project": project, "step": "submit",
                            "agreed": "on"})
        ordered = RegisteredCluster.objects.get(account=tenant.account, cloud_cluster=cloud)
        wait_until(lambda: cluster_status(ordered) == Status.RUNNING, what="the cloud cluster running")
    finally:
        os.killpg(sandbox.pid, signal.SIGTERM)
        sandbox.wait(15)


def test_only_sandbox_clusters_can_be_stopped(tmp_path, capsys):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="the sandbox clusters are: sandbox-local"):
        call_command("sandbox", "stop-agent", "prod-cluster", "--workdir", str(tmp_path))
    assert not list(tmp_path.iterdir())
