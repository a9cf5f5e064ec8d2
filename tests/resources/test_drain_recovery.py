"""Drains whose worker was lost (killed mid-drain, or its message never delivered): the
beat sweep resumes them where they stopped, or fails them with the reason on the drain's
page — a drain never stays `running` forever, blocking every later drain of its node.
(The same with a real worker killed by SIGKILL: tests/queue/test_lost_workers.py.)"""
from datetime import timedelta

from django.utils import timezone

from resources import tasks
from resources.models import NodeDrain
from tests.conftest import client_for
from tests.resources.conftest import page


def _stalled_drain(cluster, tenant, node="worker-2", run=0, **fields) -> NodeDrain:
    """A drain its worker left half-way: running, one pod evicted, silent for ten minutes."""
    drain = NodeDrain.objects.create(
        account=tenant.account, target_type="cluster", target_id=str(cluster.pk), target_name=cluster.name,
        node=node, requested_by=tenant.main, status="running", run=run,
        pods=[{"namespace": "prod", "name": "postgres-1", "state": "evicted", "message": ""}], **fields)
    long_ago = timezone.now() - timedelta(minutes=10)
    NodeDrain.objects.filter(pk=drain.pk).update(started_at=long_ago + timedelta(seconds=1), heartbeat_at=long_ago)
    return drain


def test_a_stalled_drain_is_resumed_where_it_stopped(cluster, tenant, emulator, settings):
    settings.CCEONE_DRAIN_TIMEOUT = 3600
    drain = _stalled_drain(cluster, tenant, timeout_seconds=3600)
    assert tasks.recover_stalled_drains() == {"resumed": 1, "failed": 0}
    drain.refresh_from_db()
    assert drain.status == "succeeded" and drain.run == 1
    assert drain.message.startswith("Node drained")
    states = {p["name"]: p["state"] for p in drain.pods}
    assert states["postgres-1"] == "evicted" and states["kube-proxy-6986d"] == "skipped"
    assert emulator.emulator.get_object("v1", "Node", "worker-2")["spec"]["unschedulable"] is True


def test_a_pod_evicted_by_a_pass_that_died_before_saving_is_not_left_waiting(cluster, tenant, emulator, settings):
    """The lost worker's eviction went through but its record still says waiting: the
    resumed pass finds the pod off the node and says so, instead of a drain that succeeds
    with a pod shown as still waiting."""
    settings.CCEONE_DRAIN_TIMEOUT = 3600
    drain = _stalled_drain(cluster, tenant, timeout_seconds=3600)
    drain.pods = [*drain.pods, {"namespace": "prod", "name": "evicted-unsaved", "state": "pending", "message": ""}]
    drain.save(update_fields=["pods"])
    assert tasks.recover_stalled_drains() == {"resumed": 1, "failed": 0}
    drain.refresh_from_db()
    assert drain.status == "succeeded"
    assert {p["name"]: p["state"] for p in drain.pods}["evicted-unsaved"] == "gone"
    assert drain.percent == 100
    content = client_for(tenant.main).get(f"{page(cluster, 'nodes', None, 'worker-2', 'drain')}{drain.pk}/").content
    assert "Left the node" in content.decode()


def test_a_drain_lost_too_often_fails_with_the_reason_and_frees_the_node(cluster, tenant, settings):
    settings.CCEONE_RECOVERY_MAX_RESUMES = 3
    drain = _stalled_drain(cluster, tenant, run=3)
    assert tasks.recover_stalled_drains() == {"resumed": 0, "failed": 1}
    drain.refresh_from_db()
    assert drain.status == "failed" and drain.finished_at
    assert drain.message == ("The drain stopped making progress: the worker running it was lost 4 times. "
                             "Drain the node again to continue.")
    client = client_for(tenant.main)
    status_page = f"{page(cluster, 'nodes', None, 'worker-2', 'drain')}{drain.pk}/"
    assert "the worker running it was lost 4 times" in client.get(status_page).content.decode()
    # The node is free for a new drain, which runs.
    response = client.post(page(cluster, "nodes", None, "worker-2", "drain"))
    assert not response.url.endswith(f"/_drain/{drain.pk}/")
    assert NodeDrain.objects.exclude(pk=drain.pk).get().status == "succeeded"


def test_a_drain_that_beats_is_left_alone(cluster, tenant):
    drain = _stalled_drain(cluster, tenant)
    NodeDrain.objects.filter(pk=drain.pk).update(heartbeat_at=timezone.now())
    assert tasks.recover_stalled_drains() == {"resumed": 0, "failed": 0}
    drain.refresh_from_db()
    assert drain.status == "running" and drain.run == 0 and len(drain.pods) == 1


def test_a_late_message_of_a_resumed_drain_does_nothing(cluster, tenant):
    """Redis redelivers a lost worker's message an hour later: the resumed run owns the drain."""
    drain = _stalled_drain(cluster, tenant, run=1)
    tasks.drain_node(drain.pk, tenant.main.pk, 0)
    drain.refresh_from_db()
    assert drain.status == "running" and len(drain.pods) == 1


def test_a_blocked_drain_waits_between_passes_without_holding_a_worker(cluster, tenant, emulator, settings,
                                                                      broker_queue):
    """A pass that finds pods blocked by a budget returns at once, having sent the next pass
    to the broker with a countdown: no worker slot sleeps through the wait."""
    import time
    from datetime import datetime

    from cceone.celery import app
    from tests.resources.test_nodes import _block_web

    settings.CCEONE_DRAIN_RETRY_SECONDS = 30
    _block_web(emulator, 3)
    drain = NodeDrain.objects.create(account=tenant.account, target_type="cluster", target_id=str(cluster.pk),
                                     target_name=cluster.name, node="worker-1", requested_by=tenant.main,
                                     timeout_seconds=45)
    began = time.monotonic()
    tasks.drain_node(drain.pk, tenant.main.pk)
    assert time.monotonic() - began < 10
    drain.refresh_from_db()
    assert drain.status == "running" and any(p["state"] == "blocked" for p in drain.pods)
    with app.connection_for_write() as conn:
        message = conn.default_channel.basic_get(broker_queue)
        assert message is not None, "the next pass was not sent"
        assert message.headers["task"] == "resources.tasks.drain_node"
        assert message.headers["argsrepr"] == repr((drain.pk, tenant.main.pk, 0))
        eta = datetime.fromisoformat(message.headers["eta"])
        assert 25 < (eta - timezone.now()).total_seconds() <= 30
