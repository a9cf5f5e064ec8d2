"""Exactly-once settlement with a real Celery worker on the real broker (the filesystem
transport under var/ by default, Redis when CELERY_BROKER_URL says so) and the test's
database: the pool process is killed with SIGKILL in the middle of an account's settlement
transaction, the task is redelivered (`acks_late`, `task_reject_on_worker_lost`), that
worker is killed too, another worker takes the redelivered task alongside two duplicates,
and every cluster-hour is charged once."""
import os
import signal
from decimal import Decimal

import pytest

from billing import services
from billing.models import LedgerEntry, Settlement
from billing.tasks import settle_hours
from cceone.celery import app
from cceone.iam import services as iam_services
from tests.billing.conftest import at, fund, running_cluster
from tests.conftest import ensure_reference_data
from tests.live import wait_until
from tests.worker import Worker, queued

ACCOUNTS, CLUSTERS, HOURS = 3, 2, 5  # per account, per cluster


@pytest.fixture
def estate(transactional_db, operator):
    """Three accounts, each with two local clusters of 2 vCPU that ran five hours."""
    ensure_reference_data()
    accounts = []
    for n in range(ACCOUNTS):
        account = iam_services.create_account(f"Tenant {n}", f"tenant{n}", "Correct-Horse-42")
        fund(operator, account, 100)
        for _ in range(CLUSTERS):
            running_cluster(account, since=at("2026-11-26 10:00"), until=at("2026-11-26 14:59"), vcpu=2,
                            unsubscribed=True)
        accounts.append(account)
    return accounts


def test_a_worker_killed_mid_settlement_charges_each_cluster_hour_once(estate, broker_queue, tmp_path):
    marker = tmp_path / "blocked.pid"
    # The pool process stops after the second batch of usage records (the second account's
    # hours): inside that account's settlement transaction, before its charges.
    first = Worker("first", broker_queue, tmp_path, include="tests.worker_blocker",
                   env={"WORKER_BLOCK_FILE": str(marker), "WORKER_BLOCK_SQL": 'INSERT INTO "billing_settlement"',
                        "WORKER_BLOCK_NTH": "2"})
    second = None
    try:
        first.wait_ready()
        task = settle_hours.apply_async(queue=broker_queue)

        # The pool process stops inside the second account's transaction: the first
        # account is settled and committed, the others not at all.
        wait_until(marker.exists, timeout=60, what="the worker to be mid-settlement")
        settled = {a.pk: Settlement.objects.filter(account=a).count() for a in estate}
        assert settled == {estate[0].pk: CLUSTERS * HOURS, estate[1].pk: 0, estate[2].pk: 0}

        # This worker takes no more work; its pool process dies (SIGKILL); the parent
        # rejects the message back onto the queue; then the whole worker is killed.
        replies = app.control.cancel_consumer(broker_queue, destination=[first.nodename], reply=True, timeout=10,
                                               limit=1)
        assert replies, first.log()
        os.kill(int(marker.read_text()), signal.SIGKILL)
        wait_until(lambda: queued(broker_queue) == 1, timeout=30, what="the task back on the queue")
        wait_until(lambda: "WorkerLostError" in first.log(), what="the worker to report the lost process")
        first.kill()
        assert Settlement.objects.count() == CLUSTERS * HOURS  # the killed transaction left nothing

        # Another worker takes the redelivered task, with two duplicate runs alongside.
        second = Worker("second", broker_queue, tmp_path, concurrency=2)
        second.wait_ready()
        settle_hours.apply_async(queue=broker_queue)
        settle_hours.apply_async(queue=broker_queue)
        wait_until(lambda: second.log().count("succeeded in") == 3, timeout=60, what="three settlement runs")
        assert f"settle_hours[{task.id}] succeeded" in second.log()  # the redelivered one
    finally:
        first.kill()
        if second:
            second.kill()

    hours = ACCOUNTS * CLUSTERS * HOURS
    assert Settlement.objects.count() == hours
    assert Settlement.objects.values("instance_id", "hour_start").distinct().count() == hours
    assert LedgerEntry.objects.filter(kind="charge").count() == hours
    assert LedgerEntry.objects.filter(kind="charge").values("settlement").distinct().count() == hours
    for account in estate:
        assert services.balance(account) == Decimal("100") - CLUSTERS * HOURS * Decimal("0.3336")
