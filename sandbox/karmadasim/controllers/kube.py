"""The controllers' plumbing: a dict-speaking client over ``kubernetes``' DynamicClient,
informers (list + watch with a local cache) and rate-limited work queues, after client-go.
"""

from __future__ import annotations

import heapq
import json
import logging
import threading
import time
from typing import Any, Callable, Iterable

import urllib3
from kubernetes import client, watch
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import DynamicApiError, ResourceNotFoundError

log = logging.getLogger("sandbox.karmadasim")

MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"


class ApiFailure(Exception):
    """An API call that failed: ``status`` is the HTTP code (0 when the server was not reached)."""

    def __init__(self, status: int, message: str, body: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.body = body or {}


def configuration(host: str, token: str, *, ca_data: str | None = None, insecure: bool = False,
                  proxy: str | None = None) -> client.Configuration:
    config = client.Configuration(host=host)
    config.api_key = {"authorization": f"Bearer {token}"}
    config.connection_pool_maxsize = 64  # every informer holds a watch connection
    config.retries = 0  # the controllers retry with backoff themselves; a dead member fails at once
    if host.startswith("https"):
        if insecure:
            config.verify_ssl = False
        elif ca_data:
            import tempfile

            with tempfile.NamedTemporaryFile("w", suffix=".crt", delete=False) as f:
                f.write(ca_data)
            config.ssl_ca_cert = f.name
    if proxy:
        config.proxy = proxy
    return config


class Kube:
    """One API server, spoken to in plain dicts."""

    def __init__(self, config: client.Configuration, *, timeout: float = 10.0) -> None:
        self.api = client.ApiClient(config)
        self.timeout = timeout
        self._dyn: DynamicClient | None = None
        self._lock = threading.Lock()
        self._resources: dict[tuple[str, str], Any] = {}

    @property
    def dyn(self) -> DynamicClient:
        with self._lock:
            if self._dyn is None:
                try:
                    self._dyn = DynamicClient(self.api, cache_file=None)
                except (DynamicApiError, urllib3.exceptions.HTTPError, OSError) as e:
                    raise ApiFailure(getattr(e, "status", 0) or 0, f"discovery failed: {e}") from None
            return self._dyn

    def close(self) -> None:
        self.api.close()

    def resource(self, api_version: str, kind: str) -> Any:
        key = (api_version, kind)
        if key not in self._resources:
            try:
                res = self.dyn.resources.get(api_version=api_version, kind=kind)
            except ResourceNotFoundError:
                raise ApiFailure(404, f"the server doesn't have a resource type for {kind} in {api_version}") \
                    from None
            except (DynamicApiError, urllib3.exceptions.HTTPError, OSError) as e:
                raise ApiFailure(getattr(e, "status", 0) or 0, str(e)) from None
            self._resources[key] = res
        return self._resources[key]

    def path(self, api_version: str, kind: str, namespace: str | None = None, name: str | None = None,
             subresource: str = "") -> str:
        res = self.resource(api_version, kind)
        path = res.path(name=name, namespace=namespace if res.namespaced else None)
        return f"{path}/{subresource}" if subresource else path

    def request(self, method: str, path: str, body: Any = None, *, query: Iterable[tuple[str, Any]] = (),
                content_type: str | None = None) -> dict[str, Any]:
        try:
            resp = self.dyn.request(method, path, body=body, query_params=list(query), content_type=content_type,
                                    serialize=False, _request_timeout=self.timeout)
        except DynamicApiError as e:
            body_json = {}
            try:
                body_json = json.loads(e.body) if e.body else {}
            except (TypeError, ValueError):
                pass
            raise ApiFailure(e.status or 0, body_json.get("message") or e.summary(), body_json) from None
        except (urllib3.exceptions.HTTPError, OSError) as e:
            raise ApiFailure(0, f"{type(e).__name__}: {e}") from None
        data = resp.data
        return json.loads(data) if data else {}

    # ------------------------------------------------------------ verbs

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        try:
            return self.request("GET", self.path(api_version, kind, namespace, name))
        except ApiFailure as e:
            if e.status == 404:
                return None
            raise

    def list(self, api_version: str, kind: str, namespace: str | None = None,
             label_selector: str | None = None) -> dict[str, Any]:
        query = [("labelSelector", label_selector)] if label_selector else []
        return self.request("GET", self.path(api_version, kind, namespace), query=query)

    def create(self, obj: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
        ns = namespace or (obj.get("metadata") or {}).get("namespace")
        return self.request("POST", self.path(obj["apiVersion"], obj["kind"], ns), obj)

    def replace(self, obj: dict[str, Any], subresource: str = "") -> dict[str, Any]:
        m = obj["metadata"]
        return self.request("PUT", self.path(obj["apiVersion"], obj["kind"], m.get("namespace"), m["name"],
                                             subresource), obj)

    def update_status(self, obj: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
        """PUT the status as of ``obj``'s resourceVersion: two controllers writing conditions of one
        object must not lose each other's (a merge patch would replace the whole list)."""
        return self.replace({**obj, "status": status}, subresource="status")

    def patch(self, api_version: str, kind: str, name: str, patch: Any, namespace: str | None = None, *,
              subresource: str = "", content_type: str = MERGE) -> dict[str, Any]:
        return self.request("PATCH", self.path(api_version, kind, namespace, name, subresource), patch,
                            content_type=content_type)

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> bool:
        """False if it was already gone."""
        try:
            self.request("DELETE", self.path(api_version, kind, namespace, name))
            return True
        except ApiFailure as e:
            if e.status == 404:
                return False
            raise

    def watch(self, api_version: str, kind: str, resource_version: str, *, timeout: int,
              label_selector: str | None = None, watcher: watch.Watch | None = None) -> Iterable[dict[str, Any]]:
        res = self.resource(api_version, kind)
        return self.dyn.watch(res, resource_version=resource_version, timeout=timeout,
                              label_selector=label_selector, watcher=watcher, allow_watch_bookmarks=True)


# ------------------------------------------------------------------ informers

Handler = Callable[[str, dict[str, Any], dict[str, Any] | None], None]


def key_of(obj: dict[str, Any]) -> tuple[str, str]:
    m = obj.get("metadata") or {}
    return (m.get("namespace") or "", m.get("name") or "")


class Informer:
    """List then watch one resource, keep the objects, tell the handlers what changed."""

    def __init__(self, kube: Kube, api_version: str, kind: str, stop: threading.Event, *,
                 label_selector: str | None = None, watch_timeout: int = 30, name: str = "") -> None:
        self.kube = kube
        self.api_version, self.kind = api_version, kind
        self.label_selector = label_selector
        self.stop = stop
        self.watch_timeout = watch_timeout
        self.cache: dict[tuple[str, str], dict[str, Any]] = {}
        self.handlers: list[Handler] = []
        self.synced = threading.Event()
        self.failed = threading.Event()  # set while the server cannot be reached
        self._lock = threading.Lock()
        self._watcher: watch.Watch | None = None
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"informer-{name or kind}")

    def start(self) -> "Informer":
        self._thread.start()
        return self

    def halt(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()

    def items(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.cache.values())

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.cache.get((namespace or "", name))

    def _emit(self, kind: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        for handler in self.handlers:
            try:
                handler(kind, obj, old)
            except Exception:  # a handler bug must not end the informer
                log.exception("informer %s handler failed", self.kind)

    def _relist(self) -> str:
        listing = self.kube.list(self.api_version, self.kind, label_selector=self.label_selector)
        fresh = {key_of(o): o for o in listing.get("items") or []}
        with self._lock:
            old, self.cache = self.cache, fresh
        for key, obj in fresh.items():
            previous = old.get(key)
            if previous is None:
                self._emit("ADDED", obj, None)
            elif (previous.get("metadata") or {}).get("resourceVersion") != \
                    (obj.get("metadata") or {}).get("resourceVersion"):
                self._emit("MODIFIED", obj, previous)
        for key, obj in old.items():
            if key not in fresh:
                self._emit("DELETED", obj, obj)
        return (listing.get("metadata") or {}).get("resourceVersion") or "0"

    def _run(self) -> None:
        backoff = 0.1
        while not self.stop.is_set():
            try:
                rv = self._relist()
                self.synced.set()
                self.failed.clear()
                backoff = 0.1
                while not self.stop.is_set():
                    self._watcher = watch.Watch()
                    for event in self.kube.watch(self.api_version, self.kind, rv, timeout=self.watch_timeout,
                                                 label_selector=self.label_selector, watcher=self._watcher):
                        if self.stop.is_set():
                            break
                        kind, obj = event["type"], event["raw_object"]
                        rv = (obj.get("metadata") or {}).get("resourceVersion") or rv
                        if kind == "BOOKMARK":
                            continue
                        key = key_of(obj)
                        with self._lock:
                            old = self.cache.get(key)
                            if kind == "DELETED":
                                self.cache.pop(key, None)
                            else:
                                self.cache[key] = obj
                        self._emit(kind, obj, old)
            except Exception as e:  # the server went away, or a 410: list again
                if self.stop.is_set():
                    break
                self.failed.set()
                log.debug("informer %s: %s", self.kind, e)
                self.stop.wait(backoff)
                backoff = min(backoff * 2, 2.0)


# ------------------------------------------------------------------ work queues

class WorkQueue:
    """Keys to reconcile: deduplicated, never handed to two workers at once, with delays."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._queue: list[Any] = []
        self._queued: set[Any] = set()
        self._processing: set[Any] = set()
        self._dirty: set[Any] = set()
        self._delayed: list[tuple[float, int, Any]] = []
        self._seq = 0
        self._closed = False

    def add(self, key: Any) -> None:
        with self._cond:
            if key in self._processing:
                self._dirty.add(key)
                return
            if key not in self._queued:
                self._queued.add(key)
                self._queue.append(key)
                self._cond.notify()

    def add_after(self, key: Any, delay: float) -> None:
        if delay <= 0:
            self.add(key)
            return
        with self._cond:
            self._seq += 1
            heapq.heappush(self._delayed, (time.monotonic() + delay, self._seq, key))
            self._cond.notify()

    def get(self) -> Any:
        with self._cond:
            while True:
                if self._closed:
                    return None
                now = time.monotonic()
                while self._delayed and self._delayed[0][0] <= now:
                    _, _, key = heapq.heappop(self._delayed)
                    if key in self._processing:
                        self._dirty.add(key)
                    elif key not in self._queued:
                        self._queued.add(key)
                        self._queue.append(key)
                if self._queue:
                    key = self._queue.pop(0)
                    self._queued.discard(key)
                    self._processing.add(key)
                    return key
                wait = self._delayed[0][0] - now if self._delayed else None
                self._cond.wait(wait)

    def done(self, key: Any) -> None:
        with self._cond:
            self._processing.discard(key)
            if key in self._dirty:
                self._dirty.discard(key)
                self._queued.add(key)
                self._queue.append(key)
                self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


class Controller:
    """A reconcile loop: ``reconcile(key)`` returns seconds to look again, or None."""

    name = "controller"
    workers = 1

    def __init__(self) -> None:
        self.queue = WorkQueue()
        self._failures: dict[Any, int] = {}
        self._threads: list[threading.Thread] = []

    def reconcile(self, key: Any) -> float | None:
        raise NotImplementedError

    def start(self) -> None:
        for i in range(self.workers):
            thread = threading.Thread(target=self._work, daemon=True, name=f"{self.name}-{i}")
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self.queue.close()

    def join(self, timeout: float) -> None:
        for thread in self._threads:
            thread.join(timeout)

    def _work(self) -> None:
        while True:
            key = self.queue.get()
            if key is None:
                return
            try:
                again = self.reconcile(key)
                self._failures.pop(key, None)
                if again is not None:
                    self.queue.add_after(key, again)
            except Exception as e:
                n = self._failures[key] = self._failures.get(key, 0) + 1
                if isinstance(e, ApiFailure):
                    log.debug("%s %s: %s", self.name, key, e.message)
                else:
                    log.exception("%s %s failed", self.name, key)
                self.queue.add_after(key, min(0.05 * 2 ** n, 5.0))
            finally:
                self.queue.done(key)
