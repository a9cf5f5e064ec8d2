"""A TCP load balancer for tests and benchmarks: what a Kubernetes Service (or HAProxy in
docker-compose.yml) does in front of the hub replicas, on one loopback port.

Each new client connection goes to the next backend, round robin; a backend that refuses
the connection is skipped (a killed replica), and, when `ready_urls` are given, so is one
whose readiness URL does not answer 200 (a draining replica leaves the rotation, as
Kubernetes takes a pod out of a Service's endpoints). Bytes are then piped both ways.
"""

from __future__ import annotations

import asyncio
import itertools
import ssl
import threading
import urllib.request


class Balancer:
    def __init__(self, backends: list[tuple[str, int]], ready_urls: list[str] | None = None,
                 host: str = "127.0.0.1", port: int = 0, probe_every: float = 0.2):
        self.backends = list(backends)
        self.ready_urls = ready_urls
        self.ready = [True] * len(self.backends)
        self.host = host
        self.port = port
        self.probe_every = probe_every
        self._next = itertools.count()
        self._server: asyncio.base_events.Server | None = None
        self._prober: asyncio.Task | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port, backlog=4096)
        self.port = self._server.sockets[0].getsockname()[1]
        if self.ready_urls:
            self._prober = asyncio.ensure_future(self._probe())

    async def stop(self) -> None:
        if self._prober is not None:
            self._prober.cancel()
        if self._server is not None:
            self._server.close()

    async def _probe(self) -> None:
        loop = asyncio.get_running_loop()

        unverified = ssl._create_unverified_context()  # a probe of our own replicas on loopback

        def check(url: str) -> bool:
            try:
                with urllib.request.urlopen(url, timeout=3, context=unverified) as response:
                    return response.status == 200
            except Exception:
                return False

        failures = [0] * len(self.ready_urls)
        while True:
            results = await asyncio.gather(*(loop.run_in_executor(None, check, u) for u in self.ready_urls))
            # Out of the rotation after two failed probes in a row (one slow answer on a busy
            # machine is not a draining replica), back in after one good one.
            failures = [0 if ok else n + 1 for ok, n in zip(results, failures)]
            self.ready = [n < 2 for n in failures]
            await asyncio.sleep(self.probe_every)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        n = len(self.backends)
        start = next(self._next)
        upstream = None
        for i in range(n):
            index = (start + i) % n
            if not self.ready[index]:
                continue
            try:
                upstream = await asyncio.wait_for(asyncio.open_connection(*self.backends[index]), 2)
                break
            except (OSError, asyncio.TimeoutError):
                continue
        if upstream is None:
            writer.close()
            return
        up_reader, up_writer = upstream

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while True:
                    data = await src.read(65536)
                    if not data:
                        break
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                try:
                    if dst.can_write_eof():
                        dst.write_eof()
                except (OSError, RuntimeError):
                    pass

        try:
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        finally:
            for w in (writer, up_writer):
                w.close()


class BalancerThread:
    """A Balancer on its own loop in a thread (for synchronous tests)."""

    def __init__(self, backends, ready_urls=None):
        self.loop = asyncio.new_event_loop()
        self.balancer = Balancer(backends, ready_urls)
        self._thread = threading.Thread(target=self.loop.run_forever, name="balancer", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.balancer.start(), self.loop).result(10)

    @property
    def port(self) -> int:
        return self.balancer.port

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.balancer.stop(), self.loop).result(10)

        async def cancel_rest():
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(cancel_rest(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()
