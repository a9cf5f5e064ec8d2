"""`GET /metrics` of the console (web) for Prometheus: django-prometheus's request, latency
and database metrics, and the Celery task metrics of cceone.queue.metrics when the worker
shares the multiprocess directory.

Guarded by `CCEONE_METRICS_TOKEN` (`Authorization: Bearer <token>`, Prometheus'
`authorization` scrape setting): without one configured the route answers 404, so a
console reached from the internet shows nothing. Several gunicorn workers (and Celery's pool
processes) each count for themselves: with `PROMETHEUS_MULTIPROC_DIR` set (the container
image does) one scrape adds them up.
"""
import hmac
import os

from django.conf import settings
from django.http import Http404, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest


def _registry():
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def metrics(request):
    expected = settings.CCEONE_METRICS_TOKEN
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if not expected or scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected.encode()):
        raise Http404()
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
