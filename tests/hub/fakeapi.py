"""A tiny stand-in for kube-apiserver, enough to exercise the tunnel.

Real sockets, real HTTP: JSON list/get/create/patch/delete of pods, a
chunked watch, a following log, a large list, and a record of the headers
each request arrived with (to check what the hub/agent forwarded).
"""

from __future__ import annotations

import asyncio
import copy
import json
import threading
import uuid

from aiohttp import web


def _pod(ns: str, name: str, node: str = "node-a", cpu: str = "100m", mem: str = "64Mi", phase: str = "Running") -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "uid": str(uuid.uuid4()), "resourceVersion": "1", "labels": {}},
        "spec": {
            "nodeName": node,
            "containers": [{"name": "c", "image": "busybox", "resources": {"requests": {"cpu": cpu, "memory": mem}}}],
        },
        "status": {"phase": phase},
    }


def _node(name: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "spec": {"taints": [{"key": "dedicated", "value": "infra", "effect": "NoSchedule"}]} if name == "node-b" else {},
        "status": {
            "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110"},
            "allocatable": {"cpu": "3800m", "memory": "15Gi", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True"}],
            "nodeInfo": {"kubeletVersion": "v1.31.0", "architecture": "amd64"},
        },
    }


def _status(code: int, reason: str, message: str) -> web.Response:
    return web.json_response(
        {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "reason": reason, "message": message, "code": code},
        status=code,
    )


class FakeAPI:
    def __init__(self):
        self.pods: dict[tuple[str, str], dict] = {}
        self.rv = 1
        self.watchers: list[asyncio.Queue] = []
        self.log_lines: asyncio.Queue | None = None
        self.requests: list[tuple[str, str, list]] = []  # (method, path_qs, headers)
        self.log_closed = asyncio.Event()
        self.watch_closed = 0
        self.big_items = 0
        self.slow_started = asyncio.Event()
        self.sleep_for = 1.0
        self.reject_selectors = False  # like an API server without != support
        for i in range(3):
            self._put(_pod("default", f"seed-{i}", node="node-a" if i < 2 else "node-b"))
        self._put(_pod("default", "done", phase="Succeeded", cpu="4"))

    def _put(self, pod: dict) -> None:
        self.rv += 1
        pod["metadata"]["resourceVersion"] = str(self.rv)
        self.pods[(pod["metadata"]["namespace"], pod["metadata"]["name"])] = pod

    def _event(self, kind: str, pod: dict) -> None:
        for q in self.watchers:
            q.put_nowait({"type": kind, "object": pod})

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024, middlewares=[self._record])
        r = app.router
        r.add_get("/version", self.version)
        r.add_get("/api/v1/nodes", self.nodes)
        r.add_get("/api/v1/pods", self.list_all_pods)
        r.add_get("/api/v1/namespaces/{ns}/pods", self.list_pods)
        r.add_post("/api/v1/namespaces/{ns}/pods", self.create_pod)
        r.add_get("/api/v1/namespaces/{ns}/pods/{name}", self.get_pod)
        r.add_patch("/api/v1/namespaces/{ns}/pods/{name}", self.patch_pod)
        r.add_delete("/api/v1/namespaces/{ns}/pods/{name}", self.delete_pod)
        r.add_get("/api/v1/namespaces/{ns}/pods/{name}/log", self.pod_log)
        r.add_get("/api/v1/namespaces/{ns}/configmaps", self.big_list)
        r.add_route("*", "/echo", self.echo)
        r.add_post("/upload", self.upload)
        r.add_get("/slow", self.slow)
        r.add_get("/sleep", self.sleep)
        return app

    @web.middleware
    async def _record(self, request, handler):
        self.requests.append((request.method, request.path_qs, list(request.headers.items())))
        return await handler(request)

    async def version(self, request):
        return web.json_response({"major": "1", "minor": "31", "gitVersion": "v1.31.0-fake", "platform": "linux/amd64"})

    async def nodes(self, request):
        return web.json_response({"kind": "NodeList", "apiVersion": "v1", "metadata": {}, "items": [_node("node-a"), _node("node-b")]})

    async def list_all_pods(self, request):
        sel = request.query.get("fieldSelector", "")
        items = list(self.pods.values())
        if sel:
            if self.reject_selectors or sel != "status.phase!=Succeeded,status.phase!=Failed":
                return _status(400, "BadRequest", f"unsupported selector {sel}")
            items = [p for p in items if p["status"]["phase"] not in ("Succeeded", "Failed")]
        return web.json_response({"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": str(self.rv)}, "items": items})

    async def list_pods(self, request):
        ns = request.match_info["ns"]
        if request.query.get("watch") in ("1", "true"):
            return await self.watch(request, ns)
        items = [p for (n, _), p in self.pods.items() if n == ns]
        return web.json_response({"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": str(self.rv)}, "items": items})

    async def watch(self, request, ns):
        q: asyncio.Queue = asyncio.Queue()
        self.watchers.append(q)
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        resp.enable_chunked_encoding()
        try:
            await resp.prepare(request)  # may fail: the client already hung up
            timeout = float(request.query.get("timeoutSeconds", "30"))
            loop = asyncio.get_running_loop()
            end = loop.time() + timeout
            while True:
                left = end - loop.time()
                if left <= 0:
                    break
                try:
                    ev = await asyncio.wait_for(q.get(), left)
                except asyncio.TimeoutError:
                    break
                if ev["object"]["metadata"]["namespace"] == ns:
                    await resp.write(json.dumps(ev).encode() + b"\n")
            await resp.write_eof()
            return resp
        finally:
            self.watchers.remove(q)
            self.watch_closed += 1

    async def create_pod(self, request):
        ns = request.match_info["ns"]
        body = await request.json()
        name = body["metadata"]["name"]
        if (ns, name) in self.pods:
            return _status(409, "AlreadyExists", f'pods "{name}" already exists')
        body["metadata"].update(namespace=ns, uid=str(uuid.uuid4()))
        body.setdefault("status", {"phase": "Pending"})
        self._put(body)
        self._event("ADDED", body)
        return web.json_response(body, status=201)

    async def get_pod(self, request):
        pod = self.pods.get((request.match_info["ns"], request.match_info["name"]))
        if pod is None:
            return _status(404, "NotFound", f'pods "{request.match_info["name"]}" not found')
        return web.json_response(pod)

    async def patch_pod(self, request):
        key = (request.match_info["ns"], request.match_info["name"])
        pod = self.pods.get(key)
        if pod is None:
            return _status(404, "NotFound", "not found")
        patch = await request.json()

        def merge(a, b):
            for k, v in b.items():
                if isinstance(v, dict) and isinstance(a.get(k), dict):
                    merge(a[k], v)
                elif v is None:
                    a.pop(k, None)
                else:
                    a[k] = v

        pod = copy.deepcopy(pod)
        merge(pod, patch)
        self._put(pod)
        self._event("MODIFIED", pod)
        return web.json_response(pod)

    async def delete_pod(self, request):
        key = (request.match_info["ns"], request.match_info["name"])
        pod = self.pods.pop(key, None)
        if pod is None:
            return _status(404, "NotFound", "not found")
        self._event("DELETED", pod)
        return web.json_response(pod)

    async def pod_log(self, request):
        resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await resp.prepare(request)
        if request.query.get("follow") != "true":
            await resp.write(b"line 0\n")
            return resp
        self.log_lines = asyncio.Queue()
        try:
            while True:
                line = await self.log_lines.get()
                if line is None:
                    break
                await resp.write(line.encode())
            await resp.write_eof()
        finally:
            self.log_closed.set()
        return resp

    async def big_list(self, request):
        # ~6 MB of ConfigMaps with varied content so corruption would show.
        items = [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": f"cm-{i}", "namespace": request.match_info["ns"]},
                "data": {"blob": f"{i:08d}" * 750},
            }
            for i in range(1000)
        ]
        self.big_items = len(items)
        return web.json_response({"kind": "ConfigMapList", "apiVersion": "v1", "metadata": {}, "items": items})

    async def echo(self, request):
        body = await request.read()
        return web.json_response({"method": request.method, "path_qs": request.path_qs, "headers": list(request.headers.items()), "body_len": len(body)})

    async def upload(self, request):
        import hashlib

        h = hashlib.sha256()
        n = 0
        async for chunk in request.content.iter_any():
            h.update(chunk)
            n += len(chunk)
        return web.json_response({"len": n, "sha256": h.hexdigest()})

    async def sleep(self, request):
        await asyncio.sleep(self.sleep_for)
        return web.json_response({"slept": self.sleep_for})

    async def slow(self, request):
        self.slow_started.set()
        await asyncio.sleep(30)
        return web.json_response({})


class FakeAPIThread:
    """Run FakeAPI in a thread; `.url`, `.kubeconfig(path, token)`, `.call()`."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="fake-apiserver", daemon=True)
        self._thread.start()
        self.api, self.runner, self.port = self.call(self._start())
        self.url = f"http://127.0.0.1:{self.port}"

    async def _start(self):
        api = FakeAPI()
        runner = web.AppRunner(api.app(), access_log=None, handler_cancellation=True, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return api, runner, runner.addresses[0][1]

    def call(self, coro, timeout: float = 10):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def run(self, fn, *args):
        """Run a plain function on the server's loop (thread-safe mutation)."""

        async def go():
            return fn(*args)

        return self.call(go())

    def kubeconfig(self, path, token: str = "agent-sa-token") -> str:
        cfg = {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "fake",
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "sa", "user": {"token": token}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "sa"}}],
        }
        with open(path, "w") as f:
            json.dump(cfg, f)
        return str(path)

    def stop(self):
        self.call(self.runner.cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
