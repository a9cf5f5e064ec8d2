"""Every request through the kubeconfig proxy, for the audit timeline (R1.3, issue 19).

What is kept of a request: the cluster, the impersonated user, the request's attributes as
the API server itself derives them (`request_info`: verb, group, version, resource,
subresource, namespace, name), the status code, the latency, the source address and the
user agent. Never a body, header value or query string (a label selector may name
things, the path of a non-resource request is kept without its query).

The hot path pays one tuple appended to a bounded deque (`RequestAudit.observe`). A task
on the hub's loop takes the buffer every `interval` seconds, or at once when `batch`
records wait, turns the raw requests into records and hands them to the directory's
`kube_requests(records, dropped)` in one call, which stores them off the loop (the
database directory writes from a worker thread). When the buffer is full, because the
directory is slow or down, new records are dropped and counted per cluster; the counts go
with the next batch so the product can say, on that cluster's timeline, how many requests
were not recorded. A batch the directory fails to take is counted the same way.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
import urllib.parse
from dataclasses import dataclass

from aiohttp import web

log = logging.getLogger("cceone.hub")

# request[AUDIT_KEY] = (cluster id, Kubernetes user, path below the cluster), set by the
# kubeconfig proxy once the token is authenticated; a request without it is not recorded
# (its tenant is unknown).
AUDIT_KEY = web.RequestKey("cceone_audit", tuple)
STATUS_KEY = web.RequestKey("cceone_audit_status", int)

# k8s.io/apiserver/pkg/endpoints/request/requestinfo.go
_API_PREFIXES = ("api", "apis")
_GROUPLESS_PREFIXES = ("api",)
_SPECIAL_VERBS = ("proxy", "watch")
_SPECIAL_VERBS_NO_SUBRESOURCES = ("proxy",)
_NAMESPACE_SUBRESOURCES = ("status", "finalize")
_PARSE_SLICE = 64  # records parsed between two yields to the loop
_METHOD_VERBS = {"POST": "create", "GET": "get", "HEAD": "get", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


@dataclass(frozen=True)
class RequestInfo:
    verb: str
    resource_request: bool = False
    path: str = ""  # non-resource requests only, without the query
    api_group: str = ""
    api_version: str = ""
    namespace: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""


def _query_bool(values: list[str]) -> bool:
    # runtime.Convert_Slice_string_To_bool: anything but "false" or "0" is true.
    return bool(values) and values[0].lower() not in ("false", "0")


def _pinned_name(selector: str) -> str:
    """fields.Selector.RequiresExactMatch("metadata.name") on a fieldSelector."""
    for term in selector.split(","):
        for op in ("==", "="):
            field, sep, value = term.partition(op)
            if sep and "!" not in field:
                if field.strip() == "metadata.name":
                    return value.strip()
                break
    return ""


def request_info(method: str, raw_path: str) -> RequestInfo:
    """The request's attributes as Kubernetes' RequestInfoFactory.NewRequestInfo derives them
    (what RBAC and the API server's own audit log use). `raw_path` is the path below the
    cluster, query included, still percent-encoded."""
    split = urllib.parse.urlsplit(raw_path)
    path = urllib.parse.unquote(split.path)
    verb = method.lower()
    parts = [p for p in path.strip("/").split("/")] if path.strip("/") else []
    if len(parts) < 3 or parts[0] not in _API_PREFIXES:
        return RequestInfo(verb=verb, path=path[:200])
    group = ""
    rest = parts[1:]
    if parts[0] not in _GROUPLESS_PREFIXES:
        if len(rest) < 3:
            return RequestInfo(verb=verb, path=path[:200])
        group, rest = rest[0], rest[1:]
    version, rest = rest[0], rest[1:]
    verb = _METHOD_VERBS.get(method.upper(), "")
    if rest and rest[0] in _SPECIAL_VERBS:
        if len(rest) < 2:
            return RequestInfo(verb=method.lower(), path=path[:200])
        verb, rest = rest[0], rest[1:]
    namespace = ""
    if rest and rest[0] == "namespaces":
        if len(rest) > 1:
            namespace = rest[1]
            if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
                rest = rest[2:]
    resource = rest[0] if rest else ""
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 and verb not in _SPECIAL_VERBS_NO_SUBRESOURCES else ""
    if not name and verb == "get":
        query = urllib.parse.parse_qs(split.query, keep_blank_values=True)
        verb = "watch" if _query_bool(query.get("watch", [])) else "list"
        name = _pinned_name(query.get("fieldSelector", [""])[0])
    if not name and verb == "delete":
        verb = "deletecollection"
    return RequestInfo(verb=verb, resource_request=True, api_group=group, api_version=version,
                       namespace=namespace, resource=resource, subresource=subresource, name=name[:253])


def record_of(raw: tuple) -> dict:
    """The record a directory receives for one observed request."""
    cluster_id, user, method, path, status, at, latency, remote, agent = raw
    info = request_info(method, path)
    return {
        "cluster": cluster_id, "user": user, "time": at, "verb": info.verb, "api_group": info.api_group,
        "api_version": info.api_version, "resource": info.resource, "subresource": info.subresource,
        "namespace": info.namespace, "name": info.name, "path": info.path, "status": status,
        "latency_ms": round(latency * 1000, 3), "source_ip": remote, "user_agent": agent,
    }


class RequestAudit:
    """The bounded buffer between the proxy and the directory's `kube_requests`."""

    def __init__(self, sink, capacity: int = 20_000, batch: int = 1000, interval: float = 1.0):
        self.sink = sink
        self.capacity = capacity
        self.batch = batch
        self.interval = interval
        self._buffer: collections.deque = collections.deque()
        self._dropped: dict[str, int] = {}  # per cluster, not yet reported
        self.recorded = 0  # handed to the directory
        self.dropped_total = 0
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._stopping = False

    # -- the hot path --------------------------------------------------------
    def observe(self, request, response, started: float) -> None:
        """Called by the proxy when a request ends (answered, failed or cancelled)."""
        seen = request.get(AUDIT_KEY)
        if seen is None:
            return
        cluster_id, user, path = seen
        if len(self._buffer) >= self.capacity:
            self._dropped[cluster_id] = self._dropped.get(cluster_id, 0) + 1
            self.dropped_total += 1
            return
        status = response.status if response is not None else request.get(STATUS_KEY, 0)
        took = time.monotonic() - started
        # Dated when it was received, as the API server's own audit does (a watch: when it began).
        self._buffer.append((cluster_id, user, request.method, path, status, time.time() - took, took,
                             request.remote or "", request.headers.get("User-Agent", "")[:255]))
        if len(self._buffer) >= self.batch and self._wake is not None:
            self._wake.set()

    @staticmethod
    async def on_response_prepare(request, response) -> None:
        """The status as the head goes out: a watch the client ends has no response object."""
        request[STATUS_KEY] = response.status

    # -- off the hot path -----------------------------------------------------
    def start(self) -> None:
        self._wake = asyncio.Event()
        self._task = asyncio.ensure_future(self._run())

    async def stop(self, timeout: float = 10.0) -> None:
        """Record what is still buffered (the listeners are closed by then), then end."""
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(self._task, timeout)
        except asyncio.TimeoutError:
            log.warning("request audit: %d records not recorded at shutdown", len(self._buffer))
        self._task = None

    async def _run(self) -> None:
        while True:
            if len(self._buffer) < self.batch and not self._stopping:
                try:
                    await asyncio.wait_for(self._wake.wait(), self.interval)
                except asyncio.TimeoutError:
                    pass
            self._wake.clear()
            ok = await self.flush()
            if self._stopping and (not ok or not (self._buffer or self._dropped)):
                return
            if not ok:
                await asyncio.sleep(self.interval)  # no busy loop against a failing directory

    async def flush(self) -> bool:
        """Hand what waits (at most `batch` records) and the drop counts to the directory;
        False when the directory failed (the records are then counted as dropped)."""
        if not self._buffer and not self._dropped:
            return True
        n = min(len(self._buffer), self.batch)
        raws = [self._buffer.popleft() for _ in range(n)]
        dropped, self._dropped = self._dropped, {}
        try:
            records = []
            for i in range(0, len(raws), _PARSE_SLICE):
                if i:
                    await asyncio.sleep(0)  # let requests through: ~16 us a record, so ~1 ms a slice
                records.extend(record_of(raw) for raw in raws[i:i + _PARSE_SLICE])
            await self.sink(records, dropped)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("recording %d kubeconfig requests failed; counted as dropped", len(raws))
            self.dropped_total += len(raws)
            for raw in raws:
                dropped[raw[0]] = dropped.get(raw[0], 0) + 1
            # Reported with a later batch (bounded: one counter per cluster).
            for cluster_id, count in dropped.items():
                self._dropped[cluster_id] = self._dropped.get(cluster_id, 0) + count
            return False
        self.recorded += len(records)
        return True

    def stats(self) -> dict:
        return {"buffered": len(self._buffer), "recorded": self.recorded, "dropped": self.dropped_total}
