"""Where the agent finds its own Kubernetes API server and credentials.

In a pod (the normal case) that is the in-cluster service account; for
development a kubeconfig file. Only static credentials are supported (token,
token file, client certificate, basic auth): exec/auth-provider plugins
would drag in cloud SDKs, and agents run in-cluster anyway.
"""

from __future__ import annotations

import base64
import os
import ssl
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import yaml

SA_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


class KubeConfigError(Exception):
    pass


class FileToken:
    """A token file that may be rotated underneath us.

    Projected service-account tokens are refreshed by the kubelet about
    hourly; client-go re-reads them every minute, so do we (and whenever
    the file changes).
    """

    def __init__(self, path: str | os.PathLike, max_age: float = 60.0):
        self.path = Path(path)
        self.max_age = max_age
        self._value: str | None = None
        self._read_at = 0.0
        self._mtime: float | None = None

    def __call__(self) -> str:
        now = time.monotonic()
        if self._value is None or now - self._read_at > self.max_age or self._changed():
            self._value = self.path.read_text().strip()
            self._read_at = now
            self._mtime = self._stat()
        return self._value

    def _stat(self) -> float | None:
        try:
            return self.path.stat().st_mtime
        except OSError:
            return None

    def _changed(self) -> bool:
        return self._stat() != self._mtime


@dataclass
class KubeTarget:
    """Base URL plus credentials for the cluster's API server."""

    server: str
    ssl: ssl.SSLContext | bool | None = None  # None: plain http or default verification
    token: Callable[[], str | None] | None = None
    basic_auth: tuple[str, str] | None = None
    server_hostname: str | None = None
    source: str = ""

    def auth_header(self) -> str | None:
        if self.token is not None:
            tok = self.token()
            if tok:
                return "Bearer " + tok
        if self.basic_auth is not None:
            raw = f"{self.basic_auth[0]}:{self.basic_auth[1]}".encode()
            return "Basic " + base64.b64encode(raw).decode()
        return None


def load_incluster(sa_dir: Path = SA_DIR) -> KubeTarget:
    host = os.environ.get("KUBERNETES_SERVICE_HOST")
    port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
    if not host:
        raise KubeConfigError("not running in a pod (KUBERNETES_SERVICE_HOST unset); pass --kubeconfig")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    token_path = sa_dir / "token"
    if not token_path.exists():
        raise KubeConfigError(f"service account token {token_path} missing (automountServiceAccountToken: false?)")
    ctx = ssl.create_default_context(cafile=str(sa_dir / "ca.crt"))
    return KubeTarget(f"https://{host}:{port}", ssl=ctx, token=FileToken(token_path), source="in-cluster")


def load_kubeconfig(path: str | os.PathLike, context: str | None = None) -> KubeTarget:
    path = Path(path).expanduser()
    try:
        cfg = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise KubeConfigError(f"cannot read kubeconfig {path}: {exc}") from None
    base_dir = path.parent
    ctx_name = context or cfg.get("current-context")
    if not ctx_name:
        raise KubeConfigError(f"{path}: no current-context")
    ctx = _named(cfg, "contexts", ctx_name, "context", path)
    cluster = _named(cfg, "clusters", ctx.get("cluster"), "cluster", path)
    user = _named(cfg, "users", ctx.get("user"), "user", path) if ctx.get("user") else {}

    server = cluster.get("server")
    if not server:
        raise KubeConfigError(f"{path}: cluster {ctx.get('cluster')!r} has no server")
    if "exec" in user or "auth-provider" in user:
        raise KubeConfigError(f"{path}: exec/auth-provider credentials are not supported by the agent; use a token")

    sslctx: ssl.SSLContext | bool | None = None
    if server.startswith("https://"):
        if cluster.get("insecure-skip-tls-verify"):
            sslctx = False
        else:
            ca_data = _data(cluster, "certificate-authority", base_dir)
            sslctx = ssl.create_default_context(cadata=ca_data.decode() if ca_data else None)
        cert = _data(user, "client-certificate", base_dir)
        key = _data(user, "client-key", base_dir)
        if cert and key:
            if sslctx is False:
                sslctx = ssl.create_default_context()
                sslctx.check_hostname = False
                sslctx.verify_mode = ssl.CERT_NONE
            _load_cert_chain(sslctx, cert, key)

    token = None
    if user.get("token"):
        value = str(user["token"])
        token = lambda: value  # noqa: E731
    elif user.get("tokenFile"):
        token = FileToken(_resolve(user["tokenFile"], base_dir))
    basic = (str(user["username"]), str(user.get("password", ""))) if user.get("username") else None
    return KubeTarget(
        server,
        ssl=sslctx,
        token=token,
        basic_auth=basic,
        server_hostname=cluster.get("tls-server-name"),
        source=f"kubeconfig {path} context {ctx_name}",
    )


def _named(cfg: dict, section: str, name, key: str, path) -> dict:
    for item in cfg.get(section) or []:
        if item.get("name") == name:
            return item.get(key) or {}
    raise KubeConfigError(f"{path}: {key} {name!r} not found")


def _resolve(p: str, base_dir: Path) -> Path:
    q = Path(p).expanduser()
    return q if q.is_absolute() else base_dir / q


def _data(section: dict, name: str, base_dir: Path) -> bytes | None:
    if section.get(name + "-data"):
        return base64.b64decode(section[name + "-data"])
    if section.get(name):
        return _resolve(section[name], base_dir).read_bytes()
    return None


def _load_cert_chain(ctx: ssl.SSLContext, cert: bytes, key: bytes) -> None:
    # ssl only loads key material from files; keep them on disk just long
    # enough to load, readable by us alone.
    with tempfile.TemporaryDirectory() as d:
        c, k = Path(d) / "tls.crt", Path(d) / "tls.key"
        c.write_bytes(cert)
        fd = os.open(k, os.O_WRONLY | os.O_CREAT, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
        ctx.load_cert_chain(str(c), str(k))
