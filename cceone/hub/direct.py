"""Forward a kubeconfig request to a cluster the hub reaches directly (a cloud cluster):
no agent, the cluster's API server itself, with the credential the directory keeps.

The caller (public.kube_proxy) has already authenticated the user, refused a frozen
cluster and built the headers (the user's Impersonate-User/-Group, nothing of the
client's Authorization or Impersonate-*): this module adds the cluster's own bearer token
and relays bytes both ways, streamed (watches and `logs -f` stay open), undecoded (gzip
bodies pass as they are), the path and query byte for byte.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import ssl
import tempfile

import aiohttp
from aiohttp import web
from yarl import URL

from cceone_tunnel import protocol as p

from .directory import Upstream
from .proxy import _offers_h2c, status_response
from .upgrade import upgrade_token

log = logging.getLogger("cceone.hub")

# Headers aiohttp would add when the client did not: the client's choice stands.
_AUTO = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")
CONNECT_TIMEOUT = 10.0
# Agent clusters carry upgrades through the tunnel (upgrade.py); a cluster reached directly
# does not yet: say so rather than answer an upgrade with a plain response.
UPGRADE_REFUSED = ("connection upgrades (exec, attach, port-forward) to a cluster reached directly (a cloud "
                   "cluster) are not supported through the CCE One hub yet")
PLAIN_HTTP_REFUSED = ("cluster {cluster}: its API endpoint is plain http://, and the hub never sends the "
                      "cluster's credential over plain HTTP; the operator must give it an https:// endpoint")


class DirectForwarder:
    """One pooled ClientSession for every directly reached cluster (created on first use, on
    the hub's loop); TLS contexts are kept per CA so each cluster is verified with its own."""

    def __init__(self):
        self._session: aiohttp.ClientSession | None = None
        self._contexts: dict[str, ssl.SSLContext] = {}

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0),  # every watch holds a connection
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,
                skip_auto_headers=_AUTO,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT),
            )
        return self._session

    def _ssl(self, ca_pem: str, cert_pem: str = "", key_pem: str = "") -> ssl.SSLContext:
        key = hashlib.sha256("\0".join((ca_pem, cert_pem, key_pem)).encode()).hexdigest()
        context = self._contexts.get(key)
        if context is None:
            context = ssl.create_default_context(cadata=ca_pem) if ca_pem else ssl.create_default_context()
            if cert_pem and key_pem:
                _load_client_certificate(context, cert_pem, key_pem)
            if len(self._contexts) > 1000:
                self._contexts.clear()
            self._contexts[key] = context
        return context

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def forward(self, request: web.BaseRequest, upstream: Upstream, cluster_id: str, path: str,
                      headers: list) -> web.StreamResponse:
        if not upstream.url.lower().startswith("https://"):
            return status_response(502, "InternalError", PLAIN_HTTP_REFUSED.format(cluster=cluster_id))
        if upgrade_token(request) is not None:
            return status_response(400, "BadRequest", UPGRADE_REFUSED)
        if upstream.token:
            headers = [*headers, ("Authorization", f"Bearer {upstream.token}")]
        body = None
        if request.body_exists:
            # Streamed as it comes; a Content-Length the client stated is kept.
            body = request.content
        else:
            headers = [h for h in headers if h[0].lower() != "content-length"]
        url = URL(upstream.url.rstrip("/") + path, encoded=True)
        try:
            context = self._ssl(upstream.ca_pem, upstream.client_cert_pem, upstream.client_key_pem)
        except (ssl.SSLError, ValueError) as exc:
            log.warning("cluster %s: unusable CA or client certificate: %s", cluster_id, exc)
            return status_response(502, "InternalError", f"cluster {cluster_id}: the CA certificate or client "
                                   "certificate kept for its API server is not valid PEM")
        try:
            upstream_response = await self._client().request(
                request.method, url, headers=headers, data=body, allow_redirects=False, ssl=context)
        except aiohttp.ClientConnectorCertificateError as exc:
            log.warning("cluster %s: TLS verification of %s failed: %s", cluster_id, upstream.url, exc)
            return status_response(502, "InternalError", f"cluster {cluster_id}: its API server's certificate "
                                   "does not verify with the CA kept for it")
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            log.info("cluster %s: API server %s unreachable: %s", cluster_id, upstream.url, exc)
            return status_response(503, "ServiceUnavailable",
                                   f"cluster {cluster_id} is unreachable: its API server does not answer")
        try:
            return await _relay(request, upstream_response)
        finally:
            upstream_response.release()


def _load_client_certificate(context: ssl.SSLContext, cert_pem: str, key_pem: str) -> None:
    """ssl loads a certificate chain from files only: write them privately, load, remove."""
    with tempfile.TemporaryDirectory(prefix="cceone-hub-client-") as tmp:
        cert, key = os.path.join(tmp, "tls.crt"), os.path.join(tmp, "tls.key")
        for path, content in ((cert, cert_pem), (key, key_pem)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(content)
        context.load_cert_chain(cert, key)


async def _relay(request: web.BaseRequest, upstream: aiohttp.ClientResponse) -> web.StreamResponse:
    response = web.StreamResponse(status=upstream.status, headers=p.strip_hop_by_hop(upstream.headers.items()))
    if _offers_h2c(request):
        response.force_close()
    await response.prepare(request)
    if request.method == "HEAD" or upstream.status in (204, 304):
        return response
    try:
        while True:
            # readany: whatever arrived, at once (a watch event must not wait for a full buffer).
            chunk = await upstream.content.readany()
            if not chunk:
                break
            await response.write(chunk)
    except (aiohttp.ClientError, asyncio.TimeoutError):
        # The head is out: cut the connection so the client sees a truncated body.
        if request.transport is not None:
            request.transport.abort()
        return response
    await response.write_eof()
    return response
