"""Run an ``Emulator`` on 127.0.0.1 from synchronous code (pytest, Django, the demo).

The server gets its own thread and event loop so blocking clients (the
official ``kubernetes`` client, kubectl in a subprocess) can talk to it from
the calling thread without deadlocking.
"""

from __future__ import annotations

import asyncio
import base64
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from .emulator import DEFAULT_TOKEN, Emulator


class EmulatorServer:
    """``with EmulatorServer(seed_files=["local-3node"]) as srv: ... srv.url ...``

    Keyword arguments other than ``host``/``port``/``tls``/``live_logs`` go to
    ``Emulator`` unless an ``emulator`` is passed in. ``tls=True`` serves HTTPS
    with a fresh CA (in ``kubeconfig()`` and ``ca_file``); kubectl needs it,
    because it never sends a token over plain HTTP.
    """

    def __init__(self, emulator: Emulator | None = None, *, host: str = "127.0.0.1", port: int = 0,
                 tls: bool = False, live_logs: float | None = None, **emulator_kwargs: Any) -> None:
        self.emulator = emulator or Emulator(**emulator_kwargs)
        self.host = host
        self.port = port
        self.tls = tls
        self.certificates: Any = None
        self.ca_file: str | None = None
        self.live_logs = live_logs
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._tmp: list[str] = []

    # ------------------------------------------------------------ lifecycle

    def start(self) -> "EmulatorServer":
        if self._thread is not None:
            return self
        if self.tls:
            from . import tls

            # Certificates set before start (another server's): a stand-in for that server
            # that its clients still trust.
            if self.certificates is None:
                self.certificates = tls.generate((self.host, "localhost"))
            fd, self.ca_file = tempfile.mkstemp(prefix="kubesim-ca-", suffix=".crt")
            with os.fdopen(fd, "wb") as f:
                f.write(self.certificates.ca_pem)
            self._tmp.append(self.ca_file)
            self.emulator.ops.ca_pem = self.certificates.ca_pem.decode()
        self._thread = threading.Thread(target=self._run, name=f"kubesim-{id(self):x}", daemon=True)
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise RuntimeError(f"kubesim failed to start: {self._error}") from self._error
        return self

    def _run(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._serve())
        except BaseException as e:  # surfaced to start()
            self._error = e
            self._ready.set()
            return
        self._ready.set()
        if self.live_logs:
            loop.create_task(self.emulator.generate_logs(self.live_logs))
        loop.run_forever()
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()

    async def _serve(self) -> None:
        # handler_cancellation ends watch and follow streams as soon as their client goes away.
        self._runner = web.AppRunner(self.emulator.app, handler_cancellation=True, access_log=None,
                                     shutdown_timeout=2.0)
        await self._runner.setup()
        ssl_context = self.certificates.server_context() if self.certificates else None
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=ssl_context)
        await site.start()
        server = getattr(site, "_server", None)
        self.port = server.sockets[0].getsockname()[1] if server and server.sockets else self.port

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        self.emulator.close_streams()

        async def shutdown() -> None:
            if self._runner is not None:
                await self._runner.cleanup()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        if not loop.is_closed():
            asyncio.run_coroutine_threadsafe(shutdown(), loop).result(15)
            loop.call_soon_threadsafe(loop.stop)
        thread.join(15)
        self._thread = self._loop = None
        for path in self._tmp:
            try:
                os.unlink(path)
            except OSError:
                pass

    def __enter__(self) -> "EmulatorServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ------------------------------------------------------------ client configuration

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def kubeconfig(self, token: str = DEFAULT_TOKEN, *, namespace: str = "default", name: str = "kubesim",
                   impersonate: str | None = None, impersonate_groups: list[str] | None = None) -> dict[str, Any]:
        user: dict[str, Any] = {"token": token}
        if impersonate:
            user["as"] = impersonate
            if impersonate_groups:
                user["as-groups"] = list(impersonate_groups)
        cluster: dict[str, Any] = {"server": self.url}
        if self.certificates is not None:
            cluster["certificate-authority-data"] = base64.b64encode(self.certificates.ca_pem).decode()
        return {
            "apiVersion": "v1", "kind": "Config", "preferences": {}, "current-context": name,
            "clusters": [{"name": name, "cluster": cluster}],
            "users": [{"name": name, "user": user}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name, "namespace": namespace}}],
        }

    def write_kubeconfig(self, path: str | Path | None = None, token: str = DEFAULT_TOKEN, **kwargs: Any) -> str:
        """Write a kubeconfig file (a temporary one, removed on stop, when no path is given)."""
        if path is None:
            fd, tmp = tempfile.mkstemp(prefix="kubesim-", suffix=".kubeconfig")
            os.close(fd)
            self._tmp.append(tmp)
            path = tmp
        Path(path).write_text(yaml.safe_dump(self.kubeconfig(token, **kwargs), sort_keys=False))
        return str(path)

    def api_client(self, token: str = DEFAULT_TOKEN, *, impersonate: str | None = None,
                   impersonate_group: str | None = None) -> Any:
        """A ``kubernetes.client.ApiClient`` for this server (one Impersonate-Group at most:
        the official client's default headers cannot repeat a header)."""
        from kubernetes import client

        config = client.Configuration(host=self.url)
        config.api_key = {"authorization": f"Bearer {token}"}
        if self.ca_file:
            config.ssl_ca_cert = self.ca_file
        api = client.ApiClient(config)
        if impersonate:
            api.set_default_header("Impersonate-User", impersonate)
        if impersonate_group:
            api.set_default_header("Impersonate-Group", impersonate_group)
        return api
