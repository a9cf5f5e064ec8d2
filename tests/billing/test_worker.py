"""Exactly-once settlement with a real Celery worker on the real broker (the filesystem
transport under var/ by default, Redis when CELERY_BROKER_URL says so) and the test's
database: the pool process is killed with SIGKILL in the middle of an account's settlement
transaction, the task is redelivered (`acks_late`, `task_reject_on_worker_lost`), that
worker is killed too, another worker takes the redelivered task alongside two duplicates,
and every cluster-hour is charged once."""
import os
import signal
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection

from billing import services
from billing.models import LedgerEntry, Settlement
from billing.tasks import settle_hours
from cceone.celery import app
from cceone.iam import services as iam_services
from tests.billing.conftest import at, fund, running_cluster
from tests.conftest import ensure_reference_data
from tests.live import wait_until

ROOT = Path(__file__).resolve().parents[2]
ACCOUNTS, CLUSTERS, HOURS = 3, 2, 5  # per account, per cluster


class Worker:
    """`celery -A cceone worker` in its own process group, on one queue, on the test's database."""

    def __init__(self, name: str, queue: str, workdir: Path, *, include: str | None = None, concurrency=1,
                 env=None):
        self.nodename = f"{name}-{uuid.uuid4().hex[:6]}@localhost"
        self.log_path = workdir / f"{name}.log"
        command = [sys.executable, "-m", "celery", "-A", "cceone", "worker", "-Q", queue, "-n", self.nodename,
                   "--pool", "prefork", "--concurrency", str(concurrency), "--without-gossip", "--without-mingle",
                   "--loglevel", "INFO"]
        if include:
            command += ["--include", include]
        command += ["--", "worker_lost_wait=1"]  # report a killed pool process after 1 s, not 10
        environment = dict(os.environ, DJANGO_SETTINGS_MODULE="cceone.settings_test", PYTHONUNBUFFERED="1",
                           CCEONE_TEST_WORKER_DB=str(connection.settings_dict["NAME"]), **(env or {}))
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(command, cwd=str(ROOT), env=environment, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self):
        wait_until(lambda: " ready." in self.log() or self.proc.poll() is not None, timeout=60,
                   what=f"worker {self.nodename} to start")
        assert self.proc.poll() is None, self.log()

    def kill(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self._log.close()
        # A worker killed outright leaves its control queue bound to the broadcast exchange
        # (the broker would keep copies of every later broadcast for it): unbind it.
        with app.connection_for_write() as conn:
            channel = conn.default_channel
            for routing_key, pattern, queue in channel.get_table("celery.pidbox"):
                if queue == f"{self.nodename}.celery.pidbox":
                    channel._delete(queue, "celery.pidbox", routing_key, pattern)


@pytest.fixture
def broker_queue():
    """A queue of our own on the configured broker; tasks really go through it."""
    queue = f"billing-test-{uuid.uuid4().hex[:8]}"
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield queue
    app.conf.task_always_eager = eager
    with app.connection_for_write() as conn:  # leave nothing of ours on the broker
        channel = conn.default_channel
        channel.queue_purge(queue)
        for routing_key, pattern, bound in channel.get_table(queue):
            channel._delete(bound, queue, routing_key, pattern)
        folder = conn.transport_options.get("control_folder")
        if folder:  # the filesystem transport keeps one file per exchange
            (Path(folder) / f"{queue}.exchange").unlink(missing_ok=True)


def queued(queue: str) -> int:
    with app.connection_for_write() as conn:
        try:
            return conn.default_channel.queue_declare(queue=queue, passive=True).message_count
        except conn.channel_errors:
            return 0  # Redis keeps no key for an empty queue


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
    first = Worker("first", broker_queue, tmp_path, include="tests.billing.worker_blocker",
                   env={"BILLING_BLOCK_FILE": str(marker)})
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
