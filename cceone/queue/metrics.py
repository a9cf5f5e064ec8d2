"""Celery task metrics for Prometheus and the request id carried into tasks.

Counts finished tasks by name and state and times them (`cceone_celery_tasks_total`,
`cceone_celery_task_seconds`). A task sent while serving a request carries that request's id
(message header `cceone_request_id`), so its log lines and audit events name it too.

The worker's pool processes count for themselves: with `PROMETHEUS_MULTIPROC_DIR` set, the
worker's main process serves their sum on `CCEONE_WORKER_METRICS_PORT` (the chart and the
compose file set both); in the web process (tasks run eagerly in tests) they appear on /metrics.
"""
import os
import time

from celery import signals
from prometheus_client import Counter, Histogram

from cceone.logs import bind_request_id, current_request_id, unbind_request_id

HEADER = "cceone_request_id"
TASKS = Counter("cceone_celery_tasks", "Celery tasks finished, by task and state", ["task", "state"])
DURATION = Histogram("cceone_celery_task_seconds", "Celery task run time", ["task"],
                     buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, float("inf")))
_running: dict[str, tuple[float, object]] = {}


@signals.before_task_publish.connect
def _carry_request_id(headers=None, **kwargs):
    request_id = current_request_id()
    if request_id and headers is not None:
        headers.setdefault(HEADER, request_id)


@signals.task_prerun.connect
def _started(task_id=None, task=None, **kwargs):
    given = getattr(task.request, HEADER, None) if task is not None else None
    token = bind_request_id(given) if given else None
    _running[task_id] = (time.monotonic(), token)


@signals.task_postrun.connect
def _finished(task_id=None, task=None, state=None, **kwargs):
    started, token = _running.pop(task_id, (None, None))
    name = getattr(task, "name", "?")
    TASKS.labels(name, state or "UNKNOWN").inc()
    if started is not None:
        DURATION.labels(name).observe(time.monotonic() - started)
    if token is not None:
        unbind_request_id(token)


@signals.worker_ready.connect
def _serve_metrics(**kwargs):
    port = os.environ.get("CCEONE_WORKER_METRICS_PORT")
    if not port:
        return
    from prometheus_client import CollectorRegistry, start_http_server

    registry = None
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    start_http_server(int(port), registry=registry) if registry is not None else start_http_server(int(port))
