"""The preset panels (R3.9) and the time ranges they are drawn over. Queries use the metric
names of cAdvisor, kube-state-metrics and node-exporter, as kube-prometheus scrapes them."""
import time
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from .prometheus import PrometheusError


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str  # "{namespace}/{pod}" or a fixed label (translated)


@dataclass(frozen=True)
class Panel:
    key: str
    title: str
    unit: str  # cores, bytes, ratio, count
    queries: tuple[Query, ...]
    description: str = ""


PANELS = (
    Panel("cpu", _("Cluster CPU"), "cores", (
        Query('sum(rate(container_cpu_usage_seconds_total{container!=""}[5m]))', _("used")),
        Query('sum(kube_node_status_allocatable{resource="cpu"})', _("allocatable")),
    ), _("CPU cores used by containers, against what the nodes can allocate.")),
    Panel("memory", _("Cluster memory"), "bytes", (
        Query('sum(container_memory_working_set_bytes{container!=""})', _("working set")),
        Query('sum(kube_node_status_allocatable{resource="memory"})', _("allocatable")),
    ), _("Memory in use by containers (working set), against what the nodes can allocate.")),
    Panel("nodes", _("Nodes: CPU utilisation"), "ratio", (
        Query('1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m]))', "{instance}"),
    ), _("Busy share of each node's CPUs (node-exporter).")),
    Panel("workloads", _("Top workloads by CPU"), "cores", (
        Query('topk(5, sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{container!=""}[5m])))',
              "{namespace}/{pod}"),
    ), _("The five pods using the most CPU.")),
    Panel("restarts", _("Pod restarts"), "count", (
        Query("topk(10, sum by (namespace, pod) (kube_pod_container_status_restarts_total) > 0)",
              "{namespace}/{pod}"),
    ), _("Container restarts per pod (kube-state-metrics), pods that restarted only.")),
)

RANGES = {"15m": (15 * 60, _("15 minutes")), "1h": (3600, _("1 hour")), "6h": (6 * 3600, _("6 hours")),
          "24h": (86400, _("24 hours")), "7d": (7 * 86400, _("7 days"))}
DEFAULT_RANGE = "1h"
POINTS = 120  # per series: enough for a 720-pixel line


def range_seconds(key: str) -> int:
    return RANGES.get(key, RANGES[DEFAULT_RANGE])[0]


def step_for(seconds: int) -> int:
    return max(15, seconds // POINTS)


def legend(template: str, labels: dict) -> str:
    if "{" not in template:
        return str(template)
    text = template
    for name, value in labels.items():
        text = text.replace("{" + name + "}", str(value))
    return text


def load(prometheus, range_key: str, now: float | None = None) -> dict:
    """Every panel's series over the range: {"start", "end", "step", "panels": [{panel, series, error}]}.
    A panel whose query fails carries the message; the others still draw."""
    seconds = range_seconds(range_key)
    end = now if now is not None else time.time()
    end = end - end % step_for(seconds)  # aligned steps: a refresh redraws the same points
    start, step = end - seconds, step_for(seconds)
    results = []
    for panel in PANELS:
        series, error = [], ""
        try:
            for query in panel.queries:
                for s in prometheus.query_range(query.expr, start, end, step):
                    series.append({"name": legend(query.legend, s.labels), "labels": s.labels, "points": s.points})
        except PrometheusError as failure:
            error = failure.message
        results.append({"panel": panel, "series": series, "error": error})
    return {"start": start, "end": end, "step": step, "range": range_key, "panels": results}
