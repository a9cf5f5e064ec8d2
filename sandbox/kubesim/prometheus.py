"""A small fake Prometheus HTTP API behind the Service proxy (``services/<name>/proxy/...``),
labelled sandbox: only for the console's preset monitoring panels in ``make run`` and tests.

A Service labelled ``kubesim.io/sandbox-prometheus: "true"`` answers Prometheus's
``/api/v1/query``, ``/api/v1/query_range`` and ``/api/v1/status/buildinfo`` with series
derived from the emulator's own pods and nodes (requests, restarts, allocatable), shaped by
deterministic waves so a refresh draws the same curve. It is no PromQL engine: a query is
recognised by the metric it names and its ``by (...)`` labels, an unknown metric gives an
empty result as a real Prometheus would. Any other Service proxied answers 503 "no endpoints
available", as the API server does for a Service with nothing behind it.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import time
import zlib
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .errors import ApiError
from .util import meta, pod_ready

if TYPE_CHECKING:
    from .emulator import Emulator

LABEL = "kubesim.io/sandbox-prometheus"
VERSION = "2.53.0-sandbox"
MAX_POINTS = 11_000  # Prometheus refuses more points per series
PODS, NODES = ("", "pods"), ("", "nodes")
_SUFFIX = {"n": 1e-9, "u": 1e-6, "m": 1e-3, "": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15,
           "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50}
_QUANTITY = re.compile(r"^([0-9.]+)(n|u|m|k|M|G|T|P|Ki|Mi|Gi|Ti|Pi)?$")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def quantity(value: Any) -> float:
    m = _QUANTITY.match(str(value or "0").strip())
    return float(m.group(1)) * _SUFFIX[m.group(2) or ""] if m else 0.0


def _time(value: str | None, default: float) -> float:
    if not value:
        return default
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise _BadData(f'invalid parameter "time": cannot parse "{value}" to a valid timestamp') from None


def _step(value: str | None) -> float:
    if not value:
        raise _BadData('invalid parameter "step": cannot parse "" to a valid duration')
    m = _DURATION.match(value)
    try:
        seconds = float(m.group(1)) * _UNITS[m.group(2)] if m else float(value)
    except ValueError:
        raise _BadData(f'invalid parameter "step": cannot parse "{value}" to a valid duration') from None
    if seconds <= 0:
        raise _BadData("zero or negative query resolution step widths are not accepted. "
                       "Try a positive integer")
    return seconds


class _BadData(Exception):
    pass


def _wave(key: str, t: float) -> float:
    """0.35 … 0.95, smooth in time, its phase fixed by the series' key."""
    phase = (zlib.crc32(key.encode()) % 1000) / 1000 * 2 * math.pi
    return 0.65 + 0.2 * math.sin(2 * math.pi * t / 3600 + phase) + 0.1 * math.sin(2 * math.pi * t / 540 + 2 * phase)


def _fmt(value: float) -> str:
    return repr(round(value, 6))


class SandboxPrometheus:
    """The service-proxy connector: ``async (request, service, path, user) -> response``."""

    def __init__(self, emulator: "Emulator") -> None:
        self.emu = emulator

    async def __call__(self, request: web.Request, service: dict[str, Any], path: str, user: Any) -> web.Response:
        m = meta(service)
        if (m.get("labels") or {}).get(LABEL) != "true":
            raise ApiError(503, "ServiceUnavailable", f'no endpoints available for service "{m.get("name")}"')
        params = dict(request.query)
        if request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
            params.update(await request.post())
        now = time.time()
        try:
            if path.rstrip("/") == "/api/v1/status/buildinfo":
                return self._ok({"version": VERSION, "branch": "kubesim-sandbox", "revision": "sandbox"})
            if path.rstrip("/") == "/api/v1/query":
                if not params.get("query"):
                    raise _BadData('invalid parameter "query": unknown position: parse error: no expression found')
                at = _time(params.get("time"), now)
                series = self.evaluate(params["query"], [at])
                return self._ok({"resultType": "vector",
                                 "result": [{"metric": s, "value": [at, _fmt(v[0])]} for s, v in series]})
            if path.rstrip("/") == "/api/v1/query_range":
                if not params.get("query"):
                    raise _BadData('invalid parameter "query": unknown position: parse error: no expression found')
                start, end, step = _time(params.get("start"), 0), _time(params.get("end"), 0), _step(params.get("step"))
                if end < start:
                    raise _BadData('invalid parameter "end": end timestamp must not be before start time')
                if (end - start) / step > MAX_POINTS:
                    raise _BadData("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing "
                                   "the query resolution (?step=XX)")
                times = [start + i * step for i in range(int((end - start) // step) + 1)]
                series = self.evaluate(params["query"], times)
                return self._ok({"resultType": "matrix", "result": [
                    {"metric": s, "values": [[t, _fmt(v)] for t, v in zip(times, values)]} for s, values in series]})
        except _BadData as error:
            return web.json_response({"status": "error", "errorType": "bad_data", "error": str(error)}, status=400)
        return web.Response(status=404, text="404 page not found\n")

    @staticmethod
    def _ok(data: dict[str, Any]) -> web.Response:
        return web.Response(text=json.dumps({"status": "success", "data": data}), content_type="application/json")

    # --- the series ------------------------------------------------------------------

    def _pods(self) -> list[dict[str, Any]]:
        return [p for p in self.emu.store.iter(PODS) if (p.get("status") or {}).get("phase") == "Running"
                or pod_ready(p)]

    @staticmethod
    def _requests(pod: dict[str, Any], resource: str) -> float:
        total = 0.0
        for c in (pod.get("spec") or {}).get("containers") or []:
            req = (c.get("resources") or {}).get("requests") or (c.get("resources") or {}).get("limits") or {}
            total += quantity(req.get(resource)) if resource in req else (0.05 if resource == "cpu" else 64 * 2**20)
        return total

    def evaluate(self, query: str, times: list[float]) -> list[tuple[dict[str, str], list[float]]]:
        """Series for the metrics the console's panels name; an unknown metric has none."""
        q = re.sub(r"\s+", "", query)
        by = re.search(r"by\(([^)]*)\)", q)
        labels = tuple(x for x in (by.group(1).split(",") if by else []) if x)
        top = re.match(r"^topk\((\d+),", q)
        if "node_cpu_seconds_total" in q:
            rows = self._per_node(times)
        elif "container_cpu_usage_seconds_total" in q:
            rows = [(self._pod_labels(p), [self._requests(p, "cpu") * _wave(meta(p)["uid"] + "cpu", t) * 1.3
                                           for t in times]) for p in self._pods()]
        elif "container_memory_working_set_bytes" in q:
            rows = [(self._pod_labels(p), [self._requests(p, "memory") * (0.8 + 0.25 * _wave(meta(p)["uid"], t))
                                           for t in times]) for p in self._pods()]
        elif "kube_pod_container_status_restarts_total" in q:
            rows = [(self._pod_labels(p), [self._restarts(p, t, times) for t in times])
                    for p in self.emu.store.iter(PODS)]
        elif "kube_node_status_allocatable" in q:
            resource = "memory" if 'resource="memory"' in q else "cpu"
            rows = [({"node": meta(n)["name"]}, [quantity(((n.get("status") or {}).get("allocatable") or {})
                                                          .get(resource)) for _ in times])
                    for n in self.emu.store.iter(NODES)]
        elif re.fullmatch(r"up(\{.*\})?", q):
            rows = [({"__name__": "up", "job": "kubernetes-nodes", "instance": meta(n)["name"]}, [1.0 for _ in times])
                    for n in self.emu.store.iter(NODES)]
        else:
            return []
        if q.startswith(("sum", "topk(")):
            rows = self._sum(rows, labels)
        if ">0" in q:
            rows = [r for r in rows if any(v > 0 for v in r[1])]
        if top:
            rows = sorted(rows, key=lambda r: -max(r[1] or [0]))[:int(top.group(1))]
        return rows

    @staticmethod
    def _pod_labels(pod: dict[str, Any]) -> dict[str, str]:
        m = meta(pod)
        owner = next((o for o in m.get("ownerReferences") or [] if o.get("controller")), None)
        workload = owner["name"] if owner else m["name"]
        if owner and owner.get("kind") == "ReplicaSet" and "-" in workload:
            workload = workload.rsplit("-", 1)[0]  # the Deployment behind it
        return {"namespace": m.get("namespace", ""), "pod": m["name"], "workload": workload,
                "node": (pod.get("spec") or {}).get("nodeName", "")}

    @staticmethod
    def _restarts(pod: dict[str, Any], t: float, times: list[float]) -> float:
        """The restarts the pod reports, spread over the range so increases show where they happened."""
        total = sum(int(s.get("restartCount") or 0) for s in (pod.get("status") or {}).get("containerStatuses") or [])
        if not total or len(times) < 2:
            return float(total)
        share = (t - times[0]) / (times[-1] - times[0])
        return float(round(total * share))

    def _per_node(self, times: list[float]) -> list[tuple[dict[str, str], list[float]]]:
        pods = self._pods()
        rows = []
        for node in self.emu.store.iter(NODES):
            name = meta(node)["name"]
            cpu = quantity(((node.get("status") or {}).get("allocatable") or {}).get("cpu")) or 1
            requested = sum(self._requests(p, "cpu") for p in pods if (p.get("spec") or {}).get("nodeName") == name)
            rows.append(({"instance": name, "node": name},
                         [min(0.98, 0.05 + requested / cpu * _wave(name, t)) for t in times]))
        return rows

    @staticmethod
    def _sum(rows, labels: tuple[str, ...]):
        groups: dict[tuple, tuple[dict[str, str], list[float]]] = {}
        for metric, values in rows:
            key = tuple(metric.get(k, "") for k in labels)
            if key not in groups:
                groups[key] = ({k: metric.get(k, "") for k in labels}, [0.0] * len(values))
            groups[key] = (groups[key][0], [a + b for a, b in zip(groups[key][1], values)])
        return list(groups.values())
