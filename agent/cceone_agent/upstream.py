"""The agent's leg to the Kubernetes API server: an aiohttp ClientSession that relays bytes.

Configured so what the tunnel carries reaches the API server, and comes back,
untouched: no decompression (gzip bodies pass as they are, with their
Content-Encoding), no headers of aiohttp's own besides Host and framing, no
cookies kept, and the path with its query sent byte for byte. Keep-alive
connections are pooled without a limit: every watch holds one.

An API server closes idle keep-alive connections; a request that meets one
just closed fails before any answer. It is sent again once, on a new
connection (the other pooled ones are as likely dead): aiohttp's own retry
covers only idempotent methods, and may pick another pooled connection.
"""

from __future__ import annotations

from types import SimpleNamespace

import aiohttp
from yarl import URL

from .kubeconfig import KubeTarget

# Headers aiohttp would add when the caller did not: the caller's choice stands.
_AUTO = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")
CONNECT_TIMEOUT = 10.0


class Upstream:
    def __init__(self, kube: KubeTarget):
        self.base = kube.server.rstrip("/")
        # None: default verification; False: insecure-skip-tls-verify; or a context.
        self.ssl = True if kube.ssl is None else kube.ssl
        self.server_hostname = kube.server_hostname if self.base.startswith("https://") else None
        reuse = aiohttp.TraceConfig()
        reuse.on_connection_reuseconn.append(_mark_reused)
        self.session = self._session(aiohttp.TCPConnector(limit=0, ssl=self.ssl), [reuse])
        self._fresh: aiohttp.ClientSession | None = None  # for the retry: never a pooled connection

    def _session(self, connector: aiohttp.BaseConnector, trace_configs=None) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            skip_auto_headers=_AUTO,
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT),
            trace_configs=trace_configs,
        )

    async def request(self, method: str, path: str, headers: list, body=None) -> aiohttp.ClientResponse:
        """Send a request; returns once the response head has arrived.

        `body`: None, bytes, or an async iterator of bytes (streamed; sent
        chunked unless `headers` carry a Content-Length). The caller reads
        the body and then calls release() (or close() to drop the connection).
        """
        replayable = body is None or isinstance(body, (bytes, bytearray, memoryview))
        if replayable:
            # aiohttp states the length of a body it holds.
            headers = [h for h in headers if h[0].lower() != "content-length"]
        url = URL(self.base + path, encoded=True)
        ctx = SimpleNamespace(reused=False)
        try:
            return await self.session.request(
                method, url, headers=headers, data=body, allow_redirects=False, server_hostname=self.server_hostname,
                trace_request_ctx=ctx,
            )
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
            if isinstance(exc, aiohttp.ClientConnectorError) or not (replayable and ctx.reused):
                raise
        if self._fresh is None:
            self._fresh = self._session(aiohttp.TCPConnector(limit=0, ssl=self.ssl, force_close=True))
        return await self._fresh.request(
            method, url, headers=headers, data=body, allow_redirects=False, server_hostname=self.server_hostname,
        )

    async def close(self) -> None:
        await self.session.close()
        if self._fresh is not None:
            await self._fresh.close()


async def _mark_reused(session, trace_ctx, params) -> None:
    if trace_ctx.trace_request_ctx is not None:
        trace_ctx.trace_request_ctx.reused = True


def response_headers(resp: aiohttp.ClientResponse) -> list[tuple[str, str]]:
    return list(resp.headers.items())
