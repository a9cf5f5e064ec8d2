"""Real Celery workers for tests (a pytest plugin loaded by tests/conftest.py): a worker
process on the configured broker (the filesystem transport under var/ by default, Redis
when CELERY_BROKER_URL says so) working on the test's database and on a queue of the
test's own, which it can be made to stop at a chosen SQL statement (tests/worker_blocker.py)."""
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.db import connection

from cceone.celery import app
from tests.live import wait_until

ROOT = Path(__file__).resolve().parents[1]


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
                           CCEONE_TEST_WORKER_DB=str(connection.settings_dict["NAME"]),
                           CCEONE_TEST_WORKER_QUEUE=queue, **(env or {}))
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
        """SIGKILL the whole worker (parent and pool), as the kernel's OOM killer or a node loss would."""
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
    """A queue of our own on the configured broker, the default one of this test: tasks
    really go through it."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    eager, default = app.conf.task_always_eager, app.conf.task_default_queue
    app.conf.task_always_eager, app.conf.task_default_queue = False, queue
    yield queue
    app.conf.task_always_eager, app.conf.task_default_queue = eager, default
    purge(queue)
    with app.connection_for_write() as conn:  # leave nothing of ours on the broker
        channel = conn.default_channel
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


def purge(queue: str) -> None:
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(queue)
