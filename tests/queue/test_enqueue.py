"""The one way to send background work (cceone.queue.enqueue): a broker that refuses the
message fails nothing the user did — the message is kept, and the beat sweep sends it
once the broker is back."""
from contextlib import contextmanager

import pytest

from cceone.celery import app
from cceone.queue import resend_unsent
from cceone.queue.models import UnsentTask
from clusters.models import RegisteredCluster
from tests.clusters.test_order import inventory, local_order, post, with_project  # noqa: F401 (fixture)
from tests.conftest import client_for
from tests.factories import ready_to_order
from tests.live import wait_until
from tests.worker import Worker, queued


@contextmanager
def broker_unreachable():
    """Producers connect to a port nobody listens on: a real refused connection."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(app.conf, "broker_write_url", "redis://127.0.0.1:1/0")
        # The app's connection and producer pools are built on first use: new ones for the
        # dead address here, and the configured broker's back afterwards.
        patch.setattr(app, "_pool", None)
        patch.setattr(app.amqp, "_producer_pool", None)
        yield


def test_an_order_taken_while_the_broker_is_down_is_provisioned_once_it_is_back(
        transactional_db, tenant, inventory, broker_queue, tmp_path):  # noqa: F811
    ready_to_order(tenant.account)
    data = with_project(tenant, local_order(inventory))
    with broker_unreachable():
        response = post(client_for(tenant.admin), "local", {**data, "agreed": "on"}, "submit")
        assert response.status_code == 302  # the order is taken, not a server error
        cluster = RegisteredCluster.objects.get(name="idc-beijing-01")
        assert cluster.status == "creating"
        unsent = UnsentTask.objects.get()
        assert (unsent.task, unsent.args, unsent.kwargs) == (
            "clusters.tasks.provision_cluster", [cluster.pk], {"bind_public_ip": True})
        assert unsent.error

        assert resend_unsent() == {"sent": 0, "unsent": 1}  # still down: kept for the next sweep
        assert UnsentTask.objects.get().attempts == 2

    assert resend_unsent() == {"sent": 1, "unsent": 0}
    assert queued(broker_queue) == 1
    worker = Worker("provisioner", broker_queue, tmp_path)
    try:
        worker.wait_ready()
        wait_until(lambda: RegisteredCluster.objects.get(pk=cluster.pk).status == "pending_access", timeout=30,
                   what="the cluster to be provisioned")
    finally:
        worker.kill()


def test_nothing_is_sent_for_work_that_rolled_back(transactional_db, tenant, inventory, broker_queue):  # noqa: F811
    from django.db import transaction

    from cceone.queue import enqueue
    from clusters.tasks import provision_cluster

    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue(provision_cluster, 1)
        raise RuntimeError("the request failed")
    with transaction.atomic():
        enqueue(provision_cluster, 2)
        assert queued(broker_queue) == 0  # not before the commit: a worker would not find the row
    assert queued(broker_queue) == 1
