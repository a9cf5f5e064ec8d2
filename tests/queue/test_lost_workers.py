"""A worker killed outright (SIGKILL of the whole worker, as an OOM kill or a lost node
does it) takes the message it was running with it — the filesystem broker has already
deleted it, Redis hides it for an hour. Real workers on the real broker and the test's
database, a real hub, agent and emulator for the drain: after a restart the beat sweep
(sent here by name, as beat sends it) finds the work that stopped beating and carries it
through."""
import time

from cceone.audit.models import OperationLog
from cceone.celery import app
from clusters.models import RegisteredCluster
from resources.models import NodeDrain
from tests.clusters.test_order import inventory, local_order, post, with_project  # noqa: F401 (fixture)
from tests.conftest import client_for
from tests.factories import ready_to_order
from tests.live import wait_until
from tests.resources.conftest import cluster, page  # noqa: F401 (fixture)
from tests.resources.test_nodes import _block_web
from tests.worker import Worker, purge

STALE = 2  # seconds without a heartbeat before the sweep steps in (5 minutes in production)


def test_a_drain_whose_worker_was_killed_resumes_after_a_restart_and_finishes(
        cluster, tenant, emulator, live_hub, broker_queue, settings, tmp_path):  # noqa: F811
    settings.CCEONE_DRAIN_TIMEOUT = 120
    env = {"CCEONE_HUB_INTERNAL_URL": live_hub.internal_url, "CCEONE_HUB_SECRET": live_hub.secret,
           "CCEONE_DRAIN_RETRY_SECONDS": "0.3", "CCEONE_RECOVERY_STALE_SECONDS": str(STALE)}
    _block_web(emulator, 3)  # two web pods stay blocked by their budget: the drain keeps waiting
    first, second = Worker("first", broker_queue, tmp_path, env=env), None
    try:
        first.wait_ready()
        client = client_for(tenant.main)
        client.post(page(cluster, "nodes", None, "worker-1", "drain"))
        drain = wait_until(lambda: next((d for d in NodeDrain.objects.filter(status="running")
                                         if any(p["state"] == "blocked" for p in d.pods)), None),
                           timeout=30, what="the drain to wait for a budget")

        first.kill()
        purge(broker_queue)  # its next pass, had the dead worker not fetched it yet, is lost too
        time.sleep(STALE + 0.5)
        drain.refresh_from_db()
        assert drain.status == "running"  # stuck: nothing carries it on
        last_change = drain.updated_at
        time.sleep(1)
        drain.refresh_from_db()
        assert drain.updated_at == last_change

        second = Worker("second", broker_queue, tmp_path, env=env)
        second.wait_ready()
        app.send_task("resources.tasks.recover_stalled_drains")
        status_page = f"{page(cluster, 'nodes', None, 'worker-1', 'drain')}{drain.pk}/"
        wait_until(lambda: "Resumed after the worker running it was lost (attempt 1 of 3)." in client.get(
            status_page).content.decode(), timeout=60, what="the sweep to resume the drain")
        _block_web(emulator, 0)  # the budget lets the pods go
        wait_until(lambda: NodeDrain.objects.get(pk=drain.pk).status != "running", timeout=30,
                   what="the resumed drain to finish")
    finally:
        _block_web(emulator, 0)
        first.kill()
        if second:
            second.kill()
    drain.refresh_from_db()
    assert drain.status == "succeeded", drain.message
    assert drain.message.startswith("Node drained")
    # Every pod left the node: evicted (by either worker) or skipped, none still waiting.
    assert not [p for p in drain.pods if p["state"] not in ("evicted", "skipped", "gone")], drain.pods
    # The node is free again for a later drain.
    assert not NodeDrain.objects.filter(node="worker-1", status__in=NodeDrain.ACTIVE).exists()


def test_provisioning_whose_worker_was_killed_resumes_after_a_restart(
        transactional_db, tenant, inventory, broker_queue, tmp_path):  # noqa: F811
    marker = tmp_path / "blocked.pid"
    env = {"CCEONE_RECOVERY_STALE_SECONDS": str(STALE)}
    # The pool process stops inside provisioning's transaction, right after its first step.
    first = Worker("first", broker_queue, tmp_path, include="tests.worker_blocker",
                   env={**env, "WORKER_BLOCK_FILE": str(marker), "WORKER_BLOCK_SQL": 'INSERT INTO "audit_operationstep"'})
    second = None
    try:
        first.wait_ready()
        ready_to_order(tenant.account)
        data = with_project(tenant, local_order(inventory))
        assert post(client_for(tenant.admin), "local", {**data, "agreed": "on"}, "submit").status_code == 302
        wait_until(marker.exists, timeout=30, what="the worker to be mid-provisioning")
        first.kill()

        cluster = RegisteredCluster.objects.get(name="idc-beijing-01")
        log = OperationLog.objects.get(target_id=str(cluster.pk), operation="create")
        assert cluster.status == "creating" and log.status == "running"
        assert list(log.steps.values_list("name", flat=True)) == ["Order accepted"]  # the killed transaction left nothing

        second = Worker("second", broker_queue, tmp_path, env=env)
        second.wait_ready()
        time.sleep(STALE)
        app.send_task("clusters.tasks.recover_stalled_operations")
        wait_until(lambda: RegisteredCluster.objects.get(pk=cluster.pk).status != "creating", timeout=30,
                   what="the sweep to carry provisioning through")
    finally:
        first.kill()
        if second:
            second.kill()
    cluster.refresh_from_db()
    assert cluster.status == "pending_access" and cluster.agent_token_hash and cluster.eip_address
    log.refresh_from_db()
    assert log.status == "succeeded" and log.resumes == 1
    assert list(log.steps.values_list("name", flat=True)) == [
        "Order accepted", "Resume after a lost worker", "Create access endpoint", "Bind EIP", "Issue agent credentials"]
