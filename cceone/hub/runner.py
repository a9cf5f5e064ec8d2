"""Run a Hub on its own event loop in a thread, for synchronous code (pytest)."""

from __future__ import annotations

import asyncio
import threading

from .server import Hub, new_event_loop


class HubThread:
    """Start a Hub in a background thread on free (or given) loopback ports.

        with HubThread(directory, heartbeat_window=0.5) as hub:
            requests.get(hub.internal_url + "/healthz")

    `public_port`/`internal_port` default to 0 (any free port); pass the
    previous ports to restart a hub "in place".
    """

    def __init__(self, directory, *, host: str = "127.0.0.1", public_port: int = 0, internal_port: int = 0, **hub_kwargs):
        self.loop = new_event_loop()
        self.hub = Hub(directory, public=(host, public_port), internal=(host, internal_port), **hub_kwargs)
        self.host = host
        self._thread = threading.Thread(target=self.loop.run_forever, name="cceone-hub", daemon=True)
        self._thread.start()
        try:
            self.call(self.hub.start(), timeout=15)
        except BaseException:
            self._shutdown_loop()
            raise

    def call(self, coro, timeout: float | None = 30):
        """Run a coroutine on the hub's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    @property
    def secret(self) -> str:
        return self.hub.secret

    @property
    def public_port(self) -> int:
        return self.hub.public_port

    @property
    def internal_port(self) -> int:
        return self.hub.internal_port

    @property
    def public_url(self) -> str:
        return f"{self.hub.public_scheme}://{self.host}:{self.hub.public_port}"

    @property
    def agent_url(self) -> str:
        """What to pass as the agent's --hub."""
        return f"{'wss' if self.hub.tls is not None else 'ws'}://{self.host}:{self.hub.public_port}"

    @property
    def internal_url(self) -> str:
        return f"http://{self.host}:{self.hub.internal_port}"

    def stop(self) -> None:
        if self.loop.is_closed():
            return
        try:
            self.call(self.hub.stop(), timeout=30)
        finally:
            self._shutdown_loop()

    def _shutdown_loop(self) -> None:
        async def cancel_rest():
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            asyncio.run_coroutine_threadsafe(cancel_rest(), self.loop).result(10)
        except Exception:
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()

    def __enter__(self) -> "HubThread":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
