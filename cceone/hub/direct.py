"""Forward a kubeconfig request to a cluster the hub reaches directly (a cloud cluster):
no agent, the cluster's API server itself, with the credential the directory keeps.

Upgraded connections (`kubectl exec`, `attach`, `cp`, `port-forward`, WebSocket or
SPDY) go out on a TLS connection of their own, since aiohttp's client switches only to
WebSocket: the request head as for any request plus the cluster's token; after the API
server's `101` the bytes flow untouched both ways (reading pauses while the other side
is slow), with the idle limit and the audited session of an agent cluster (upgrade.py).

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
import time
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web
from yarl import URL

from cceone_tunnel import protocol as p

from .directory import Upstream
from .proxy import _offers_h2c, status_response
from .upgrade import Sessions, _ClientBytes, describe, port_reader, splice, upgrade_token

log = logging.getLogger("cceone.hub")

# Headers aiohttp would add when the client did not: the client's choice stands.
_AUTO = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")
CONNECT_TIMEOUT = 10.0
_UPGRADE_READ = 256 * 1024  # bytes read at once from the API server; its answer head's limit too
_ERROR_BODY_LIMIT = 64 * 1024  # a refused upgrade's body (a Status)
PLAIN_HTTP_REFUSED = ("cluster {cluster}: its API endpoint is plain http://, and the hub never sends the "
                      "cluster's credential over plain HTTP; the operator must give it an https:// endpoint")


class DirectForwarder:
    """One pooled ClientSession for every directly reached cluster (created on first use, on
    the hub's loop); TLS contexts are kept per CA so each cluster is verified with its own."""

    def __init__(self, sessions: Sessions | None = None):
        self.sessions = sessions or Sessions()
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
        if upstream.token:
            headers = [*headers, ("Authorization", f"Bearer {upstream.token}")]
        token = upgrade_token(request)
        if token is not None:
            return await self._upgrade(request, upstream, cluster_id, path, headers, token)
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
            return status_response(502, "InternalError", f"cluster {cluster_id}: the CA certificate (or client "
                                   "certificate) kept for its API server is not a valid PEM certificate")
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


    async def _upgrade(self, request: web.BaseRequest, upstream: Upstream, cluster_id: str, path: str,
                       headers: list, token: str) -> web.StreamResponse:
        """Dial the API server with the upgrade; on 101 splice the client's connection into it."""
        record = describe(path, headers)
        sniffer = port_reader(token, record)
        started, totals, outcome, status = time.time(), {"in": 0, "out": 0}, "refused", 0
        client = _ClientBytes(request.transport, _UPGRADE_READ)
        request.protocol.set_parser(client)  # the connection's bytes are ours from here (see upgrade.py)
        writer = None
        try:
            try:
                reader, writer = await self._dial(upstream)
                writer.write(_request_head(request.method, urlsplit(upstream.url).path.rstrip("/") + path,
                                           headers, urlsplit(upstream.url).netloc, token))
                status, answer = await _read_head(reader)
            except ssl.SSLCertVerificationError as exc:
                log.warning("cluster %s: TLS verification of %s failed: %s", cluster_id, upstream.url, exc)
                return _closing(status_response(502, "InternalError", f"cluster {cluster_id}: its API server's "
                                                "certificate does not verify with the CA kept for it"))
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                    ValueError) as exc:
                log.info("cluster %s: upgrade to %s failed: %s", cluster_id, upstream.url, exc)
                return _closing(status_response(503, "ServiceUnavailable",
                                                f"cluster {cluster_id} is unreachable: its API server does not answer"))
            if status != 101:  # RBAC said no, no such pod: an ordinary answer
                body = await _read_body(reader, answer)
                kept = [(k, v) for k, v in p.strip_hop_by_hop(answer) if k.lower() != "content-length"]
                return _closing(web.Response(status=status, body=body, headers=kept))
            switched = [(k, v) for k, v in p.strip_hop_by_hop(answer)
                        if k.lower() not in ("content-length", "content-type", "date", "server")]
            resp = web.StreamResponse(status=101, headers=[*switched, ("Connection", "Upgrade"), ("Upgrade", token)])
            resp.force_close()
            await resp.prepare(request)
            outcome = "closed by the client"  # if aiohttp cancels us when the client hangs up
            outcome = await _splice_socket(request, client, reader, writer, totals, self.sessions.idle_timeout,
                                            sniffer)
            return resp
        finally:
            if writer is not None:
                writer.close()
            if request.transport is not None and status == 101:
                request.transport.close()
            record.update(status=status, outcome=outcome, started=started, ended=time.time(),
                          bytes_in=totals["in"], bytes_out=totals["out"])
            if sniffer is not None:
                record["ports"] = sniffer.ports
            self.sessions.report(cluster_id, record)

    async def _dial(self, upstream: Upstream):
        url = urlsplit(upstream.url)
        host = url.hostname or "localhost"
        return await asyncio.wait_for(
            asyncio.open_connection(host, url.port or 443, ssl=self._ssl(upstream.ca_pem, upstream.client_cert_pem, upstream.client_key_pem),
                                    server_hostname=host,
                                    limit=_UPGRADE_READ),
            CONNECT_TIMEOUT)


def _closing(response: web.StreamResponse) -> web.StreamResponse:
    response.force_close()  # the connection's bytes are no longer parsed as HTTP
    return response


def _request_head(method: str, path: str, headers: list, netloc: str, token: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {netloc}", "Connection: Upgrade", f"Upgrade: {token}"]
    lines += [f"{k}: {v}" for k, v in headers if k.lower() not in ("host", "content-length")]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, list[tuple[str, str]]]:
    lines = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), CONNECT_TIMEOUT)).decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise ValueError(f"malformed answer from the API server: {lines[0][:80]!r}")
    return int(parts[1]), [(k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in lines[1:] if line)]


async def _read_body(reader: asyncio.StreamReader, headers: list) -> bytes:
    values = {k.lower(): v for k, v in headers}
    try:
        if "content-length" in values:
            return await reader.readexactly(min(int(values["content-length"]), _ERROR_BODY_LIMIT))
        if "chunked" in values.get("transfer-encoding", "").lower():
            body = bytearray()
            while len(body) < _ERROR_BODY_LIMIT:
                size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    break
                body += await reader.readexactly(size)
                await reader.readexactly(2)
            return bytes(body)
        return await reader.read(_ERROR_BODY_LIMIT)
    except (OSError, asyncio.IncompleteReadError, ValueError):
        return b""


async def _splice_socket(request, client: _ClientBytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                         totals: dict, idle_timeout: float, sniffer) -> str:
    """The API server's side of a splice: its own TLS connection, written with the socket's back-pressure."""

    async def send(chunk: bytes) -> None:
        if not chunk:
            if writer.can_write_eof():
                writer.write_eof()
            return
        writer.write(chunk)
        await writer.drain()

    async def receive() -> bytes | str:
        try:
            chunk = await reader.read(_UPGRADE_READ)
        except (ConnectionError, ssl.SSLError):
            return "closed by the API server"
        return chunk or "closed"

    return await splice(request, client, totals, idle_timeout, sniffer, send, receive)


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
