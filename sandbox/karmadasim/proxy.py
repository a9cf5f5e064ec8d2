"""``/apis/cluster.karmada.io/v1alpha1/clusters/<name>/proxy/<path>``: a request forwarded to the member.

As karmada-aggregated-apiserver does: to the Cluster's ``apiEndpoint`` (with its
``proxyURL``, CA bundle or ``insecureSkipTLSVerification``), signed with the token of
``impersonatorSecretRef`` and carrying the caller's identity in ``Impersonate-User`` /
``Impersonate-Group`` headers, so the member's RBAC decides what the caller may do
there. Without an impersonator secret the ``secretRef`` token is used as it is.
Streams (watch, log follow) are passed through as they come.
"""

from __future__ import annotations

import base64
import ssl
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

from sandbox.kubesim.errors import ApiError
from sandbox.kubesim.rbac import User
from sandbox.kubesim.util import meta

if TYPE_CHECKING:
    from .apiserver import KarmadaEmulator

SECRETS = ("", "secrets")
_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "host",
                "authorization", "content-length", "impersonate-user", "impersonate-group"}


def secret_value(emulator: "KarmadaEmulator", ref: dict[str, Any] | None, key: str) -> str | None:
    if not ref:
        return None
    secret = emulator.store.get(SECRETS, ref.get("namespace", ""), ref.get("name", ""))
    value = ((secret or {}).get("data") or {}).get(key)
    return base64.b64decode(value).decode() if value else None


def ssl_context(spec: dict[str, Any], ca_bundle: str | None) -> Any:
    if not spec.get("apiEndpoint", "").startswith("https"):
        return None
    if spec.get("insecureSkipTLSVerification"):
        return False
    context = ssl.create_default_context()
    if ca_bundle:
        context.load_verify_locations(cadata=ca_bundle)
    return context


class ClusterProxy:
    def __init__(self, emulator: "KarmadaEmulator") -> None:
        self.emulator = emulator
        self._session: aiohttp.ClientSession | None = None

    async def __call__(self, request: web.Request, cluster: dict[str, Any], path: str,
                       user: User) -> web.StreamResponse:
        spec = cluster.get("spec") or {}
        name = meta(cluster)["name"]
        endpoint = (spec.get("apiEndpoint") or "").rstrip("/")
        if not endpoint:
            raise ApiError(503, "ServiceUnavailable", f"cluster {name} has no apiEndpoint")
        impersonator = secret_value(self.emulator, spec.get("impersonatorSecretRef"), "token")
        token = impersonator or secret_value(self.emulator, spec.get("secretRef"), "token")
        ca_bundle = secret_value(self.emulator, spec.get("secretRef"), "caBundle")
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS]
        if token:
            headers.append(("Authorization", f"Bearer {token}"))
        if impersonator:
            headers.append(("Impersonate-User", user.name))
            headers += [("Impersonate-Group", g) for g in user.groups if g != "system:authenticated"]
        for key, values in (spec.get("proxyHeader") or {}).items():
            headers.append((key, values))
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(auto_decompress=False,
                                                  timeout=aiohttp.ClientTimeout(total=None, sock_connect=5))
        url = endpoint + (path or "/")
        try:
            upstream = await self._session.request(
                request.method, url, params=list(request.query.items()), headers=headers,
                data=await request.read() if request.can_read_body else None,
                ssl=ssl_context(spec, ca_bundle), proxy=spec.get("proxyURL") or None, allow_redirects=False)
        except (aiohttp.ClientError, OSError) as e:
            raise ApiError(503, "ServiceUnavailable",
                           f"error trying to reach cluster {name}: {e}") from None
        async with upstream:
            response = web.StreamResponse(status=upstream.status)
            for key, value in upstream.headers.items():
                if key.lower() not in _HOP_HEADERS:
                    response.headers.add(key, value)
            await response.prepare(request)
            async for chunk in upstream.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
